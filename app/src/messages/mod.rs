//! Ticket threads: inbound messages, replies, internal notes and system
//! events.

#[cfg(feature = "ssr")]
pub mod sanitize;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// From the customer, through a channel.
    Inbound,
    /// From an agent to the customer.
    Reply,
    /// Internal, visible to the team only; may @mention teammates.
    Note,
    /// A system record of a change (status, owner, ...).
    Event,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Inbound => "inbound",
            EntryKind::Reply => "reply",
            EntryKind::Note => "note",
            EntryKind::Event => "event",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        match s {
            "inbound" => Some(EntryKind::Inbound),
            "reply" => Some(EntryKind::Reply),
            "note" => Some(EntryKind::Note),
            "event" => Some(EntryKind::Event),
            _ => None,
        }
    }
}

/// Who wrote a thread entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Author {
    /// `user` (a teammate) or `contact` (the customer).
    #[serde(rename = "type")]
    pub kind: String,
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ThreadEntry {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: EntryKind,
    pub author: Option<Author>,
    /// Plain text.
    pub body: String,
    /// Sanitised HTML: safe to render as is.
    pub body_html: String,
    pub created_at: i64,
    /// Email only: the quoted history and signature cut off the body
    /// (sanitised HTML), shown collapsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted_html: Option<String>,
    /// The body holds remote images, kept in `data-remote-src` until the
    /// reader asks to load them.
    #[serde(default)]
    pub remote_images: bool,
    /// Inbound email: why it joined this ticket or started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Email replies: `queued`, `sent` or `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_state: Option<String>,
    /// Why the last send failed (the relay's answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_error: Option<String>,
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
    /// Set on entries a merge brought in: the ticket it was written on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<MergedFrom>,
}

/// The ticket a merged-in entry was written on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MergedFrom {
    pub ticket_id: i64,
    pub number: i64,
}

/// A file that came with a thread entry; downloaded from
/// `/api/v1/attachments/{id}` by people who can see the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttachmentRef {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    /// Shown inside the body (a `cid:` image) rather than listed.
    pub inline: bool,
}

/// What an agent adds to a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum NewEntryKind {
    Reply,
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewEntry {
    pub kind: NewEntryKind,
    /// Plain text body.
    pub body: Option<String>,
    /// HTML body; sanitised on the way in.
    pub body_html: Option<String>,
    /// The newest thread entry the writer had seen. When a customer message
    /// or another agent's reply is newer, a reply is refused with
    /// `stale_reply` (409) unless `confirm_stale` is true, so nobody answers
    /// a conversation they have not read to the end.
    #[serde(default)]
    pub seen_message_id: Option<i64>,
    #[serde(default)]
    pub confirm_stale: bool,
}
