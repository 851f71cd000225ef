//! Inbound email to ticket: guards, threading, contact, body, attachments.
//!
//! Every path that receives mail (the SMTP listener, IMAP polling, history
//! import) calls [`ingest`] with the raw bytes. It never fails on the
//! message itself: whatever cannot become a thread entry is kept raw in the
//! quarantine with the reason, so the caller can always acknowledge it.
//! Only a database failure is an error (the SMTP listener then answers 451
//! and the sender retries).
//!
//! Threading, in this order, and recorded on the entry:
//! 1. In-Reply-To, then References, naming a Message-ID we sent or received;
//! 2. a signed reply token in the address the customer wrote to
//!    (`support+t1234-sig@…`), or a `[#1234]` token in the subject, only
//!    when the sender is already on that ticket;
//! 3. otherwise a new ticket. The subject alone never joins two senders.

use super::body;
use super::parse::{self, base_subject, clean_header_text, subject_ticket_number, ParsedEmail};
use crate::contacts::{self, ContactRef};
use crate::db::{now_ms, Db, WriteTx};
use crate::error::AppError;
use crate::events::{self, log::PendingEvent};
use crate::messages::sanitize::html_to_text;
use crate::messages::service::{insert_entry, insert_first_inbound, insert_timeline_event};
use crate::messages::EntryKind;
use crate::state::AppState;
use crate::tickets::service::{InsertedTicket, TicketRow};
use crate::tickets::{self, Priority, StatusCategory};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How long parsing one message may take before it is set aside: a hostile
/// message must not hold up the mail behind it.
pub const PARSE_TIMEOUT: Duration = Duration::from_secs(1);
/// The plain-text copy of a body is cut here (the HTML is kept whole).
const MAX_TEXT_CHARS: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Smtp,
    Imap,
    /// History import: new tickets are closed, dates are the emails' own,
    /// and mail from the channel's own address is our past replies.
    Import,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Smtp => "smtp",
            Source::Imap => "imap",
            Source::Import => "import",
        }
    }
}

/// How a message reached us.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub source: Source,
    /// Known for IMAP and import; SMTP finds it from the recipients.
    pub channel_id: Option<i64>,
    /// SMTP envelope recipients (`RCPT TO`), lower-case.
    pub recipients: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created {
        ticket_id: i64,
        entry_id: i64,
    },
    Appended {
        ticket_id: i64,
        entry_id: i64,
    },
    /// Already received (same Message-ID): nothing written.
    Duplicate {
        ticket_id: i64,
    },
    /// A delivery failure report, recorded on the reply it concerns.
    Bounced {
        ticket_id: i64,
    },
    Quarantined {
        id: i64,
        category: &'static str,
    },
}

/// A connected channel as ingest needs it.
#[derive(Debug, Clone)]
pub struct ChannelRef {
    pub id: i64,
    pub address: String,
    pub team_id: Option<i64>,
}

/// `local+tag@domain` -> `local@domain`.
pub fn mailbox_base(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(l, _)| l);
            format!("{local}@{domain}").to_lowercase()
        }
        None => address.to_lowercase(),
    }
}

/// The ticket number and signature in a reply address
/// `local+t{number}-{signature}@domain`.
pub fn reply_token(address: &str) -> Option<(i64, String)> {
    let (local, _) = address.split_once('@')?;
    let (_, tag) = local.split_once('+')?;
    let tag = tag.strip_prefix('t')?;
    let (number, sig) = tag.split_once('-')?;
    Some((number.parse().ok()?, sig.to_string()))
}

fn channel_from_row(r: &AnyRow) -> Result<ChannelRef, AppError> {
    Ok(ChannelRef {
        id: r.try_get("id")?,
        address: r.try_get("address")?,
        team_id: r.try_get("team_id")?,
    })
}

/// The channel whose address `address` is (plus-addressing allowed).
pub async fn channel_for_address(db: &Db, address: &str) -> Result<Option<ChannelRef>, AppError> {
    let base = mailbox_base(address);
    let row = sqlx::query("SELECT id, address, team_id FROM channels WHERE address = $1")
        .bind(&base)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(channel_from_row).transpose()
}

async fn channel_by_id(db: &Db, id: i64) -> Result<Option<ChannelRef>, AppError> {
    let row = sqlx::query("SELECT id, address, team_id FROM channels WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(channel_from_row).transpose()
}

/// A message that did not become a thread entry, kept raw with the reason
/// (table `email_quarantine`).
pub struct Quarantine<'a> {
    /// The channel it came to, when known.
    pub channel_id: Option<i64>,
    pub source: Source,
    /// `malformed`, `loop`, `rate_limited`, `auto_reply`, `bounce`, ...
    pub category: &'static str,
    /// What the admin reads: why it is here.
    pub reason: &'a str,
    pub sender: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub raw: &'a [u8],
}

/// Keeps a message that did not become a thread entry.
pub async fn quarantine(db: &Db, entry: Quarantine<'_>) -> Result<Outcome, AppError> {
    let _turn = db.write_turn().await;
    let id = insert_quarantined(db.pool(), &entry).await?;
    Ok(Outcome::Quarantined {
        id,
        category: entry.category,
    })
}

/// The insert behind [`quarantine`], on a connection of the caller's: a
/// transaction that also writes the message's entry uses it too.
async fn insert_quarantined<'c>(
    executor: impl sqlx::any::AnyExecutor<'c>,
    entry: &Quarantine<'_>,
) -> Result<i64, AppError> {
    let row = sqlx::query(
        "INSERT INTO email_quarantine (channel_id, source, category, reason, sender, subject, size, raw, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(entry.channel_id)
    .bind(entry.source.as_str())
    .bind(entry.category)
    .bind(entry.reason)
    .bind(entry.sender)
    .bind(entry.subject)
    .bind(entry.raw.len() as i64)
    .bind(entry.raw.to_vec())
    .bind(now_ms())
    .fetch_one(executor)
    .await?;
    tracing::info!(
        category = entry.category,
        source = entry.source.as_str(),
        "email quarantined"
    );
    Ok(row.try_get("id")?)
}

/// Parses off the async threads, with a time limit.
async fn parse_bounded(raw: Arc<Vec<u8>>) -> Result<ParsedEmail, String> {
    let task = tokio::task::spawn_blocking(move || parse::parse(&raw));
    match tokio::time::timeout(PARSE_TIMEOUT, task).await {
        Ok(Ok(Ok(parsed))) => Ok(parsed),
        Ok(Ok(Err(e))) => Err(format!("The message could not be read: {e}.")),
        Ok(Err(_)) => Err("The message made the parser fail.".into()),
        Err(_) => Err(format!(
            "Reading the message took longer than {} s.",
            PARSE_TIMEOUT.as_secs()
        )),
    }
}

/// Turns one raw email into a thread entry, or quarantines it.
pub async fn ingest(
    state: &AppState,
    raw: Vec<u8>,
    delivery: &Delivery,
) -> Result<Outcome, AppError> {
    let db = &state.db;
    let config = &state.config;
    let source = delivery.source;
    let raw = Arc::new(raw);
    let known_channel = match delivery.channel_id {
        Some(id) => channel_by_id(db, id).await?,
        None => None,
    };
    if raw.len() > config.max_email_bytes {
        let reason = format!(
            "The message is {} bytes, over the {} byte limit.",
            raw.len(),
            config.max_email_bytes
        );
        let head = &raw[..raw.len().min(64 * 1024)];
        return quarantine(
            db,
            Quarantine {
                channel_id: known_channel.map(|c| c.id),
                source,
                category: "too_large",
                reason: &reason,
                sender: None,
                subject: None,
                raw: head,
            },
        )
        .await;
    }
    let parsed = match parse_bounded(raw.clone()).await {
        Ok(p) => p,
        Err(reason) => {
            let category = if reason.contains("longer than") {
                "timeout"
            } else {
                "malformed"
            };
            return quarantine(
                db,
                Quarantine {
                    channel_id: known_channel.map(|c| c.id),
                    source,
                    category,
                    reason: &reason,
                    sender: None,
                    subject: None,
                    raw: &raw,
                },
            )
            .await;
        }
    };
    let subject = Some(parsed.subject.as_str()).filter(|s| !s.is_empty());
    let sender = parsed.from_address.clone();
    let channel = match known_channel {
        Some(c) => Some(c),
        None => {
            let mut found = None;
            for address in delivery.recipients.iter().chain(parsed.recipients.iter()) {
                if let Some(c) = channel_for_address(db, address).await? {
                    found = Some(c);
                    break;
                }
            }
            found
        }
    };
    let Some(channel) = channel else {
        return quarantine(
            db,
            Quarantine {
                channel_id: None,
                source,
                category: "no_channel",
                reason: "No connected channel has this recipient address.",
                sender: sender.as_deref(),
                subject,
                raw: &raw,
            },
        )
        .await;
    };
    let Some(sender) = sender.filter(|s| crate::users::service::normalize_email("from", s).is_ok())
    else {
        return quarantine(
            db,
            Quarantine {
                channel_id: Some(channel.id),
                source,
                category: "no_sender",
                reason: "The message has no usable From address.",
                sender: None,
                subject,
                raw: &raw,
            },
        )
        .await;
    };

    let own_address = mailbox_base(&sender) == channel.address
        || channel_for_address(db, &sender).await?.is_some();
    if own_address && source != Source::Import {
        return quarantine(
            db,
            Quarantine {
                channel_id: Some(channel.id),
                source,
                category: "loop",
                reason: "The message comes from one of our own channel addresses (a mail loop).",
                sender: Some(&sender),
                subject,
                raw: &raw,
            },
        )
        .await;
    }

    if let Some(bounce) = &parsed.bounce {
        if let Some(outcome) = record_bounce(db, bounce).await? {
            return Ok(outcome);
        }
        return quarantine(
            db,
            Quarantine {
                channel_id: Some(channel.id),
                source,
                category: "bounce",
                reason: &format!(
                    "Delivery failure report for a message we did not send: {}",
                    bounce.detail
                ),
                sender: Some(&sender),
                subject,
                raw: &raw,
            },
        )
        .await;
    }
    let local = sender.split('@').next().unwrap_or("");
    if local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster") {
        return quarantine(
            db,
            Quarantine {
                channel_id: Some(channel.id),
                source,
                category: "bounce",
                reason: "A message from a mail system, not a person.",
                sender: Some(&sender),
                subject,
                raw: &raw,
            },
        )
        .await;
    }
    if let Some(reason) = &parsed.auto_reply {
        if source != Source::Import {
            return quarantine(
                db,
                Quarantine {
                    channel_id: Some(channel.id),
                    source,
                    category: "auto_reply",
                    reason: &format!("Automatic reply ({reason}): no ticket is made for it."),
                    sender: Some(&sender),
                    subject,
                    raw: &raw,
                },
            )
            .await;
        }
    }

    let mut receipt = match check_receipt(db, &parsed).await? {
        Seen::Before { ticket_id } => return Ok(Outcome::Duplicate { ticket_id }),
        Seen::New(receipt) => receipt,
    };

    if source != Source::Import {
        let recent: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM email_messages WHERE sender = $1 AND direction = 'in' AND created_at > $2",
        )
        .bind(&sender)
        .bind(now_ms() - 60_000)
        .fetch_one(db.pool())
        .await?
        .try_get("n")?;
        if recent >= config.sender_rate_per_minute {
            return quarantine(
                db,
                Quarantine {
                    channel_id: Some(channel.id),
                    source,
                    category: "rate_limited",
                    reason: &format!(
                        "{sender} sent more than {} emails in a minute.",
                        config.sender_rate_per_minute
                    ),
                    sender: Some(&sender),
                    subject,
                    raw: &raw,
                },
            )
            .await;
        }
    }

    let addresses: Vec<String> = delivery
        .recipients
        .iter()
        .chain(parsed.recipients.iter())
        .filter(|r| r.contains('+'))
        .cloned()
        .collect();
    // A unique-key conflict means another delivery won a race: the same
    // message arriving twice at once (then it is a duplicate), another
    // message with the same Message-ID (then it is stored under its own key),
    // or two first emails from one new sender creating the contact together
    // on PostgreSQL (then writing again finds the contact).
    let mut attempt = 0;
    let outcome = loop {
        match write(
            state,
            &parsed,
            &raw,
            &receipt,
            &channel,
            &sender,
            source,
            own_address,
            &addresses,
        )
        .await
        {
            Ok(done) => break done,
            Err(AppError::Conflict(_)) => {
                // The winner may also have been another message under the
                // same Message-ID: then this one gets a key of its own.
                match check_receipt(db, &parsed).await? {
                    Seen::Before { ticket_id } => return Ok(Outcome::Duplicate { ticket_id }),
                    Seen::New(again) => receipt = again,
                }
                attempt += 1;
                if attempt >= 3 {
                    return Err(AppError::Conflict(
                        "The email could not be stored; try again.".into(),
                    ));
                }
            }
            Err(AppError::Invalid { message, .. }) => {
                return quarantine(
                    db,
                    Quarantine {
                        channel_id: Some(channel.id),
                        source,
                        category: "malformed",
                        reason: &message,
                        sender: Some(&sender),
                        subject,
                        raw: &raw,
                    },
                )
                .await;
            }
            Err(e) => return Err(e),
        }
    };
    Ok(outcome)
}

/// Marks the reply a delivery failure report is about. `None` when the
/// report names no message of ours.
async fn record_bounce(db: &Db, bounce: &parse::Bounce) -> Result<Option<Outcome>, AppError> {
    let Some(original) = &bounce.original_message_id else {
        return Ok(None);
    };
    let Some(row) = sqlx::query(
        "SELECT ticket_id, entry_id FROM email_messages WHERE message_id = $1 AND direction = 'out'",
    )
    .bind(original)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let ticket_id: i64 = row.try_get("ticket_id")?;
    let entry_id: Option<i64> = row.try_get("entry_id")?;
    let detail = clean_header_text(&bounce.detail);
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let ticket_id = crate::tickets::service::resolve_merged(tx.conn(), ticket_id).await?;
    if let Some(entry_id) = entry_id {
        sqlx::query(
            "UPDATE messages SET delivery_state = 'failed', delivery_error = $1 WHERE id = $2",
        )
        .bind(format!("Bounced: {detail}"))
        .bind(entry_id)
        .execute(tx.conn())
        .await?;
        sqlx::query(
            "UPDATE email_outbox SET state = 'failed', last_error = $1 WHERE entry_id = $2",
        )
        .bind(format!("Bounced: {detail}"))
        .bind(entry_id)
        .execute(tx.conn())
        .await?;
    }
    let text = format!("The customer's mail server could not deliver a reply: {detail}");
    insert_timeline_event(&mut tx, ticket_id, None, &text, now).await?;
    tx.event(
        PendingEvent::ticket(
            events::MESSAGE_UPDATED,
            ticket_id,
            None,
            json!({"message_id": entry_id, "delivery_state": "failed"}),
        )
        .at(now),
    );
    tx.commit().await?;
    Ok(Some(Outcome::Bounced { ticket_id }))
}

/// The ticket an email joins, and why.
struct Threading {
    ticket_id: Option<i64>,
    reason: &'static str,
    detail: String,
}

async fn is_participant(
    conn: &mut AnyConnection,
    ticket_id: i64,
    sender: &str,
) -> Result<bool, AppError> {
    let row = sqlx::query(
        "SELECT 1 AS yes FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE t.id = $1 AND c.email = $2 \
         UNION ALL \
         SELECT 1 AS yes FROM messages m JOIN contacts c ON c.id = m.author_contact_id \
         WHERE m.ticket_id = $1 AND c.email = $2",
    )
    .bind(ticket_id)
    .bind(sender)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

async fn thread(
    conn: &mut AnyConnection,
    state: &AppState,
    parsed: &ParsedEmail,
    sender: &str,
    recipients: &[String],
) -> Result<Threading, AppError> {
    for (ids, reason, header) in [
        (&parsed.in_reply_to, "in_reply_to", "In-Reply-To"),
        (&parsed.references, "references", "References"),
    ] {
        for id in ids {
            if let Some(row) = sqlx::query(
                "SELECT e.ticket_id, e.direction, t.number FROM email_messages e JOIN tickets t ON t.id = e.ticket_id \
                 WHERE e.message_id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            {
                let direction: String = row.try_get("direction")?;
                let number: i64 = row.try_get("number")?;
                let whose = if direction == "out" { "a reply we sent" } else { "an email we received" };
                return Ok(Threading {
                    ticket_id: Some(row.try_get("ticket_id")?),
                    reason,
                    detail: format!("Joined ticket #{number}: its {header} header names {whose} (<{id}>)."),
                });
            }
        }
    }
    let mut foreign: Option<String> = None;
    let token = recipients
        .iter()
        .filter_map(|r| reply_token(r))
        .find(|(number, sig)| state.config.secret_key.verify(&number.to_string(), sig));
    let subject_number = subject_ticket_number(&parsed.subject);
    for (number, reason, how) in [
        (
            token.map(|(n, _)| n),
            "reply_token",
            "the signed reply address",
        ),
        (
            subject_number,
            "subject_token",
            "the subject's ticket number",
        ),
    ] {
        let Some(number) = number else { continue };
        let Some(row) = sqlx::query("SELECT id FROM tickets WHERE number = $1")
            .bind(number)
            .fetch_optional(&mut *conn)
            .await?
        else {
            continue;
        };
        let ticket_id: i64 = row.try_get("id")?;
        if is_participant(conn, ticket_id, sender).await? {
            return Ok(Threading {
                ticket_id: Some(ticket_id),
                reason,
                detail: format!(
                    "Joined ticket #{number} by {how} [#{number}]; {sender} is on that ticket."
                ),
            });
        }
        foreign = Some(format!(
            "New ticket: {how} points at #{number}, but {sender} is not on that ticket, so it was not joined."
        ));
    }
    Ok(match foreign {
        Some(detail) => Threading {
            ticket_id: None,
            reason: "new_foreign_sender",
            detail,
        },
        None => Threading {
            ticket_id: None,
            reason: "new",
            detail: "New ticket: the email does not reply to any message we know.".into(),
        },
    })
}

/// Where an email's entry goes, as threading found.
enum Target {
    /// An existing ticket (or the one it was merged into).
    Join(i64),
    /// A new ticket, in this status.
    New(tickets::Status),
}

/// Whether an inbound email was received before (see [`check_receipt`]).
enum Seen {
    Before { ticket_id: i64 },
    New(Receipt),
}

/// How a new inbound email is recorded in `email_messages`.
struct Receipt {
    /// Its Message-ID; or, when another message already has that
    /// Message-ID, the Message-ID and the fingerprint, `id#fingerprint`.
    key: String,
    fingerprint: String,
}

/// Looks the email up by its Message-ID and, when one is found, by what it
/// says ([`ParsedEmail::fingerprint`]): the same message delivered again
/// (an SMTP retry, an IMAP folder read twice) is a duplicate; a different
/// message under a reused Message-ID is new, recorded under a key of its
/// own so that its own re-delivery is recognised in turn. Rows without a
/// fingerprint (older ones, outbound mail) count as the message itself.
async fn check_receipt(db: &Db, parsed: &ParsedEmail) -> Result<Seen, AppError> {
    let fingerprint = parsed.fingerprint();
    let lookup = |key: String| async move {
        let row =
            sqlx::query("SELECT ticket_id, fingerprint FROM email_messages WHERE message_id = $1")
                .bind(&key)
                .fetch_optional(db.pool())
                .await?;
        row.map(|r| -> Result<_, AppError> {
            Ok((
                r.try_get::<i64, _>("ticket_id")?,
                r.try_get::<Option<String>, _>("fingerprint")?,
            ))
        })
        .transpose()
    };
    let key = match lookup(parsed.message_id.clone()).await? {
        None => parsed.message_id.clone(),
        Some((ticket_id, seen)) if seen.as_deref().is_none_or(|s| s == fingerprint) => {
            return Ok(Seen::Before { ticket_id });
        }
        Some(_) => {
            let key = format!("{}#{fingerprint}", parsed.message_id);
            if let Some((ticket_id, _)) = lookup(key.clone()).await? {
                return Ok(Seen::Before { ticket_id });
            }
            key
        }
    };
    Ok(Seen::New(Receipt { key, fingerprint }))
}

/// Writes the ticket (when new), the entry, its attachments and the
/// Message-ID, in one transaction, with the whole email in the quarantine
/// when attachments were dropped for size.
///
/// Everything that needs no write is done before the write turn: the
/// threading and contact lookups on a reading connection (as
/// `tickets::service::create` does), and the body's sanitising. On SQLite
/// every other writer waits while one holds the turn, so the transaction
/// holds only its writes and what must be read with them.
#[allow(clippy::too_many_arguments)]
async fn write(
    state: &AppState,
    parsed: &ParsedEmail,
    raw: &[u8],
    receipt: &Receipt,
    channel: &ChannelRef,
    sender: &str,
    source: Source,
    own_address: bool,
    recipients: &[String],
) -> Result<Outcome, AppError> {
    let config = &state.config;
    let now = now_ms();
    // Imported history keeps its own dates (never in the future).
    let at = match source {
        Source::Import => parsed
            .date_ms
            .filter(|d| *d > 0 && *d <= now)
            .unwrap_or(now),
        _ => now,
    };
    let contact = (!own_address).then(|| ContactRef {
        email: sender.to_string(),
        name: parsed.from_name.clone(),
    });
    // Imported history is over: its new tickets start closed.
    let new_ticket_category = if source == Source::Import {
        StatusCategory::Closed
    } else {
        StatusCategory::Open
    };
    let (threading, target, known_contact) = {
        let mut reader = state.db.pool().acquire().await?;
        let threading = thread(&mut reader, state, parsed, sender, recipients).await?;
        let target = match threading.ticket_id {
            Some(id) => Target::Join(id),
            None => {
                Target::New(tickets::service::first_status(&mut reader, new_ticket_category).await?)
            }
        };
        let known_contact = match &contact {
            Some(c) => contacts::service::find(&mut reader, c).await?,
            None => None,
        };
        (threading, target, known_contact)
    };

    let (kept, dropped) = within_size_limits(&parsed.attachments, config);
    let mut shown = body::render(parsed.html.as_deref(), parsed.text.as_deref());
    let mut text = match &parsed.text {
        Some(t) => body::main_text(t).to_string(),
        None => html_to_text(&shown.html),
    };
    if text.chars().count() > MAX_TEXT_CHARS {
        text = text.chars().take(MAX_TEXT_CHARS).collect();
    }
    let mut detail = threading.detail.clone();
    if source == Source::Import {
        detail = format!("Imported from the mailbox's history. {detail}");
    }
    if !dropped.is_empty() {
        detail.push_str(&format!(
            " {} attachment(s) over the size limit were not kept; the whole email is in the quarantine.",
            dropped.len()
        ));
    }
    let kind = if own_address {
        EntryKind::Reply
    } else {
        EntryKind::Inbound
    };

    let mut tx = state.db.begin_write().await?;
    let contact_id = match (known_contact, &contact) {
        (Some(id), _) => Some(id),
        (None, Some(c)) => Some(contacts::service::find_or_create(tx.conn(), c).await?),
        (None, None) => None,
    };
    // A new ticket that starts with the customer's email has its entry
    // written as its first inbound message (`first_inbound`).
    let (ticket_id, created, first_inbound) = match target {
        // A reply to a merged ticket joins the ticket it was merged into.
        Target::Join(id) => match tickets::service::resolve_merged(tx.conn(), id).await {
            Ok(ticket_id) => (ticket_id, false, None),
            // Deleted since it was looked up: threading again, the
            // caller's retry makes it a new ticket.
            Err(AppError::NotFound(_)) => {
                return Err(AppError::Conflict(
                    "The ticket this email replies to was just deleted.".into(),
                ))
            }
            Err(e) => return Err(e),
        },
        Target::New(status) => {
            let customer = contact_id.filter(|_| kind == EntryKind::Inbound);
            let ticket =
                new_ticket(&mut tx, parsed, channel, &status, contact_id, customer, at).await?;
            (ticket.id, true, customer.map(|c| (ticket, c)))
        }
    };
    let entry_id = match first_inbound {
        Some((ticket, customer)) => {
            insert_first_inbound(&mut tx, &ticket, customer, &text, &shown.html, at).await?
        }
        None => {
            insert_entry(
                &mut tx,
                ticket_id,
                kind,
                None,
                contact_id,
                &text,
                &shown.html,
                at,
            )
            .await?
        }
    };

    let mut cid_urls = HashMap::new();
    for a in kept {
        let id: i64 = sqlx::query(
            "INSERT INTO attachments (entry_id, ticket_id, filename, content_type, content_id, is_inline, size, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(entry_id)
        .bind(ticket_id)
        .bind(&a.filename)
        .bind(&a.content_type)
        .bind(&a.content_id)
        .bind(a.inline as i64)
        .bind(a.data.len() as i64)
        .bind(a.data.clone())
        .bind(at)
        .fetch_one(tx.conn())
        .await?
        .try_get("id")?;
        if let Some(cid) = &a.content_id {
            cid_urls.insert(cid.clone(), format!("/api/v1/attachments/{id}"));
        }
    }
    shown.link_inline_images(&cid_urls);
    // Not the `body` column: the entry was inserted with its text, and
    // updating it would index the text for search a second time.
    sqlx::query(
        "UPDATE messages SET body_html = $1, quoted_html = $2, remote_images = $3, \
         join_reason = $4, join_detail = $5 WHERE id = $6",
    )
    .bind(&shown.html)
    .bind(&shown.quoted_html)
    .bind(shown.remote_images as i64)
    .bind(if source == Source::Import && created {
        "import"
    } else {
        threading.reason
    })
    .bind(&detail)
    .bind(entry_id)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO email_messages (message_id, ticket_id, entry_id, channel_id, direction, sender, created_at, fingerprint) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&receipt.key)
    .bind(ticket_id)
    .bind(entry_id)
    .bind(channel.id)
    .bind(if own_address { "out" } else { "in" })
    .bind(sender)
    .bind(now)
    .bind(&receipt.fingerprint)
    .execute(tx.conn())
    .await?;
    if !created && source != Source::Import {
        touch_and_reopen(&mut tx, ticket_id, at).await?;
    }
    // The whole email, attachments and all, in the same transaction as the
    // entry that says it is there.
    if !dropped.is_empty() {
        let reason = format!(
            "Kept on the ticket without these attachments, which are over the size limit: {}.",
            dropped.join(", ")
        );
        let entry = Quarantine {
            channel_id: Some(channel.id),
            source,
            category: "attachment_too_large",
            reason: &reason,
            sender: Some(sender),
            subject: Some(parsed.subject.as_str()).filter(|s| !s.is_empty()),
            raw,
        };
        insert_quarantined(tx.conn(), &entry).await?;
    }
    tx.commit().await?;
    Ok(if created {
        Outcome::Created {
            ticket_id,
            entry_id,
        }
    } else {
        Outcome::Appended {
            ticket_id,
            entry_id,
        }
    })
}

/// The attachments kept (each within its limit, and all within the
/// message's), and the names and sizes of those dropped.
fn within_size_limits<'a>(
    attachments: &'a [parse::ParsedAttachment],
    config: &crate::state::Config,
) -> (Vec<&'a parse::ParsedAttachment>, Vec<String>) {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    let mut kept_total = 0usize;
    for a in attachments {
        if a.data.len() > config.max_attachment_bytes
            || kept_total + a.data.len() > config.max_attachments_per_message_bytes
        {
            dropped.push(format!("{} ({} bytes)", a.filename, a.data.len()));
            continue;
        }
        kept_total += a.data.len();
        kept.push(a);
    }
    (kept, dropped)
}

/// Inserts an email's new ticket. `first_inbound` is the customer whose
/// message starts it (then written by `insert_first_inbound`); `None`
/// when it starts with an email of ours (an imported reply), whose entry
/// follows through `insert_entry`.
async fn new_ticket(
    tx: &mut WriteTx,
    parsed: &ParsedEmail,
    channel: &ChannelRef,
    status: &tickets::Status,
    contact_id: Option<i64>,
    first_inbound: Option<i64>,
    at: i64,
) -> Result<InsertedTicket, AppError> {
    let mut subject = base_subject(&parsed.subject);
    if subject.is_empty() {
        subject = "(no subject)".into();
    }
    tickets::service::insert_ticket(
        tx,
        TicketRow {
            subject: &subject,
            status,
            priority: Priority::Medium,
            category: None,
            owner_id: None,
            team_id: channel.team_id,
            channel: "email",
            channel_id: Some(channel.id),
            contact_id,
            at,
            actor_id: None,
            first_inbound_at: first_inbound.map(|_| at),
        },
    )
    .await
}

/// A customer wrote again: the ticket is active, and back with us if it
/// was waiting on them or closed.
async fn touch_and_reopen(tx: &mut WriteTx, ticket_id: i64, at: i64) -> Result<(), AppError> {
    let row = sqlx::query("SELECT pipeline_id, status_category FROM tickets WHERE id = $1")
        .bind(ticket_id)
        .fetch_one(tx.conn())
        .await?;
    let category: String = row.try_get("status_category")?;
    let pipeline_id: i64 = row.try_get("pipeline_id")?;
    sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
        .bind(at)
        .bind(ticket_id)
        .execute(tx.conn())
        .await?;
    if category == "open" {
        return Ok(());
    }
    // The last open status of the pipeline ("Waiting on us").
    let Some(status) = sqlx::query(
        "SELECT id, name FROM pipeline_statuses WHERE pipeline_id = $1 AND category = 'open' ORDER BY position DESC LIMIT 1",
    )
    .bind(pipeline_id)
    .fetch_optional(tx.conn())
    .await?
    else {
        return Ok(());
    };
    let status_id: i64 = status.try_get("id")?;
    let name: String = status.try_get("name")?;
    sqlx::query("UPDATE tickets SET status_id = $1, status_category = 'open', closed_at = NULL WHERE id = $2")
        .bind(status_id)
        .bind(ticket_id)
        .execute(tx.conn())
        .await?;
    let text = format!("The customer replied; the ticket moved to {name}.");
    insert_timeline_event(tx, ticket_id, None, &text, at).await?;
    tx.event(
        PendingEvent::ticket(
            events::TICKET_UPDATED,
            ticket_id,
            None,
            json!({"status_id": status_id, "status": name}),
        )
        .at(at),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_addresses_reduce_to_their_mailbox() {
        assert_eq!(
            mailbox_base("Support+t12-abc@Example.com"),
            "support@example.com"
        );
        assert_eq!(mailbox_base("support@example.com"), "support@example.com");
    }

    #[test]
    fn reply_tokens_parse() {
        assert_eq!(
            reply_token("support+t12-abc@x.org"),
            Some((12, "abc".into()))
        );
        assert_eq!(reply_token("support+x12-abc@x.org"), None);
        assert_eq!(reply_token("support@x.org"), None);
    }
}
