//! `ayuda`: runs the help desk workspace.
//!
//! Environment:
//! - `DATABASE_URL` — `sqlite://path` (default `sqlite://data/ayuda.db`) or `postgres://...`
//! - `LEPTOS_SITE_ADDR` — listen address (default `127.0.0.1:3000`)
//! - `AYUDA_ADMIN_EMAIL` / `AYUDA_ADMIN_PASSWORD` — the first super admin,
//!   created on an empty database (a password is generated and printed when unset)
//! - `AYUDA_DEMO=0` — skip the demo workspace
//! - `AYUDA_SECURE_COOKIES=1` — mark the session cookie Secure (behind HTTPS)
//! - `AYUDA_LIVE_BUFFER` — messages a live connection may fall behind before it must resync (default 4096)
//! - `AYUDA_SECRET_KEY` — 32 random bytes, base64: seals channel passwords
//!   and signs reply addresses. Every instance of one install needs the same
//!   key; without it a key file is used (`AYUDA_SECRET_KEY_FILE`, default
//!   `data/secret.key`, created on first start).
//! - `AYUDA_SMTP_ADDR` — the inbound SMTP listener (default `127.0.0.1:2525`; `off` disables it)
//! - `AYUDA_SMTP_TLS_CERT` / `AYUDA_SMTP_TLS_KEY` — PEM files that enable STARTTLS on it
//! - `RUST_LOG` — log filter (default `info`)

#![recursion_limit = "256"]

/// Where the built-in SMTP listener listens unless `AYUDA_SMTP_ADDR` says.
const DEFAULT_SMTP_ADDR: &str = "127.0.0.1:2525";

use app::state::Config;
use tracing_subscriber::EnvFilter;

/// See server/Cargo.toml: rows cross threads, and mimalloc frees them
/// without glibc's arena locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    if let Err(message) = run().await {
        eprintln!("ayuda: {message}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let database_url = env("DATABASE_URL").unwrap_or_else(|| "sqlite://data/ayuda.db".into());
    let defaults = Config::default();
    let config = Config {
        secure_cookies: env("AYUDA_SECURE_COOKIES").is_some_and(|v| v == "1" || v == "true"),
        live_buffer: match env("AYUDA_LIVE_BUFFER") {
            Some(v) => v
                .parse()
                .map_err(|_| "AYUDA_LIVE_BUFFER must be a number of messages".to_string())?,
            None => defaults.live_buffer,
        },
        secret_key: match env("AYUDA_SECRET_KEY") {
            Some(k) => app::channels::secrets::SecretKey::from_base64(&k)
                .map_err(|e| format!("AYUDA_SECRET_KEY: {e}"))?,
            None => app::channels::secrets::SecretKey::load_or_create(std::path::Path::new(
                &env("AYUDA_SECRET_KEY_FILE").unwrap_or_else(|| "data/secret.key".into()),
            ))?,
        },
        smtp_addr: match env("AYUDA_SMTP_ADDR").as_deref() {
            Some("off") => None,
            Some(a) => Some(a.to_string()),
            // The default port may be taken (another install, a second
            // instance on this machine): the workspace still starts, without
            // the listener. An address that was asked for must bind.
            None => match std::net::TcpListener::bind(DEFAULT_SMTP_ADDR) {
                Ok(_) => Some(DEFAULT_SMTP_ADDR.into()),
                Err(e) => {
                    eprintln!("Not receiving email by SMTP: {DEFAULT_SMTP_ADDR} is unavailable ({e}); set AYUDA_SMTP_ADDR.");
                    None
                }
            },
        },
        smtp_tls: match (env("AYUDA_SMTP_TLS_CERT"), env("AYUDA_SMTP_TLS_KEY")) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => {
                return Err(
                    "set both AYUDA_SMTP_TLS_CERT and AYUDA_SMTP_TLS_KEY, or neither".into(),
                )
            }
        },
        ..defaults
    };
    let options = server::leptos_options();
    let addr = options.site_addr;
    let state = server::prepare(&database_url, config, options).await?;

    let admin_email = env("AYUDA_ADMIN_EMAIL").unwrap_or_else(|| "admin@ayuda.localhost".into());
    let admin_password = env("AYUDA_ADMIN_PASSWORD");
    match app::demo::ensure_admin(&state.db, &admin_email, admin_password.as_deref()).await {
        Ok(Some(generated)) => {
            println!("Created super admin {admin_email} with password: {generated}")
        }
        Ok(None) => {}
        Err(e) => return Err(format!("cannot create the first super admin: {e}")),
    }
    if env("AYUDA_DEMO").as_deref() != Some("0") {
        match app::demo::seed(&state.db).await {
            Ok(true) => println!(
                "Seeded the demo workspace. Demo agents (e.g. ana@ayuda.example) sign in with password: {}",
                app::demo::DEMO_PASSWORD
            ),
            Ok(false) => {}
            Err(e) => return Err(format!("cannot seed demo data: {e}")),
        }
    }

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!("Ayuda is running at http://{addr}");
    let mail = app::channels::email::start(&state)?;
    server::start_background_tasks(&state);
    if let Some(smtp) = mail.smtp_addr {
        println!("Receiving email by SMTP at {smtp}");
    }
    let app = server::router(state.clone());
    axum::serve(
        server::without_nagle(listener),
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal(state.clone()))
    .await
    .map_err(|e| format!("server error: {e}"))?;
    state.db.close().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (how service managers stop us), after
/// asking live connections to close: a graceful shutdown waits for every
/// open connection, and websockets would otherwise keep it waiting.
async fn shutdown_signal(state: app::state::AppState) {
    let terminate = async {
        #[cfg(unix)]
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    println!("Shutting down");
    state.hub.shutdown();
}
