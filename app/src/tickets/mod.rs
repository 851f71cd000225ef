//! Tickets: their properties, pipelines and statuses, listing and editing.
//!
//! `service` (server only) owns every rule; `api` holds the server functions
//! the workspace calls; the components live in `list`, `detail` and `create`.

pub mod actions;
pub mod api;
pub mod create;
pub mod detail;
#[cfg(feature = "ssr")]
pub mod facts;
pub mod list;
#[cfg(feature = "ssr")]
pub mod service;

use crate::contacts::ContactRef;
use crate::views::ViewId;
use serde::{Deserialize, Serialize};

/// Ticket priority, ordered from least to most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Urgent,
    ];

    /// Stored as 0..=3 so it sorts numerically.
    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> Option<Priority> {
        Priority::ALL.get(usize::try_from(rank).ok()?).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn label(self) -> &'static str {
        match self {
            Priority::Low => "Low",
            Priority::Medium => "Medium",
            Priority::High => "High",
            Priority::Urgent => "Urgent",
        }
    }
}

/// What a status means, whatever its name: views, SLAs and reports reason
/// about categories, so pipelines can name their statuses freely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum StatusCategory {
    Open,
    Waiting,
    Closed,
}

impl StatusCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCategory::Open => "open",
            StatusCategory::Waiting => "waiting",
            StatusCategory::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<StatusCategory> {
        match s {
            "open" => Some(StatusCategory::Open),
            "waiting" => Some(StatusCategory::Waiting),
            "closed" => Some(StatusCategory::Closed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Status {
    pub id: i64,
    pub pipeline_id: i64,
    pub name: String,
    pub category: StatusCategory,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Pipeline {
    pub id: i64,
    pub name: String,
    /// In pipeline order.
    pub statuses: Vec<Status>,
}

/// The ticket categories offered in the workspace.
pub const CATEGORIES: [&str; 4] = [
    "Product issue",
    "Billing issue",
    "Feature request",
    "General inquiry",
];

/// Channels a ticket can come from. `agent` means created in the workspace.
pub const CHANNELS: [&str; 8] = [
    "email",
    "chat",
    "form",
    "phone",
    "whatsapp",
    "messenger",
    "api",
    "agent",
];

pub fn channel_label(channel: &str) -> &'static str {
    match channel {
        "email" => "Email",
        "chat" => "Chat",
        "form" => "Form",
        "phone" => "Call",
        "whatsapp" => "WhatsApp",
        "messenger" => "Messenger",
        "api" => "API",
        _ => "Agent",
    }
}

/// A ticket as lists, the open ticket and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Ticket {
    pub id: i64,
    pub number: i64,
    pub subject: String,
    pub pipeline_id: i64,
    pub status_id: i64,
    /// The status's name, e.g. "Waiting on contact".
    pub status: String,
    pub status_category: StatusCategory,
    pub priority: Priority,
    pub category: Option<String>,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub team_id: Option<i64>,
    pub team_name: Option<String>,
    pub channel: String,
    pub contact_id: Option<i64>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub created_at: i64,
    /// Last activity of any kind (message, property change).
    pub updated_at: i64,
    pub first_reply_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// The most urgent state of the running SLA clocks (none running: null).
    #[serde(default)]
    pub sla_state: Option<crate::sla::SlaState>,
    /// The earliest due time of the running SLA clocks.
    #[serde(default)]
    pub sla_due_at: Option<i64>,
    /// Each SLA goal's clock: its state and due time.
    #[serde(default)]
    pub sla: Vec<crate::sla::TicketSla>,
    /// When the ticket was moved to the trash (null: it is not there). It
    /// is purged 30 days later unless restored.
    #[serde(default)]
    pub deleted_at: Option<i64>,
    /// The ticket this one was split off from.
    #[serde(default)]
    pub split_from_id: Option<i64>,
    /// Set when the ticket asked for had been merged into this one: the id
    /// that was asked for (a merged ticket redirects to its primary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<i64>,
}

/// Another ticket as the open ticket links to it: merged into it, split
/// off from it or split from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LinkedTicket {
    pub id: i64,
    pub number: i64,
    pub subject: String,
}

/// One page of a ticket list. `next_cursor` fetches the following page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TicketPage {
    pub tickets: Vec<Ticket>,
    pub next_cursor: Option<String>,
}

/// What a ticket list can be sorted by. Every key is an integer column, so
/// keyset pagination is `(key, id)` on an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// Last activity.
    #[default]
    Updated,
    Created,
    Priority,
    Number,
    /// The earliest due time of the running SLA goals (tickets without one
    /// last).
    SlaDue,
}

impl SortKey {
    pub const ALL: [SortKey; 5] = [
        SortKey::Updated,
        SortKey::Created,
        SortKey::Priority,
        SortKey::Number,
        SortKey::SlaDue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Updated => "updated",
            SortKey::Created => "created",
            SortKey::Priority => "priority",
            SortKey::Number => "number",
            SortKey::SlaDue => "sla_due",
        }
    }

    pub fn parse(s: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Updated => "Last activity",
            SortKey::Created => "Created",
            SortKey::Priority => "Priority",
            SortKey::Number => "Number",
            SortKey::SlaDue => "SLA due",
        }
    }
}

/// A ticket list request: a view (or every ticket), optional filters, a sort
/// and a keyset cursor.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams))]
pub struct TicketQuery {
    pub view: Option<ViewId>,
    pub status_category: Option<StatusCategory>,
    pub priority: Option<Priority>,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    pub contact_id: Option<i64>,
    #[serde(default)]
    pub sort: SortKey,
    /// Ascending instead of the default newest/highest first.
    #[serde(default)]
    pub asc: bool,
    pub cursor: Option<String>,
    /// Page size, 1..=100 (default 25).
    pub limit: Option<i64>,
    /// A custom view's filters (set by the views service, never read from
    /// a request).
    #[serde(skip)]
    #[cfg_attr(feature = "ssr", param(ignore))]
    pub custom: Option<crate::views::ViewDefinition>,
}

/// Input for a new ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewTicket {
    pub subject: String,
    /// First message of the thread, plain text.
    pub body: Option<String>,
    pub contact: Option<ContactRef>,
    pub priority: Option<Priority>,
    /// Status by name within the pipeline (default: its first status).
    pub status: Option<String>,
    /// Status by id; takes precedence over `status`.
    pub status_id: Option<i64>,
    /// Default: the first pipeline.
    pub pipeline_id: Option<i64>,
    pub category: Option<String>,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    /// Source channel (default `api` over REST, `agent` in the workspace).
    pub channel: Option<String>,
}

/// Changes to a ticket. Absent fields stay as they are; `null` clears the
/// clearable ones (owner, team, category).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TicketPatch {
    pub subject: Option<String>,
    /// Status by name within the ticket's pipeline.
    pub status: Option<String>,
    pub status_id: Option<i64>,
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<i64>))]
    pub owner_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<i64>))]
    pub team_id: Option<Option<i64>>,
    /// Moves the ticket to another pipeline. Its status becomes `status` /
    /// `status_id` when given (a status of the new pipeline), else the new
    /// pipeline's first status of the same category.
    #[serde(default)]
    pub pipeline_id: Option<i64>,
}

/// Tells a field that is absent (`None`) from one that is `null`
/// (`Some(None)`).
pub(crate) fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_ranks_and_names() {
        for p in Priority::ALL {
            assert_eq!(Priority::from_rank(p.rank()), Some(p));
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
        assert_eq!(Priority::parse(" URGENT "), Some(Priority::Urgent));
        assert_eq!(Priority::from_rank(4), None);
        assert_eq!(Priority::from_rank(-1), None);
        assert!(Priority::Urgent > Priority::Low);
    }

    #[test]
    fn patch_tells_null_from_absent() {
        let p: TicketPatch =
            serde_json::from_str(r#"{"owner_id": null, "priority": "high"}"#).unwrap();
        assert_eq!(p.owner_id, Some(None));
        assert_eq!(p.team_id, None);
        assert_eq!(p.priority, Some(Priority::High));
        let p: TicketPatch = serde_json::from_str(r#"{"owner_id": 7}"#).unwrap();
        assert_eq!(p.owner_id, Some(Some(7)));
    }

    #[test]
    fn sort_keys_parse() {
        for k in SortKey::ALL {
            assert_eq!(SortKey::parse(k.as_str()), Some(k));
        }
        assert_eq!(SortKey::parse("subject"), None);
    }
}
