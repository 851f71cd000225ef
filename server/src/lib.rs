//! The Ayuda server: wires the Leptos app, the REST API and the shared
//! state into one axum router. `main.rs` runs it; the integration tests
//! start it on an ephemeral port with [`spawn`].

#![recursion_limit = "256"]

pub mod api;
pub mod csrf;
pub mod datagen;

use app::db::Db;
use app::state::{AppState, Config};
use app::{shell, App};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;

/// Largest request body accepted anywhere (1 MiB); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Leptos options from the environment cargo-leptos sets (`LEPTOS_SITE_ROOT`,
/// `LEPTOS_SITE_ADDR`, ...), with the workspace's defaults otherwise.
pub fn leptos_options() -> LeptosOptions {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let addr: SocketAddr = env("LEPTOS_SITE_ADDR", "127.0.0.1:3000")
        .parse()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 3000)));
    LeptosOptions::builder()
        .output_name("ayuda")
        .site_root(env("LEPTOS_SITE_ROOT", "target/site"))
        .site_pkg_dir(env("LEPTOS_SITE_PKG_DIR", "pkg"))
        .site_addr(addr)
        .build()
}

/// Builds the whole application router over `state`.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let options = state.leptos_options.clone();
    let uploads = api::upload_router()
        .layer(axum::middleware::from_fn(csrf::check_origin))
        .layer(axum::middleware::map_response(api::json_payload_too_large));
    let main = Router::new()
        .nest("/api/v1", api::router())
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(context_state.clone());
                provide_context(app::auth::RequestCaller::default());
                provide_context(app::workspace::directory::RequestDirectory::default());
            },
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn(csrf::check_origin))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(api::json_payload_too_large))
        .layer(axum::middleware::map_response(server_fn_bad_arguments));
    uploads
        .merge(main)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Server functions whose arguments cannot be read answer 400, not 500.
///
/// Leptos' server_fn answers every error it raises itself with 500,
/// including a request whose arguments are missing or malformed, which is
/// the caller's mistake and must not look like a server failure in logs and
/// monitoring. Errors from our own bodies already carry their status
/// (`app::error::server_fn`). The error body, `Args|...` or
/// `MissingArg|...`, stays as server_fn wrote it, so the browser still
/// decodes the message.
async fn server_fn_bad_arguments(res: axum::response::Response) -> axum::response::Response {
    use axum::http::StatusCode;
    /// Longer bodies are not argument errors (those are one line).
    const LONGEST_ERROR: usize = 16 * 1024;
    use axum::body::HttpBody as _;
    let short = res
        .body()
        .size_hint()
        .exact()
        .is_some_and(|len| len <= LONGEST_ERROR as u64);
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res
            .headers()
            .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
        || !short
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    // server_fn's error bodies are in memory: reading one cannot fail.
    let bytes = axum::body::to_bytes(body, LONGEST_ERROR)
        .await
        .unwrap_or_default();
    if bytes.starts_with(b"Args|") || bytes.starts_with(b"MissingArg|") {
        parts.status = StatusCode::BAD_REQUEST;
    }
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Connects, migrates and returns the state for `database_url`.
pub async fn prepare(
    database_url: &str,
    config: Config,
    leptos_options: LeptosOptions,
) -> Result<AppState, String> {
    let db = Db::connect(database_url)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    db.migrate()
        .await
        .map_err(|e| format!("cannot migrate the database: {e}"))?;
    let hub = app::events::hub::EventHub::start(db.clone(), config.live_buffer)
        .await
        .map_err(|e| format!("cannot start the event hub: {e}"))?;
    Ok(AppState {
        hub,
        db,
        config: Arc::new(config),
        leptos_options,
        directory: Default::default(),
    })
}

/// A running server, for tests and embedding.
pub struct Running {
    pub addr: SocketAddr,
    /// The SMTP listener's address, when `Config::smtp_addr` is set.
    pub smtp_addr: Option<SocketAddr>,
    pub state: AppState,
    pub task: tokio::task::JoinHandle<()>,
}

/// The listener with Nagle's algorithm off on every accepted connection.
///
/// Live events are small websocket frames written one after another (an
/// event, then the counts it changed); with Nagle on, the second waits for
/// the client to acknowledge the first, and a delayed ACK holds it for up
/// to 40 ms. Help desk traffic is small messages that must go out now.
pub fn without_nagle(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    listener.tap_io(|stream: &mut tokio::net::TcpStream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
    })
}

/// Starts the help desk's background work: routing of new and waiting
/// tickets, the SLA timer, working hours and the trash purge. Each reads
/// its work from the database and the event hub, so any number of
/// processes can run them.
pub fn start_background_tasks(state: &AppState) {
    tokio::spawn(app::routing::worker::run(state.clone()));
    tokio::spawn(app::sla::service::run_timer(state.clone()));
    tokio::spawn(app::users::schedule::run(state.clone()));
    tokio::spawn(app::tickets::actions::service::run_purger(state.db.clone()));
}

/// Serves `state` on `listener` in a background task.
pub async fn spawn(listener: tokio::net::TcpListener, state: AppState) -> Running {
    let addr = listener
        .local_addr()
        .expect("bound listener has an address");
    let mail = app::channels::email::start(&state).expect("start the mail tasks");
    start_background_tasks(&state);
    let app = router(state.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(
            without_nagle(listener),
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Running {
        addr,
        smtp_addr: mail.smtp_addr,
        state,
        task,
    }
}
