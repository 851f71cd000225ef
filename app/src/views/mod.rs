//! Views: the lists of tickets in the workspace's left column.
//!
//! Every user has the default views (six for seat agents and admins, three
//! for collaborators) and, with a seat, custom views: their own private
//! ones and those shared with their teams or with everyone. What a view
//! lists is always cut down to the tickets its viewer may see
//! ([`crate::access`]). Each user chooses which views they see and in what
//! order ([`ViewPreferences`]).

pub mod api;
#[cfg(feature = "ssr")]
pub mod counter;
pub mod editor;
pub mod filter;
#[cfg(feature = "ssr")]
pub mod service;

pub use filter::{Column, Condition, Layout, Operator, Property, ViewDefinition};

use crate::users::{Role, User};
use serde::{Deserialize, Serialize};

/// A day in milliseconds, the unit of relative date conditions.
pub const DAY_MS: i64 = 86_400_000;

/// The built-in views.
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
    /// Open tickets where a note @mentioned the caller.
    Mentions,
    /// Open tickets the caller follows.
    Followers,
    /// Closed tickets.
    Closed,
    /// Tickets with an SLA goal due soon (none overdue), soonest first.
    SlaDueSoon,
    /// Tickets with an overdue SLA goal, most overdue first.
    SlaOverdue,
    /// Deleted tickets, restorable for 30 days before they are purged.
    Trash,
}

impl ViewId {
    /// In their default order.
    pub const ALL: [ViewId; 9] = [
        ViewId::Unassigned,
        ViewId::Mine,
        ViewId::Open,
        ViewId::Mentions,
        ViewId::Followers,
        ViewId::SlaDueSoon,
        ViewId::SlaOverdue,
        ViewId::Closed,
        ViewId::Trash,
    ];

    /// The views whose counts are sums of the maintained count buckets
    /// (they depend only on owner, team and open/closed); the others are
    /// counted per user.
    pub const BUCKETED: [ViewId; 4] = [
        ViewId::Unassigned,
        ViewId::Mine,
        ViewId::Open,
        ViewId::Closed,
    ];

    /// The URL slug (`/views/<slug>`), also the view's id in the API.
    pub fn slug(self) -> &'static str {
        match self {
            ViewId::Unassigned => "unassigned",
            ViewId::Mine => "mine",
            ViewId::Open => "open",
            ViewId::Mentions => "mentions",
            ViewId::Followers => "followers",
            ViewId::Closed => "closed",
            ViewId::SlaDueSoon => "sla_due_soon",
            ViewId::SlaOverdue => "sla_overdue",
            ViewId::Trash => "trash",
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
            ViewId::Mentions => "My mentions",
            ViewId::Followers => "Followers",
            ViewId::Closed => "Closed",
            ViewId::SlaDueSoon => "SLA due soon",
            ViewId::SlaOverdue => "SLA overdue",
            ViewId::Trash => "Trash",
        }
    }

    /// May someone with this role use the view? Collaborators (no seat)
    /// get My mentions, Followers and All open, as in HubSpot.
    /// The order a view lists tickets in unless asked otherwise: the SLA
    /// views put the most pressing first.
    pub fn default_sort(self) -> (crate::tickets::SortKey, bool) {
        match self {
            ViewId::SlaDueSoon | ViewId::SlaOverdue => (crate::tickets::SortKey::SlaDue, true),
            _ => Default::default(),
        }
    }

    pub fn available_to(self, role: Role) -> bool {
        role != Role::Collaborator
            || matches!(self, ViewId::Mentions | ViewId::Followers | ViewId::Open)
    }
}

/// A view of the left column: built in or custom. Written as the default
/// view's slug or the custom view's id, in URLs and in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum ViewKey {
    Default(ViewId),
    Custom(i64),
}

impl ViewKey {
    pub fn parse(s: &str) -> Option<ViewKey> {
        match ViewId::from_slug(s) {
            Some(v) => Some(ViewKey::Default(v)),
            None => s
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .map(ViewKey::Custom),
        }
    }

    pub fn slug(self) -> String {
        match self {
            ViewKey::Default(v) => v.slug().to_string(),
            ViewKey::Custom(id) => id.to_string(),
        }
    }
}

impl From<ViewKey> for String {
    fn from(k: ViewKey) -> String {
        k.slug()
    }
}

impl TryFrom<String> for ViewKey {
    type Error = String;
    fn try_from(s: String) -> Result<ViewKey, String> {
        ViewKey::parse(&s).ok_or_else(|| format!("unknown view {s:?}"))
    }
}

/// Who else sees a custom view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Sharing {
    /// Only its owner.
    #[default]
    Private,
    /// Members (main or additional) of the chosen teams.
    Teams,
    /// Every seat agent and admin.
    Everyone,
}

impl Sharing {
    pub const ALL: [Sharing; 3] = [Sharing::Private, Sharing::Teams, Sharing::Everyone];

    pub fn as_str(self) -> &'static str {
        match self {
            Sharing::Private => "private",
            Sharing::Teams => "teams",
            Sharing::Everyone => "everyone",
        }
    }

    pub fn parse(s: &str) -> Option<Sharing> {
        Sharing::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Sharing::Private => "Only me",
            Sharing::Teams => "Teams",
            Sharing::Everyone => "Everyone",
        }
    }
}

/// A custom view as its viewers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CustomView {
    pub id: i64,
    pub name: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub sharing: Sharing,
    /// The teams it is shared with (sharing `teams`).
    pub team_ids: Vec<i64>,
    pub definition: ViewDefinition,
    /// Number of saves; each is kept in the view's history.
    pub version: i64,
    /// May the caller change or delete it?
    pub editable: bool,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ViewKind {
    Default,
    Custom,
}

/// A view in the caller's left column, with its number of tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ViewSummary {
    /// A default view's slug or a custom view's id.
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub id: ViewKey,
    pub name: String,
    pub kind: ViewKind,
    /// Tickets in the view, exact for the default views; custom views stop
    /// counting at 10,000 (`count_capped` then says there are more).
    pub count: i64,
    pub count_capped: bool,
    /// Hidden by the caller's preferences (listed so they can show it again).
    pub hidden: bool,
    /// The definition of a custom view.
    pub custom: Option<CustomView>,
}

/// Input for a new custom view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewView {
    pub name: String,
    #[serde(default)]
    pub sharing: Sharing,
    #[serde(default)]
    pub team_ids: Vec<i64>,
    #[serde(default)]
    pub definition: ViewDefinition,
}

/// A change to a custom view; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ViewPatch {
    pub name: Option<String>,
    pub sharing: Option<Sharing>,
    pub team_ids: Option<Vec<i64>>,
    pub definition: Option<ViewDefinition>,
}

/// One saved state of a custom view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ViewVersion {
    pub version: i64,
    pub name: String,
    pub sharing: Sharing,
    pub team_ids: Vec<i64>,
    pub definition: ViewDefinition,
    pub changed_by: Option<String>,
    pub changed_at: i64,
}

/// Which views a user shows, in what order. Views not named in `order`
/// follow, in the default order; `hidden` ones are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ViewPreferences {
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<String>))]
    pub order: Vec<ViewKey>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<String>))]
    pub hidden: Vec<ViewKey>,
}

/// A view in the left column with its number of tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ViewCount {
    pub view: ViewId,
    pub name: String,
    pub count: i64,
}

/// How many tickets have one owner, team and open/closed state: a row of
/// the maintained `ticket_counts` table. Visibility depends only on owner
/// and team, so a user's view counts are sums over the buckets they may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountBucket {
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    pub closed: bool,
    pub n: i64,
}

/// The counts of the bucketed default views for `user`.
pub fn counts_from_buckets(buckets: &[CountBucket], user: &User) -> Vec<ViewCount> {
    let mut totals = [0_i64; ViewId::BUCKETED.len()];
    for b in buckets {
        if !crate::access::can_see(user, b.owner_id, b.team_id) {
            continue;
        }
        for (i, view) in ViewId::BUCKETED.into_iter().enumerate() {
            let counts = match view {
                ViewId::Unassigned => !b.closed && b.owner_id.is_none(),
                ViewId::Mine => !b.closed && b.owner_id == Some(user.id),
                ViewId::Open => !b.closed,
                ViewId::Closed => b.closed,
                ViewId::Mentions
                | ViewId::Followers
                | ViewId::SlaDueSoon
                | ViewId::SlaOverdue
                | ViewId::Trash => false,
            };
            if counts {
                totals[i] += b.n;
            }
        }
    }
    ViewId::BUCKETED
        .into_iter()
        .zip(totals)
        .map(|(view, count)| ViewCount {
            view,
            name: view.label().to_string(),
            count,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Access, AccessScope};

    #[test]
    fn counts_add_up_visible_buckets() {
        let b = |owner: Option<i64>, team: Option<i64>, closed: bool, n: i64| CountBucket {
            owner_id: owner,
            team_id: team,
            closed,
            n,
        };
        let buckets = [
            b(None, None, false, 3),
            b(None, Some(1), false, 4),
            b(Some(7), Some(2), false, 5),
            b(Some(8), Some(1), false, 6),
            b(Some(8), Some(2), true, 10),
        ];
        let mut user = User {
            id: 7,
            email: "a@b.c".into(),
            name: "A".into(),
            role: crate::users::Role::Agent,
            access: Access::default(),
            availability: Default::default(),
            timezone: "UTC".into(),
            working_hours: None,
            capacity: Default::default(),
        };
        let numbers = |u: &User| {
            counts_from_buckets(&buckets, u)
                .into_iter()
                .map(|c| c.count)
                .collect::<Vec<_>>()
        };
        // Unassigned, Mine, Open, Closed.
        assert_eq!(numbers(&user), vec![7, 5, 18, 10]);
        user.access = Access {
            scope: AccessScope::Teams,
            include_unassigned: false,
            team_ids: vec![1],
        };
        assert_eq!(numbers(&user), vec![4, 5, 15, 0]);
        user.access.scope = AccessScope::Owned;
        assert_eq!(numbers(&user), vec![0, 5, 5, 0]);
    }

    #[test]
    fn collaborators_get_three_default_views() {
        let theirs: Vec<_> = ViewId::ALL
            .into_iter()
            .filter(|v| v.available_to(Role::Collaborator))
            .collect();
        assert_eq!(theirs, [ViewId::Open, ViewId::Mentions, ViewId::Followers]);
        assert!(ViewId::ALL.iter().all(|v| v.available_to(Role::Agent)));
    }

    #[test]
    fn slugs_round_trip() {
        for v in ViewId::ALL {
            assert_eq!(ViewId::from_slug(v.slug()), Some(v));
        }
        assert_eq!(ViewId::from_slug("nope"), None);
        for k in [ViewKey::Default(ViewId::Followers), ViewKey::Custom(12)] {
            assert_eq!(ViewKey::parse(&k.slug()), Some(k));
        }
        assert_eq!(ViewKey::parse("0"), None);
        assert_eq!(ViewKey::parse("-3"), None);
    }
}
