//! The one piece of shared server state. It travels through axum's router
//! state and, for server functions and SSR, through Leptos context
//! (`expect_context::<AppState>()`).

use crate::db::Db;
use crate::events::hub::EventHub;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// This process's event hub (live delivery over websockets).
    pub hub: Arc<EventHub>,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    /// Users, teams and pipelines as every workspace page sends them, kept
    /// until the database says they changed.
    pub directory: Arc<crate::workspace::directory::DirectoryCache>,
}

/// Settings read once at start-up from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Mark the session cookie `Secure`; set when served over HTTPS
    /// (`AYUDA_SECURE_COOKIES=1`). Off by default because the quick start
    /// serves plain HTTP on loopback, where a Secure cookie would be dropped.
    pub secure_cookies: bool,
    /// How long a browser session lasts, in milliseconds.
    pub session_ttl_ms: i64,
    /// How many messages a live connection may fall behind before it is
    /// told to resync (`AYUDA_LIVE_BUFFER`).
    pub live_buffer: usize,
    /// How far back a live connection may resume with `since`, in
    /// milliseconds. Resuming is for a dropped connection coming back, not
    /// for reading history: the log keeps each event's owner and team as
    /// they were, so replaying old events would show a user tickets they
    /// may no longer see (or never saw, for a new account). A `since` older
    /// than this resumes from the newest event and says so (`gap`), and the
    /// client reloads what it shows instead.
    pub replay_window_ms: i64,
    /// Seals channel passwords and signs reply tokens (`AYUDA_SECRET_KEY`,
    /// or a key file beside the data).
    pub secret_key: crate::channels::secrets::SecretKey,
    /// Where the inbound SMTP listener listens (`AYUDA_SMTP_ADDR`); `None`
    /// turns it off. Port 0 picks a free port (tests).
    pub smtp_addr: Option<String>,
    /// Certificate and key (PEM files) that enable STARTTLS on the listener.
    pub smtp_tls: Option<(String, String)>,
    /// Largest email accepted, in bytes (SMTP `SIZE`, IMAP, import).
    pub max_email_bytes: usize,
    /// Largest single attachment kept, and the most kept per message; a
    /// message over these keeps its text, and its raw form goes to the
    /// quarantine so nothing is lost.
    pub max_attachment_bytes: usize,
    pub max_attachments_per_message_bytes: usize,
    /// Emails one sender may send per minute before further ones are
    /// quarantined (a mail loop or a flood).
    pub sender_rate_per_minute: i64,
    /// First retry delay of the outbound queue; each further retry waits
    /// four times longer.
    pub outbox_retry_base_ms: i64,
    /// How often the outbound queue looks for due mail.
    pub outbox_poll_ms: u64,
    /// How often an IMAP mailbox without IDLE is polled, and how long an
    /// IDLE waits before it is renewed.
    pub imap_poll_ms: u64,
    /// How often working hours are compared with the clock (hours are given
    /// to the minute; availability changes within this of a boundary).
    pub working_hours_check_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secure_cookies: false,
            session_ttl_ms: 30 * 24 * 60 * 60 * 1000,
            live_buffer: crate::events::hub::DEFAULT_CAPACITY,
            replay_window_ms: 15 * 60 * 1000,
            secret_key: crate::channels::secrets::SecretKey::generate(),
            smtp_addr: None,
            smtp_tls: None,
            max_email_bytes: 30 * 1024 * 1024,
            max_attachment_bytes: 15 * 1024 * 1024,
            max_attachments_per_message_bytes: 25 * 1024 * 1024,
            sender_rate_per_minute: 30,
            outbox_retry_base_ms: 30_000,
            outbox_poll_ms: 500,
            imap_poll_ms: 60_000,
            working_hours_check_ms: 15_000,
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The state inside a server function or an SSR render.
///
/// An error rather than a panic when it is missing: during SSR a resource
/// whose component was already replaced can still be polled once with a
/// detached owner, and a panic there would abort the whole page stream.
pub fn app_state() -> Result<AppState, crate::error::AppError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| {
        tracing::debug!("server function ran without the app state in context");
        crate::error::AppError::Internal
    })
}
