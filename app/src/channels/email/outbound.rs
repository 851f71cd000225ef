//! Outbound email: replies queued in the database and sent by a worker.
//!
//! A reply is queued in the same transaction that adds it to the thread
//! ([`enqueue_reply`]), as the complete message (headers, body, quote), so
//! nothing is lost when the process stops and every retry sends the very
//! same bytes with the same Message-ID. The worker ([`run_worker`]) claims
//! one due row at a time by setting `locked_until`, which lets several
//! instances share one queue without sending a row twice; a message is
//! marked sent as soon as the relay accepted it. Temporary failures retry
//! with growing delays; permanent ones, and the last retry, fail the entry
//! with the relay's reason, which the thread shows.

use super::ingest::mailbox_base;
use crate::channels::service::{load_connection, ServerConnection};
use crate::channels::Security;
use crate::db::{now_ms, Db, WriteTx};
use crate::error::AppError;
use crate::events::{self, log::PendingEvent};
use crate::messages::sanitize::text_to_html;
use crate::state::AppState;
use lettre::address::Envelope;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;
use sqlx::Row;
use std::time::Duration;

/// Attempts before a temporarily failing message is given up.
pub const MAX_ATTEMPTS: i64 = 6;
/// How long a claimed row stays with the worker that claimed it; a worker
/// that died mid-send frees it after this.
const CLAIM_MS: i64 = 120_000;
/// Earlier thread messages quoted under a reply.
const QUOTED_MESSAGES: i64 = 3;

/// What the queue needs to know about the ticket being answered.
struct ReplyContext {
    number: i64,
    subject: String,
    channel_id: i64,
    address: String,
    from_name: String,
    signature: Option<String>,
    contact_email: String,
    contact_name: Option<String>,
    has_imap: bool,
}

async fn reply_context(tx: &mut WriteTx, ticket_id: i64) -> Result<Option<ReplyContext>, AppError> {
    let row = sqlx::query(
        "SELECT t.number, t.subject, ch.id AS channel_id, ch.address, ch.name AS channel_name, ch.from_name, \
         ch.signature, ch.settings, c.email AS contact_email, c.name AS contact_name \
         FROM tickets t JOIN channels ch ON ch.id = t.channel_id \
         JOIN contacts c ON c.id = t.contact_id \
         WHERE t.id = $1 AND t.channel = 'email' AND c.email IS NOT NULL",
    )
    .bind(ticket_id)
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let settings: String = row.try_get("settings")?;
    let from_name: Option<String> = row.try_get("from_name")?;
    Ok(Some(ReplyContext {
        number: row.try_get("number")?,
        subject: row.try_get("subject")?,
        channel_id: row.try_get("channel_id")?,
        address: row.try_get("address")?,
        from_name: from_name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(row.try_get("channel_name")?),
        signature: row.try_get("signature")?,
        contact_email: row.try_get("contact_email")?,
        contact_name: row.try_get("contact_name")?,
        has_imap: serde_json::from_str::<serde_json::Value>(&settings)
            .ok()
            .is_some_and(|s| s.get("imap").is_some_and(|i| !i.is_null())),
    }))
}

fn random_token() -> String {
    crate::auth::service::random_secret()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(20)
        .collect()
}

fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox, AppError> {
    let addr: Address = address.parse().map_err(|_| {
        AppError::invalid(
            "address",
            format!("{address} is not a valid email address."),
        )
    })?;
    // Names never carry line breaks into a header (header injection).
    let name = name
        .map(super::parse::clean_header_text)
        .filter(|n| !n.is_empty());
    Ok(Mailbox::new(name, addr))
}

/// Queues the email for a reply an agent just added, inside its
/// transaction. Does nothing for tickets that did not come by email.
#[allow(clippy::too_many_arguments)]
pub async fn enqueue_reply(
    tx: &mut WriteTx,
    state: &AppState,
    ticket_id: i64,
    entry_id: i64,
    text: &str,
    html: &str,
    now: i64,
) -> Result<bool, AppError> {
    let Some(ctx) = reply_context(tx, ticket_id).await? else {
        return Ok(false);
    };
    let domain = ctx
        .address
        .split('@')
        .nth(1)
        .unwrap_or("ayuda.invalid")
        .to_string();
    let message_id = format!(
        "ayuda.{}.{}.{}@{}",
        ctx.number,
        entry_id,
        random_token(),
        domain
    );
    // The thread so far, oldest first: References lists it, In-Reply-To
    // names the newest message.
    let ids: Vec<String> = sqlx::query(
        "SELECT message_id FROM email_messages WHERE ticket_id = $1 ORDER BY created_at, message_id",
    )
    .bind(ticket_id)
    .fetch_all(tx.conn())
    .await?
    .iter()
    .map(|r| r.try_get("message_id"))
    .collect::<Result<_, _>>()?;
    let quoted = sqlx::query(
        "SELECT m.body, m.created_at, m.kind, c.name AS contact_name, u.name AS user_name FROM messages m \
         LEFT JOIN contacts c ON c.id = m.author_contact_id LEFT JOIN users u ON u.id = m.author_user_id \
         WHERE m.ticket_id = $1 AND m.id <> $2 AND m.kind IN ('inbound', 'reply') \
         ORDER BY m.created_at DESC, m.id DESC LIMIT $3",
    )
    .bind(ticket_id)
    .bind(entry_id)
    .bind(QUOTED_MESSAGES)
    .fetch_all(tx.conn())
    .await?;

    let mut plain = text.trim().to_string();
    let mut rich = html.to_string();
    if let Some(sig) = ctx.signature.as_deref().filter(|s| !s.trim().is_empty()) {
        plain.push_str(&format!("\n\n-- \n{}", sig.trim()));
        rich.push_str(&format!(
            "<div class=\"signature\">-- <br>{}</div>",
            text_to_html(sig.trim())
        ));
    }
    for row in &quoted {
        let body: String = row.try_get("body")?;
        let at: i64 = row.try_get("created_at")?;
        let who: Option<String> =
            row.try_get::<Option<String>, _>("contact_name")?
                .or(row.try_get::<Option<String>, _>("user_name")?);
        let who = who.unwrap_or_else(|| ctx.from_name.clone());
        let when = crate::time_fmt::format_ms(at);
        plain.push_str(&format!("\n\nOn {when}, {who} wrote:\n"));
        for line in body.lines() {
            plain.push_str(&format!("> {line}\n"));
        }
        rich.push_str(&format!(
            "<div class=\"ayuda-quote\"><p>On {}, {} wrote:</p><blockquote type=\"cite\">{}</blockquote></div>",
            text_to_html(&when).trim_start_matches("<p>").trim_end_matches("</p>"),
            text_to_html(&who).trim_start_matches("<p>").trim_end_matches("</p>"),
            text_to_html(&body)
        ));
    }
    let subject = super::parse::clean_header_text(&format!(
        "Re: {} [#{}]",
        super::parse::base_subject(&ctx.subject),
        ctx.number
    ));
    let from = mailbox(Some(&ctx.from_name), &ctx.address)?;
    let to = mailbox(ctx.contact_name.as_deref(), &ctx.contact_email)?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to.clone())
        .subject(subject)
        .message_id(Some(format!("<{message_id}>")))
        .date(std::time::UNIX_EPOCH + Duration::from_millis(now.max(0) as u64));
    if !ctx.has_imap {
        // Replies come back through our own listener, which understands
        // plus addresses: the signed token threads them even when a mail
        // client drops In-Reply-To and the subject.
        let (local, domain) = ctx.address.split_once('@').unwrap_or((&ctx.address, ""));
        let number = ctx.number.to_string();
        let reply_to = format!(
            "{local}+t{number}-{}@{domain}",
            state.config.secret_key.sign(&number)
        );
        builder = builder.reply_to(mailbox(Some(&ctx.from_name), &reply_to)?);
    }
    if let Some(last) = ids.last() {
        builder = builder.in_reply_to(format!("<{last}>"));
        let refs: Vec<String> = ids
            .iter()
            .rev()
            .take(20)
            .rev()
            .map(|id| format!("<{id}>"))
            .collect();
        builder = builder.references(refs.join(" "));
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(plain, rich))
        .map_err(|e| {
            tracing::error!(error = %e, "cannot build a reply email");
            AppError::Internal
        })?;
    let raw = message.formatted();
    sqlx::query(
        "INSERT INTO email_outbox (entry_id, ticket_id, channel_id, message_id, mail_from, recipients, raw, state, \
         attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $8)",
    )
    .bind(entry_id)
    .bind(ticket_id)
    .bind(ctx.channel_id)
    .bind(&message_id)
    .bind(&ctx.address)
    .bind(json!([ctx.contact_email]).to_string())
    .bind(raw)
    .bind(now)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO email_messages (message_id, ticket_id, entry_id, channel_id, direction, sender, created_at) \
         VALUES ($1, $2, $3, $4, 'out', $5, $6)",
    )
    .bind(&message_id)
    .bind(ticket_id)
    .bind(entry_id)
    .bind(ctx.channel_id)
    .bind(mailbox_base(&ctx.address))
    .bind(now)
    .execute(tx.conn())
    .await?;
    sqlx::query("UPDATE messages SET delivery_state = 'queued' WHERE id = $1")
        .bind(entry_id)
        .execute(tx.conn())
        .await?;
    Ok(true)
}

/// One claimed queue row.
struct Claimed {
    id: i64,
    entry_id: i64,
    ticket_id: i64,
    channel_id: Option<i64>,
    mail_from: String,
    recipients: Vec<String>,
    raw: Vec<u8>,
    attempts: i64,
}

async fn claim(db: &Db) -> Result<Option<Claimed>, AppError> {
    let now = now_ms();
    let _turn = db.write_turn().await;
    let row = sqlx::query(
        "UPDATE email_outbox SET locked_until = $1, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM email_outbox WHERE state = 'queued' AND next_attempt_at <= $2 \
                     AND (locked_until IS NULL OR locked_until < $2) ORDER BY next_attempt_at, id LIMIT 1) \
           AND state = 'queued' AND (locked_until IS NULL OR locked_until < $2) \
         RETURNING id, entry_id, ticket_id, channel_id, mail_from, recipients, raw, attempts",
    )
    .bind(now + CLAIM_MS)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let recipients: String = row.try_get("recipients")?;
    Ok(Some(Claimed {
        id: row.try_get("id")?,
        entry_id: row.try_get("entry_id")?,
        ticket_id: row.try_get("ticket_id")?,
        channel_id: row.try_get("channel_id")?,
        mail_from: row.try_get("mail_from")?,
        recipients: serde_json::from_str(&recipients).unwrap_or_default(),
        raw: row.try_get("raw")?,
        attempts: row.try_get("attempts")?,
    }))
}

/// A send's failure: its text (the relay's answer, never a credential) and
/// whether trying again can help.
struct SendFailure {
    reason: String,
    permanent: bool,
}

pub fn transport(conn: &ServerConnection) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let host = conn.host.as_str();
    let mut builder = match conn.security {
        Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        Security::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map_err(|e| format!("TLS setup for {host} failed: {e}"))?,
        Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
            .map_err(|e| format!("TLS setup for {host} failed: {e}"))?,
    }
    .port(conn.port)
    .timeout(Some(Duration::from_secs(30)));
    if let (Some(user), Some(password)) = (&conn.username, &conn.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

async fn send(state: &AppState, job: &Claimed) -> Result<(), SendFailure> {
    let Some(channel_id) = job.channel_id else {
        return Err(SendFailure {
            reason: "The channel was disconnected.".into(),
            permanent: true,
        });
    };
    let conn = match load_connection(&state.db, &state.config.secret_key, channel_id).await {
        Ok(Some((outbound, _))) => outbound,
        Ok(None) => {
            return Err(SendFailure {
                reason: "The channel was disconnected.".into(),
                permanent: true,
            })
        }
        Err(_) => {
            return Err(SendFailure {
                reason: "The channel's settings could not be read.".into(),
                permanent: false,
            })
        }
    };
    let transport = transport(&conn).map_err(|reason| SendFailure {
        reason,
        permanent: true,
    })?;
    let from: Address = job.mail_from.parse().map_err(|_| SendFailure {
        reason: format!("{} is not a valid sender address.", job.mail_from),
        permanent: true,
    })?;
    let to: Vec<Address> = job
        .recipients
        .iter()
        .filter_map(|r| r.parse().ok())
        .collect();
    let envelope = Envelope::new(Some(from), to).map_err(|_| SendFailure {
        reason: "The reply has no valid recipient.".into(),
        permanent: true,
    })?;
    match transport.send_raw(&envelope, &job.raw).await {
        Ok(_) => Ok(()),
        Err(e) => Err(SendFailure {
            reason: format!("{e}"),
            permanent: e.is_permanent(),
        }),
    }
}

/// Sends one due message, if there is one. Returns whether it found one.
pub async fn process_one(state: &AppState) -> Result<bool, AppError> {
    let Some(job) = claim(&state.db).await? else {
        return Ok(false);
    };
    let result = send(state, &job).await;
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    let (state_name, error) = match &result {
        Ok(()) => {
            sqlx::query("UPDATE email_outbox SET state = 'sent', sent_at = $1, locked_until = NULL, last_error = NULL WHERE id = $2")
                .bind(now)
                .bind(job.id)
                .execute(tx.conn())
                .await?;
            ("sent", None)
        }
        Err(f) if !f.permanent && job.attempts < MAX_ATTEMPTS => {
            let delay =
                state.config.outbox_retry_base_ms * 4i64.pow((job.attempts - 1).clamp(0, 6) as u32);
            sqlx::query("UPDATE email_outbox SET next_attempt_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3")
                .bind(now + delay)
                .bind(&f.reason)
                .bind(job.id)
                .execute(tx.conn())
                .await?;
            tracing::info!(
                outbox_id = job.id,
                attempt = job.attempts,
                "outbound email will be retried"
            );
            (
                "queued",
                Some(format!(
                    "Attempt {} failed, retrying: {}",
                    job.attempts, f.reason
                )),
            )
        }
        Err(f) => {
            sqlx::query("UPDATE email_outbox SET state = 'failed', locked_until = NULL, last_error = $1 WHERE id = $2")
                .bind(&f.reason)
                .bind(job.id)
                .execute(tx.conn())
                .await?;
            tracing::warn!(
                outbox_id = job.id,
                attempt = job.attempts,
                "outbound email failed"
            );
            ("failed", Some(f.reason.clone()))
        }
    };
    sqlx::query("UPDATE messages SET delivery_state = $1, delivery_error = $2 WHERE id = $3")
        .bind(state_name)
        .bind(&error)
        .bind(job.entry_id)
        .execute(tx.conn())
        .await?;
    tx.event(
        PendingEvent::ticket(
            events::MESSAGE_UPDATED,
            job.ticket_id,
            None,
            json!({"message_id": job.entry_id, "delivery_state": state_name}),
        )
        .at(now),
    );
    tx.commit().await?;
    Ok(true)
}

/// Sends queued mail until the process stops.
pub async fn run_worker(state: AppState) {
    loop {
        match process_one(&state).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(_) => {
                // Already logged; the database may be briefly unavailable.
            }
        }
        tokio::time::sleep(Duration::from_millis(state.config.outbox_poll_ms)).await;
    }
}
