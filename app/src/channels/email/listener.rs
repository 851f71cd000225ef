//! The built-in SMTP listener (`AYUDA_SMTP_ADDR`, default
//! `127.0.0.1:2525`): point a domain's MX, or a forwarding rule, at it.
//!
//! mailin-embedded speaks the protocol (with STARTTLS when a certificate is
//! configured) on a pool of blocking threads; each session's handler only
//! decides which recipients we take and hands the finished message to
//! [`ingest`](super::ingest::ingest) on the tokio runtime. A message is
//! acknowledged with 250 only once it is committed (as a thread entry or in
//! the quarantine), so an accepted email is never lost; a database failure
//! answers 451 and the sending server retries.

use super::ingest::{self, Delivery, Source};
use crate::state::AppState;
use mailin_embedded::{response, Action, Handler, Response, Server, SslConfig};
use std::net::{IpAddr, SocketAddr};
use tokio::runtime::Handle;

/// Concurrent SMTP sessions.
const SESSIONS: u32 = 32;

#[derive(Clone)]
struct Session {
    state: AppState,
    runtime: Handle,
    recipients: Vec<String>,
    data: Vec<u8>,
    /// The message passed the size limit; the rest is discarded and the
    /// message refused at its end.
    too_large: bool,
}

impl Handler for Session {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        self.recipients.clear();
        self.data.clear();
        self.too_large = false;
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let to = to
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_lowercase();
        let db = self.state.db.clone();
        let found = self
            .runtime
            .block_on(async move { ingest::channel_for_address(&db, &to).await.map(|c| (c, to)) });
        match found {
            Ok((Some(_), to)) => {
                self.recipients.push(to);
                response::OK
            }
            Ok((None, _)) => response::NO_MAILBOX,
            Err(_) => response::INTERNAL_ERROR,
        }
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.data.clear();
        self.too_large = false;
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if self.data.len() + buf.len() > self.state.config.max_email_bytes {
            self.too_large = true;
        } else if !self.too_large {
            self.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let raw = std::mem::take(&mut self.data);
        if self.too_large {
            // Refused, so the sender is told; the head is kept so an admin
            // can see who tried.
            let state = self.state.clone();
            let limit = state.config.max_email_bytes;
            let _ = self.runtime.block_on(async move {
                ingest::quarantine(
                    &state.db,
                    ingest::Quarantine {
                        channel_id: None,
                        source: Source::Smtp,
                        category: "too_large",
                        reason: &format!("Refused: the message is over the {limit} byte limit."),
                        sender: None,
                        subject: None,
                        raw: &raw,
                    },
                )
                .await
            });
            return closing(response::NO_STORAGE);
        }
        let state = self.state.clone();
        let delivery = Delivery {
            source: Source::Smtp,
            channel_id: None,
            recipients: self.recipients.clone(),
        };
        match self
            .runtime
            .block_on(async move { ingest::ingest(&state, raw, &delivery).await })
        {
            Ok(_) => response::OK,
            Err(_) => closing(response::INTERNAL_ERROR),
        }
    }
}

/// An error answer to the end of a message, followed by hanging up.
///
/// mailin keeps a session in its DATA state after an error answer to the
/// final dot, so the client's next command (RSET or QUIT) would be taken as
/// message text and both sides would wait for the five-minute read timeout.
/// The transaction is over either way (RFC 5321 §4.1.1.4); closing the
/// connection ends it cleanly, and the sender retries a 4xx on a new one.
fn closing(mut answer: Response) -> Response {
    answer.action = Action::Close;
    answer
}

/// Binds the listener and serves it on its own threads. Returns the bound
/// address (useful with port 0).
pub fn start(state: &AppState, addr: &str) -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| format!("cannot listen for SMTP on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("SMTP listener has no address: {e}"))?;
    let session = Session {
        state: state.clone(),
        runtime: Handle::current(),
        recipients: Vec::new(),
        data: Vec::new(),
        too_large: false,
    };
    let mut server = Server::new(session);
    let ssl = match &state.config.smtp_tls {
        Some((cert, key)) => SslConfig::SelfSigned {
            cert_path: cert.clone(),
            key_path: key.clone(),
        },
        None => SslConfig::None,
    };
    server
        .with_name("ayuda")
        .with_num_threads(SESSIONS)
        .with_ssl(ssl)
        .map_err(|e| format!("cannot set up STARTTLS for SMTP: {e}"))?
        .with_tcp_listener(listener);
    std::thread::Builder::new()
        .name("smtp-listener".into())
        .spawn(move || {
            if let Err(e) = server.serve() {
                tracing::error!(error = %e, "SMTP listener stopped");
            }
        })
        .map_err(|e| format!("cannot start the SMTP listener: {e}"))?;
    tracing::info!(%bound, "SMTP listener accepting mail");
    Ok(bound)
}
