//! `GET /api/v1/events`: the live event stream over a websocket.
//!
//! A connection authenticates at the upgrade (session cookie or Bearer
//! token), then:
//! 1. subscribes to this process's event hub, so nothing published from now
//!    on can be missed;
//! 2. with `?since=SEQ`, replays from the log every event after SEQ that the
//!    user may see, then sends `ready` with the newest seq. Only events of
//!    the last few minutes (`Config::replay_window_ms`) are replayed: an
//!    older SEQ skips to them and `ready` says `gap`, so the log cannot be
//!    read back to events the user was never connected for;
//! 3. sends the user's view counts and the presence on tickets they may see;
//! 4. relays live events, skipping any whose seq it already sent (those the
//!    replay and the subscription both saw), so the client gets every event
//!    once and in order.
//!
//! Every event is checked against the user's access as it stands when the
//! event is delivered. When an event says the user's account or session
//! changed, the connection authenticates again with the credential it was
//! opened with and closes if that no longer works. It does the same every
//! 30 seconds, which also catches sessions that expired.

use super::{ApiError, ApiQuery};
use app::auth::service::{authenticate, session_expiry};
use app::error::AppError;
use app::events::hub::{EventHub, HubEvent, HubMessage, ViewedTicket};
use app::events::log::{newest_before, read_after};
use app::events::{ClientMessage, LiveEvent, READY, RESYNC, VIEW_COUNTS};
use app::state::AppState;
use app::users::User;
use app::views::{counts_from_buckets, ViewCount};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Close code sent with `resync`: reconnect with `since`.
pub const CLOSE_RESYNC: u16 = 4000;
/// Close code when the credential no longer works: sign in again.
pub const CLOSE_UNAUTHENTICATED: u16 = 4001;
/// A client that does not take a message within this time is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the connection pings and re-checks its credential.
const CHECK_EVERY: Duration = Duration::from_secs(30);
/// Events replayed per database read.
const REPLAY_BATCH: i64 = 500;
/// Largest client message accepted (presence messages are tiny).
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// Replay every event after this sequence number before live ones.
    pub since: Option<i64>,
}

/// Opens the live event stream.
#[utoipa::path(get, path = "/api/v1/events", params(EventsQuery), tag = "events",
    responses((status = 101, description = "Switching to the websocket protocol"),
        (status = 401), (status = 400)))]
pub async fn connect(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<EventsQuery>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let Some((user, _)) = authenticate(&state.db, &headers).await? else {
        return Err(AppError::Unauthenticated.into());
    };
    let upgrade = upgrade.map_err(|_| {
        AppError::invalid("upgrade", "This endpoint speaks the websocket protocol.")
    })?;
    if query.since.is_some_and(|s| s < 0) {
        return Err(
            AppError::invalid("since", "since must be a sequence number (0 or more).").into(),
        );
    }
    // Only the headers that prove who the caller is are kept, to check
    // again later.
    let mut credential = HeaderMap::new();
    for name in [http::header::COOKIE, http::header::AUTHORIZATION] {
        if let Some(v) = headers.get(&name) {
            credential.insert(name, v.clone());
        }
    }
    Ok(upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        // Small per-connection buffers: a connection mostly sends short
        // events and receives tiny presence messages, and thousands of
        // them stay open (the defaults reserve 128 KiB each).
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            let mut conn = Connection {
                state,
                credential,
                user,
                conn_id: 0,
                last_seq: 0,
                last_counts: None,
                viewing: None,
                expires_at: None,
            };
            conn.conn_id = conn.hub().connection_id();
            conn.run(socket, query.since).await;
            conn.hub()
                .set_presence(conn.conn_id, &conn.user, None, None)
                .await;
        }))
}

/// Why a connection ends.
enum End {
    /// The client left or the socket failed.
    Gone,
    /// Close with this code and reason.
    Close(u16, &'static str),
}

struct Connection {
    state: AppState,
    /// Cookie / Authorization headers of the upgrade request.
    credential: HeaderMap,
    user: User,
    conn_id: u64,
    /// The newest seq sent; nothing at or below it is sent again.
    last_seq: i64,
    last_counts: Option<Vec<ViewCount>>,
    /// The ticket this connection reported viewing, as checked. Typing
    /// refreshes (every 3 s) reuse the check; every other presence message
    /// (the 15 s heartbeat included) checks again, so a viewer who lost
    /// access to the ticket, or a ticket that moved to another team, is
    /// shown to the right people within one heartbeat.
    viewing: Option<ViewedTicket>,
    /// When the session behind a cookie connection expires.
    expires_at: Option<i64>,
}

impl Connection {
    fn hub(&self) -> &Arc<EventHub> {
        &self.state.hub
    }

    async fn run(&mut self, mut socket: WebSocket, since: Option<i64>) {
        let end = match self.serve(&mut socket, since).await {
            Ok(()) | Err(End::Gone) => return,
            Err(End::Close(code, reason)) => (code, reason),
        };
        let _ = tokio::time::timeout(
            SEND_TIMEOUT,
            socket.send(Message::Close(Some(CloseFrame {
                code: end.0,
                reason: end.1.into(),
            }))),
        )
        .await;
    }

    async fn serve(&mut self, socket: &mut WebSocket, since: Option<i64>) -> Result<(), End> {
        self.expires_at = self.session_expiry().await;
        // Subscribe before reading the log: whatever commits from here on
        // reaches us through the hub even if the replay misses it.
        let mut live = self.hub().subscribe();
        self.last_seq = since.unwrap_or_else(|| self.hub().published_seq());
        let mut gap = false;
        if since.is_some() {
            gap = self.skip_beyond_window().await?;
            self.replay(socket).await?;
        }
        let ready = LiveEvent {
            seq: None,
            kind: READY.into(),
            ticket_id: None,
            data: json!({ "seq": self.last_seq, "gap": gap }),
        };
        send(socket, to_text(&ready)).await?;
        self.send_counts(socket, &self.hub().buckets()).await?;
        for presence in self.hub().presence_snapshot(&self.user) {
            send(socket, Message::Text(presence)).await?;
        }

        // The loop below runs once per event for every connection, so it
        // keeps its waits alive across turns instead of building them anew:
        // a fresh `changed()` would re-register with the shutdown signal
        // that all connections share (one lock, contended by every
        // connection on every event), and a fresh tick would re-arm a
        // timer. `biased` takes the hub first: when an event is waiting,
        // nothing else is polled at all.
        let mut closing = self.hub().closing();
        if *closing.borrow_and_update() {
            return Err(End::Close(1012, "server restarting"));
        }
        let closed = closing.changed();
        tokio::pin!(closed);
        let check = tokio::time::sleep(CHECK_EVERY);
        tokio::pin!(check);
        loop {
            tokio::select! {
                biased;
                message = live.recv() => match message {
                    Ok(m) => self.relay(socket, m).await?,
                    Err(RecvError::Lagged(_)) => return self.resync(socket).await,
                    Err(RecvError::Closed) => return Err(End::Close(1012, "server restarting")),
                },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Text(text))) => self.on_client_message(&text).await,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Err(End::Gone),
                    Some(Ok(_)) => {}
                },
                _ = &mut check => {
                    self.recheck().await?;
                    send(socket, Message::Ping(Default::default())).await?;
                    check.as_mut().reset(tokio::time::Instant::now() + CHECK_EVERY);
                }
                _ = &mut closed => return Err(End::Close(1012, "server restarting")),
            }
        }
    }

    /// Moves `last_seq` past the events too old to replay (see
    /// `Config::replay_window_ms`); true when it had to.
    async fn skip_beyond_window(&mut self) -> Result<bool, End> {
        let cutoff = app::db::now_ms() - self.state.config.replay_window_ms;
        let skipped = newest_before(self.state.db.pool(), self.last_seq, cutoff)
            .await
            .map_err(|_| End::Close(1011, "cannot read the event log"))?;
        if let Some(seq) = skipped {
            self.last_seq = seq;
        }
        Ok(skipped.is_some())
    }

    /// Sends every event after `last_seq` from the log that the user may
    /// see.
    async fn replay(&mut self, socket: &mut WebSocket) -> Result<(), End> {
        loop {
            let events = read_after(self.state.db.pool(), self.last_seq, REPLAY_BATCH)
                .await
                .map_err(|_| End::Close(1011, "cannot read the event log"))?;
            let n = events.len() as i64;
            for event in events {
                self.last_seq = event.seq;
                let hub_event = HubEvent::from_stored(event);
                if hub_event.concerns_account_of(self.user.id) {
                    self.recheck().await?;
                }
                if hub_event.visible_to(&self.user) {
                    send(socket, Message::Text(hub_event.json.clone())).await?;
                }
            }
            if n < REPLAY_BATCH {
                return Ok(());
            }
        }
    }

    async fn relay(&mut self, socket: &mut WebSocket, message: HubMessage) -> Result<(), End> {
        match message {
            HubMessage::Event(e) => {
                if e.event.seq <= self.last_seq {
                    return Ok(());
                }
                self.last_seq = e.event.seq;
                if e.concerns_account_of(self.user.id) {
                    self.recheck().await?;
                    if self.last_counts.is_none() {
                        self.send_counts(socket, &self.hub().buckets()).await?;
                    }
                } else if self.expires_at.is_some_and(|t| t <= app::db::now_ms()) {
                    return Err(End::Close(CLOSE_UNAUTHENTICATED, "session expired"));
                }
                if e.visible_to(&self.user) {
                    send(socket, Message::Text(e.json.clone())).await?;
                }
                Ok(())
            }
            HubMessage::Counts(buckets) => self.send_counts(socket, &buckets).await,
            HubMessage::Presence(p) => {
                if app::access::can_see(&self.user, p.owner_id, p.team_id) {
                    send(socket, Message::Text(p.json.clone())).await?;
                }
                Ok(())
            }
        }
    }

    async fn send_counts(
        &mut self,
        socket: &mut WebSocket,
        buckets: &[app::views::CountBucket],
    ) -> Result<(), End> {
        let counts = counts_from_buckets(buckets, &self.user);
        if self.last_counts.as_ref() == Some(&counts) {
            return Ok(());
        }
        let event = LiveEvent {
            seq: None,
            kind: VIEW_COUNTS.into(),
            ticket_id: None,
            data: json!({ "counts": counts }),
        };
        send(socket, to_text(&event)).await?;
        self.last_counts = Some(counts);
        Ok(())
    }

    /// Tells the client it fell behind, then closes; it reconnects with
    /// `since` = the last seq it got and the log fills the gap.
    async fn resync(&mut self, socket: &mut WebSocket) -> Result<(), End> {
        let event = LiveEvent {
            seq: None,
            kind: RESYNC.into(),
            ticket_id: None,
            data: json!({ "since": self.last_seq }),
        };
        send(socket, to_text(&event)).await?;
        Err(End::Close(
            CLOSE_RESYNC,
            "fell behind; reconnect with since",
        ))
    }

    /// Authenticates again with the upgrade's credential; the user's role,
    /// access and teams are reloaded with it.
    async fn recheck(&mut self) -> Result<(), End> {
        match authenticate(&self.state.db, &self.credential).await {
            Ok(Some((user, _))) if user.id == self.user.id => {
                let access_changed = user.access != self.user.access;
                self.user = user;
                self.expires_at = self.session_expiry().await;
                if access_changed {
                    // Counts differ under the new access; recomputed on the
                    // next count change or presence refresh.
                    self.last_counts = None;
                }
                Ok(())
            }
            Ok(_) | Err(AppError::Unauthenticated) => {
                Err(End::Close(CLOSE_UNAUTHENTICATED, "signed out"))
            }
            // The database is unreachable: keep serving; check again later.
            Err(_) => Ok(()),
        }
    }

    async fn session_expiry(&self) -> Option<i64> {
        session_expiry(&self.state.db, &self.credential)
            .await
            .ok()
            .flatten()
    }

    async fn on_client_message(&mut self, text: &str) {
        let Ok(ClientMessage::Presence { ticket_id, typing }) = serde_json::from_str(text) else {
            // Unknown messages are ignored, not fatal: older and newer
            // clients share the server.
            return;
        };
        let viewing = match ticket_id {
            None => None,
            Some(id) => match self
                .viewing
                .filter(|v| v.ticket_id == id && typing.is_some())
            {
                Some(v) => Some(v),
                // Only tickets the user may open can carry their presence.
                None => match app::tickets::service::get(&self.state.db, &self.user, id).await {
                    Ok(t) => Some(ViewedTicket {
                        ticket_id: t.id,
                        owner_id: t.owner_id,
                        team_id: t.team_id,
                    }),
                    Err(_) => None,
                },
            },
        };
        self.viewing = viewing;
        self.hub()
            .set_presence(self.conn_id, &self.user, viewing, typing)
            .await;
    }
}

fn to_text(event: &LiveEvent) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(event).unwrap_or_default(),
    ))
}

async fn send(socket: &mut WebSocket, message: Message) -> Result<(), End> {
    // Nearly every send completes at once (the kernel takes the frame), so
    // the timer is only armed for one that has to wait: arming it for each
    // of a thousand connections on every event is measurable.
    let mut sending = std::pin::pin!(socket.send(message));
    if let std::task::Poll::Ready(sent) = futures::poll!(sending.as_mut()) {
        return sent.map_err(|_| End::Gone);
    }
    match tokio::time::timeout(SEND_TIMEOUT, sending).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::Gone),
        // A client this slow is holding only itself up; let it go.
        Err(_) => Err(End::Gone),
    }
}
