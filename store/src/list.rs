//! The SQL of a deployment list, built once for both backends: the filters of a [`ListQuery`]
//! as a `WHERE` clause over the deployments (aliased `d`) with one parameter per value, the
//! count of the matching rows, and the page (newest first). The backends differ only in how a
//! parameter is written ([`Placeholder`]) and in how a row's latest dispatch is joined (the
//! columns and `FROM` they pass).

use gatehouse_core::State;

use crate::deployment::ListQuery;

/// How a backend writes the n-th statement parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholder {
    /// `?1`, `?2`... (SQLite).
    Question,
    /// `$1`, `$2`... (PostgreSQL).
    Dollar,
}

impl Placeholder {
    fn nth(self, n: usize) -> String {
        match self {
            Self::Question => format!("?{n}"),
            Self::Dollar => format!("${n}"),
        }
    }
}

/// The statements of one list and their parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListSql {
    /// How many deployments match the filters.
    pub count: String,
    /// The page of them.
    pub page: String,
    /// The filters' values, the n-th for the n-th parameter of both statements.
    pub args: Vec<String>,
}

/// The statements listing `query`'s page: `columns` read `FROM from` (which names the
/// deployments `d`), parameters written as `placeholder` says.
pub(crate) fn list_sql(
    query: &ListQuery,
    placeholder: Placeholder,
    columns: &str,
    from: &str,
) -> ListSql {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    let filters = [
        ("state", query.state.map(State::as_str)),
        ("environment", query.environment.as_deref()),
        ("service", query.service.as_deref()),
        ("cloud", query.cloud.as_deref()),
    ];
    for (column, value) in filters {
        if let Some(value) = value {
            args.push(value.to_owned());
            clauses.push(format!("d.{column} = {}", placeholder.nth(args.len())));
        }
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    ListSql {
        count: format!("SELECT COUNT(*) FROM deployments d{filter}"),
        page: format!(
            "SELECT {columns} FROM {from}{filter} ORDER BY d.seq DESC LIMIT {} OFFSET {}",
            query.limit,
            query.offset.min(i64::MAX as u64)
        ),
        args,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_one_parameter_each_in_either_style() {
        let query = ListQuery {
            state: Some(State::Validated),
            cloud: Some("aws".into()),
            limit: 10,
            offset: 20,
            ..ListQuery::default()
        };
        let sqlite = list_sql(&query, Placeholder::Question, "d.id", "deployments d");
        assert_eq!(
            sqlite.count,
            "SELECT COUNT(*) FROM deployments d WHERE d.state = ?1 AND d.cloud = ?2"
        );
        assert_eq!(
            sqlite.page,
            "SELECT d.id FROM deployments d WHERE d.state = ?1 AND d.cloud = ?2 \
             ORDER BY d.seq DESC LIMIT 10 OFFSET 20"
        );
        assert_eq!(sqlite.args, ["VALIDATED", "aws"]);
        let postgres = list_sql(&query, Placeholder::Dollar, "d.id", "deployments d");
        assert!(postgres.count.ends_with("d.state = $1 AND d.cloud = $2"));
        let all = list_sql(
            &ListQuery::default(),
            Placeholder::Dollar,
            "d.id",
            "deployments d",
        );
        assert_eq!(all.count, "SELECT COUNT(*) FROM deployments d");
        assert!(all.args.is_empty());
    }
}
