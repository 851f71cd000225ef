//! The event hub: one per server process. It follows the event log and fans
//! new events out to this process's websocket connections, keeps the view
//! count buckets they compute their counts from, and keeps the presence
//! board (who is viewing or typing where).
//!
//! How an event travels: a service commits it to the log; the commit wakes
//! the hub (in-process through [`Db::committed`], across processes through
//! PostgreSQL `LISTEN ayuda_events`, and at worst through a one-second
//! poll); the hub's pump reads everything after the last sequence number it
//! published, in order, and sends each event once into a broadcast channel
//! that every connection of this process subscribes to. Each connection
//! then decides for its own user whether the event may be delivered.
//!
//! The broadcast channel is bounded and never blocks the pump: a
//! connection that cannot keep up loses its place (tokio reports the lag)
//! and is told to resync, so one slow client never delays the others.
//!
//! Presence is ephemeral and never stored: each process keeps its own
//! connections' entries and, on PostgreSQL, tells the other processes about
//! changes with `NOTIFY ayuda_presence`; entries from other processes expire
//! unless refreshed, so a crashed process's viewers disappear on their own.

use super::log::{self, StoredEvent};
use super::{LiveEvent, Typing, Viewer, PRESENCE};
use crate::access::can_see;
use crate::db::{now_ms, Db, DbKind};
use crate::error::AppError;
use crate::users::User;
use crate::views::counter::ViewCounter;
use crate::views::CountBucket;
use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::broadcast;

/// How many hub messages a connection may fall behind before it must
/// resync, unless configured otherwise. At a few hundred bytes each this
/// bounds the channel's memory.
pub const DEFAULT_CAPACITY: usize = 4096;
/// Events read from the log per query, at most. A batch is broadcast
/// without pausing, so it must stay well under the channel's capacity or
/// every connection would fall behind at once; see [`EventHub::batch`].
const MAX_BATCH: i64 = 512;
/// A viewer who has not refreshed their presence for this long is gone.
pub const PRESENCE_TTL_MS: i64 = 45_000;
/// Typing that has not been refreshed for this long has stopped.
pub const TYPING_TTL_MS: i64 = 8_000;
const PRESENCE_CHANNEL: &str = "ayuda_presence";

/// An event from the log, serialised once for every connection.
#[derive(Debug)]
pub struct HubEvent {
    pub event: StoredEvent,
    /// The wire JSON ([`LiveEvent`]).
    pub json: Utf8Bytes,
}

impl HubEvent {
    /// Serialises a stored event once, for every connection.
    pub fn from_stored(event: StoredEvent) -> HubEvent {
        let json = serde_json::to_string(&LiveEvent {
            seq: Some(event.seq),
            kind: event.kind.clone(),
            ticket_id: event.ticket_id,
            data: event.data.clone(),
        })
        .unwrap_or_default();
        HubEvent {
            event,
            json: json.into(),
        }
    }

    /// May `user` receive this event? Ticket events go to whoever may see
    /// the ticket as the event left it or as it was before the event moved
    /// it; session events never leave the server; user events (availability,
    /// profile changes) go to everyone.
    pub fn visible_to(&self, user: &User) -> bool {
        let e = &self.event;
        if e.kind == super::SESSION_ENDED {
            return false;
        }
        match e.ticket_id {
            None => true,
            Some(_) => {
                let known = |v: Option<i64>| v.filter(|id| *id != 0);
                can_see(user, e.owner_id, e.team_id)
                    || e.prev_owner_id.is_some()
                        && can_see(user, known(e.prev_owner_id), known(e.prev_team_id))
            }
        }
    }

    /// Does this event change who `user_id` is or may see, or end a session
    /// of theirs, so that their connections must re-check?
    pub fn concerns_account_of(&self, user_id: i64) -> bool {
        let e = &self.event;
        (e.kind == super::USER_UPDATED || e.kind == super::SESSION_ENDED)
            && e.data.get("user_id").and_then(|v| v.as_i64()) == Some(user_id)
    }
}

/// The viewers of one ticket, after a presence change.
#[derive(Debug)]
pub struct TicketPresence {
    pub ticket_id: i64,
    /// Scope of the ticket as the viewers saw it, for access filtering.
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    pub json: Utf8Bytes,
}

/// What the hub broadcasts to its connections.
#[derive(Debug, Clone)]
pub enum HubMessage {
    Event(Arc<HubEvent>),
    /// The count buckets changed; each connection recomputes its counts.
    Counts(Arc<Vec<CountBucket>>),
    Presence(Arc<TicketPresence>),
}

/// One connection's presence, as the board keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PresenceEntry {
    user_id: i64,
    name: String,
    ticket_id: i64,
    owner_id: Option<i64>,
    team_id: Option<i64>,
    typing: Option<Typing>,
    /// Epoch ms after which the entry (or its typing) is stale.
    seen_at: i64,
    typing_at: i64,
}

/// A presence change as sent between processes over NOTIFY.
#[derive(Debug, Serialize, Deserialize)]
struct PresenceNotice {
    instance: String,
    conn: u64,
    entry: Option<PresenceEntry>,
}

/// A ticket the connection says it is viewing, with the scope the server
/// checked when it accepted that.
#[derive(Debug, Clone, Copy)]
pub struct ViewedTicket {
    pub ticket_id: i64,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
}

pub struct EventHub {
    db: Db,
    sender: broadcast::Sender<HubMessage>,
    /// The newest sequence number broadcast so far.
    published: AtomicI64,
    /// Events read and broadcast at a time: a quarter of the capacity.
    batch: i64,
    /// The latest count buckets, shared with every connection.
    buckets: RwLock<Arc<Vec<CountBucket>>>,
    /// The database's commit count (`Db::commit_count`) that `buckets`
    /// include: every transaction of this process committed up to there
    /// has been read and published.
    buckets_through: AtomicU64,
    /// Bumped each time events about tickets are published: custom view
    /// counts computed before it are out of date.
    ticket_epoch: AtomicU64,
    /// Custom view counts counted in SQL, valid for one ticket epoch: what
    /// a count is while the counter below does not have it.
    view_counts: crate::views::service::CountCache,
    /// Custom view counts maintained from the events this hub publishes.
    view_counter: Arc<ViewCounter>,
    /// (process id, connection id) -> what that connection is viewing.
    presence: Mutex<HashMap<(String, u64), PresenceEntry>>,
    /// This process's id on the presence board.
    instance: String,
    next_connection: AtomicU64,
    /// Flipped to true at shutdown: every connection closes with "server
    /// restarting" so the HTTP server can stop (clients reconnect to
    /// another instance or to this one when it is back).
    closing: tokio::sync::watch::Sender<bool>,
}

impl EventHub {
    /// Creates the hub and starts its pump and presence sweeper. Live
    /// delivery starts after the newest event already in the log; clients
    /// that were connected before ask for older ones with `since`.
    pub async fn start(db: Db, capacity: usize) -> Result<Arc<EventHub>, AppError> {
        let (sender, _) = broadcast::channel(capacity.max(1));
        // Read before the buckets: they include at least these commits.
        let commits = db.commit_count();
        let hub = Arc::new(EventHub {
            published: AtomicI64::new(log::last_seq(db.pool()).await?),
            batch: (capacity as i64 / 4).clamp(1, MAX_BATCH),
            buckets: RwLock::new(Arc::new(crate::views::service::count_buckets(&db).await?)),
            buckets_through: AtomicU64::new(commits),
            ticket_epoch: AtomicU64::new(0),
            view_counts: Default::default(),
            view_counter: ViewCounter::start(db.clone()),
            db,
            sender,
            presence: Mutex::new(HashMap::new()),
            instance: crate::auth::service::random_secret(),
            next_connection: AtomicU64::new(1),
            closing: tokio::sync::watch::Sender::new(false),
        });
        tokio::spawn(pump(Arc::downgrade(&hub)));
        tokio::spawn(sweep_presence(Arc::downgrade(&hub)));
        Ok(hub)
    }

    /// Asks every live connection to close (server shutdown).
    pub fn shutdown(&self) {
        self.closing.send_replace(true);
    }

    /// Changes to true when the server shuts down.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<HubMessage> {
        self.sender.subscribe()
    }

    /// Changes whenever events about tickets have been published.
    pub fn ticket_epoch(&self) -> u64 {
        self.ticket_epoch.load(Ordering::Acquire)
    }

    pub fn view_counts(&self) -> &crate::views::service::CountCache {
        &self.view_counts
    }

    pub fn view_counter(&self) -> &ViewCounter {
        &self.view_counter
    }

    pub fn published_seq(&self) -> i64 {
        self.published.load(Ordering::Acquire)
    }

    pub fn buckets(&self) -> Arc<Vec<CountBucket>> {
        self.buckets
            .read()
            .map(|b| b.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The latest count buckets when they already include every write this
    /// process has committed; `None` while the hub is still catching up
    /// (the caller then counts in SQL). A page rendered right after its
    /// own request's write therefore never shows counts from before it,
    /// and the many pages rendered between writes read no SQL for them.
    /// Other processes' writes (PostgreSQL) arrive as they always do, by
    /// the pushed counts.
    pub fn current_buckets(&self) -> Option<Arc<Vec<CountBucket>>> {
        let through = self.buckets_through.load(Ordering::Acquire);
        (through >= self.db.commit_count()).then(|| self.buckets())
    }

    /// A number identifying a new connection on this process's board.
    pub fn connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// Every current viewer of every ticket `user` may see.
    pub fn presence_snapshot(&self, user: &User) -> Vec<Utf8Bytes> {
        let board = self.board();
        let mut tickets: Vec<(i64, Option<i64>, Option<i64>)> = board
            .values()
            .filter(|e| can_see(user, e.owner_id, e.team_id))
            .map(|e| (e.ticket_id, e.owner_id, e.team_id))
            .collect();
        tickets.sort_unstable();
        tickets.dedup_by_key(|t| t.0);
        tickets
            .into_iter()
            .map(|(id, _, _)| presence_json(id, &board))
            .collect()
    }

    /// Sets (or clears) what connection `conn` of `user` is viewing and
    /// typing, and tells everyone concerned.
    pub async fn set_presence(
        &self,
        conn: u64,
        user: &User,
        viewing: Option<ViewedTicket>,
        typing: Option<Typing>,
    ) {
        let now = now_ms();
        // Collaborators cannot reply, so they never show as typing one.
        let typing = typing.filter(|t| *t == Typing::Note || user.can_work_tickets());
        let entry = viewing.map(|v| PresenceEntry {
            user_id: user.id,
            name: user.name.clone(),
            ticket_id: v.ticket_id,
            owner_id: v.owner_id,
            team_id: v.team_id,
            typing,
            seen_at: now,
            typing_at: now,
        });
        let changed = self.apply_presence((self.instance.clone(), conn), entry.clone());
        if self.db.kind() == DbKind::Postgres {
            let notice = PresenceNotice {
                instance: self.instance.clone(),
                conn,
                entry,
            };
            if let Ok(payload) = serde_json::to_string(&notice) {
                if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(PRESENCE_CHANNEL)
                    .bind(payload)
                    .execute(self.db.pool())
                    .await
                {
                    tracing::warn!(error = %e, "cannot share presence with other servers");
                }
            }
        }
        self.announce(changed);
    }

    /// Updates the board; returns the tickets whose viewers changed in a way
    /// others should hear about (not a mere heartbeat).
    fn apply_presence(
        &self,
        key: (String, u64),
        entry: Option<PresenceEntry>,
    ) -> Vec<(i64, Option<i64>, Option<i64>)> {
        let mut board = self.board();
        let old = match &entry {
            Some(e) => board.insert(key, e.clone()),
            None => board.remove(&key),
        };
        let mut changed = Vec::new();
        let same = match (&old, &entry) {
            (Some(o), Some(n)) => o.ticket_id == n.ticket_id && o.typing == n.typing,
            (None, None) => true,
            _ => false,
        };
        if !same {
            for e in old.iter().chain(entry.iter()) {
                changed.push((e.ticket_id, e.owner_id, e.team_id));
            }
        }
        changed.dedup_by_key(|c| c.0);
        changed
    }

    fn announce(&self, tickets: Vec<(i64, Option<i64>, Option<i64>)>) {
        if tickets.is_empty() {
            return;
        }
        let messages: Vec<TicketPresence> = {
            let board = self.board();
            tickets
                .into_iter()
                .map(|(ticket_id, owner_id, team_id)| TicketPresence {
                    ticket_id,
                    owner_id,
                    team_id,
                    json: presence_json(ticket_id, &board),
                })
                .collect()
        };
        for m in messages {
            // No receivers is fine: nobody is connected.
            let _ = self.sender.send(HubMessage::Presence(Arc::new(m)));
        }
    }

    fn board(&self) -> std::sync::MutexGuard<'_, HashMap<(String, u64), PresenceEntry>> {
        self.presence.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads and broadcasts what was committed since the last call.
    /// Returns how many events it read.
    ///
    /// The events and the count buckets are read in one snapshot, so the
    /// counts sent after a batch of events are the counts those events left
    /// (not ahead of them because a later commit slipped in between the two
    /// reads). Counts are broadcast only when they moved: most events (a
    /// reply, a note, a subject edit) leave them as they were, and every
    /// connection would otherwise wake up to recompute the same numbers.
    ///
    /// The tickets the events name are read in the same snapshot and handed
    /// to the custom view counter before the events go out, so a workspace
    /// that reloads its counts on an event gets counts that include it.
    async fn publish_new(&self) -> Result<usize, AppError> {
        let after = self.published_seq();
        // Before the read: the commits this pass is sure to include.
        let commits = self.db.commit_count();
        // Held from before the read until the tickets are applied, so the
        // counter applies what it reads in the order the database moved.
        let counter = self.view_counter.begin_batch().await;
        let (events, buckets, ticket_ids, tickets) = {
            let mut tx = self.db.pool().begin().await?;
            if self.db.kind() == DbKind::Postgres {
                // One snapshot for both reads (SQLite's read transaction
                // already is one).
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
            }
            let events = log::read_after(&mut *tx, after, self.batch).await?;
            let buckets = if events.iter().any(|e| e.ticket_id.is_some()) {
                Some(crate::views::service::read_count_buckets(&mut *tx).await?)
            } else {
                None
            };
            let mut ticket_ids: Vec<i64> = Vec::new();
            if counter.wants_tickets() {
                ticket_ids.extend(events.iter().filter_map(|e| e.ticket_id));
                ticket_ids.sort_unstable();
                ticket_ids.dedup();
            }
            let tickets = if ticket_ids.is_empty() {
                Default::default()
            } else {
                crate::views::counter::load(&mut tx, &ticket_ids).await?
            };
            tx.rollback().await?;
            (events, buckets, ticket_ids, tickets)
        };
        counter.apply(&ticket_ids, &tickets);
        for e in &events {
            if e.kind == super::VIEW_CHANGED {
                self.view_counter.request_scan();
            } else if e.kind == super::SETTINGS_CHANGED
                && matches!(
                    e.data.get("settings").and_then(|s| s.as_str()),
                    Some("sla" | "calendars")
                )
            {
                self.view_counter.sla_changed().await;
            }
        }
        let n = events.len();
        if buckets.is_some() {
            // Some of these events are about tickets.
            self.ticket_epoch.fetch_add(1, Ordering::AcqRel);
        }
        for event in events {
            let seq = event.seq;
            let _ = self
                .sender
                .send(HubMessage::Event(Arc::new(HubEvent::from_stored(event))));
            self.published.store(seq, Ordering::Release);
        }
        if let Some(buckets) = buckets {
            let changed = {
                let mut current = self.buckets.write().unwrap_or_else(|p| p.into_inner());
                let changed = **current != buckets;
                if changed {
                    *current = Arc::new(buckets);
                }
                changed
            };
            if changed {
                let _ = self.sender.send(HubMessage::Counts(self.buckets()));
            }
        }
        if (n as i64) < self.batch {
            // Nothing left unread: the buckets include every commit up to
            // `commits` (set after the buckets themselves, so a reader
            // that sees this sees them too).
            self.buckets_through.fetch_max(commits, Ordering::AcqRel);
        }
        Ok(n)
    }

    fn remote_presence(&self, payload: &str) {
        let Ok(notice) = serde_json::from_str::<PresenceNotice>(payload) else {
            tracing::warn!("ignoring a malformed presence notice");
            return;
        };
        if notice.instance == self.instance {
            return;
        }
        let changed = self.apply_presence((notice.instance, notice.conn), notice.entry);
        self.announce(changed);
    }
}

/// The presence event for one ticket, from the board.
fn presence_json(ticket_id: i64, board: &HashMap<(String, u64), PresenceEntry>) -> Utf8Bytes {
    // One line per person, whatever number of tabs they have open; typing
    // in any of them counts.
    let mut viewers: Vec<Viewer> = Vec::new();
    for e in board.values().filter(|e| e.ticket_id == ticket_id) {
        match viewers.iter_mut().find(|v| v.user_id == e.user_id) {
            Some(v) => v.typing = v.typing.or(e.typing),
            None => viewers.push(Viewer {
                user_id: e.user_id,
                name: e.name.clone(),
                typing: e.typing,
            }),
        }
    }
    viewers.sort_by(|a, b| a.name.cmp(&b.name).then(a.user_id.cmp(&b.user_id)));
    let event = LiveEvent {
        seq: None,
        kind: PRESENCE.to_string(),
        ticket_id: Some(ticket_id),
        data: json!({ "viewers": viewers }),
    };
    serde_json::to_string(&event).unwrap_or_default().into()
}

/// Follows the log for as long as the hub exists.
async fn pump(hub: std::sync::Weak<EventHub>) {
    let mut listener = None;
    loop {
        let Some(h) = hub.upgrade() else { return };
        if h.db.kind() == DbKind::Postgres && listener.is_none() {
            listener = listen(h.db.url()).await;
        }
        // Drain everything new before sleeping.
        loop {
            match h.publish_new().await {
                Ok(n) if n as i64 == h.batch => {
                    // Let connections take what was sent before the next
                    // batch.
                    tokio::task::yield_now().await;
                    continue;
                }
                Ok(_) => break,
                Err(_) => {
                    // Already logged; the database may be restarting.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    break;
                }
            }
        }
        let committed = h.db.committed();
        tokio::select! {
            _ = committed.notified() => {}
            note = async {
                match listener.as_mut() {
                    Some(l) => l.recv().await,
                    None => std::future::pending().await,
                }
            } => match note {
                Ok(n) if n.channel() == PRESENCE_CHANNEL => h.remote_presence(n.payload()),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "event listener lost its connection; polling until it is back");
                    listener = None;
                }
            },
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn listen(url: &str) -> Option<sqlx::postgres::PgListener> {
    let result = async {
        let mut l = sqlx::postgres::PgListener::connect(url).await?;
        l.listen_all([log::NOTIFY_CHANNEL, PRESENCE_CHANNEL])
            .await?;
        Ok::<_, sqlx::Error>(l)
    }
    .await;
    match result {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(error = %e, "cannot LISTEN for events; polling instead");
            None
        }
    }
}

/// Drops viewers who stopped sending heartbeats and typing that stopped.
async fn sweep_presence(hub: std::sync::Weak<EventHub>) {
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let Some(h) = hub.upgrade() else { return };
        let now = now_ms();
        let changed: Vec<(i64, Option<i64>, Option<i64>)> = {
            let mut board = h.board();
            let mut changed = Vec::new();
            board.retain(|_, e| {
                if now - e.seen_at > PRESENCE_TTL_MS {
                    changed.push((e.ticket_id, e.owner_id, e.team_id));
                    return false;
                }
                if e.typing.is_some() && now - e.typing_at > TYPING_TTL_MS {
                    e.typing = None;
                    changed.push((e.ticket_id, e.owner_id, e.team_id));
                }
                true
            });
            changed.sort_unstable();
            changed.dedup_by_key(|c| c.0);
            changed
        };
        h.announce(changed);
    }
}
