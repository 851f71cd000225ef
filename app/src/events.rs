//! The append-only event log. Every change to the workspace writes one row,
//! inside the same transaction as the change, so the log and the data can
//! never disagree. `seq` is strictly increasing; live updates and audit
//! (later issues) read from here.

use crate::error::AppError;
use sqlx::{AnyConnection, Row};

pub const TICKET_CREATED: &str = "ticket.created";
pub const TICKET_UPDATED: &str = "ticket.updated";
pub const MESSAGE_CREATED: &str = "message.created";

/// Appends an event and returns its sequence number.
pub async fn append(
    conn: &mut AnyConnection,
    kind: &str,
    ticket_id: Option<i64>,
    actor_id: Option<i64>,
    data: &serde_json::Value,
    now: i64,
) -> Result<i64, AppError> {
    let row = sqlx::query(
        "INSERT INTO events (kind, ticket_id, actor_id, data, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING seq",
    )
    .bind(kind)
    .bind(ticket_id)
    .bind(actor_id)
    .bind(data.to_string())
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get::<i64, _>("seq")?)
}
