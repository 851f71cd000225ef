//! The browser's end of the live event stream (`/api/v1/events`).
//!
//! One [`Live`] exists per page load. It is created by the root component,
//! so its signals outlive every workspace re-render (coming back from a
//! settings page mounts a new workspace): the socket's callbacks only ever touch
//! values that are never disposed. The workspace starts the connection once
//! it knows who is signed in, resuming from the event sequence number the
//! server rendered the page at, so nothing that happened between render and
//! connect is lost.
//!
//! Events turn into signal bumps: the list and the counts reload, the open
//! ticket reloads when the event is about it. Bumps are coalesced (a burst
//! of events, or the replay after a reconnect, reloads once). A reload
//! replaces the thread and the sidebar but not the composer, so what the
//! agent is typing stays put.
//!
//! When the socket drops, the workspace shows "Offline", reconnects with
//! growing pauses (0.5 s doubling up to 15 s, with jitter so a restarted
//! server is not hit by every browser at once) and resumes with `since`, so
//! the log replays what was missed.
//!
//! The same socket carries this tab's presence: which ticket is open and
//! whether the agent is typing a reply or a note.

use crate::events::{Typing, Viewer};
use crate::users::Availability;
use crate::views::ViewCount;
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::value::RawValue;
use std::collections::HashMap;

/// Live state shared by the workspace's parts (`expect_context::<Live>()`).
#[derive(Clone, Copy)]
pub struct Live {
    /// Connected and caught up.
    pub online: RwSignal<bool>,
    /// Bumped when any ticket changed: the list reloads.
    pub list_epoch: RwSignal<u64>,
    /// Bumped when the open ticket changed: it reloads.
    pub ticket_epoch: RwSignal<u64>,
    /// The latest view counts pushed by the server.
    pub counts: RwSignal<Option<Vec<ViewCount>>>,
    /// Bumped when a custom view changed or the user's account did (role,
    /// teams): the left column reloads its views.
    pub views_epoch: RwSignal<u64>,
    /// Viewers by ticket id.
    pub presence: RwSignal<HashMap<i64, Vec<Viewer>>>,
    /// Availability of each user, as changes arrive.
    pub availability: RwSignal<HashMap<i64, Availability>>,
    /// What this tab last told the server: (open ticket, typing). The open
    /// ticket also decides which events bump `ticket_epoch`.
    my_presence: StoredValue<(Option<i64>, Option<Typing>)>,
    /// When typing was last reported (ms), to repeat it only every 3 s.
    typing_sent_at: StoredValue<f64>,
    /// The newest sequence number received; the resume point.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    last_seq: StoredValue<i64>,
    /// Set once the connection has been started.
    started: StoredValue<bool>,
    /// Reloads owed but not yet signalled: (list, open ticket). Held while
    /// a replay is in progress and for a few milliseconds during bursts.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    owed: StoredValue<(bool, bool)>,
    /// Whether the backlog after `since` has been received (`ready`).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    caught_up: StoredValue<bool>,
}

impl Live {
    /// Creates the page's live state and provides it as context. Call it
    /// from the root component so it is never disposed.
    pub fn provide() -> Live {
        let live = Live {
            online: RwSignal::new(false),
            list_epoch: RwSignal::new(0),
            ticket_epoch: RwSignal::new(0),
            counts: RwSignal::new(None),
            views_epoch: RwSignal::new(0),
            presence: RwSignal::new(HashMap::new()),
            availability: RwSignal::new(HashMap::new()),
            my_presence: StoredValue::new((None, None)),
            typing_sent_at: StoredValue::new(0.0),
            last_seq: StoredValue::new(0),
            started: StoredValue::new(false),
            owed: StoredValue::new((false, false)),
            caught_up: StoredValue::new(false),
        };
        provide_context(live);
        live
    }

    /// Starts the connection (in the browser, once per page load) from the
    /// sequence number the workspace was rendered at. Later calls, from
    /// re-rendered workspaces, do nothing: the connection is already
    /// following the log.
    pub fn start(&self, since: i64, availability: HashMap<i64, Availability>) {
        if self.started.get_value() {
            return;
        }
        self.started.set_value(true);
        self.last_seq.set_value(since);
        self.availability.set(availability);
        imp::connect(*self);
        set_interval(
            {
                let live = *self;
                move || live.heartbeat()
            },
            std::time::Duration::from_secs(15),
        );
    }

    /// Viewers of `ticket_id` other than `me`.
    pub fn others_on(&self, ticket_id: i64, me: i64) -> Vec<Viewer> {
        self.presence.with(|p| {
            p.get(&ticket_id)
                .map(|vs| vs.iter().filter(|v| v.user_id != me).cloned().collect())
                .unwrap_or_default()
        })
    }

    /// The availability of `user_id` as last heard.
    pub fn availability_of(&self, user_id: i64) -> Availability {
        self.availability
            .with(|m| m.get(&user_id).copied())
            .unwrap_or_default()
    }

    /// Reports the open ticket (or none) and what is being typed. Typing is
    /// repeated at most every 3 s while it goes on (the server forgets it
    /// after 8 s of silence).
    pub fn set_presence(&self, ticket_id: Option<i64>, typing: Option<Typing>) {
        let now = now_ms();
        let changed = self.my_presence.get_value() != (ticket_id, typing);
        let refresh_typing = typing.is_some() && now - self.typing_sent_at.get_value() > 3_000.0;
        if !changed && !refresh_typing {
            return;
        }
        self.my_presence.set_value((ticket_id, typing));
        if typing.is_some() {
            self.typing_sent_at.set_value(now);
        }
        imp::send_presence(ticket_id, typing);
    }

    /// The ticket this tab shows, as last reported.
    pub fn open_ticket(&self) -> Option<i64> {
        self.my_presence.get_value().0
    }

    /// Repeats this tab's presence so the server keeps it (every 15 s).
    fn heartbeat(&self) {
        let (ticket, typing) = self.my_presence.get_value();
        if ticket.is_some() {
            imp::send_presence(ticket, typing);
        }
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn handle(&self, event: Incoming) {
        if let Some(seq) = event.seq {
            self.last_seq.set_value(seq);
        }
        match event.kind.as_str() {
            crate::events::READY => {
                if let Some(ReadyData { seq, gap }) = event.data() {
                    if seq > self.last_seq.get_value() {
                        self.last_seq.set_value(seq);
                    }
                    if gap {
                        // Away longer than the server replays: what is on
                        // screen reloads instead of catching up event by
                        // event (the composer's draft stays).
                        self.owed.set_value((true, true));
                        self.views_epoch.update(|e| *e += 1);
                    }
                }
                self.caught_up.set_value(true);
                self.online.set(true);
                self.flush();
                // Tell the (possibly new) server what this tab shows.
                let (ticket, typing) = self.my_presence.get_value();
                imp::send_presence(ticket, typing);
            }
            crate::events::VIEW_COUNTS => {
                if let Some(CountsData { counts }) = event.data() {
                    self.counts.set(Some(counts));
                }
            }
            crate::events::PRESENCE => {
                let viewers = event
                    .data::<ViewersData>()
                    .map(|d| d.viewers)
                    .unwrap_or_default();
                if let Some(id) = event.ticket_id {
                    self.presence.update(|p| {
                        if viewers.is_empty() {
                            p.remove(&id);
                        } else {
                            p.insert(id, viewers);
                        }
                    });
                }
            }
            crate::events::VIEW_CHANGED
            | crate::events::USER_UPDATED
            | crate::events::TICKETS_PURGED => {
                self.views_epoch.update(|e| *e += 1);
                // The open view may have changed what it lists.
                self.list_epoch.update(|e| *e += 1);
            }
            crate::events::SETTINGS_CHANGED => {
                // A new sidebar layout or new SLA targets show on the open
                // ticket (and in the list) without a reload.
                let settings = event.data::<SettingsData>().map(|d| d.settings);
                match settings.as_deref() {
                    Some("sidebar") => self.ticket_epoch.update(|e| *e += 1),
                    Some("sla") | Some("routing") | Some("calendars") => {
                        self.ticket_epoch.update(|e| *e += 1);
                        self.list_epoch.update(|e| *e += 1);
                    }
                    _ => {}
                }
            }
            crate::events::USER_AVAILABILITY => {
                if let Some(AvailabilityData {
                    user_id,
                    availability,
                }) = event.data()
                {
                    self.availability.update(|m| {
                        m.insert(user_id, availability);
                    });
                }
            }
            _ => {
                if let Some(id) = event.ticket_id {
                    let open = self.open_ticket() == Some(id);
                    let (list, ticket) = self.owed.get_value();
                    self.owed.set_value((true, ticket || open));
                    // Replay: reload once at `ready`. Live: reload once per
                    // burst, a few milliseconds after its first event.
                    if self.caught_up.get_value() && !list {
                        let live = *self;
                        set_timeout(move || live.flush(), std::time::Duration::from_millis(30));
                    }
                }
            }
        }
    }

    /// Signals the reloads owed.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn flush(&self) {
        let (list, ticket) = self.owed.get_value();
        self.owed.set_value((false, false));
        if list {
            self.list_epoch.update(|e| *e += 1);
        }
        if ticket {
            self.ticket_epoch.update(|e| *e += 1);
        }
    }
}

/// A message from the events socket as the browser reads it: the envelope
/// of [`LiveEvent`](crate::events::LiveEvent), with `data` kept as its JSON text and read, only by the
/// kinds that use it, straight into the type that kind carries.
///
/// Reading `data` into a `serde_json::Value` first, as the server's
/// `LiveEvent` does, built a tree for every event (most events' data is not
/// read at all) and carried `Value`'s reader in the WASM bundle beside the
/// reader every other type goes through (`resource::from_json`).
#[derive(Debug, Deserialize)]
struct Incoming {
    seq: Option<i64>,
    #[serde(rename = "type")]
    kind: String,
    ticket_id: Option<i64>,
    data: Box<RawValue>,
}

impl Incoming {
    /// `data` as `T`, or `None` when it is not one (an unreadable part of
    /// one message is skipped; the event's `seq` still counts).
    fn data<T: DeserializeOwned>(&self) -> Option<T> {
        crate::resource::from_json(self.data.get()).ok()
    }
}

/// The `data` of a `ready` message.
#[derive(Deserialize)]
struct ReadyData {
    /// The newest event the connection has seen: the next resume point.
    seq: i64,
    /// Events before `seq` were not replayed (see `events::READY`).
    #[serde(default)]
    gap: bool,
}

/// The `data` of a `view.counts` message.
#[derive(Deserialize)]
struct CountsData {
    counts: Vec<ViewCount>,
}

/// The `data` of a `presence` message: everyone on the ticket now.
#[derive(Deserialize)]
struct ViewersData {
    viewers: Vec<Viewer>,
}

/// The `data` of a `settings.changed` event: which settings.
#[derive(Deserialize)]
struct SettingsData {
    settings: String,
}

/// The `data` of a `user.availability` event.
#[derive(Deserialize)]
struct AvailabilityData {
    user_id: i64,
    availability: Availability,
}

fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.performance())
            .map(|p| p.now())
            .unwrap_or(0.0)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

#[cfg(feature = "hydrate")]
pub(crate) mod imp {
    use super::Live;
    use crate::events::{ClientMessage, Typing};
    use leptos::prelude::*;
    use std::cell::{Cell, RefCell};
    use std::time::Duration;
    use wasm_bindgen::prelude::*;
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    thread_local! {
        /// The open socket (the browser is single-threaded).
        static SOCKET: RefCell<Option<WebSocket>> = const { RefCell::new(None) };
        /// Consecutive failed attempts, for the backoff.
        static FAILURES: Cell<u32> = const { Cell::new(0) };
        /// Numbers connection attempts: a scheduled retry that is no longer
        /// the latest (the network came back and we reconnected at once)
        /// does nothing, so there is never more than one socket.
        static ATTEMPT: Cell<u64> = const { Cell::new(0) };
    }

    /// Close code meaning "your credential no longer works".
    const CLOSE_UNAUTHENTICATED: u16 = 4001;

    /// Fetches the code that runs the socket (its own chunk: nothing of it
    /// runs before the page is interactive), then connects. Until it
    /// arrives the workspace shows "Offline"; if it cannot be fetched, the
    /// fetch is retried every few seconds, as a dropped socket is.
    pub fn connect(live: Live) {
        leptos::task::spawn_local(async move {
            match crate::on_demand::live_socket().await {
                Ok(connect) => connect(live),
                Err(_) => {
                    set_timeout(move || connect(live), Duration::from_secs(5));
                }
            }
        });
    }

    /// First connection of the page, plus the browser's network signals: a
    /// socket can sit half-open for minutes after the network went away,
    /// so going offline drops it at once (and says so), and coming back
    /// reconnects at once instead of waiting out the backoff.
    pub fn connect_now(live: Live) {
        if let Some(window) = web_sys::window() {
            let offline = Closure::<dyn FnMut()>::new(move || {
                ATTEMPT.with(|a| a.set(a.get() + 1));
                drop_socket();
                live.online.set(false);
            });
            let online = Closure::<dyn FnMut()>::new(move || {
                FAILURES.with(|f| f.set(0));
                open(live, next_attempt());
            });
            let _ = window
                .add_event_listener_with_callback("offline", offline.as_ref().unchecked_ref());
            let _ =
                window.add_event_listener_with_callback("online", online.as_ref().unchecked_ref());
            // Listeners for the life of the page.
            offline.forget();
            online.forget();
        }
        open(live, next_attempt());
    }

    fn next_attempt() -> u64 {
        ATTEMPT.with(|a| {
            a.set(a.get() + 1);
            a.get()
        })
    }

    /// Closes the socket, if any, without triggering a reconnect.
    fn drop_socket() {
        SOCKET.with(|s| {
            if let Some(socket) = s.borrow_mut().take() {
                socket.set_onclose(None);
                socket.set_onmessage(None);
                let _ = socket.close();
            }
        });
    }

    fn open(live: Live, attempt: u64) {
        if ATTEMPT.with(|a| a.get()) != attempt {
            return;
        }
        drop_socket();
        let Some(window) = web_sys::window() else {
            return;
        };
        let location = window.location();
        let scheme = if location.protocol().ok().as_deref() == Some("https:") {
            "wss"
        } else {
            "ws"
        };
        let host = location.host().unwrap_or_default();
        let since = live.last_seq.get_value();
        live.caught_up.set_value(false);
        let url = format!("{scheme}://{host}/api/v1/events?since={since}");
        let Ok(socket) = WebSocket::new(&url) else {
            retry(live, attempt);
            return;
        };

        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(text) = e.data().as_string() {
                if let Ok(event) = crate::resource::from_json::<super::Incoming>(&text) {
                    FAILURES.with(|f| f.set(0));
                    live.handle(event);
                }
            }
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // Leaked on purpose (a few bytes per reconnect): the close handler
        // cannot drop the closures while one of them is running.
        on_message.forget();

        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            SOCKET.with(|s| s.borrow_mut().take());
            live.online.set(false);
            if e.code() == CLOSE_UNAUTHENTICATED {
                crate::auth::hard_navigate("/login");
                return;
            }
            retry(live, attempt);
        });
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        on_close.forget();

        SOCKET.with(|s| *s.borrow_mut() = Some(socket));
    }

    fn retry(live: Live, attempt: u64) {
        let failures = FAILURES.with(|f| {
            let n = f.get();
            f.set(n.saturating_add(1));
            n
        });
        let base = (500.0 * 2f64.powi(failures.min(5) as i32)).min(15_000.0);
        let jitter = js_sys::Math::random() * base * 0.3;
        set_timeout(
            move || {
                // Still the latest attempt: try again as its successor.
                if ATTEMPT.with(|a| a.get()) == attempt {
                    open(live, next_attempt());
                }
            },
            Duration::from_millis((base + jitter) as u64),
        );
    }

    pub fn send_presence(ticket_id: Option<i64>, typing: Option<Typing>) {
        let Ok(text) = serde_json::to_string(&ClientMessage::Presence { ticket_id, typing }) else {
            return;
        };
        SOCKET.with(|s| {
            if let Some(socket) = s.borrow().as_ref() {
                if socket.ready_state() == WebSocket::OPEN {
                    let _ = socket.send_with_str(&text);
                }
            }
        });
    }
}

/// On the server there is no connection: the page is rendered once.
#[cfg(not(feature = "hydrate"))]
mod imp {
    use super::Live;
    use crate::events::Typing;

    pub fn connect(_live: Live) {}
    pub fn send_presence(_ticket_id: Option<i64>, _typing: Option<Typing>) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::LiveEvent;
    use serde_json::json;

    /// What the server sends, as the server writes it.
    fn sent(seq: Option<i64>, kind: &str, data: serde_json::Value) -> String {
        serde_json::to_string(&LiveEvent {
            seq,
            kind: kind.into(),
            ticket_id: Some(7),
            data,
        })
        .unwrap()
    }

    fn read(text: &str) -> Incoming {
        crate::resource::from_json(text).unwrap()
    }

    #[test]
    fn each_kind_reads_its_own_data() {
        let counts = read(&sent(
            None,
            crate::events::VIEW_COUNTS,
            json!({"counts": [{"view": "open", "name": "All open", "count": 3}]}),
        ));
        let CountsData { counts } = counts.data().unwrap();
        assert_eq!(counts.len(), 1);
        assert_eq!((counts[0].name.as_str(), counts[0].count), ("All open", 3));

        let presence = read(&sent(
            None,
            crate::events::PRESENCE,
            json!({"viewers": [{"user_id": 2, "name": "Ana", "typing": "reply"}]}),
        ));
        assert_eq!(presence.ticket_id, Some(7));
        let viewers = presence.data::<ViewersData>().unwrap().viewers;
        assert_eq!(viewers[0].typing, Some(Typing::Reply));

        let away = read(&sent(
            Some(41),
            crate::events::USER_AVAILABILITY,
            json!({"user_id": 2, "availability": "away", "automatic": true}),
        ));
        let AvailabilityData {
            user_id,
            availability,
        } = away.data().unwrap();
        assert_eq!((user_id, availability), (2, Availability::Away));

        let ready = read(&sent(
            None,
            crate::events::READY,
            json!({"seq": 12, "gap": true}),
        ));
        let ReadyData { seq, gap } = ready.data().unwrap();
        assert_eq!((seq, gap), (12, true));
        let ready = read(&sent(None, crate::events::READY, json!({"seq": 3})));
        assert!(!ready.data::<ReadyData>().unwrap().gap);

        let settings = read(&sent(
            Some(42),
            crate::events::SETTINGS_CHANGED,
            json!({"settings": "sidebar"}),
        ));
        assert_eq!(settings.data::<SettingsData>().unwrap().settings, "sidebar");
    }

    #[test]
    fn unreadable_data_still_counts_the_event() {
        // Data of another shape, or none of interest: the envelope (and so
        // the resume point) is read all the same; the data is not.
        let event = read(&sent(
            Some(9),
            "ticket.updated",
            json!({"changes": {"x": [1.5, null]}}),
        ));
        assert_eq!(
            (event.seq, event.kind.as_str()),
            (Some(9), "ticket.updated")
        );
        assert!(event.data::<CountsData>().is_none());
        let event = read(&sent(
            None,
            crate::events::PRESENCE,
            json!({"viewers": "nobody"}),
        ));
        assert!(event.data::<ViewersData>().is_none());
        let event = read(r#"{"seq":null,"type":"ready","ticket_id":null,"data":null}"#);
        assert!(event.data::<SettingsData>().is_none());
    }
}
