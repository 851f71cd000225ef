//! Which tickets a user may see.
//!
//! Every user has an access scope: all tickets, the tickets of their teams,
//! or only the tickets they own, each optionally plus unassigned tickets.
//! A ticket's visibility depends only on its owner and team, so the same
//! rule is written twice, in two forms that must agree: [`can_see`] for
//! things already in memory (websocket events, presence, count buckets) and
//! `push_ticket_filter` for SQL. The unit tests below hold them to the same
//! table of cases; the integration tests check both against a real database.
//!
//! A ticket outside the caller's access is reported as "not found", never as
//! "forbidden", so its existence is not revealed.

use crate::users::{Role, User};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccessScope {
    /// Every ticket in the help desk.
    #[default]
    All,
    /// Tickets whose team is one of the user's teams (main or additional
    /// membership), plus tickets the user owns.
    Teams,
    /// Only tickets the user owns.
    Owned,
}

impl AccessScope {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessScope::All => "all",
            AccessScope::Teams => "teams",
            AccessScope::Owned => "owned",
        }
    }

    pub fn parse(s: &str) -> Option<AccessScope> {
        match s {
            "all" => Some(AccessScope::All),
            "teams" => Some(AccessScope::Teams),
            "owned" => Some(AccessScope::Owned),
            _ => None,
        }
    }
}

/// A user's ticket access, as loaded with the user on every request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Access {
    pub scope: AccessScope,
    /// Also see tickets that nobody owns (the Unassigned queue).
    pub include_unassigned: bool,
    /// The user's teams; only consulted for the `teams` scope.
    pub team_ids: Vec<i64>,
}

impl Default for Access {
    fn default() -> Self {
        Access {
            scope: AccessScope::All,
            include_unassigned: true,
            team_ids: Vec::new(),
        }
    }
}

/// Super admins see every ticket whatever scope is stored for them (they
/// can change any scope, their own included, so a narrower one would only
/// hide tickets from the person who administers them).
pub fn sees_all(user: &User) -> bool {
    user.role == Role::SuperAdmin || user.access.scope == AccessScope::All
}

/// May `user` see a ticket with this owner and team?
pub fn can_see(user: &User, owner_id: Option<i64>, team_id: Option<i64>) -> bool {
    let access = &user.access;
    if sees_all(user) || owner_id == Some(user.id) {
        return true;
    }
    if owner_id.is_none() && access.include_unassigned {
        return true;
    }
    match access.scope {
        AccessScope::Teams => team_id.is_some_and(|t| access.team_ids.contains(&t)),
        _ => false,
    }
}

/// Appends " AND (...)" restricting ticket alias `t` to what `user` may see;
/// nothing for the `all` scope, so unrestricted users keep the plain view
/// queries and their indexes.
#[cfg(feature = "ssr")]
pub fn push_ticket_filter(sql: &mut crate::db::SqlBuilder, user: &User) {
    let access = &user.access;
    if sees_all(user) {
        return;
    }
    sql.push(" AND (t.owner_id = ").bind_int(user.id);
    if access.include_unassigned {
        sql.push(" OR t.owner_id IS NULL");
    }
    if access.scope == AccessScope::Teams && !access.team_ids.is_empty() {
        sql.push(" OR t.team_id IN (");
        for (i, team) in access.team_ids.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_int(*team);
        }
        sql.push(")");
    }
    sql.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::Availability;

    fn user(scope: AccessScope, include_unassigned: bool) -> User {
        User {
            id: 7,
            email: "a@b.c".into(),
            name: "A".into(),
            role: Role::Agent,
            access: Access {
                scope,
                include_unassigned,
                team_ids: vec![1, 2],
            },
            availability: Availability::Available,
            timezone: "UTC".into(),
            working_hours: None,
            capacity: Default::default(),
        }
    }

    #[test]
    fn scopes_decide_visibility() {
        // (owner, team) -> [all, teams, teams+unassigned, owned, owned+unassigned]
        type Case = ((Option<i64>, Option<i64>), [bool; 5]);
        let cases: [Case; 6] = [
            ((Some(7), None), [true, true, true, true, true]),
            ((Some(8), Some(1)), [true, true, true, false, false]),
            ((Some(8), Some(3)), [true, false, false, false, false]),
            ((None, Some(3)), [true, false, true, false, true]),
            ((None, Some(2)), [true, true, true, false, true]),
            ((Some(8), None), [true, false, false, false, false]),
        ];
        let users = [
            user(AccessScope::All, false),
            user(AccessScope::Teams, false),
            user(AccessScope::Teams, true),
            user(AccessScope::Owned, false),
            user(AccessScope::Owned, true),
        ];
        for ((owner, team), expected) in cases {
            for (u, want) in users.iter().zip(expected) {
                assert_eq!(
                    can_see(u, owner, team),
                    want,
                    "{:?}+{} on owner {owner:?} team {team:?}",
                    u.access.scope,
                    u.access.include_unassigned
                );
            }
        }
    }

    #[test]
    fn super_admins_see_everything_whatever_their_scope() {
        let mut admin = user(AccessScope::Owned, false);
        admin.role = Role::SuperAdmin;
        assert!(can_see(&admin, Some(8), Some(3)));
        assert!(can_see(&admin, None, None));
    }

    #[test]
    fn scopes_round_trip() {
        for s in [AccessScope::All, AccessScope::Teams, AccessScope::Owned] {
            assert_eq!(AccessScope::parse(s.as_str()), Some(s));
        }
        assert_eq!(AccessScope::parse("some"), None);
    }
}
