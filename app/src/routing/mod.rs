//! Routing: who gets a new ticket.
//!
//! Rules are tried in order; the first whose channel and conditions match
//! a new unassigned ticket decides it: assign it to one of a team's main
//! members or of a list of users, by round robin, balance or chance, or
//! leave it unassigned. Only eligible users are picked: a help desk seat,
//! active, access to the ticket, under their capacity and (unless the rule
//! ignores it) available. When nobody is eligible the ticket waits and is
//! routed as soon as someone becomes eligible. Every automatic assignment
//! writes why into the ticket's timeline.
//!
//! `service` (server only) holds the rules' SQL and the decision; `worker`
//! runs it for waiting tickets.

#[cfg(feature = "ssr")]
pub mod service;
pub mod settings;
#[cfg(feature = "ssr")]
pub mod worker;

use crate::views::Condition;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a rule picks among eligible users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoutingMethod {
    /// Each eligible user gets one before anyone gets a second.
    #[default]
    RoundRobin,
    /// The eligible user with the fewest open tickets.
    Balanced,
    /// Any eligible user, by chance.
    Random,
}

impl RoutingMethod {
    pub const ALL: [RoutingMethod; 3] = [
        RoutingMethod::RoundRobin,
        RoutingMethod::Balanced,
        RoutingMethod::Random,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RoutingMethod::RoundRobin => "round_robin",
            RoutingMethod::Balanced => "balanced",
            RoutingMethod::Random => "random",
        }
    }

    pub fn parse(s: &str) -> Option<RoutingMethod> {
        RoutingMethod::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            RoutingMethod::RoundRobin => "Round robin",
            RoutingMethod::Balanced => "Balanced",
            RoutingMethod::Random => "Random",
        }
    }
}

/// Whom a rule routes to. Neither a team nor users: leave unassigned.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RoutingTarget {
    /// The team's main members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<i64>,
    /// These users.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_ids: Vec<i64>,
}

/// A routing rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RoutingRule {
    pub id: i64,
    pub name: String,
    /// Rules are tried in this order.
    pub position: i64,
    /// Only tickets from this channel (`email`, `chat`...); any when null.
    pub channel: Option<String>,
    /// All must hold (the properties of custom views, without dates).
    pub conditions: Vec<Condition>,
    pub target: RoutingTarget,
    pub method: RoutingMethod,
    /// Route to away users too.
    pub ignore_availability: bool,
    /// Route only while this business-hours calendar is open; tickets that
    /// arrive outside its hours wait until it opens. Always when null.
    #[serde(default)]
    pub calendar_id: Option<i64>,
}

/// Input for creating or replacing a rule (super admins only).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RoutingRuleInput {
    pub name: String,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default)]
    pub target: RoutingTarget,
    #[serde(default)]
    pub method: RoutingMethod,
    #[serde(default)]
    pub ignore_availability: bool,
    /// Route only while this calendar is open.
    #[serde(default)]
    pub calendar_id: Option<i64>,
    /// Where in the order; last when absent.
    pub position: Option<i64>,
}

/// A user's routing capacity: the most open tickets routing gives them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Capacity {
    /// Across all channels; no limit when null.
    #[serde(default)]
    pub max_open: Option<i64>,
    /// Per channel kind (`email`: 10, `chat`: 3), counted separately.
    #[serde(default)]
    pub per_channel: BTreeMap<String, i64>,
    /// Tickets in these statuses (ids) do not count, e.g. "Waiting on
    /// contact". Closed tickets never count.
    #[serde(default)]
    pub excluded_statuses: Vec<i64>,
}

impl Capacity {
    /// No limit at all.
    pub fn is_unlimited(&self) -> bool {
        self.max_open.is_none() && self.per_channel.is_empty()
    }
}

/// A user's open tickets as routing counts them, and their limit: what
/// the assignee picker shows as "3/10".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Load {
    pub user_id: i64,
    /// Open tickets that count against the capacity.
    pub open: i64,
    /// The total limit, if any.
    pub max_open: Option<i64>,
}

impl Load {
    /// "3/10", or "3" without a limit.
    pub fn label(&self) -> String {
        match self.max_open {
            Some(max) => format!("{}/{max}", self.open),
            None => self.open.to_string(),
        }
    }
}
