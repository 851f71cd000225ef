//! The properties of one ticket that routing rules, SLA policies and
//! custom views test, and the test itself, in Rust.
//!
//! Rules and policies use the conditions of custom views
//! ([`crate::views::Condition`], all of which must hold), so admins learn one
//! language. Views turn them into SQL to page through many tickets; a rule
//! or a policy asks about one ticket at a time (and an SLA recalculation
//! about a hundred thousand already in memory), and the maintained view
//! counts ([`crate::views::counter`]) ask about each ticket that changed, so
//! here they are evaluated on the loaded values instead. The two must agree
//! exactly: `server/tests/views.rs` checks every property and operator both
//! ways.

use crate::error::AppError;
use crate::views::filter::{PersonValue, Test};
use crate::views::{Condition, Operator, Property};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// What a condition can ask about a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicketFacts {
    pub id: i64,
    pub status_id: i64,
    pub status_category: String,
    pub priority: i64,
    pub category: Option<String>,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    pub channel: String,
    pub contact_id: Option<i64>,
    pub company_id: Option<i64>,
    pub pipeline_id: i64,
    /// The dates and SLA summary only views test; read by
    /// [`from_view_row`] (left empty by [`from_row`]).
    pub created_at: i64,
    pub updated_at: i64,
    pub last_inbound_at: Option<i64>,
    pub sla_state: Option<String>,
    /// As stored: [`crate::sla::NO_DUE_TIME`] while every goal is paused,
    /// which is what the views' SQL compares too.
    pub sla_due_at: Option<i64>,
}

/// The columns [`from_row`] reads, for `FROM tickets t LEFT JOIN contacts c
/// ON c.id = t.contact_id`.
pub const FACT_COLUMNS: &str = "t.id, t.status_id, t.status_category, t.priority, t.category, \
    t.owner_id, t.team_id, t.channel, t.contact_id, c.company_id, t.pipeline_id";

pub fn from_row(row: &AnyRow) -> Result<TicketFacts, AppError> {
    Ok(TicketFacts {
        id: row.try_get("id")?,
        status_id: row.try_get("status_id")?,
        status_category: row.try_get("status_category")?,
        priority: row.try_get("priority")?,
        category: row.try_get("category")?,
        owner_id: row.try_get("owner_id")?,
        team_id: row.try_get("team_id")?,
        channel: row.try_get("channel")?,
        contact_id: row.try_get("contact_id")?,
        company_id: row.try_get("company_id")?,
        pipeline_id: row.try_get("pipeline_id")?,
        ..Default::default()
    })
}

/// [`FACT_COLUMNS`] and the ones only views test, for [`from_view_row`].
pub const VIEW_FACT_COLUMNS: &str =
    "t.id, t.status_id, t.status_category, t.priority, t.category, \
    t.owner_id, t.team_id, t.channel, t.contact_id, c.company_id, t.pipeline_id, t.created_at, \
    t.updated_at, t.last_inbound_at, t.sla_state, t.sla_due_at";

/// A row of [`VIEW_FACT_COLUMNS`].
pub fn from_view_row(row: &AnyRow) -> Result<TicketFacts, AppError> {
    Ok(TicketFacts {
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_inbound_at: row.try_get("last_inbound_at")?,
        sla_state: row.try_get("sla_state")?,
        sla_due_at: row.try_get("sla_due_at")?,
        ..from_row(row)?
    })
}

pub async fn load(conn: &mut AnyConnection, ticket_id: i64) -> Result<TicketFacts, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {FACT_COLUMNS} FROM tickets t LEFT JOIN contacts c ON c.id = t.contact_id WHERE t.id = $1"
    ))
    .bind(ticket_id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| AppError::not_found("Ticket"))?;
    from_row(&row)
}

/// Checks the conditions of a rule or policy: what views accept, except
/// the date properties and "me" (a rule runs for nobody in particular).
pub fn validate_conditions(conditions: &[Condition]) -> Result<(), AppError> {
    const MAX: usize = 20;
    if conditions.len() > MAX {
        return Err(AppError::invalid(
            "conditions",
            format!("At most {MAX} conditions."),
        ));
    }
    for c in conditions {
        // SLA states come from the policies themselves; dates move by the
        // hour while a rule decides once.
        if c.property.is_date() || c.property == Property::SlaState {
            return Err(AppError::invalid(
                "conditions",
                format!("{} cannot be a condition here.", c.property.label()),
            ));
        }
        let test = c.test().map_err(|m| AppError::invalid("conditions", m))?;
        if matches!(&test, Test::People(v) if v.contains(&PersonValue::Me)) {
            return Err(AppError::invalid(
                "conditions",
                "“me” means nobody here; choose users.",
            ));
        }
    }
    Ok(())
}

/// Do all `conditions` hold for the ticket? (None: always.) Conditions are
/// validated when saved; one that no longer parses does not hold.
pub fn all_hold(conditions: &[Condition], t: &TicketFacts) -> bool {
    // Rules and policies have neither "me" nor dates (see
    // `validate_conditions`), so neither the viewer nor the time matters.
    conditions.iter().all(|c| holds(c, t, None, 0))
}

/// A view condition parsed once, to be tested on many tickets (a count's
/// scan tests a million).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    property: Property,
    negate: bool,
    test: Test,
}

/// Parses filter groups for [`view_holds`] and [`next_change`]. A
/// condition that no longer parses never holds, as in [`all_hold`].
pub fn compile(groups: &[Vec<Condition>]) -> Vec<Vec<Option<Check>>> {
    groups
        .iter()
        .map(|group| {
            group
                .iter()
                .map(|c| {
                    c.test().ok().map(|test| Check {
                        property: c.property,
                        negate: c.op == Operator::IsNoneOf,
                        test,
                    })
                })
                .collect()
        })
        .collect()
}

/// Is the ticket in a view with these filter groups (any group whose
/// conditions all hold; every ticket when there are none), for a viewer
/// `me` (`None`: a viewer who owns no ticket here) at `now`? The same
/// answer as the view's SQL (`views::service::push_definition`).
pub fn view_holds(
    groups: &[Vec<Option<Check>>],
    t: &TicketFacts,
    me: Option<i64>,
    now: i64,
) -> bool {
    groups.is_empty()
        || groups.iter().any(|group| {
            group.iter().all(|c| {
                c.as_ref()
                    .is_some_and(|c| test_holds(c.property, &c.test, c.negate, t, me, now))
            })
        })
}

/// The next moment after `now` at which the passing of time alone may move
/// the ticket in or out of a view with these groups: when one of its dates
/// crosses a relative condition ("in the last 7 days"). `None` when no
/// relative condition will change its answer.
pub fn next_change(groups: &[Vec<Option<Check>>], t: &TicketFacts, now: i64) -> Option<i64> {
    groups
        .iter()
        .flatten()
        .flatten()
        .filter_map(|c| match c.test {
            // `v >= now - days` flips once `now` passes `v + days`.
            Test::Days { days, .. } => {
                date_value(c.property, t).map(|v| v.saturating_add(days * crate::views::DAY_MS + 1))
            }
            _ => None,
        })
        .filter(|at| *at > now)
        .min()
}

/// A date property's value (`None` when empty or not a date).
fn date_value(property: Property, t: &TicketFacts) -> Option<i64> {
    match property {
        Property::CreatedAt => Some(t.created_at),
        Property::UpdatedAt => Some(t.updated_at),
        Property::LastCustomerMessageAt => t.last_inbound_at,
        Property::SlaDueAt => t.sla_due_at,
        _ => None,
    }
}

fn holds(c: &Condition, t: &TicketFacts, me: Option<i64>, now: i64) -> bool {
    c.test()
        .is_ok_and(|test| test_holds(c.property, &test, c.op == Operator::IsNoneOf, t, me, now))
}

/// Does a parsed test of `property` (negated: "is none of") hold?
fn test_holds(
    property: Property,
    test: &Test,
    negate: bool,
    t: &TicketFacts,
    me: Option<i64>,
    now: i64,
) -> bool {
    // The property's value: `None` when it is not a number property,
    // `Some(None)` when the ticket has it empty.
    let value: Option<Option<i64>> = match property {
        Property::Status => Some(Some(t.status_id)),
        Property::Priority => Some(Some(t.priority)),
        Property::Owner => Some(t.owner_id),
        Property::Team => Some(t.team_id),
        Property::Contact => Some(t.contact_id),
        Property::Company => Some(t.company_id),
        Property::Pipeline => Some(Some(t.pipeline_id)),
        p if p.is_date() => Some(date_value(p, t)),
        _ => None,
    };
    let text: Option<Option<&str>> = match property {
        Property::StatusCategory => Some(Some(t.status_category.as_str())),
        Property::Category => Some(t.category.as_deref()),
        Property::Channel => Some(Some(t.channel.as_str())),
        Property::SlaState => Some(t.sla_state.as_deref()),
        _ => None,
    };
    let present = value
        .map(|v| v.is_some())
        .or(text.map(|v| v.is_some()))
        .unwrap_or(false);
    let any_of = match test {
        Test::Known => return present,
        Test::Unknown => return !present,
        Test::Ints(list) => value.flatten().is_some_and(|v| list.contains(&v)),
        Test::Texts(list) => text.flatten().is_some_and(|v| list.iter().any(|x| x == v)),
        Test::People(list) => {
            let v = value.flatten();
            list.iter().any(|p| match p {
                PersonValue::Id(id) => v == Some(*id),
                PersonValue::None => v.is_none(),
                // The viewer; nobody's ticket is "mine" when there is no
                // viewer.
                PersonValue::Me => me.is_some() && v == me,
            })
        }
        // Dates compare as SQL does: an empty date is neither before nor
        // after anything.
        Test::At { ms, after } => {
            return value
                .flatten()
                .is_some_and(|v| if *after { v >= *ms } else { v < *ms })
        }
        Test::Days { days, within } => {
            let since = now - days * crate::views::DAY_MS;
            return value
                .flatten()
                .is_some_and(|v| if *within { v >= since } else { v < since });
        }
    };
    // "Is none of" also matches an empty property, as in views.
    any_of != negate
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(property: Property, op: Operator, values: &[&str]) -> Condition {
        Condition {
            property,
            op,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn ticket() -> TicketFacts {
        TicketFacts {
            id: 1,
            status_id: 4,
            status_category: "open".into(),
            priority: 3,
            category: None,
            owner_id: None,
            team_id: Some(2),
            channel: "email".into(),
            contact_id: Some(9),
            company_id: Some(5),
            pipeline_id: 1,
            created_at: 10 * DAY,
            updated_at: 12 * DAY,
            last_inbound_at: None,
            sla_state: Some("due_soon".into()),
            sla_due_at: Some(13 * DAY),
        }
    }

    const DAY: i64 = crate::views::DAY_MS;

    #[test]
    fn views_test_me_dates_and_sla_as_their_sql_does() {
        let mut t = ticket();
        t.owner_id = Some(7);
        let groups = |conditions: Vec<Condition>| compile(&[conditions]);
        let holds =
            |c: Vec<Condition>, me: Option<i64>, now: i64| view_holds(&groups(c), &t, me, now);
        let mine = || vec![cond(Property::Owner, Operator::IsAnyOf, &["me"])];
        assert!(holds(mine(), Some(7), 0));
        assert!(!holds(mine(), Some(8), 0));
        assert!(!holds(mine(), None, 0));
        let not_mine = || vec![cond(Property::Owner, Operator::IsNoneOf, &["me"])];
        assert!(!holds(not_mine(), Some(7), 0));
        assert!(holds(not_mine(), None, 0));
        // Created on day 10: within the last 3 days on day 12, not on day 14.
        let recent = || vec![cond(Property::CreatedAt, Operator::InLastDays, &["3"])];
        assert!(holds(recent(), None, 12 * DAY));
        assert!(!holds(recent(), None, 14 * DAY));
        assert!(holds(recent(), None, 13 * DAY));
        assert!(!holds(recent(), None, 13 * DAY + 1));
        assert_eq!(
            next_change(&groups(recent()), &t, 12 * DAY),
            Some(13 * DAY + 1)
        );
        assert_eq!(next_change(&groups(recent()), &t, 13 * DAY + 1), None);
        // An empty date is neither known, nor before, nor after anything.
        let inbound = |op, values: &[&str]| vec![cond(Property::LastCustomerMessageAt, op, values)];
        assert!(!holds(inbound(Operator::IsKnown, &[]), None, 0));
        assert!(!holds(inbound(Operator::Before, &["2099-01-01"]), None, 0));
        assert!(!holds(
            inbound(Operator::MoreThanDaysAgo, &["1"]),
            None,
            100 * DAY
        ));
        assert!(holds(
            vec![cond(
                Property::SlaState,
                Operator::IsAnyOf,
                &["due_soon", "overdue"]
            )],
            None,
            0
        ));
        assert!(holds(
            vec![cond(
                Property::SlaDueAt,
                Operator::Before,
                &[&(14 * DAY).to_string()]
            )],
            None,
            0
        ));
        // No groups: every ticket; an empty group list of OR-ed groups
        // holds when any group does.
        assert!(view_holds(&[], &t, None, 0));
        let either = compile(&[
            vec![cond(Property::Channel, Operator::IsAnyOf, &["chat"])],
            vec![cond(Property::Priority, Operator::IsAnyOf, &["urgent"])],
        ]);
        assert!(view_holds(&either, &t, None, 0));
    }

    #[test]
    fn conditions_test_the_loaded_ticket() {
        let t = ticket();
        assert!(all_hold(&[], &t));
        assert!(all_hold(
            &[
                cond(Property::Priority, Operator::IsAnyOf, &["urgent", "high"]),
                cond(Property::Channel, Operator::IsAnyOf, &["email"]),
                cond(Property::Team, Operator::IsAnyOf, &["2"]),
                cond(Property::Owner, Operator::IsAnyOf, &["none"]),
                cond(Property::Company, Operator::IsAnyOf, &["5"]),
                cond(Property::Category, Operator::IsUnknown, &[]),
            ],
            &t
        ));
        assert!(!all_hold(
            &[cond(Property::Priority, Operator::IsAnyOf, &["low"])],
            &t
        ));
        assert!(all_hold(
            &[cond(
                Property::Category,
                Operator::IsNoneOf,
                &["Billing issue"]
            )],
            &t
        ));
        assert!(!all_hold(
            &[cond(
                Property::Channel,
                Operator::IsNoneOf,
                &["email", "chat"]
            )],
            &t
        ));
        assert!(!all_hold(
            &[cond(Property::Team, Operator::IsUnknown, &[])],
            &t
        ));
    }

    #[test]
    fn dates_and_me_are_refused() {
        assert!(
            validate_conditions(&[cond(Property::CreatedAt, Operator::InLastDays, &["3"])])
                .is_err()
        );
        assert!(validate_conditions(&[cond(Property::Owner, Operator::IsAnyOf, &["me"])]).is_err());
        assert!(
            validate_conditions(&[cond(Property::Priority, Operator::IsAnyOf, &["nope"])]).is_err()
        );
        assert!(
            validate_conditions(&[cond(Property::Priority, Operator::IsAnyOf, &["high"])]).is_ok()
        );
    }
}
