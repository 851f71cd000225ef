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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secure_cookies: false,
            session_ttl_ms: 30 * 24 * 60 * 60 * 1000,
            live_buffer: crate::events::hub::DEFAULT_CAPACITY,
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
