//! SLA goals: how fast a team promises to answer and to close.
//!
//! A policy sets targets in business minutes for three goals (first reply,
//! next reply, close) on a calendar, for the tickets its conditions match
//! (the first matching policy in order wins). Each ticket then runs one
//! clock per goal ([`TicketSla`]), paused while its status is one of the
//! policy's pause statuses. A clock is on track, then due soon, then
//! overdue as time passes; it ends met or missed when the goal is reached.
//!
//! `service` (server only) keeps the clocks: it recomputes a ticket's clocks
//! whenever something that matters changes, recalculates every open ticket
//! when a policy or calendar changes, and a timer moves clocks to due soon
//! and overdue at the right moment, with or without anyone connected.

#[cfg(feature = "ssr")]
pub mod service;
pub mod settings;

use crate::views::Condition;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// `tickets.sla_due_at` of a ticket whose running goals are all paused:
/// after every real due time (the largest integer both databases and
/// JavaScript agree on), and never shown.
pub const NO_DUE_TIME: i64 = 9_007_199_254_740_991;

/// What an SLA measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SlaGoal {
    /// From creation to the first reply to the customer.
    FirstReply,
    /// From a customer's message to the reply that answers it (after the
    /// first reply).
    NextReply,
    /// From creation to closing.
    Close,
}

impl SlaGoal {
    pub const ALL: [SlaGoal; 3] = [SlaGoal::FirstReply, SlaGoal::NextReply, SlaGoal::Close];

    pub fn as_str(self) -> &'static str {
        match self {
            SlaGoal::FirstReply => "first_reply",
            SlaGoal::NextReply => "next_reply",
            SlaGoal::Close => "close",
        }
    }

    pub fn parse(s: &str) -> Option<SlaGoal> {
        SlaGoal::ALL.into_iter().find(|g| g.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            SlaGoal::FirstReply => "First reply",
            SlaGoal::NextReply => "Next reply",
            SlaGoal::Close => "Time to close",
        }
    }
}

/// Where a clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    // Ordered from least to most urgent among the running states, so the
    // ticket's summary is the greatest of its running clocks.
    Met,
    Missed,
    OnTrack,
    DueSoon,
    Overdue,
}

impl SlaState {
    pub const ALL: [SlaState; 5] = [
        SlaState::OnTrack,
        SlaState::DueSoon,
        SlaState::Overdue,
        SlaState::Met,
        SlaState::Missed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SlaState::OnTrack => "on_track",
            SlaState::DueSoon => "due_soon",
            SlaState::Overdue => "overdue",
            SlaState::Met => "met",
            SlaState::Missed => "missed",
        }
    }

    pub fn parse(s: &str) -> Option<SlaState> {
        SlaState::ALL.into_iter().find(|g| g.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            SlaState::OnTrack => "On track",
            SlaState::DueSoon => "Due soon",
            SlaState::Overdue => "Overdue",
            SlaState::Met => "Met",
            SlaState::Missed => "Missed",
        }
    }

    /// Is the clock still running (not met or missed)?
    pub fn is_running(self) -> bool {
        matches!(
            self,
            SlaState::OnTrack | SlaState::DueSoon | SlaState::Overdue
        )
    }
}

/// One goal's clock on one ticket, as a ticket reads back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TicketSla {
    pub goal: SlaGoal,
    pub state: SlaState,
    /// When the goal is due (epoch ms); `null` while the clock is paused.
    pub due_at: Option<i64>,
    /// The clock is paused by the ticket's status.
    #[serde(default)]
    pub paused: bool,
    /// When the goal was reached (met or missed).
    #[serde(default)]
    pub reached_at: Option<i64>,
}

/// An SLA policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SlaPolicy {
    pub id: i64,
    pub name: String,
    /// Policies are tried in this order; the first that matches applies.
    pub position: i64,
    /// All must hold (the properties of custom views, without dates).
    pub conditions: Vec<Condition>,
    pub first_reply_minutes: Option<i64>,
    pub next_reply_minutes: Option<i64>,
    pub close_minutes: Option<i64>,
    /// Targets count business time on this calendar; `null` is 24/7.
    pub calendar_id: Option<i64>,
    /// A clock is "due soon" this many minutes before it is due.
    pub due_soon_minutes: i64,
    /// Status ids during which the clocks stop.
    pub pause_statuses: Vec<i64>,
}

/// Input for creating or replacing a policy (super admins only).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SlaPolicyInput {
    pub name: String,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    pub first_reply_minutes: Option<i64>,
    pub next_reply_minutes: Option<i64>,
    pub close_minutes: Option<i64>,
    pub calendar_id: Option<i64>,
    /// 60 when absent.
    pub due_soon_minutes: Option<i64>,
    #[serde(default)]
    pub pause_statuses: Vec<i64>,
    /// Where in the order; last when absent.
    pub position: Option<i64>,
}

/// "in 2 h 5 min" / "3 h 10 min ago": how far `due_at` is from `now`.
pub fn due_in_words(due_at: i64, now: i64) -> String {
    let minutes = (due_at - now).abs() / 60_000;
    let span = if minutes >= 60 * 24 {
        format!("{} d {} h", minutes / (60 * 24), minutes / 60 % 24)
    } else if minutes >= 60 {
        format!("{} h {} min", minutes / 60, minutes % 60)
    } else {
        format!("{minutes} min")
    };
    if due_at >= now {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// The time now in epoch ms, on the server or in the browser.
pub fn now_ms() -> i64 {
    #[cfg(feature = "ssr")]
    {
        crate::db::now_ms()
    }
    #[cfg(not(feature = "ssr"))]
    {
        js_sys::Date::now() as i64
    }
}

/// "Overdue · 12 min ago": an SLA state with its due time, coloured by
/// state. Nothing when no goal runs.
#[component]
pub fn SlaBadge(state: Option<SlaState>, due_at: Option<i64>) -> impl IntoView {
    state.map(|state| {
        let when = due_at
            .map(|d| format!(" · {}", due_in_words(d, now_ms())))
            .unwrap_or_default();
        let title = due_at
            .map(|d| format!("Due {}", crate::time_fmt::format_ms(d)))
            .unwrap_or_else(|| "Paused".into());
        view! {
            <span class=format!("sla sla-{}", state.as_str()) data-testid="sla-badge" title=title>
                {format!("{}{when}", state.label())}
            </span>
        }
    })
}

/// Each goal of a ticket with its state and due (or reached) time.
#[component]
pub fn SlaGoals(goals: Vec<TicketSla>) -> impl IntoView {
    if goals.is_empty() {
        return view! { <p class="muted">"No SLA applies to this ticket."</p> }.into_any();
    }
    view! {
        <dl class="facts sla-goals" data-testid="sla-goals">
            {goals.into_iter().map(|g| {
                let detail = match (g.reached_at, g.due_at, g.paused) {
                    (Some(at), _, _) => format!("reached {}", crate::time_fmt::format_ms(at)),
                    (None, _, true) => "paused".to_string(),
                    (None, Some(due), false) => format!("due {}", due_in_words(due, now_ms())),
                    (None, None, false) => String::new(),
                };
                view! {
                    <dt>{g.goal.label()}</dt>
                    <dd data-goal=g.goal.as_str()>
                        <span class=format!("sla sla-{}", g.state.as_str())>{g.state.label()}</span>
                        " "<span class="muted">{detail}</span>
                    </dd>
                }
            }).collect_view()}
        </dl>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_goals_round_trip() {
        for s in SlaState::ALL {
            assert_eq!(SlaState::parse(s.as_str()), Some(s));
        }
        for g in SlaGoal::ALL {
            assert_eq!(SlaGoal::parse(g.as_str()), Some(g));
        }
        assert!(SlaState::Overdue > SlaState::DueSoon && SlaState::DueSoon > SlaState::OnTrack);
        assert!(!SlaState::Met.is_running());
    }

    #[test]
    fn due_times_read_naturally() {
        assert_eq!(due_in_words(125 * 60_000, 0), "in 2 h 5 min");
        assert_eq!(due_in_words(0, 190 * 60_000), "3 h 10 min ago");
        assert_eq!(due_in_words(26 * 3_600_000, 0), "in 1 d 2 h");
    }
}
