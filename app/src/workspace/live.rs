//! The browser's end of the live event stream (`/api/v1/events`).
//!
//! The workspace opens one websocket after hydration, resuming from the
//! event sequence number the server rendered the page at, so nothing that
//! happened between render and connect is lost. Events turn into signal
//! bumps: the list and the counts reload, the open ticket reloads when the
//! event is about it. A reload replaces the thread and the sidebar but not
//! the composer, so what the agent is typing stays put.
//!
//! When the socket drops, the workspace shows "Offline", reconnects with
//! growing pauses (0.5 s doubling up to 15 s, with jitter so a restarted
//! server is not hit by every browser at once) and resumes with `since`, so
//! the log replays what was missed.
//!
//! The same socket carries this agent's presence: which ticket is open and
//! whether they are typing a reply or a note.

use crate::events::{LiveEvent, Typing, Viewer};
use crate::users::Availability;
use crate::views::ViewCount;
use leptos::prelude::*;
use std::collections::HashMap;

/// Live state shared by the workspace's parts.
#[derive(Clone, Copy)]
pub struct Live {
    /// Connected and caught up.
    pub online: RwSignal<bool>,
    /// Bumped when any ticket changed: the list reloads.
    pub list_epoch: RwSignal<u64>,
    /// Bumped when the open ticket changed: it reloads.
    pub ticket_epoch: RwSignal<u64>,
    /// The open ticket's id, which decides what bumps `ticket_epoch`.
    pub open_ticket: RwSignal<Option<i64>>,
    /// The latest view counts pushed by the server.
    pub counts: RwSignal<Option<Vec<ViewCount>>>,
    /// Viewers by ticket id.
    pub presence: RwSignal<HashMap<i64, Vec<Viewer>>>,
    /// Availability of each user, as changes arrive.
    pub availability: RwSignal<HashMap<i64, Availability>>,
    /// What this tab last told the server: (ticket, typing).
    my_presence: StoredValue<(Option<i64>, Option<Typing>)>,
    /// When typing was last reported (ms), to repeat it only every 3 s.
    typing_sent_at: StoredValue<f64>,
    /// The newest sequence number received.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    last_seq: StoredValue<i64>,
}

impl Live {
    pub fn new(since: i64, availability: HashMap<i64, Availability>) -> Live {
        Live {
            online: RwSignal::new(false),
            list_epoch: RwSignal::new(0),
            ticket_epoch: RwSignal::new(0),
            open_ticket: RwSignal::new(None),
            counts: RwSignal::new(None),
            presence: RwSignal::new(HashMap::new()),
            availability: RwSignal::new(availability),
            my_presence: StoredValue::new((None, None)),
            typing_sent_at: StoredValue::new(0.0),
            last_seq: StoredValue::new(since),
        }
    }

    /// Viewers of `ticket_id` other than `me`.
    pub fn others_on(&self, ticket_id: i64, me: i64) -> Vec<Viewer> {
        self.presence.with(|p| {
            p.get(&ticket_id)
                .map(|vs| vs.iter().filter(|v| v.user_id != me).cloned().collect())
                .unwrap_or_default()
        })
    }

    /// Reports the open ticket (or none) and what is being typed. Typing is
    /// repeated at most every 3 s while it goes on (the server forgets it
    /// after 8 s of silence).
    pub fn set_presence(&self, ticket_id: Option<i64>, typing: Option<Typing>) {
        let now = js_sys_now();
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

    /// Repeats this tab's presence so the server keeps it (every 15 s).
    pub fn heartbeat(&self) {
        let (ticket, typing) = self.my_presence.get_value();
        if ticket.is_some() {
            imp::send_presence(ticket, typing);
        }
    }

    /// Starts the connection (in the browser only).
    pub fn connect(self) {
        imp::connect(self);
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn handle(&self, event: LiveEvent) {
        if let Some(seq) = event.seq {
            self.last_seq.set_value(seq);
        }
        match event.kind.as_str() {
            crate::events::READY => {
                self.online.set(true);
                // Tell the (possibly new) server what this tab shows.
                let (ticket, typing) = self.my_presence.get_value();
                imp::send_presence(ticket, typing);
            }
            crate::events::VIEW_COUNTS => {
                if let Some(counts) = event
                    .data
                    .get("counts")
                    .and_then(|c| serde_json::from_value::<Vec<ViewCount>>(c.clone()).ok())
                {
                    self.counts.set(Some(counts));
                }
            }
            crate::events::PRESENCE => {
                let viewers = event
                    .data
                    .get("viewers")
                    .and_then(|v| serde_json::from_value::<Vec<Viewer>>(v.clone()).ok())
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
            crate::events::USER_AVAILABILITY => {
                let user = event.data.get("user_id").and_then(|v| v.as_i64());
                let availability = event
                    .data
                    .get("availability")
                    .and_then(|a| serde_json::from_value::<Availability>(a.clone()).ok());
                if let (Some(user), Some(a)) = (user, availability) {
                    self.availability.update(|m| {
                        m.insert(user, a);
                    });
                }
            }
            _ => {
                if let Some(id) = event.ticket_id {
                    self.list_epoch.update(|e| *e += 1);
                    if self.open_ticket.get_untracked() == Some(id) {
                        self.ticket_epoch.update(|e| *e += 1);
                    }
                }
            }
        }
    }
}

fn js_sys_now() -> f64 {
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
mod imp {
    use super::Live;
    use crate::events::{ClientMessage, LiveEvent, Typing};
    use leptos::prelude::{GetValue, Set};
    use std::cell::{Cell, RefCell};
    use std::time::Duration;
    use wasm_bindgen::prelude::*;
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    thread_local! {
        /// The open socket (the browser is single-threaded).
        static SOCKET: RefCell<Option<WebSocket>> = const { RefCell::new(None) };
        /// Consecutive failed attempts, for the backoff.
        static FAILURES: Cell<u32> = const { Cell::new(0) };
    }

    /// Close code meaning "your credential no longer works".
    const CLOSE_UNAUTHENTICATED: u16 = 4001;

    pub fn connect(live: Live) {
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
        let url = format!(
            "{scheme}://{host}/api/v1/events?since={}",
            live.last_seq.get_value()
        );
        let Ok(socket) = WebSocket::new(&url) else {
            retry(live);
            return;
        };

        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(text) = e.data().as_string() {
                if let Ok(event) = serde_json::from_str::<LiveEvent>(&text) {
                    FAILURES.with(|f| f.set(0));
                    live.handle(event);
                }
            }
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            SOCKET.with(|s| s.borrow_mut().take());
            live.online.set(false);
            if e.code() == CLOSE_UNAUTHENTICATED {
                crate::auth::hard_navigate("/login");
                return;
            }
            retry(live);
        });
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        on_close.forget();

        SOCKET.with(|s| *s.borrow_mut() = Some(socket));
    }

    fn retry(live: Live) {
        let failures = FAILURES.with(|f| {
            let n = f.get();
            f.set(n.saturating_add(1));
            n
        });
        let base = (500.0 * 2f64.powi(failures.min(5) as i32)).min(15_000.0);
        let jitter = js_sys::Math::random() * base * 0.3;
        leptos::prelude::set_timeout(
            move || connect(live),
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

#[cfg(not(feature = "hydrate"))]
mod imp {
    use super::Live;
    use crate::events::Typing;

    pub fn connect(_live: Live) {}
    pub fn send_presence(_ticket_id: Option<i64>, _typing: Option<Typing>) {}
}
