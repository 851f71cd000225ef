//! Thread rules and SQL: reading a thread, replying, adding notes.

use super::sanitize::{html_to_text, sanitize_html, text_to_html};
use super::{AttachmentRef, Author, EntryKind, NewEntry, NewEntryKind, ThreadEntry};
use crate::access::can_see;
use crate::db::{now_ms, Db, WriteTx};
use crate::error::AppError;
use crate::events::{self, log::PendingEvent};
use crate::tickets::service::validate_body;
use crate::users::User;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

const SELECT: &str = "SELECT m.id, m.ticket_id, m.kind, m.body, m.body_html, m.created_at, \
    m.quoted_html, m.remote_images, m.join_detail, m.delivery_state, m.delivery_error, \
    m.author_user_id, u.name AS user_name, m.author_contact_id, c.name AS contact_name, \
    m.origin_ticket_id, ot.number AS origin_number \
    FROM messages m LEFT JOIN users u ON u.id = m.author_user_id \
    LEFT JOIN contacts c ON c.id = m.author_contact_id \
    LEFT JOIN tickets ot ON ot.id = m.origin_ticket_id";

fn from_row(row: &AnyRow) -> Result<ThreadEntry, AppError> {
    let kind: String = row.try_get("kind")?;
    let user_id: Option<i64> = row.try_get("author_user_id")?;
    let contact_id: Option<i64> = row.try_get("author_contact_id")?;
    let author = match (user_id, contact_id) {
        (Some(id), _) => Some(Author {
            kind: "user".into(),
            id,
            name: row
                .try_get::<Option<String>, _>("user_name")?
                .unwrap_or_default(),
        }),
        (None, Some(id)) => Some(Author {
            kind: "contact".into(),
            id,
            name: row
                .try_get::<Option<String>, _>("contact_name")?
                .unwrap_or_default(),
        }),
        (None, None) => None,
    };
    Ok(ThreadEntry {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        kind: EntryKind::parse(&kind).ok_or(AppError::Internal)?,
        author,
        body: row.try_get("body")?,
        body_html: row.try_get("body_html")?,
        created_at: row.try_get("created_at")?,
        quoted_html: row.try_get("quoted_html")?,
        remote_images: row.try_get::<i64, _>("remote_images")? != 0,
        origin: row.try_get("join_detail")?,
        delivery_state: row.try_get("delivery_state")?,
        delivery_error: row.try_get("delivery_error")?,
        attachments: Vec::new(),
        merged_from: match row.try_get::<Option<i64>, _>("origin_ticket_id")? {
            Some(id) => Some(super::MergedFrom {
                ticket_id: id,
                number: row.try_get("origin_number")?,
            }),
            None => None,
        },
    })
}

/// The attachments of a ticket's entries, by entry id.
async fn attachments_of(
    db: &Db,
    ticket_id: i64,
) -> Result<std::collections::HashMap<i64, Vec<AttachmentRef>>, AppError> {
    let rows = sqlx::query(
        "SELECT id, entry_id, filename, content_type, size, is_inline FROM attachments \
         WHERE ticket_id = $1 ORDER BY id",
    )
    .bind(ticket_id)
    .fetch_all(db.pool())
    .await?;
    let mut out: std::collections::HashMap<i64, Vec<AttachmentRef>> = Default::default();
    for r in rows {
        out.entry(r.try_get("entry_id")?)
            .or_default()
            .push(AttachmentRef {
                id: r.try_get("id")?,
                filename: r.try_get("filename")?,
                content_type: r.try_get("content_type")?,
                size: r.try_get("size")?,
                inline: r.try_get::<i64, _>("is_inline")? != 0,
            });
    }
    Ok(out)
}

/// An attachment's file, for someone who may see its ticket.
pub async fn attachment(
    db: &Db,
    actor: &User,
    id: i64,
) -> Result<(AttachmentRef, Vec<u8>), AppError> {
    let row = sqlx::query(
        "SELECT id, ticket_id, filename, content_type, size, is_inline, data FROM attachments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| AppError::not_found("Attachment"))?;
    let ticket_id: i64 = row.try_get("ticket_id")?;
    crate::tickets::service::get(db, actor, ticket_id)
        .await
        .map_err(|_| AppError::not_found("Attachment"))?;
    Ok((
        AttachmentRef {
            id: row.try_get("id")?,
            filename: row.try_get("filename")?,
            content_type: row.try_get("content_type")?,
            size: row.try_get("size")?,
            inline: row.try_get::<i64, _>("is_inline")? != 0,
        },
        row.try_get("data")?,
    ))
}

/// Records a line in the ticket's timeline ("Ana replied and was assigned
/// the ticket.") as an event entry, inside the caller's transaction.
pub async fn insert_timeline_event(
    tx: &mut WriteTx,
    ticket_id: i64,
    actor_id: Option<i64>,
    text: &str,
    at: i64,
) -> Result<i64, AppError> {
    insert_entry(
        tx,
        ticket_id,
        EntryKind::Event,
        actor_id,
        None,
        text,
        &text_to_html(text),
        at,
    )
    .await
}

/// Inserts a thread entry and its `message.created` event inside the
/// caller's transaction, and keeps the ticket's side in step: an inbound
/// message marks the ticket awaiting our reply, a reply answers it, and
/// either re-plans the SLA clocks. `body_html` must already be safe.
#[allow(clippy::too_many_arguments)]
pub async fn insert_entry(
    tx: &mut WriteTx,
    ticket_id: i64,
    kind: EntryKind,
    author_user_id: Option<i64>,
    author_contact_id: Option<i64>,
    body: &str,
    body_html: &str,
    now: i64,
) -> Result<i64, AppError> {
    let id = insert_entry_row(
        tx,
        ticket_id,
        kind,
        author_user_id,
        author_contact_id,
        body,
        body_html,
        now,
    )
    .await?;
    match kind {
        EntryKind::Inbound => {
            // For the "last customer message" filter of custom views, and
            // the start of the "next reply" SLA clock.
            sqlx::query(
                "UPDATE tickets SET last_inbound_at = $1, \
                 awaiting_reply_since = COALESCE(awaiting_reply_since, $1) WHERE id = $2",
            )
            .bind(now)
            .bind(ticket_id)
            .execute(tx.conn())
            .await?;
            crate::sla::service::refresh(tx, ticket_id, now_ms()).await?;
        }
        EntryKind::Reply => {
            // Answered: the first reply and the next reply clocks stop.
            sqlx::query(
                "UPDATE tickets SET first_reply_at = COALESCE(first_reply_at, $1), \
                 awaiting_reply_since = NULL WHERE id = $2",
            )
            .bind(now)
            .bind(ticket_id)
            .execute(tx.conn())
            .await?;
            crate::sla::service::refresh(tx, ticket_id, now).await?;
        }
        _ => {}
    }
    message_created(tx, ticket_id, id, kind, author_user_id, now);
    Ok(id)
}

/// The customer's first message on a ticket inserted in this same
/// transaction with `TicketRow::first_inbound_at` set: the row already
/// says the ticket awaits our reply, so only the entry and its event are
/// written, and the SLA clocks are planned only when the help desk has
/// SLA policies (`InsertedTicket::sla_configured`). Every statement saved
/// here is one less that other writers wait behind.
pub async fn insert_first_inbound(
    tx: &mut WriteTx,
    ticket: &crate::tickets::service::InsertedTicket,
    contact_id: i64,
    body: &str,
    body_html: &str,
    now: i64,
) -> Result<i64, AppError> {
    debug_assert_eq!(
        ticket.first_inbound_at,
        Some(now),
        "the ticket row must already say it awaits our reply"
    );
    let kind = EntryKind::Inbound;
    let id = insert_entry_row(
        tx,
        ticket.id,
        kind,
        None,
        Some(contact_id),
        body,
        body_html,
        now,
    )
    .await?;
    if ticket.sla_configured {
        crate::sla::service::start_new(tx, ticket.id, now).await?;
    }
    message_created(tx, ticket.id, id, kind, None, now);
    Ok(id)
}

/// The entry's row alone; its callers add the ticket's side and the event.
#[allow(clippy::too_many_arguments)]
async fn insert_entry_row(
    tx: &mut WriteTx,
    ticket_id: i64,
    kind: EntryKind,
    author_user_id: Option<i64>,
    author_contact_id: Option<i64>,
    body: &str,
    body_html: &str,
    now: i64,
) -> Result<i64, AppError> {
    let row = sqlx::query(
        "INSERT INTO messages (ticket_id, kind, author_user_id, author_contact_id, body, body_html, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(ticket_id)
    .bind(kind.as_str())
    .bind(author_user_id)
    .bind(author_contact_id)
    .bind(body)
    .bind(body_html)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    Ok(row.try_get("id")?)
}

/// Records the `message.created` event; it follows any SLA event of the
/// same entry.
fn message_created(
    tx: &mut WriteTx,
    ticket_id: i64,
    id: i64,
    kind: EntryKind,
    author_user_id: Option<i64>,
    now: i64,
) {
    tx.event(
        PendingEvent::ticket(
            events::MESSAGE_CREATED,
            ticket_id,
            author_user_id,
            json!({"message_id": id, "kind": kind}),
        )
        .at(now),
    );
}

/// The whole thread, oldest first, of a ticket the caller may see.
pub async fn list(db: &Db, actor: &User, ticket_id: i64) -> Result<Vec<ThreadEntry>, AppError> {
    // A merged ticket's thread is its primary's.
    let ticket_id = crate::tickets::service::get(db, actor, ticket_id).await?.id;
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE m.ticket_id = $1 ORDER BY m.created_at, m.id"
    ))
    .bind(ticket_id)
    .fetch_all(db.pool())
    .await?;
    let mut files = attachments_of(db, ticket_id).await?;
    rows.iter()
        .map(|r| {
            let mut entry = from_row(r)?;
            entry.attachments = files.remove(&entry.id).unwrap_or_default();
            Ok(entry)
        })
        .collect()
}

async fn get(db: &Db, id: i64) -> Result<ThreadEntry, AppError> {
    let row = sqlx::query(&format!("{SELECT} WHERE m.id = $1"))
        .bind(id)
        .fetch_one(db.pool())
        .await?;
    from_row(&row)
}

/// Words after `@` in a note: `@ana` or `@ana@example.com`.
pub fn mention_handles(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, _) in text.match_indices('@') {
        // An @ inside a word (an email address) is not a mention.
        if text[..i]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric())
        {
            continue;
        }
        let handle: String = text[i + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'))
            .collect();
        let handle = handle.trim_end_matches(['.', '-']).to_lowercase();
        if !handle.is_empty() && !out.contains(&handle) {
            out.push(handle);
        }
    }
    out
}

/// Does `handle` name this user: their email, its local part, or their
/// first name?
fn handle_matches(handle: &str, user: &User) -> bool {
    let email = user.email.to_lowercase();
    let first = user
        .name
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_lowercase();
    handle == email
        || email.split('@').next() == Some(handle)
        || (!first.is_empty() && handle == first)
}

/// Adds a reply or an internal note. A reply to an unassigned ticket
/// assigns it to the replier (as replying from the Unassigned view does in
/// HubSpot) and the first reply stamps `first_reply_at`.
pub async fn add(
    state: &crate::state::AppState,
    actor: &User,
    ticket_id: i64,
    entry: NewEntry,
) -> Result<ThreadEntry, AppError> {
    let (body, body_html) = match (entry.body.as_deref(), entry.body_html.as_deref()) {
        (_, Some(html)) if !html.trim().is_empty() => {
            validate_body(html)?;
            let clean = sanitize_html(html);
            let text = match entry
                .body
                .as_deref()
                .map(str::trim)
                .filter(|b| !b.is_empty())
            {
                Some(b) => {
                    // The plain text is stored too: it has the same limit.
                    validate_body(b)?;
                    b.to_string()
                }
                None => html_to_text(&clean),
            };
            (text, clean)
        }
        (Some(text), _) if !text.trim().is_empty() => {
            validate_body(text)?;
            (text.trim().to_string(), text_to_html(text.trim()))
        }
        _ => return Err(AppError::invalid("body", "Write a message first.")),
    };
    if body.trim().is_empty() {
        return Err(AppError::invalid("body", "Write a message first."));
    }
    let db = &state.db;
    let mentioned: Vec<User> = if entry.kind == NewEntryKind::Note {
        let handles = mention_handles(&body);
        if handles.is_empty() {
            Vec::new()
        } else {
            crate::users::service::list(db)
                .await?
                .into_iter()
                .filter(|u| handles.iter().any(|h| handle_matches(h, u)))
                .collect()
        }
    } else {
        Vec::new()
    };

    let now = now_ms();
    let mut tx = db.begin_write().await?;
    // A reply to a merged ticket goes to its primary.
    let ticket_id = crate::tickets::service::resolve_merged(tx.conn(), ticket_id).await?;
    let row = sqlx::query("SELECT owner_id, team_id, deleted_at FROM tickets WHERE id = $1")
        .bind(ticket_id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| AppError::not_found("Ticket"))?;
    let owner: Option<i64> = row.try_get("owner_id")?;
    let team: Option<i64> = row.try_get("team_id")?;
    if !can_see(actor, owner, team) {
        return Err(AppError::not_found("Ticket"));
    }
    if row.try_get::<Option<i64>, _>("deleted_at")?.is_some() {
        return Err(AppError::Conflict(
            "This ticket is in the trash. Restore it to write on it.".into(),
        ));
    }
    // Checked after access, so that a ticket outside it is "not found" for
    // everyone.
    if entry.kind == NewEntryKind::Reply && !actor.can_work_tickets() {
        return Err(AppError::forbidden(
            "Collaborators can add internal notes but not reply to customers.",
        ));
    }
    let kind = match entry.kind {
        NewEntryKind::Reply => EntryKind::Reply,
        NewEntryKind::Note => EntryKind::Note,
    };
    if let (EntryKind::Reply, Some(seen), false) =
        (kind, entry.seen_message_id, entry.confirm_stale)
    {
        check_not_stale(&mut tx, actor, ticket_id, seen).await?;
    }
    let id = insert_entry(
        &mut tx,
        ticket_id,
        kind,
        Some(actor.id),
        None,
        &body,
        &body_html,
        now,
    )
    .await?;
    for user in &mentioned {
        sqlx::query("INSERT INTO mentions (message_id, user_id, ticket_id) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(user.id)
            .bind(ticket_id)
            .execute(tx.conn())
            .await?;
    }
    if kind == EntryKind::Reply {
        // A reply on an email ticket goes out as an email, queued in this
        // transaction so it is sent exactly when the reply exists.
        crate::channels::email::outbound::enqueue_reply(
            &mut tx, state, ticket_id, id, &body, &body_html, now,
        )
        .await?;
        sqlx::query("UPDATE tickets SET updated_at = $1, first_reply_at = COALESCE(first_reply_at, $1) WHERE id = $2")
            .bind(now)
            .bind(ticket_id)
            .execute(tx.conn())
            .await?;
        if owner.is_none() {
            sqlx::query("UPDATE tickets SET owner_id = $1 WHERE id = $2")
                .bind(actor.id)
                .bind(ticket_id)
                .execute(tx.conn())
                .await?;
            let text = format!("{} replied and was assigned the ticket.", actor.name);
            insert_timeline_event(&mut tx, ticket_id, Some(actor.id), &text, now).await?;
            tx.event(
                PendingEvent::ticket(
                    events::TICKET_ASSIGNED,
                    ticket_id,
                    Some(actor.id),
                    json!({"owner_id": actor.id}),
                )
                .at(now)
                .moved_from(None, team),
            );
        }
    } else {
        sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(ticket_id)
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await?;
    get(db, id).await
}

/// Refuses a reply when the thread moved on after `seen`: a customer
/// message, or another agent's reply, that the writer has not seen.
async fn check_not_stale(
    tx: &mut WriteTx,
    actor: &User,
    ticket_id: i64,
    seen: i64,
) -> Result<(), AppError> {
    let newer = sqlx::query(
        "SELECT kind FROM messages WHERE ticket_id = $1 AND id > $2 \
         AND (kind = 'inbound' OR (kind = 'reply' AND author_user_id <> $3)) \
         ORDER BY id LIMIT 1",
    )
    .bind(ticket_id)
    .bind(seen)
    .bind(actor.id)
    .fetch_optional(tx.conn())
    .await?;
    match newer {
        None => Ok(()),
        Some(row) => {
            let kind: String = row.try_get("kind")?;
            Err(AppError::StaleReply(if kind == "inbound" {
                "The customer wrote again while you were typing. Read it, then send anyway if your reply still fits.".into()
            } else {
                "Another agent replied while you were typing. Read it, then send anyway if your reply still fits.".into()
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::Role;

    #[test]
    fn finds_mentions_but_not_email_addresses() {
        assert_eq!(
            mention_handles("Hey @Ana, can @bo.li look? mail x@y.com"),
            vec!["ana", "bo.li"]
        );
        assert_eq!(
            mention_handles("@ana@example.com thanks."),
            vec!["ana@example.com"]
        );
        assert!(mention_handles("no mentions").is_empty());
    }

    #[test]
    fn handles_match_first_name_or_email() {
        let u = User {
            id: 1,
            email: "ana.ruiz@example.com".into(),
            name: "Ana Ruiz".into(),
            role: Role::Agent,
            access: Default::default(),
            availability: Default::default(),
            timezone: "UTC".into(),
            working_hours: None,
            capacity: Default::default(),
        };
        assert!(handle_matches("ana", &u));
        assert!(handle_matches("ana.ruiz", &u));
        assert!(handle_matches("ana.ruiz@example.com", &u));
        assert!(!handle_matches("ruiz", &u));
    }
}
