//! The default views of the workspace's left column. Custom views come later
//! (issue 5); these four are built in for every user.

#[cfg(feature = "ssr")]
pub mod service;

use crate::users::User;
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

/// The default views' counts for `user`, from the count buckets.
pub fn counts_from_buckets(buckets: &[CountBucket], user: &User) -> Vec<ViewCount> {
    let mut totals = [0_i64; ViewId::ALL.len()];
    for b in buckets {
        if !crate::access::can_see(user, b.owner_id, b.team_id) {
            continue;
        }
        for (i, view) in ViewId::ALL.into_iter().enumerate() {
            let counts = match view {
                ViewId::Unassigned => !b.closed && b.owner_id.is_none(),
                ViewId::Mine => !b.closed && b.owner_id == Some(user.id),
                ViewId::Open => !b.closed,
                ViewId::Closed => b.closed,
            };
            if counts {
                totals[i] += b.n;
            }
        }
    }
    ViewId::ALL
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
    fn slugs_round_trip() {
        for v in ViewId::ALL {
            assert_eq!(ViewId::from_slug(v.slug()), Some(v));
        }
        assert_eq!(ViewId::from_slug("nope"), None);
    }
}
