//! Users, their roles, and teams.

#[cfg(feature = "ssr")]
pub mod schedule;
#[cfg(feature = "ssr")]
pub mod service;
pub mod settings;

use crate::access::{Access, AccessScope};
use crate::business_hours::WeeklyHours;
use crate::routing::Capacity;
use serde::{Deserialize, Serialize};

/// What a user may do in the help desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including settings and user administration.
    SuperAdmin,
    /// A help desk seat: every workspace feature.
    Agent,
    /// View and comment (internal notes) only.
    Collaborator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SuperAdmin => "super_admin",
            Role::Agent => "agent",
            Role::Collaborator => "collaborator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "super_admin" => Some(Role::SuperAdmin),
            "agent" => Some(Role::Agent),
            "collaborator" => Some(Role::Collaborator),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::SuperAdmin => "Super admin",
            Role::Agent => "Agent",
            Role::Collaborator => "Collaborator",
        }
    }

    /// Create tickets, reply, edit properties: agents and admins.
    pub fn can_work_tickets(self) -> bool {
        matches!(self, Role::SuperAdmin | Role::Agent)
    }
}

/// A signed-in person, as the services see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Which tickets this user may see (see [`crate::access`]).
    pub access: Access,
    /// Available or away: set by the user (or an admin), and by their
    /// working hours as they begin and end.
    pub availability: Availability,
    /// IANA timezone of the user's working hours.
    #[serde(default = "utc")]
    pub timezone: String,
    /// Weekly working hours; outside them the user becomes Away (they can
    /// override that until the next start or end of their hours). None:
    /// availability changes only by hand.
    #[serde(default)]
    pub working_hours: Option<WeeklyHours>,
    /// The most open tickets routing gives them.
    #[serde(default)]
    pub capacity: Capacity,
}

/// A colleague as every workspace page knows them: a name for the owner
/// pickers and an availability dot. Their settings (access, hours,
/// capacity) are sent only to the settings page, for super admins
/// (`users::settings::list_people`); every page carries this list, so it
/// stays small.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Teammate {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub availability: Availability,
}

impl Teammate {
    /// May they own tickets (see [`Role::can_work_tickets`])?
    pub fn can_work_tickets(&self) -> bool {
        self.role.can_work_tickets()
    }
}

impl From<&User> for Teammate {
    fn from(user: &User) -> Self {
        Teammate {
            id: user.id,
            name: user.name.clone(),
            role: user.role,
            availability: user.availability,
        }
    }
}

fn utc() -> String {
    "UTC".into()
}

/// Whether an agent is at work right now. Set by the agent, shown to the
/// others beside their avatar; routing (a later issue) assigns only to
/// available agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    #[default]
    Available,
    Away,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Available => "available",
            Availability::Away => "away",
        }
    }

    pub fn parse(s: &str) -> Option<Availability> {
        match s {
            "available" => Some(Availability::Available),
            "away" => Some(Availability::Away),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Availability::Available => "Available",
            Availability::Away => "Away",
        }
    }
}

impl User {
    /// Create tickets, reply, edit properties: agents and admins.
    pub fn can_work_tickets(&self) -> bool {
        self.role.can_work_tickets()
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::SuperAdmin
    }

    /// Initials for avatars ("Ana Ruiz" -> "AR").
    pub fn initials(&self) -> String {
        initials(&self.name)
    }
}

pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Team {
    pub id: i64,
    pub name: String,
    /// User ids of the team's members.
    pub member_ids: Vec<i64>,
}

/// Input for creating a user (super admins only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewUser {
    pub email: String,
    pub name: String,
    /// At least 8 characters; when absent the user cannot sign in with a
    /// password until one is set.
    pub password: Option<String>,
    pub role: Role,
    /// Ticket access scope; `all` when absent.
    #[serde(default)]
    pub access: AccessScope,
    /// Also see unassigned tickets; true when absent.
    #[serde(default = "default_true")]
    pub include_unassigned: bool,
    /// Team memberships, main or additional.
    #[serde(default)]
    pub teams: Vec<TeamMembership>,
    /// Shorthand for main memberships of these teams.
    #[serde(default)]
    pub team_ids: Vec<i64>,
}

fn default_true() -> bool {
    true
}

/// One team a user belongs to. Main members are the ones routing assigns
/// to; additional members see the team's tickets but are not routed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TeamMembership {
    pub id: i64,
    #[serde(default = "default_true")]
    pub main: bool,
}

/// A change to a user (super admins only). Absent fields stay as they are;
/// `teams`, when present, replaces every membership.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub access: Option<AccessScope>,
    pub include_unassigned: Option<bool>,
    pub teams: Option<Vec<TeamMembership>>,
    /// false deactivates: the user can no longer sign in and their open
    /// sessions and live connections end.
    pub active: Option<bool>,
    /// Sets their availability now (it holds until their working hours
    /// next begin or end).
    pub availability: Option<Availability>,
    /// IANA timezone name, e.g. `Europe/Madrid`.
    pub timezone: Option<String>,
    /// Replaces their weekly working hours; an empty list removes them
    /// (availability then changes only by hand).
    pub working_hours: Option<WeeklyHours>,
    /// Replaces their routing capacity.
    pub capacity: Option<Capacity>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for r in [Role::SuperAdmin, Role::Agent, Role::Collaborator] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn collaborators_cannot_work_tickets() {
        let mut u = User {
            id: 1,
            email: "a@b.c".into(),
            name: "Ana Ruiz".into(),
            role: Role::Collaborator,
            access: Access::default(),
            availability: Availability::Available,
            timezone: "UTC".into(),
            working_hours: None,
            capacity: Capacity::default(),
        };
        assert!(!u.can_work_tickets());
        u.role = Role::Agent;
        assert!(u.can_work_tickets());
        assert!(!u.is_admin());
        assert_eq!(u.initials(), "AR");
    }
}
