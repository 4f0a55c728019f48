//! SQLite rows as the shared row readers read them ([`Columns`]).

use rusqlite::Row;

use super::Fault;
use crate::rows::Columns;

impl Columns for Row<'_> {
    type Fault = Fault;

    fn text(&self, index: usize) -> Result<String, Fault> {
        Ok(self.get(index)?)
    }

    fn optional_text(&self, index: usize) -> Result<Option<String>, Fault> {
        Ok(self.get(index)?)
    }

    fn integer(&self, index: usize) -> Result<i64, Fault> {
        Ok(self.get(index)?)
    }

    fn optional_integer(&self, index: usize) -> Result<Option<i64>, Fault> {
        Ok(self.get(index)?)
    }
}
