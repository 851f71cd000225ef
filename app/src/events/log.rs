//! The event log table: writing events at commit, reading them back.
//!
//! Services do not insert events themselves; they queue them on their
//! [`WriteTx`](crate::db::WriteTx) and the transaction writes them just
//! before it commits ([`write_pending`]). Writing at the very end is what
//! makes the log's order safe to follow on PostgreSQL: there, `seq` comes
//! from an identity sequence, and two transactions could take 10 and 11 and
//! commit 11 first, so a reader that saw 11 and moved on would miss 10. An
//! advisory lock taken just before the insert and held to commit makes
//! transactions that write events commit in `seq` order. Because it is the
//! last lock a transaction takes, a transaction waiting for it never holds
//! up the one that has it (no deadlock). SQLite has one writer at a time
//! already.

use crate::db::{now_ms, SqlBuilder};
use crate::error::AppError;
use sqlx::{AnyConnection, Row};

/// An event waiting for its transaction to commit.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    pub kind: &'static str,
    /// The ticket it is about. Its owner and team at commit time are
    /// recorded with it, for access filtering.
    pub ticket_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub data: serde_json::Value,
    /// The ticket's (owner, team) before this change, when the change moved
    /// it, so that whoever could see it before hears that it left.
    pub previous_scope: Option<(Option<i64>, Option<i64>)>,
    pub created_at: i64,
}

impl PendingEvent {
    /// An event about a ticket.
    pub fn ticket(
        kind: &'static str,
        ticket_id: i64,
        actor_id: Option<i64>,
        data: serde_json::Value,
    ) -> Self {
        PendingEvent {
            kind,
            ticket_id: Some(ticket_id),
            actor_id,
            data,
            previous_scope: None,
            created_at: now_ms(),
        }
    }

    /// An event about no ticket (users, sessions).
    pub fn global(kind: &'static str, actor_id: Option<i64>, data: serde_json::Value) -> Self {
        PendingEvent {
            kind,
            ticket_id: None,
            actor_id,
            data,
            previous_scope: None,
            created_at: now_ms(),
        }
    }

    pub fn at(mut self, created_at: i64) -> Self {
        self.created_at = created_at;
        self
    }

    pub fn moved_from(mut self, owner_id: Option<i64>, team_id: Option<i64>) -> Self {
        self.previous_scope = Some((owner_id, team_id));
        self
    }
}

/// Key of the PostgreSQL advisory lock that orders event commits ("AYUD").
const EVENT_ORDER_LOCK: i64 = 0x4159_5544;
/// The PostgreSQL channel that wakes every server's hub after a commit.
pub const NOTIFY_CHANNEL: &str = "ayuda_events";

/// Writes `events` inside the transaction `conn`, right before its commit.
pub async fn write_pending(
    conn: &mut AnyConnection,
    events: &[PendingEvent],
) -> Result<(), AppError> {
    let postgres = conn.backend_name() == "PostgreSQL";
    if postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(EVENT_ORDER_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    // One statement per batch of events rather than one per event: on
    // SQLite every statement is a round trip to sqlx's worker thread, made
    // while every other writer waits for the write lock. A multi-row
    // VALUES inserts its rows in order, so `seq` follows the order in
    // which the transaction queued them.
    for batch in events.chunks(EVENTS_PER_INSERT) {
        insert_batch(batch).query().execute(&mut *conn).await?;
    }
    if postgres {
        // Delivered to listeners at commit, and only if it commits.
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(NOTIFY_CHANNEL)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// At most this many events per INSERT: 7 parameters each stays well
/// under SQLite's 32,766 and PostgreSQL's 65,535 parameter limits.
const EVENTS_PER_INSERT: usize = 1_000;

/// The INSERT of `events`, each with its ticket's scope (owner and team)
/// as the transaction leaves it; NULL for an event about no ticket.
fn insert_batch(events: &[PendingEvent]) -> SqlBuilder {
    let mut sql = SqlBuilder::new(
        "INSERT INTO events (kind, ticket_id, actor_id, data, created_at, \
         owner_id, team_id, prev_owner_id, prev_team_id) VALUES ",
    );
    for (i, e) in events.iter().enumerate() {
        // 0 records "none" for a moved ticket, so that NULL can keep
        // meaning "not moved".
        let (prev_owner, prev_team) = match e.previous_scope {
            Some((owner, team)) => (Some(owner.unwrap_or(0)), Some(team.unwrap_or(0))),
            None => (None, None),
        };
        sql.push(if i == 0 { "(" } else { ", (" });
        sql.bind(e.kind.into()).push(", ");
        sql.bind(e.ticket_id.into());
        // The ticket's parameter again, by number, in its two lookups.
        let ticket = format!("${}", sql.arg_count());
        sql.push(", ").bind(e.actor_id.into()).push(", ");
        sql.bind(e.data.to_string().into()).push(", ");
        sql.bind(e.created_at.into());
        sql.push(&format!(
            ", (SELECT owner_id FROM tickets WHERE id = {ticket}), \
             (SELECT team_id FROM tickets WHERE id = {ticket}), "
        ));
        sql.bind(prev_owner.into()).push(", ");
        sql.bind(prev_team.into()).push(")");
    }
    sql
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: i64,
    pub kind: String,
    pub ticket_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    pub prev_owner_id: Option<i64>,
    pub prev_team_id: Option<i64>,
    pub data: serde_json::Value,
}

/// The newest event after `seq` committed before `cutoff_ms`, if any: the
/// last one too old to replay to a connection resuming from `seq`.
///
/// Walks back from the newest event, so it reads only the events newer than
/// the cutoff (a few minutes' worth), however far back `seq` is.
pub async fn newest_before<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    seq: i64,
    cutoff_ms: i64,
) -> Result<Option<i64>, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT seq FROM events WHERE seq > $1 AND created_at < $2 ORDER BY seq DESC LIMIT 1",
    )
    .bind(seq)
    .bind(cutoff_ms)
    .fetch_optional(db)
    .await?)
}

/// Up to `limit` committed events after `seq`, oldest first.
pub async fn read_after<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    seq: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, AppError> {
    let rows = sqlx::query(
        "SELECT seq, kind, ticket_id, actor_id, owner_id, team_id, prev_owner_id, prev_team_id, data \
         FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(seq)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            let data: String = r.try_get("data")?;
            Ok(StoredEvent {
                seq: r.try_get("seq")?,
                kind: r.try_get("kind")?,
                ticket_id: r.try_get("ticket_id")?,
                actor_id: r.try_get("actor_id")?,
                owner_id: r.try_get("owner_id")?,
                team_id: r.try_get("team_id")?,
                prev_owner_id: r.try_get("prev_owner_id")?,
                prev_team_id: r.try_get("prev_team_id")?,
                data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect()
}

/// The newest sequence number in the log (0 when empty).
pub async fn last_seq(pool: &sqlx::AnyPool) -> Result<i64, AppError> {
    let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM events")
        .fetch_one(pool)
        .await?;
    Ok(row.try_get("seq")?)
}
