//! How each default view filters tickets, and the counts beside them.

use super::{counts_from_buckets, CountBucket, ViewCount, ViewId};
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

/// The default views' counts for `actor`, from the maintained count
/// buckets: a read of a table of (owners x teams x 2) rows, whatever the
/// number of tickets.
pub async fn counts(db: &Db, actor: &User) -> Result<Vec<ViewCount>, AppError> {
    Ok(counts_from_buckets(&count_buckets(db).await?, actor))
}

/// Every non-empty row of the maintained `ticket_counts` table.
pub async fn count_buckets(db: &Db) -> Result<Vec<CountBucket>, AppError> {
    read_count_buckets(db.pool()).await
}

/// [`count_buckets`] on a given connection, to read them in the same
/// snapshot as something else (the hub reads them with the events).
pub async fn read_count_buckets<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
) -> Result<Vec<CountBucket>, AppError> {
    let rows = sqlx::query("SELECT owner_key, team_key, closed, n FROM ticket_counts WHERE n <> 0")
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|r| {
            let owner: i64 = r.try_get("owner_key")?;
            let team: i64 = r.try_get("team_key")?;
            let closed: i64 = r.try_get("closed")?;
            Ok(CountBucket {
                owner_id: (owner != 0).then_some(owner),
                team_id: (team != 0).then_some(team),
                closed: closed != 0,
                n: r.try_get("n")?,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()
        // In a fixed order, so two reads compare equal when nothing moved
        // (the hub broadcasts counts only when they changed).
        .map(|mut buckets| {
            buckets.sort_unstable_by_key(|b| (b.owner_id, b.team_id, b.closed));
            buckets
        })
}
