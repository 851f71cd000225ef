//! IMAP: polling connected mailboxes, and reading a folder for a history
//! import.
//!
//! Each mailbox gets its own task, so many mailboxes are fetched at the
//! same time and a slow or failing server holds up only its own. A task
//! remembers the highest UID it took (with the folder's UIDVALIDITY), asks
//! only for newer messages, and then waits with IDLE where the server
//! offers it (new mail arrives within a second) or polls otherwise. On the
//! first connection the mailbox's existing mail is left alone: that is what
//! the history import is for.

use super::ingest::{self, Delivery, Source};
use crate::channels::service::{imap_channels, load_connection, ServerConnection};
use crate::channels::Security;
use crate::state::AppState;
use futures::StreamExt;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Any stream an IMAP session can run over: plain TCP or TLS.
pub trait ImapIo: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> ImapIo for T {}
pub type ImapSession = async_imap::Session<Box<dyn ImapIo>>;

/// Messages fetched per round trip.
const FETCH_BATCH: usize = 50;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

async fn tls(tcp: TcpStream, host: &str) -> Result<Box<dyn ImapIo>, String> {
    use tokio_rustls::rustls::{pki_types::ServerName, ClientConfig, RootCertStore};
    let roots = RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("{host} is not a valid TLS server name."))?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {host} failed: {e}"))?;
    Ok(Box::new(stream))
}

/// Connects and signs in. Errors are safe to show (never the password).
pub async fn connect(conn: &ServerConnection) -> Result<ImapSession, String> {
    let host = conn.host.as_str();
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, conn.port)))
        .await
        .map_err(|_| format!("Connecting to {host}:{} timed out.", conn.port))?
        .map_err(|e| format!("Cannot connect to {host}:{}: {e}", conn.port))?;
    let greeting_err = |e: std::io::Error| format!("{host} did not greet: {e}");
    let client = match conn.security {
        Security::None => {
            let mut c = async_imap::Client::new(Box::new(tcp) as Box<dyn ImapIo>);
            c.read_response().await.map_err(greeting_err)?;
            c
        }
        Security::Tls => {
            let mut c = async_imap::Client::new(tls(tcp, host).await?);
            c.read_response().await.map_err(greeting_err)?;
            c
        }
        Security::Starttls => {
            let mut plain = async_imap::Client::new(tcp);
            plain.read_response().await.map_err(greeting_err)?;
            plain
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| format!("{host} refused STARTTLS: {e}"))?;
            async_imap::Client::new(tls(plain.into_inner(), host).await?)
        }
    };
    let user = conn.username.as_deref().unwrap_or("");
    let password = conn.password.as_deref().unwrap_or("");
    client
        .login(user, password)
        .await
        .map_err(|(e, _)| format!("Signing in to {host} as {user} failed: {e}"))
}

/// Fetches the messages with these UIDs, in batches, and hands each to
/// `each` (uid, raw bytes).
async fn fetch_uids<F, Fut>(
    session: &mut ImapSession,
    uids: &[u32],
    mut each: F,
) -> Result<(), String>
where
    F: FnMut(u32, Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    for chunk in uids.chunks(FETCH_BATCH) {
        let set: Vec<String> = chunk.iter().map(u32::to_string).collect();
        let mut fetched: Vec<(u32, Vec<u8>)> = Vec::with_capacity(chunk.len());
        {
            let mut stream = session
                .uid_fetch(set.join(","), "(UID BODY.PEEK[])")
                .await
                .map_err(|e| format!("Fetching mail failed: {e}"))?;
            while let Some(item) = stream.next().await {
                let f = item.map_err(|e| format!("Fetching mail failed: {e}"))?;
                if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                    fetched.push((uid, body.to_vec()));
                }
            }
        }
        fetched.sort_by_key(|(uid, _)| *uid);
        for (uid, body) in fetched {
            each(uid, body).await?;
        }
    }
    Ok(())
}

async fn set_status(state: &AppState, channel_id: i64, status: &str) {
    let _turn = state.db.write_turn().await;
    let result = sqlx::query("UPDATE channels SET imap_status = $1 WHERE id = $2")
        .bind(status)
        .bind(channel_id)
        .execute(state.db.pool())
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, channel_id, "cannot record the IMAP status");
    }
}

/// One connected session: catch up, then wait for more, until an error.
async fn session_loop(state: &AppState, channel_id: i64) -> Result<(), String> {
    let conn = match load_connection(&state.db, &state.config.secret_key, channel_id).await {
        Ok(Some((_, Some(imap)))) => imap,
        Ok(_) => return Ok(()),
        Err(_) => return Err("The channel's settings could not be read.".into()),
    };
    let mut session = connect(&conn).await?;
    let mailbox = session
        .select(&conn.folder)
        .await
        .map_err(|e| format!("Cannot open the folder {}: {e}", conn.folder))?;
    let validity = mailbox.uid_validity.map(i64::from);
    let row = sqlx::query("SELECT imap_uid_validity, imap_last_uid FROM channels WHERE id = $1")
        .bind(channel_id)
        .fetch_one(state.db.pool())
        .await
        .map_err(|_| "The channel's state could not be read.".to_string())?;
    let stored_validity: Option<i64> = row.try_get("imap_uid_validity").unwrap_or(None);
    let mut last_uid: i64 = row.try_get("imap_last_uid").unwrap_or(0);
    if stored_validity != validity {
        // First connection, or the folder was rebuilt: start from what
        // arrives next (old mail is the import's job; Message-IDs keep a
        // rebuilt folder from duplicating anything).
        last_uid = mailbox.uid_next.map(|n| i64::from(n) - 1).unwrap_or(0);
        let _turn = state.db.write_turn().await;
        sqlx::query("UPDATE channels SET imap_uid_validity = $1, imap_last_uid = $2 WHERE id = $3")
            .bind(validity)
            .bind(last_uid)
            .bind(channel_id)
            .execute(state.db.pool())
            .await
            .map_err(|_| "The channel's state could not be saved.".to_string())?;
    }
    let idle = session
        .capabilities()
        .await
        .map(|c| c.has_str("IDLE"))
        .unwrap_or(false);
    set_status(state, channel_id, "ok").await;
    let poll = Duration::from_millis(state.config.imap_poll_ms);
    loop {
        let found = session
            .uid_search(format!("UID {}:*", last_uid + 1))
            .await
            .map_err(|e| format!("Searching the folder failed: {e}"))?;
        let mut uids: Vec<u32> = found
            .into_iter()
            .filter(|u| i64::from(*u) > last_uid)
            .collect();
        uids.sort_unstable();
        if !uids.is_empty() {
            let delivery = Delivery {
                source: Source::Imap,
                channel_id: Some(channel_id),
                recipients: Vec::new(),
            };
            fetch_uids(&mut session, &uids, |uid, raw| {
                let delivery = delivery.clone();
                async move {
                    ingest::ingest(state, raw, &delivery)
                        .await
                        .map_err(|_| "Storing fetched mail failed.".to_string())?;
                    let _turn = state.db.write_turn().await;
                    sqlx::query("UPDATE channels SET imap_last_uid = $1 WHERE id = $2")
                        .bind(i64::from(uid))
                        .bind(channel_id)
                        .execute(state.db.pool())
                        .await
                        .map_err(|_| "The channel's state could not be saved.".to_string())?;
                    Ok(())
                }
            })
            .await?;
            last_uid = i64::from(*uids.last().expect("not empty"));
        }
        if idle {
            let mut handle = session.idle();
            handle
                .init()
                .await
                .map_err(|e| format!("IDLE failed: {e}"))?;
            let response = {
                let (wait, _stop) = handle.wait_with_timeout(poll);
                wait.await
            };
            session = handle
                .done()
                .await
                .map_err(|e| format!("Ending IDLE failed: {e}"))?;
            if let Err(e) = response {
                return Err(format!("The connection dropped while waiting: {e}"));
            }
        } else {
            tokio::time::sleep(poll).await;
            session
                .noop()
                .await
                .map_err(|e| format!("The connection dropped: {e}"))?;
        }
    }
}

/// Polls one channel's mailbox until its task is stopped, reconnecting
/// after errors with a growing delay.
async fn poll_channel(state: AppState, channel_id: i64) {
    let mut delay = Duration::from_secs(1);
    loop {
        match session_loop(&state, channel_id).await {
            Ok(()) => return,
            Err(message) => {
                tracing::info!(channel_id, "IMAP session ended: {message}");
                set_status(&state, channel_id, &message).await;
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(300));
    }
}

/// Keeps one polling task per IMAP channel, restarting a task when its
/// channel's settings change and stopping it when the channel goes.
pub async fn supervise(state: AppState) {
    let mut tasks: HashMap<i64, (i64, tokio::task::JoinHandle<()>)> = HashMap::new();
    loop {
        if let Ok(channels) = imap_channels(&state.db).await {
            tasks.retain(|id, (updated, task)| {
                let keep =
                    channels.iter().any(|(c, u)| c == id && u == updated) && !task.is_finished();
                if !keep {
                    task.abort();
                }
                keep
            });
            for (id, updated) in channels {
                tasks
                    .entry(id)
                    .or_insert_with(|| (updated, tokio::spawn(poll_channel(state.clone(), id))));
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// IMAP `SEARCH SINCE` date: `1-Nov-2026`.
fn imap_date(ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{}-{}-{}",
        t.day(),
        MONTHS[u8::from(t.month()) as usize - 1],
        t.year()
    )
}

/// Reads the channel's folder (mail of the last `days` days) into the
/// import `import_id`.
pub async fn import_folder(
    state: &AppState,
    channel_id: i64,
    import_id: i64,
    days: u32,
    progress: &super::import::Progress,
) -> Result<(), String> {
    let conn = match load_connection(&state.db, &state.config.secret_key, channel_id).await {
        Ok(Some((_, Some(imap)))) => imap,
        _ => return Err("The channel has no IMAP mailbox to import from.".into()),
    };
    let mut session = connect(&conn).await?;
    session
        .examine(&conn.folder)
        .await
        .map_err(|e| format!("Cannot open the folder {}: {e}", conn.folder))?;
    let since = crate::db::now_ms() - i64::from(days) * 86_400_000;
    let found = session
        .uid_search(format!("SINCE {}", imap_date(since)))
        .await
        .map_err(|e| format!("Searching the folder failed: {e}"))?;
    let mut uids: Vec<u32> = found.into_iter().collect();
    uids.sort_unstable();
    progress
        .set_total(state, import_id, uids.len() as i64)
        .await;
    let delivery = Delivery {
        source: Source::Import,
        channel_id: Some(channel_id),
        recipients: Vec::new(),
    };
    fetch_uids(&mut session, &uids, |_, raw| {
        let delivery = delivery.clone();
        async move {
            let outcome = ingest::ingest(state, raw, &delivery)
                .await
                .map_err(|_| "Storing imported mail failed.".to_string())?;
            progress.record(state, import_id, &outcome).await;
            Ok(())
        }
    })
    .await?;
    let _ = session.logout().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn imap_dates_use_the_rfc_3501_form() {
        assert_eq!(
            super::imap_date(1_793_491_200_000 + 3_600_000),
            "1-Nov-2026"
        );
    }
}
