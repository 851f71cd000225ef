//! Events: the append-only log of every change, and its live delivery.
//!
//! Every change to the workspace records an event inside the transaction
//! that makes it ([`log`]), so the log and the data never disagree. Each
//! server process runs one [`hub`] that reads newly committed events from
//! the log and fans them out to the websocket connections entitled to them
//! (`/api/v1/events`, served by the `server` crate). Because the hub reads
//! the log rather than being told by the writer, an event reaches clients
//! only after its transaction committed, whichever process wrote it, and a
//! client that reconnects with `?since=SEQ` is replayed exactly what it
//! missed.
//!
//! The types here are the wire format, shared with the browser.

#[cfg(feature = "ssr")]
pub mod hub;
#[cfg(feature = "ssr")]
pub mod log;

use serde::{Deserialize, Serialize};

pub const TICKET_CREATED: &str = "ticket.created";
pub const TICKET_UPDATED: &str = "ticket.updated";
pub const TICKET_ASSIGNED: &str = "ticket.assigned";
pub const MESSAGE_CREATED: &str = "message.created";
/// A thread entry changed: an outbound email was sent, failed or bounced.
pub const MESSAGE_UPDATED: &str = "message.updated";
/// Someone followed or unfollowed a ticket (their Followers view changed).
pub const TICKET_FOLLOWED: &str = "ticket.followed";
/// Tickets were merged: on the primary (`data.merged`: the secondaries'
/// ids) and on each secondary (`data.merged_into`: the primary's id).
pub const TICKET_MERGED: &str = "ticket.merged";
/// A merge was undone: on the primary (`data.unmerged`) and on the
/// secondary, which is listed again (`data.unmerged_from`).
pub const TICKET_UNMERGED: &str = "ticket.unmerged";
/// Entries were split off into a new ticket (`data.into`).
pub const TICKET_SPLIT: &str = "ticket.split";
/// A ticket went to the trash, or came back out of it.
pub const TICKET_DELETED: &str = "ticket.deleted";
pub const TICKET_RESTORED: &str = "ticket.restored";
/// Tickets in the trash past their 30 days were deleted for good
/// (`data.count`; no ticket id, the tickets no longer exist).
pub const TICKETS_PURGED: &str = "tickets.purged";
/// A custom view was created, changed, rolled back or deleted. Carries only
/// the view's id: each workspace asks again which views it may see.
pub const VIEW_CHANGED: &str = "view.changed";
/// A user's role, access, teams or active flag changed. Live connections
/// of that user re-check who they are and what they may see.
pub const USER_UPDATED: &str = "user.updated";
/// A user set themselves available or away.
pub const USER_AVAILABILITY: &str = "user.availability";
/// A super admin changed a setting (`data.settings` says which kind:
/// calendars, routing, sla, sidebar). Settings pages and workspaces reload
/// what they show of it.
pub const SETTINGS_CHANGED: &str = "settings.changed";
/// A ticket's SLA state changed by the passing of time (due soon, overdue)
/// or by a recalculation; `data.sla` is its new list of goals.
pub const TICKET_SLA: &str = "ticket.sla";
/// A session ended (sign-out). Internal: never sent to clients; the
/// user's live connections re-check their credential.
pub const SESSION_ENDED: &str = "session.ended";

/// Not from the log (no `seq`): the user's view counts changed.
pub const VIEW_COUNTS: &str = "view.counts";
/// Not from the log: who is viewing or typing on a ticket.
pub const PRESENCE: &str = "presence";
/// Not from the log: the backlog after `since` has been sent; `data.seq` is
/// the newest sequence number the connection has seen. `data.gap` is true
/// when `since` was older than the replay window: events between it and
/// `data.seq` were not sent, and the client reloads its state instead.
pub const READY: &str = "ready";
/// Not from the log: the connection fell behind and is being closed; the
/// client reconnects with `since` = its last seen `seq` and loses nothing.
pub const RESYNC: &str = "resync";

/// One message from the server on the events websocket.
///
/// `seq` is set for events from the log and strictly increases on a
/// connection; it is `null` for ephemeral messages (counts, presence,
/// ready, resync), which are not replayed on reconnect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveEvent {
    pub seq: Option<i64>,
    #[serde(rename = "type")]
    pub kind: String,
    pub ticket_id: Option<i64>,
    pub data: serde_json::Value,
}

/// What a viewer is typing, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Typing {
    Reply,
    Note,
}

/// One person looking at a ticket (the `data.viewers` of a presence event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: i64,
    pub name: String,
    pub typing: Option<Typing>,
}

/// Messages a client sends on the events websocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// "I am looking at this ticket (or none), typing this (or nothing)."
    /// Repeated every 15 s as a heartbeat; presence not refreshed for 45 s
    /// is dropped (a closed laptop), typing not refreshed for 8 s too.
    Presence {
        ticket_id: Option<i64>,
        #[serde(default)]
        typing: Option<Typing>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_have_a_stable_shape() {
        let m: ClientMessage =
            serde_json::from_str(r#"{"type":"presence","ticket_id":5,"typing":"note"}"#).unwrap();
        assert_eq!(
            m,
            ClientMessage::Presence {
                ticket_id: Some(5),
                typing: Some(Typing::Note)
            }
        );
        let m: ClientMessage =
            serde_json::from_str(r#"{"type":"presence","ticket_id":null}"#).unwrap();
        assert_eq!(
            m,
            ClientMessage::Presence {
                ticket_id: None,
                typing: None
            }
        );
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"shout"}"#).is_err());
    }
}
