//! The email channel's machinery (server only).
//!
//! - [`parse`]: raw MIME to the facts a help desk uses;
//! - [`body`]: the displayed body (sanitised, quote cut off, images held);
//! - [`ingest`]: guards, threading and storage of inbound mail;
//! - [`listener`]: the built-in SMTP server;
//! - [`imap`]: mailbox polling and folder import;
//! - [`import`]: history imports and their progress;
//! - [`outbound`]: the durable reply queue and its sender.

pub mod body;
pub mod imap;
pub mod import;
pub mod ingest;
pub mod listener;
pub mod outbound;
pub mod parse;

use crate::state::AppState;
use std::net::SocketAddr;

/// What [`start`] started.
pub struct MailTasks {
    /// The SMTP listener's bound address, when it runs.
    pub smtp_addr: Option<SocketAddr>,
}

/// Starts the SMTP listener (when configured), the outbound queue's sender,
/// the IMAP pollers and the sweeper of imports whose process stopped. Must
/// run inside the tokio runtime.
pub fn start(state: &AppState) -> Result<MailTasks, String> {
    let smtp_addr = match &state.config.smtp_addr {
        Some(addr) => Some(listener::start(state, addr)?),
        None => None,
    };
    tokio::spawn(outbound::run_worker(state.clone()));
    tokio::spawn(imap::supervise(state.clone()));
    tokio::spawn(import::run_sweeper(state.clone()));
    Ok(MailTasks { smtp_addr })
}
