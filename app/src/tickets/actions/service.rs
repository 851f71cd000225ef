//! Merge and unmerge, split, trash, restore and purge, and bulk actions:
//! the rules and SQL. Each action is one transaction, records itself in the
//! timeline of the tickets it changes and in the event log, and is pushed
//! live like any other change.
//!
//! How a merge can be undone: a merged ticket (the secondary) is not
//! deleted. It stays in `tickets`, hidden by `merged_into_id`, with every
//! property as it was. Its thread entries move to the primary, each
//! remembering in `origin_ticket_id` the ticket it was written on, so
//! unmerge moves back exactly the entries written on the secondary (and on
//! the tickets merged into it before), and nothing the primary gained
//! since. `ticket_merges` keeps what the primary changed: its create date
//! and SLA clocks taken from the secondary.

use super::{BulkAction, BulkFailure, BulkOutcome, MAX_BULK, TRASH_DAYS};
use crate::access::can_see;
use crate::db::{now_ms, Db, SqlBuilder, WriteTx};
use crate::error::AppError;
use crate::events::{self, log::PendingEvent};
use crate::messages::service::insert_timeline_event;
use crate::tickets::service::{self as tickets, insert_ticket, require_worker, TicketRow};
use crate::tickets::{Priority, Status, StatusCategory, Ticket};
use crate::users::User;
use serde_json::json;
use sqlx::{AnyConnection, Row};

/// Most tickets merged into one in one go, and most entries split off.
pub const MAX_MERGE: usize = 50;
pub const MAX_SPLIT: usize = 500;

/// What the actions need to know of a ticket, read under a row lock on
/// PostgreSQL (SQLite's write lock already serialises writers).
struct Locked {
    id: i64,
    number: i64,
    subject: String,
    owner_id: Option<i64>,
    team_id: Option<i64>,
    created_at: i64,
    merged_into_id: Option<i64>,
    deleted_at: Option<i64>,
    contact_id: Option<i64>,
    pipeline_id: i64,
    priority: i64,
    category: Option<String>,
    channel: String,
    channel_id: Option<i64>,
}

async fn lock_row(tx: &mut WriteTx, id: i64) -> Result<Option<Locked>, AppError> {
    let lock = tx.row_lock();
    let row = sqlx::query(&format!(
        "SELECT id, number, subject, owner_id, team_id, created_at, merged_into_id, deleted_at, \
         contact_id, pipeline_id, priority, category, channel, channel_id FROM tickets WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Locked {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        subject: r.try_get("subject")?,
        owner_id: r.try_get("owner_id")?,
        team_id: r.try_get("team_id")?,
        created_at: r.try_get("created_at")?,
        merged_into_id: r.try_get("merged_into_id")?,
        deleted_at: r.try_get("deleted_at")?,
        contact_id: r.try_get("contact_id")?,
        pipeline_id: r.try_get("pipeline_id")?,
        priority: r.try_get("priority")?,
        category: r.try_get("category")?,
        channel: r.try_get("channel")?,
        channel_id: r.try_get("channel_id")?,
    }))
}

/// A ticket the actor may see and act on: it exists, is theirs to see, is
/// not merged into another and not in the trash. `what` names it in
/// errors ("Ticket", "Ticket #12").
async fn listed_row(tx: &mut WriteTx, actor: &User, id: i64) -> Result<Locked, AppError> {
    let row = lock_row(tx, id)
        .await?
        .filter(|r| can_see(actor, r.owner_id, r.team_id))
        .ok_or_else(|| AppError::not_found("Ticket"))?;
    if row.merged_into_id.is_some() {
        return Err(AppError::Conflict(format!(
            "Ticket #{} was merged into another ticket.",
            row.number
        )));
    }
    if row.deleted_at.is_some() {
        return Err(AppError::Conflict(format!(
            "Ticket #{} is in the trash. Restore it first.",
            row.number
        )));
    }
    Ok(row)
}

/// Re-derives what a ticket's thread says about it after entries moved in
/// or out: when the customer last wrote, and since when they have been
/// waiting for an answer (their first message after the last reply).
async fn refresh_thread_facts(conn: &mut AnyConnection, ticket_id: i64) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE tickets SET \
         last_inbound_at = (SELECT MAX(m.created_at) FROM messages m WHERE m.ticket_id = $1 AND m.kind = 'inbound'), \
         awaiting_reply_since = (SELECT MIN(m.created_at) FROM messages m WHERE m.ticket_id = $1 AND m.kind = 'inbound' \
           AND m.created_at > COALESCE((SELECT MAX(r.created_at) FROM messages r WHERE r.ticket_id = $1 AND r.kind = 'reply'), -1)) \
         WHERE id = $1",
    )
    .bind(ticket_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn has_sla(conn: &mut AnyConnection, ticket_id: i64) -> Result<bool, AppError> {
    Ok(
        sqlx::query("SELECT 1 AS yes FROM ticket_sla WHERE ticket_id = $1 LIMIT 1")
            .bind(ticket_id)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}

/// Merges `secondary_ids` into `primary_id`. The primary keeps its number
/// and properties, takes the oldest create date and keeps its SLA clocks
/// (or takes a secondary's when it had none); the threads combine in time
/// order. All or nothing.
pub async fn merge(
    db: &Db,
    actor: &User,
    primary_id: i64,
    secondary_ids: &[i64],
) -> Result<Ticket, AppError> {
    require_worker(actor)?;
    let mut ids: Vec<i64> = secondary_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(AppError::invalid(
            "ticket_ids",
            "Choose at least one ticket to merge into this one.",
        ));
    }
    if ids.len() > MAX_MERGE {
        return Err(AppError::invalid(
            "ticket_ids",
            format!("Merge at most {MAX_MERGE} tickets at a time."),
        ));
    }
    if ids.contains(&primary_id) {
        return Err(AppError::invalid(
            "ticket_ids",
            "A ticket cannot be merged into itself.",
        ));
    }
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    // Rows are locked in id order, so two merges of overlapping tickets on
    // PostgreSQL queue instead of deadlocking.
    let mut all = ids.clone();
    all.push(primary_id);
    all.sort_unstable();
    let mut primary = None;
    let mut secondaries = Vec::new();
    for id in all {
        let row = listed_row(&mut tx, actor, id).await;
        if id == primary_id {
            primary = Some(row?);
        } else {
            secondaries.push(row.map_err(|e| match e {
                AppError::NotFound(_) => {
                    AppError::invalid("ticket_ids", format!("Ticket {id} was not found."))
                }
                other => other,
            })?);
        }
    }
    let primary = primary.ok_or(AppError::Internal)?;
    let mut created_at = primary.created_at;
    let mut primary_has_sla = has_sla(tx.conn(), primary.id).await?;
    let mut merged_numbers = Vec::new();
    for s in &secondaries {
        let take_sla = !primary_has_sla && has_sla(tx.conn(), s.id).await?;
        sqlx::query(
            "INSERT INTO ticket_merges (primary_id, secondary_id, primary_created_at, sla_from_secondary, \
             merged_by, merged_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(primary.id)
        .bind(s.id)
        .bind(created_at)
        .bind(i64::from(take_sla))
        .bind(actor.id)
        .bind(now)
        .execute(tx.conn())
        .await?;
        if take_sla {
            // Copies: the secondary keeps its own clocks for an unmerge.
            sqlx::query(
                "INSERT INTO ticket_sla (ticket_id, goal, policy_id, started_at, due_at, paused_since, \
                 paused_ms, stopped_at, state, next_change_at) \
                 SELECT $1, goal, policy_id, started_at, due_at, paused_since, paused_ms, stopped_at, \
                 state, next_change_at FROM ticket_sla WHERE ticket_id = $2",
            )
            .bind(primary.id)
            .bind(s.id)
            .execute(tx.conn())
            .await?;
            sqlx::query(
                "UPDATE tickets SET sla_state = (SELECT sla_state FROM tickets WHERE id = $2), \
                 sla_due_at = (SELECT sla_due_at FROM tickets WHERE id = $2) WHERE id = $1",
            )
            .bind(primary.id)
            .bind(s.id)
            .execute(tx.conn())
            .await?;
            primary_has_sla = true;
        }
        // The entries move, each remembering where it was written.
        sqlx::query(
            "UPDATE messages SET origin_ticket_id = COALESCE(origin_ticket_id, ticket_id), ticket_id = $1 \
             WHERE ticket_id = $2",
        )
        .bind(primary.id)
        .bind(s.id)
        .execute(tx.conn())
        .await?;
        for table in ["mentions", "attachments"] {
            sqlx::query(&format!(
                "UPDATE {table} SET ticket_id = $1 WHERE ticket_id = $2"
            ))
            .bind(primary.id)
            .bind(s.id)
            .execute(tx.conn())
            .await?;
        }
        // Whoever followed the secondary follows the conversation it joins.
        // Copied, not moved: an unmerged secondary keeps its followers.
        sqlx::query(
            "INSERT INTO followers (user_id, ticket_id, created_at) \
             SELECT user_id, $1, created_at FROM followers WHERE ticket_id = $2 \
             ON CONFLICT (user_id, ticket_id) DO NOTHING",
        )
        .bind(primary.id)
        .bind(s.id)
        .execute(tx.conn())
        .await?;
        sqlx::query("UPDATE tickets SET merged_into_id = $1, routing_pending = 0 WHERE id = $2")
            .bind(primary.id)
            .bind(s.id)
            .execute(tx.conn())
            .await?;
        created_at = created_at.min(s.created_at);
        merged_numbers.push(s.number);
        tx.event(
            PendingEvent::ticket(
                events::TICKET_MERGED,
                s.id,
                Some(actor.id),
                json!({"merged_into": primary.id, "number": primary.number}),
            )
            .at(now),
        );
    }
    sqlx::query("UPDATE tickets SET created_at = $1, updated_at = $2 WHERE id = $3")
        .bind(created_at)
        .bind(now)
        .bind(primary.id)
        .execute(tx.conn())
        .await?;
    refresh_thread_facts(tx.conn(), primary.id).await?;
    let list = secondaries
        .iter()
        .map(|s| format!("#{} “{}”", s.number, s.subject))
        .collect::<Vec<_>>()
        .join(", ");
    insert_timeline_event(
        &mut tx,
        primary.id,
        Some(actor.id),
        &format!("{} merged {list} into this ticket.", actor.name),
        now,
    )
    .await?;
    tx.event(
        PendingEvent::ticket(
            events::TICKET_MERGED,
            primary.id,
            Some(actor.id),
            json!({"merged": ids, "numbers": merged_numbers}),
        )
        .at(now),
    );
    tx.commit().await?;
    tickets::fetch(db, primary.id).await
}

/// The tickets merged, directly or through others, into `id`.
async fn merged_below(conn: &mut AnyConnection, id: i64) -> Result<Vec<i64>, AppError> {
    let mut found = Vec::new();
    let mut frontier = vec![id];
    while !frontier.is_empty() {
        let mut sql = SqlBuilder::new("SELECT id FROM tickets WHERE merged_into_id IN ");
        sql.push("(").bind_ints(&frontier).push(")");
        frontier = sql
            .query()
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        found.extend_from_slice(&frontier);
    }
    Ok(found)
}

/// Undoes the merge of `secondary_id` into `primary_id`: the secondary
/// comes back with exactly the entries written on it (and on what was
/// merged into it), and the primary gives back the create date and SLA
/// clocks it took.
pub async fn unmerge(
    db: &Db,
    actor: &User,
    primary_id: i64,
    secondary_id: i64,
) -> Result<Ticket, AppError> {
    require_worker(actor)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let (first, second) = if primary_id < secondary_id {
        (primary_id, secondary_id)
    } else {
        (secondary_id, primary_id)
    };
    let a = lock_row(&mut tx, first).await?;
    let b = lock_row(&mut tx, second).await?;
    let (primary, secondary) = if first == primary_id { (a, b) } else { (b, a) };
    let primary = primary
        .filter(|p| can_see(actor, p.owner_id, p.team_id))
        .ok_or_else(|| AppError::not_found("Ticket"))?;
    // Its entries now sit on the ticket it was merged into: undo that
    // merge first, one level at a time.
    if primary.merged_into_id.is_some() {
        return Err(AppError::Conflict(format!(
            "Ticket #{} is itself merged into another ticket; unmerge it from that one first.",
            primary.number
        )));
    }
    if primary.deleted_at.is_some() {
        return Err(AppError::Conflict(format!(
            "Ticket #{} is in the trash. Restore it first.",
            primary.number
        )));
    }
    // One the caller may not see is "not merged into this one" too: it
    // would otherwise come back into lists it does not belong to.
    let secondary = secondary
        .filter(|s| s.merged_into_id == Some(primary.id) && can_see(actor, s.owner_id, s.team_id))
        .ok_or_else(|| {
            AppError::invalid("ticket_id", "That ticket is not merged into this one.")
        })?;
    let record = sqlx::query(
        "SELECT id, sla_from_secondary FROM ticket_merges WHERE primary_id = $1 AND secondary_id = $2 \
         AND unmerged_at IS NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(primary.id)
    .bind(secondary.id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(AppError::Internal)?;
    let record_id: i64 = record.try_get("id")?;
    let sla_taken = record.try_get::<i64, _>("sla_from_secondary")? != 0;

    let mut home = merged_below(tx.conn(), secondary.id).await?;
    home.push(secondary.id);
    let mut sql = SqlBuilder::new("UPDATE messages SET ticket_id = ");
    sql.bind_int(secondary.id);
    sql.push(", origin_ticket_id = CASE WHEN origin_ticket_id = ")
        .bind_int(secondary.id)
        .push(" THEN NULL ELSE origin_ticket_id END WHERE ticket_id = ")
        .bind_int(primary.id)
        .push(" AND origin_ticket_id IN ");
    sql.push("(").bind_ints(&home).push(")");
    sql.query().execute(tx.conn()).await?;
    for (table, key) in [("mentions", "message_id"), ("attachments", "entry_id")] {
        sqlx::query(&format!(
            "UPDATE {table} SET ticket_id = $1 WHERE ticket_id = $2 AND {key} IN \
             (SELECT id FROM messages WHERE ticket_id = $1)"
        ))
        .bind(secondary.id)
        .bind(primary.id)
        .execute(tx.conn())
        .await?;
    }
    sqlx::query("UPDATE tickets SET merged_into_id = NULL WHERE id = $1")
        .bind(secondary.id)
        .execute(tx.conn())
        .await?;
    sqlx::query("UPDATE ticket_merges SET unmerged_at = $1, unmerged_by = $2 WHERE id = $3")
        .bind(now)
        .bind(actor.id)
        .bind(record_id)
        .execute(tx.conn())
        .await?;
    // The create date it had before its first merge, or the oldest of the
    // tickets still merged into it.
    let created_at: i64 = sqlx::query(
        "SELECT MIN(c) AS created_at FROM ( \
           SELECT primary_created_at AS c FROM ticket_merges WHERE id = \
             (SELECT MIN(id) FROM ticket_merges WHERE primary_id = $1) \
           UNION ALL SELECT created_at AS c FROM tickets WHERE merged_into_id = $1) x",
    )
    .bind(primary.id)
    .fetch_one(tx.conn())
    .await?
    .try_get("created_at")?;
    sqlx::query("UPDATE tickets SET created_at = $1, updated_at = $2 WHERE id = $3")
        .bind(created_at)
        .bind(now)
        .bind(primary.id)
        .execute(tx.conn())
        .await?;
    refresh_thread_facts(tx.conn(), primary.id).await?;
    if sla_taken {
        // The clocks were the secondary's: the primary plans its own again.
        sqlx::query("DELETE FROM ticket_sla WHERE ticket_id = $1")
            .bind(primary.id)
            .execute(tx.conn())
            .await?;
        sqlx::query("UPDATE tickets SET sla_state = NULL, sla_due_at = NULL WHERE id = $1")
            .bind(primary.id)
            .execute(tx.conn())
            .await?;
        crate::sla::service::refresh(&mut tx, primary.id, now).await?;
    }
    insert_timeline_event(
        &mut tx,
        primary.id,
        Some(actor.id),
        &format!(
            "{} unmerged #{} “{}” from this ticket.",
            actor.name, secondary.number, secondary.subject
        ),
        now,
    )
    .await?;
    for (id, data) in [
        (
            secondary.id,
            json!({"unmerged_from": primary.id, "number": primary.number}),
        ),
        (
            primary.id,
            json!({"unmerged": secondary.id, "number": secondary.number}),
        ),
    ] {
        tx.event(PendingEvent::ticket(events::TICKET_UNMERGED, id, Some(actor.id), data).at(now));
    }
    tx.commit().await?;
    tickets::fetch(db, primary.id).await
}

/// The tickets merged directly into `ticket_id`, for its sidebar (each can
/// be unmerged). Only those the caller may see, as every link below: a
/// ticket outside the caller's access is not named to them, not even by
/// number and subject.
pub async fn merged_into(
    db: &Db,
    actor: &User,
    ticket_id: i64,
) -> Result<Vec<super::super::LinkedTicket>, AppError> {
    linked(db, actor, "merged_into_id", ticket_id).await
}

/// The tickets split off from `ticket_id`.
pub async fn split_off(
    db: &Db,
    actor: &User,
    ticket_id: i64,
) -> Result<Vec<super::super::LinkedTicket>, AppError> {
    linked(db, actor, "split_from_id", ticket_id).await
}

async fn linked(
    db: &Db,
    actor: &User,
    column: &str,
    ticket_id: i64,
) -> Result<Vec<super::super::LinkedTicket>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {LINK_COLUMNS} FROM tickets WHERE {column} = $1 ORDER BY id"
    ))
    .bind(ticket_id)
    .fetch_all(db.pool())
    .await?;
    let mut links = Vec::new();
    for row in &rows {
        links.extend(visible_link(actor, row)?);
    }
    Ok(links)
}

/// A ticket by id for a link, if the caller may see it.
pub async fn link_of(
    db: &Db,
    actor: &User,
    id: i64,
) -> Result<Option<super::super::LinkedTicket>, AppError> {
    let row = sqlx::query(&format!("SELECT {LINK_COLUMNS} FROM tickets WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(row) => visible_link(actor, &row)?,
        None => None,
    })
}

/// What a link shows, and what decides whether it may be shown.
const LINK_COLUMNS: &str = "id, number, subject, owner_id, team_id";

fn visible_link(
    actor: &User,
    row: &sqlx::any::AnyRow,
) -> Result<Option<super::super::LinkedTicket>, AppError> {
    if !can_see(actor, row.try_get("owner_id")?, row.try_get("team_id")?) {
        return Ok(None);
    }
    Ok(Some(super::super::LinkedTicket {
        id: row.try_get("id")?,
        number: row.try_get("number")?,
        subject: row.try_get("subject")?,
    }))
}

/// Makes a new ticket of the chosen entries of a thread: same contact,
/// channel, team, owner, priority and category, in the pipeline's first
/// open status. The entries move; both tickets link to each other.
pub async fn split(
    db: &Db,
    actor: &User,
    ticket_id: i64,
    message_ids: &[i64],
) -> Result<Ticket, AppError> {
    require_worker(actor)?;
    let mut ids = message_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(AppError::invalid(
            "message_ids",
            "Choose the entries to split off.",
        ));
    }
    if ids.len() > MAX_SPLIT {
        return Err(AppError::invalid(
            "message_ids",
            format!("Split at most {MAX_SPLIT} entries at a time."),
        ));
    }
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let source = listed_row(&mut tx, actor, ticket_id).await?;
    let mut sql = SqlBuilder::new("SELECT id, kind FROM messages WHERE ticket_id = ");
    sql.bind_int(source.id).push(" AND id IN ");
    sql.push("(").bind_ints(&ids).push(")");
    let rows = sql.query().fetch_all(tx.conn()).await?;
    if rows.len() != ids.len() {
        return Err(AppError::invalid(
            "message_ids",
            "Some of those entries are not in this ticket's thread.",
        ));
    }
    for r in &rows {
        if r.try_get::<String, _>("kind")? == "event" {
            return Err(AppError::invalid(
                "message_ids",
                "Timeline records cannot be split off; choose messages and notes.",
            ));
        }
    }
    let left: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM messages WHERE ticket_id = $1 AND kind <> 'event'")
            .bind(source.id)
            .fetch_one(tx.conn())
            .await?
            .try_get("n")?;
    if left <= ids.len() as i64 {
        return Err(AppError::invalid(
            "message_ids",
            "Leave at least one message on this ticket.",
        ));
    }
    let status: Status = {
        let row = sqlx::query(
            "SELECT id, pipeline_id, name, category FROM pipeline_statuses WHERE pipeline_id = $1 \
             ORDER BY CASE WHEN category = 'open' THEN 0 ELSE 1 END, position, id LIMIT 1",
        )
        .bind(source.pipeline_id)
        .fetch_one(tx.conn())
        .await?;
        Status {
            id: row.try_get("id")?,
            pipeline_id: row.try_get("pipeline_id")?,
            name: row.try_get("name")?,
            category: StatusCategory::parse(&row.try_get::<String, _>("category")?)
                .ok_or(AppError::Internal)?,
        }
    };
    let new_id = insert_ticket(
        &mut tx,
        TicketRow {
            subject: &source.subject,
            status: &status,
            priority: Priority::from_rank(source.priority).unwrap_or(Priority::Medium),
            category: source.category.as_deref(),
            owner_id: source.owner_id,
            team_id: source.team_id,
            channel: &source.channel,
            channel_id: source.channel_id,
            contact_id: source.contact_id,
            at: now,
            actor_id: Some(actor.id),
            // The split-off entries keep the times they were written at.
            first_inbound_at: None,
        },
    )
    .await?
    .id;
    sqlx::query("UPDATE tickets SET split_from_id = $1 WHERE id = $2")
        .bind(source.id)
        .bind(new_id)
        .execute(tx.conn())
        .await?;
    let mut moved = SqlBuilder::new("UPDATE messages SET ticket_id = ");
    moved.bind_int(new_id).push(" WHERE id IN ");
    moved.push("(").bind_ints(&ids).push(")");
    moved.query().execute(tx.conn()).await?;
    // Mentions and files follow their entries; so does the email thread,
    // so that the customer's replies to it come to the new ticket.
    for (table, key) in [
        ("mentions", "message_id"),
        ("attachments", "entry_id"),
        ("email_messages", "entry_id"),
    ] {
        let mut sql = SqlBuilder::new(&format!("UPDATE {table} SET ticket_id = "));
        sql.bind_int(new_id).push(&format!(" WHERE {key} IN "));
        sql.push("(").bind_ints(&ids).push(")");
        sql.query().execute(tx.conn()).await?;
    }
    let new_number: i64 = sqlx::query("SELECT number FROM tickets WHERE id = $1")
        .bind(new_id)
        .fetch_one(tx.conn())
        .await?
        .try_get("number")?;
    for id in [source.id, new_id] {
        refresh_thread_facts(tx.conn(), id).await?;
        crate::sla::service::refresh(&mut tx, id, now).await?;
    }
    let n = ids.len();
    let entries = if n == 1 { "entry" } else { "entries" };
    insert_timeline_event(
        &mut tx,
        source.id,
        Some(actor.id),
        &format!("{} split {n} {entries} off into #{new_number}.", actor.name),
        now,
    )
    .await?;
    insert_timeline_event(
        &mut tx,
        new_id,
        Some(actor.id),
        &format!(
            "{} split this ticket off from #{} “{}”.",
            actor.name, source.number, source.subject
        ),
        now,
    )
    .await?;
    sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(source.id)
        .execute(tx.conn())
        .await?;
    tx.event(
        PendingEvent::ticket(
            events::TICKET_SPLIT,
            source.id,
            Some(actor.id),
            json!({"into": new_id, "number": new_number, "message_ids": ids}),
        )
        .at(now),
    );
    tx.commit().await?;
    tickets::fetch(db, new_id).await
}

/// Moves a ticket to the trash, from where it can be restored for
/// [`TRASH_DAYS`] days.
pub async fn trash(db: &Db, actor: &User, id: i64) -> Result<Ticket, AppError> {
    require_worker(actor)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let row = listed_row(&mut tx, actor, id).await?;
    sqlx::query(
        "UPDATE tickets SET deleted_at = $1, deleted_by = $2, routing_pending = 0 WHERE id = $3",
    )
    .bind(now)
    .bind(actor.id)
    .bind(row.id)
    .execute(tx.conn())
    .await?;
    let text = format!("{} moved the ticket to the trash.", actor.name);
    record_and_commit(db, tx, actor, &row, &text, events::TICKET_DELETED, now).await
}

/// Ends a trash or restore: the timeline line, the event, the commit, and
/// the ticket as it is now.
async fn record_and_commit(
    db: &Db,
    mut tx: WriteTx,
    actor: &User,
    row: &Locked,
    text: &str,
    kind: &'static str,
    now: i64,
) -> Result<Ticket, AppError> {
    insert_timeline_event(&mut tx, row.id, Some(actor.id), text, now).await?;
    tx.event(
        PendingEvent::ticket(kind, row.id, Some(actor.id), json!({"number": row.number})).at(now),
    );
    tx.commit().await?;
    tickets::fetch(db, row.id).await
}

/// Takes a ticket back out of the trash.
pub async fn restore(db: &Db, actor: &User, id: i64) -> Result<Ticket, AppError> {
    require_worker(actor)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let row = lock_row(&mut tx, id)
        .await?
        .filter(|r| r.merged_into_id.is_none() && can_see(actor, r.owner_id, r.team_id))
        .ok_or_else(|| AppError::not_found("Ticket"))?;
    if row.deleted_at.is_none() {
        return Err(AppError::Conflict(format!(
            "Ticket #{} is not in the trash.",
            row.number
        )));
    }
    sqlx::query(
        "UPDATE tickets SET deleted_at = NULL, deleted_by = NULL, updated_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(row.id)
    .execute(tx.conn())
    .await?;
    let text = format!("{} restored the ticket from the trash.", actor.name);
    record_and_commit(db, tx, actor, &row, &text, events::TICKET_RESTORED, now).await
}

/// Deletes for good the tickets that have been in the trash longer than
/// [`TRASH_DAYS`] (with their threads, files and whatever was merged into
/// them), a batch per transaction. Returns how many went.
pub async fn purge_expired(db: &Db, now: i64) -> Result<u64, AppError> {
    let cutoff = now - TRASH_DAYS * crate::views::DAY_MS;
    let mut purged = 0;
    loop {
        let mut tx = db.begin_write().await?;
        let ids: Vec<i64> = sqlx::query(
            "SELECT id FROM tickets WHERE deleted_at IS NOT NULL AND deleted_at < $1 ORDER BY deleted_at, id LIMIT 200",
        )
        .bind(cutoff)
        .fetch_all(tx.conn())
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(purged);
        }
        let mut sql = SqlBuilder::new("DELETE FROM tickets WHERE id IN ");
        sql.push("(").bind_ints(&ids).push(")");
        sql.query().execute(tx.conn()).await?;
        // Not a ticket event: the ticket is gone, and its id tells nobody
        // anything. Trash counts reload on it.
        tx.event(
            PendingEvent::global(events::TICKETS_PURGED, None, json!({"count": ids.len()})).at(now),
        );
        tx.commit().await?;
        purged += ids.len() as u64;
    }
}

/// Purges the expired trash at start and then every hour.
pub async fn run_purger(db: Db) {
    loop {
        match purge_expired(&db, now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tickets = n, "purged tickets from the trash"),
            Err(e) => tracing::warn!(error = %e, "trash purge failed"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}

/// Applies one action to each chosen ticket. Updates, deletes and restores
/// go ticket by ticket (one refused ticket does not stop the others); a
/// merge is one transaction.
pub async fn bulk(
    db: &Db,
    actor: &User,
    ticket_ids: &[i64],
    action: BulkAction,
) -> Result<BulkOutcome, AppError> {
    require_worker(actor)?;
    // Each ticket once, in the order chosen.
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<i64> = ticket_ids
        .iter()
        .copied()
        .filter(|id| seen.insert(*id))
        .collect();
    if ids.is_empty() {
        return Err(AppError::invalid(
            "ticket_ids",
            "Choose at least one ticket.",
        ));
    }
    if ids.len() > MAX_BULK {
        return Err(AppError::invalid(
            "ticket_ids",
            format!("Choose at most {MAX_BULK} tickets at a time."),
        ));
    }
    if let BulkAction::Merge { primary_id } = &action {
        let others: Vec<i64> = ids.iter().copied().filter(|id| id != primary_id).collect();
        merge(db, actor, *primary_id, &others).await?;
        return Ok(BulkOutcome {
            done: ids,
            failed: Vec::new(),
        });
    }
    let mut outcome = BulkOutcome::default();
    for id in ids {
        let result = match &action {
            BulkAction::Update { patch } => tickets::update(db, actor, id, patch.clone()).await,
            BulkAction::Delete => trash(db, actor, id).await,
            // Merge was handled above.
            BulkAction::Restore | BulkAction::Merge { .. } => restore(db, actor, id).await,
        };
        match result {
            Ok(_) => outcome.done.push(id),
            Err(AppError::Internal) => return Err(AppError::Internal),
            Err(e) => outcome.failed.push(BulkFailure {
                id,
                message: e.to_string(),
            }),
        }
    }
    Ok(outcome)
}
