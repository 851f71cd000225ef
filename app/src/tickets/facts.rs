//! The properties of one ticket that routing rules and SLA policies test,
//! and the test itself, in Rust.
//!
//! Rules and policies use the conditions of custom views
//! ([`crate::views::Condition`], all of which must hold), so admins learn one
//! language. Views turn them into SQL to scan many tickets; a rule or a
//! policy asks about one ticket at a time (and an SLA recalculation about a
//! hundred thousand already in memory), so here they are evaluated on the
//! loaded values instead.

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
    conditions.iter().all(|c| holds(c, t))
}

fn holds(c: &Condition, t: &TicketFacts) -> bool {
    let Ok(test) = c.test() else {
        return false;
    };
    // The property's value: `None` when it is not a number property,
    // `Some(None)` when the ticket has it empty.
    let value: Option<Option<i64>> = match c.property {
        Property::Status => Some(Some(t.status_id)),
        Property::Priority => Some(Some(t.priority)),
        Property::Owner => Some(t.owner_id),
        Property::Team => Some(t.team_id),
        Property::Contact => Some(t.contact_id),
        Property::Company => Some(t.company_id),
        Property::Pipeline => Some(Some(t.pipeline_id)),
        _ => None,
    };
    let text: Option<Option<&str>> = match c.property {
        Property::StatusCategory => Some(Some(t.status_category.as_str())),
        Property::Category => Some(t.category.as_deref()),
        Property::Channel => Some(Some(t.channel.as_str())),
        _ => None,
    };
    let present = value
        .map(|v| v.is_some())
        .or(text.map(|v| v.is_some()))
        .unwrap_or(false);
    let any_of = match &test {
        Test::Known => return present,
        Test::Unknown => return !present,
        Test::Ints(list) => value.flatten().is_some_and(|v| list.contains(&v)),
        Test::Texts(list) => text.flatten().is_some_and(|v| list.iter().any(|x| x == v)),
        Test::People(list) => {
            let v = value.flatten();
            list.iter().any(|p| match p {
                PersonValue::Id(id) => v == Some(*id),
                PersonValue::None => v.is_none(),
                PersonValue::Me => false,
            })
        }
        Test::At { .. } | Test::Days { .. } => return false,
    };
    // "Is none of" also matches an empty property, as in views.
    match c.op {
        Operator::IsNoneOf => !any_of,
        _ => any_of,
    }
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
        }
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
