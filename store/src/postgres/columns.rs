//! PostgreSQL rows as the shared row readers read them ([`Columns`]). Integers are `bigint`
//! except the outbox's attempt count (`integer`), read by its column's type.

use tokio_postgres::Row;
use tokio_postgres::types::Type;

use super::Fault;
use crate::rows::Columns;

/// Whether column `index` of `row` is a 32-bit integer.
fn int4(row: &Row, index: usize) -> bool {
    row.columns()
        .get(index)
        .is_some_and(|column| *column.type_() == Type::INT4)
}

impl Columns for Row {
    type Fault = Fault;

    fn text(&self, index: usize) -> Result<String, Fault> {
        Ok(self.try_get(index)?)
    }

    fn optional_text(&self, index: usize) -> Result<Option<String>, Fault> {
        Ok(self.try_get(index)?)
    }

    fn integer(&self, index: usize) -> Result<i64, Fault> {
        if int4(self, index) {
            Ok(i64::from(self.try_get::<_, i32>(index)?))
        } else {
            Ok(self.try_get(index)?)
        }
    }

    fn optional_integer(&self, index: usize) -> Result<Option<i64>, Fault> {
        if int4(self, index) {
            Ok(self.try_get::<_, Option<i32>>(index)?.map(i64::from))
        } else {
            Ok(self.try_get(index)?)
        }
    }
}
