//! How each default view filters tickets, and the counts beside them.

use super::{ViewCount, ViewId};
use crate::db::{Db, SqlBuilder};
use crate::error::AppError;
use crate::users::User;
use sqlx::Row;

/// Appends the view's condition (starting with " AND ") for ticket alias `t`.
///
/// The conditions repeat the WHERE clauses of the partial indexes in
/// migration 0002 exactly, so each view pages along its own index.
pub fn push_filter(sql: &mut SqlBuilder, view: ViewId, actor: &User) {
    match view {
        ViewId::Unassigned => {
            sql.push(" AND t.owner_id IS NULL AND t.status_category <> 'closed'");
        }
        ViewId::Mine => {
            sql.push(" AND t.owner_id = ").bind_int(actor.id);
            sql.push(" AND t.status_category <> 'closed'");
        }
        ViewId::Open => {
            sql.push(" AND t.status_category <> 'closed'");
        }
        ViewId::Closed => {
            sql.push(" AND t.status_category = 'closed'");
        }
    }
}

pub async fn counts(db: &Db, actor: &User) -> Result<Vec<ViewCount>, AppError> {
    let mut out = Vec::with_capacity(ViewId::ALL.len());
    for view in ViewId::ALL {
        let mut sql = SqlBuilder::new("SELECT COUNT(*) AS n FROM tickets t WHERE 1 = 1");
        push_filter(&mut sql, view, actor);
        let row = sql.query().fetch_one(db.pool()).await?;
        out.push(ViewCount {
            view,
            name: view.label().to_string(),
            count: row.try_get("n")?,
        });
    }
    Ok(out)
}
