//! The default views of the workspace's left column. Custom views come later
//! (issue 5); these four are built in for every user.

#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ViewId {
    /// Open tickets nobody owns yet.
    Unassigned,
    /// Open tickets owned by the caller.
    Mine,
    /// Every open (not closed) ticket.
    Open,
    /// Closed tickets.
    Closed,
}

impl ViewId {
    pub const ALL: [ViewId; 4] = [
        ViewId::Unassigned,
        ViewId::Mine,
        ViewId::Open,
        ViewId::Closed,
    ];

    /// The URL slug (`/views/<slug>`).
    pub fn slug(self) -> &'static str {
        match self {
            ViewId::Unassigned => "unassigned",
            ViewId::Mine => "mine",
            ViewId::Open => "open",
            ViewId::Closed => "closed",
        }
    }

    pub fn from_slug(s: &str) -> Option<ViewId> {
        ViewId::ALL.into_iter().find(|v| v.slug() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            ViewId::Unassigned => "Unassigned",
            ViewId::Mine => "Assigned to me",
            ViewId::Open => "All open",
            ViewId::Closed => "Closed",
        }
    }
}

/// A view in the left column with its number of tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ViewCount {
    pub view: ViewId,
    pub name: String,
    pub count: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip() {
        for v in ViewId::ALL {
            assert_eq!(ViewId::from_slug(v.slug()), Some(v));
        }
        assert_eq!(ViewId::from_slug("nope"), None);
    }
}
