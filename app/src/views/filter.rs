//! What a custom view is: filter groups over ticket properties, a sort, the
//! columns to show and a layout. Shared with the browser (the view editor
//! builds these) and validated here, once, for both the server functions
//! and the REST API; `service` turns a validated definition into SQL.
//!
//! Filters follow HubSpot's model: conditions within a group must all hold
//! (AND), and a ticket is in the view when any group holds (OR). A view
//! without groups shows every ticket the viewer may see.
//!
//! Values travel as strings (what a form control gives and what a JSON
//! client writes most easily): ids as decimal text, owners and teams also
//! as "me" / "none", dates as `YYYY-MM-DD` or epoch milliseconds.

use crate::tickets::{Priority, SortKey, StatusCategory, CATEGORIES, CHANNELS};
use serde::{Deserialize, Serialize};

/// A ticket property a condition can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Property {
    /// A pipeline status, by id.
    Status,
    /// open / waiting / closed.
    StatusCategory,
    Priority,
    Category,
    /// A user id, "me" (whoever looks at the view) or "none".
    Owner,
    /// A team id or "none".
    Team,
    Channel,
    /// A contact id.
    Contact,
    /// A company id (through the ticket's contact).
    Company,
    Pipeline,
    CreatedAt,
    UpdatedAt,
    /// When the customer last wrote.
    LastCustomerMessageAt,
    /// The most pressing state of the running SLA goals (on_track,
    /// due_soon, overdue); unknown when none runs.
    SlaState,
    /// When the next SLA goal is due.
    SlaDueAt,
}

impl Property {
    pub const ALL: [Property; 15] = [
        Property::Status,
        Property::StatusCategory,
        Property::Priority,
        Property::Category,
        Property::Owner,
        Property::Team,
        Property::Channel,
        Property::Contact,
        Property::Company,
        Property::Pipeline,
        Property::CreatedAt,
        Property::UpdatedAt,
        Property::LastCustomerMessageAt,
        Property::SlaState,
        Property::SlaDueAt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Property::Status => "status",
            Property::StatusCategory => "status_category",
            Property::Priority => "priority",
            Property::Category => "category",
            Property::Owner => "owner",
            Property::Team => "team",
            Property::Channel => "channel",
            Property::Contact => "contact",
            Property::Company => "company",
            Property::Pipeline => "pipeline",
            Property::CreatedAt => "created_at",
            Property::UpdatedAt => "updated_at",
            Property::LastCustomerMessageAt => "last_customer_message_at",
            Property::SlaState => "sla_state",
            Property::SlaDueAt => "sla_due_at",
        }
    }

    pub fn parse(s: &str) -> Option<Property> {
        Property::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Property::Status => "Status",
            Property::StatusCategory => "Status category",
            Property::Priority => "Priority",
            Property::Category => "Category",
            Property::Owner => "Owner",
            Property::Team => "Team",
            Property::Channel => "Channel",
            Property::Contact => "Contact",
            Property::Company => "Company",
            Property::Pipeline => "Pipeline",
            Property::CreatedAt => "Created",
            Property::UpdatedAt => "Last activity",
            Property::LastCustomerMessageAt => "Last customer message",
            Property::SlaState => "SLA state",
            Property::SlaDueAt => "SLA due",
        }
    }

    pub fn is_date(self) -> bool {
        matches!(
            self,
            Property::CreatedAt
                | Property::UpdatedAt
                | Property::LastCustomerMessageAt
                | Property::SlaDueAt
        )
    }

    /// Can the property be empty (no owner, no team, no category...)?
    pub fn is_nullable(self) -> bool {
        matches!(
            self,
            Property::Category
                | Property::Owner
                | Property::Team
                | Property::Contact
                | Property::Company
                | Property::LastCustomerMessageAt
                | Property::SlaState
                | Property::SlaDueAt
        )
    }

    /// The operators that make sense for this property.
    pub fn operators(self) -> Vec<Operator> {
        let mut ops = if self.is_date() {
            vec![
                Operator::InLastDays,
                Operator::MoreThanDaysAgo,
                Operator::After,
                Operator::Before,
            ]
        } else {
            vec![Operator::IsAnyOf, Operator::IsNoneOf]
        };
        if self.is_nullable() {
            ops.extend([Operator::IsKnown, Operator::IsUnknown]);
        }
        ops
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    IsAnyOf,
    /// Also matches tickets where the property is empty.
    IsNoneOf,
    IsKnown,
    IsUnknown,
    /// On or after a date (`YYYY-MM-DD`, UTC) or an epoch-ms instant.
    After,
    /// Before a date or instant.
    Before,
    /// Within the last N days (relative to when the view is read).
    InLastDays,
    /// More than N days ago.
    MoreThanDaysAgo,
}

impl Operator {
    pub const ALL: [Operator; 8] = [
        Operator::IsAnyOf,
        Operator::IsNoneOf,
        Operator::IsKnown,
        Operator::IsUnknown,
        Operator::After,
        Operator::Before,
        Operator::InLastDays,
        Operator::MoreThanDaysAgo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::IsAnyOf => "is_any_of",
            Operator::IsNoneOf => "is_none_of",
            Operator::IsKnown => "is_known",
            Operator::IsUnknown => "is_unknown",
            Operator::After => "after",
            Operator::Before => "before",
            Operator::InLastDays => "in_last_days",
            Operator::MoreThanDaysAgo => "more_than_days_ago",
        }
    }

    pub fn parse(s: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Operator::IsAnyOf => "is any of",
            Operator::IsNoneOf => "is none of",
            Operator::IsKnown => "is known",
            Operator::IsUnknown => "is unknown",
            Operator::After => "is on or after",
            Operator::Before => "is before",
            Operator::InLastDays => "is in the last (days)",
            Operator::MoreThanDaysAgo => "is more than (days) ago",
        }
    }

    /// Does the operator take values?
    pub fn takes_values(self) -> bool {
        !matches!(self, Operator::IsKnown | Operator::IsUnknown)
    }
}

/// One test of one property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Condition {
    pub property: Property,
    pub op: Operator,
    /// What to compare with; empty for is_known / is_unknown, one value for
    /// the date operators.
    #[serde(default)]
    pub values: Vec<String>,
}

/// How a view shows its tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// The list beside the open ticket.
    #[default]
    Split,
    /// The list across the whole width; a ticket opens in its place.
    Table,
    /// One column per status, tickets as cards.
    Board,
}

impl Layout {
    pub const ALL: [Layout; 3] = [Layout::Split, Layout::Table, Layout::Board];

    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Split => "split",
            Layout::Table => "table",
            Layout::Board => "board",
        }
    }

    pub fn parse(s: &str) -> Option<Layout> {
        Layout::ALL.into_iter().find(|l| l.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Layout::Split => "Split",
            Layout::Table => "Table",
            Layout::Board => "Board (by status)",
        }
    }
}

/// A column of the ticket list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Column {
    Number,
    Subject,
    Contact,
    Status,
    Priority,
    Owner,
    Team,
    Channel,
    Category,
    Created,
    Updated,
    /// The most pressing SLA goal: its state and due time.
    Sla,
}

impl Column {
    pub const ALL: [Column; 12] = [
        Column::Number,
        Column::Subject,
        Column::Contact,
        Column::Status,
        Column::Priority,
        Column::Owner,
        Column::Team,
        Column::Channel,
        Column::Category,
        Column::Created,
        Column::Updated,
        Column::Sla,
    ];

    /// The columns of the default views, and of a new custom view.
    pub const DEFAULT: [Column; 8] = [
        Column::Number,
        Column::Subject,
        Column::Contact,
        Column::Status,
        Column::Priority,
        Column::Sla,
        Column::Owner,
        Column::Updated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Column::Number => "number",
            Column::Subject => "subject",
            Column::Contact => "contact",
            Column::Status => "status",
            Column::Priority => "priority",
            Column::Owner => "owner",
            Column::Team => "team",
            Column::Channel => "channel",
            Column::Category => "category",
            Column::Created => "created",
            Column::Updated => "updated",
            Column::Sla => "sla",
        }
    }

    pub fn parse(s: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Column::Number => "#",
            Column::Subject => "Subject",
            Column::Contact => "Contact",
            Column::Status => "Status",
            Column::Priority => "Priority",
            Column::Owner => "Owner",
            Column::Team => "Team",
            Column::Channel => "Channel",
            Column::Category => "Category",
            Column::Created => "Created",
            Column::Updated => "Last activity",
            Column::Sla => "SLA",
        }
    }
}

fn default_columns() -> Vec<Column> {
    Column::DEFAULT.to_vec()
}

/// Everything a custom view shows, apart from its name and sharing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ViewDefinition {
    /// OR of groups; each group is an AND of conditions.
    #[serde(default)]
    pub groups: Vec<Vec<Condition>>,
    #[serde(default)]
    pub sort: SortKey,
    #[serde(default)]
    pub asc: bool,
    #[serde(default = "default_columns")]
    pub columns: Vec<Column>,
    #[serde(default)]
    pub layout: Layout,
}

impl Default for ViewDefinition {
    fn default() -> Self {
        ViewDefinition {
            groups: Vec::new(),
            sort: SortKey::default(),
            asc: false,
            columns: default_columns(),
            layout: Layout::default(),
        }
    }
}

/// Limits that keep one view's SQL small.
pub const MAX_GROUPS: usize = 10;
pub const MAX_CONDITIONS: usize = 20;
pub const MAX_VALUES: usize = 100;
/// Ten years, in days: the largest relative date a condition takes.
pub const MAX_DAYS: i64 = 3650;

/// A condition's value for an owner or team: a given id, the viewer, or
/// nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonValue {
    Id(i64),
    Me,
    None,
}

/// A condition with its values parsed, ready to become SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    Ints(Vec<i64>),
    Texts(Vec<String>),
    People(Vec<PersonValue>),
    Known,
    Unknown,
    /// Epoch ms: on or after (`true`) / before (`false`).
    At {
        ms: i64,
        after: bool,
    },
    /// Within the last N days (`true`) / more than N days ago (`false`).
    Days {
        days: i64,
        within: bool,
    },
}

fn bad(message: impl Into<String>) -> String {
    message.into()
}

/// Midnight UTC of a `YYYY-MM-DD` date, or an epoch-ms instant given as
/// digits.
pub fn parse_instant(value: &str) -> Option<i64> {
    let v = value.trim();
    if let Ok(ms) = v.parse::<i64>() {
        return Some(ms);
    }
    let mut parts = v.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

impl Condition {
    /// Checks the condition and parses its values. The message says what
    /// is wrong in words an admin understands.
    pub fn test(&self) -> Result<Test, String> {
        let p = self.property;
        if !p.operators().contains(&self.op) {
            return Err(bad(format!(
                "{} cannot use “{}”.",
                p.label(),
                self.op.label()
            )));
        }
        let values: Vec<&str> = self
            .values
            .iter()
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .collect();
        match self.op {
            Operator::IsKnown => return Ok(Test::Known),
            Operator::IsUnknown => return Ok(Test::Unknown),
            _ => {}
        }
        if values.is_empty() {
            return Err(bad(format!("Choose a value for {}.", p.label())));
        }
        if values.len() > MAX_VALUES {
            return Err(bad(format!("At most {MAX_VALUES} values per condition.")));
        }
        match self.op {
            Operator::After | Operator::Before => {
                let [v] = values[..] else {
                    return Err(bad(format!("Give one date for {}.", p.label())));
                };
                let ms = parse_instant(v)
                    .ok_or_else(|| bad(format!("{} needs a date like 2026-11-01.", p.label())))?;
                return Ok(Test::At {
                    ms,
                    after: self.op == Operator::After,
                });
            }
            Operator::InLastDays | Operator::MoreThanDaysAgo => {
                let [v] = values[..] else {
                    return Err(bad(format!("Give one number of days for {}.", p.label())));
                };
                let days = v
                    .parse::<i64>()
                    .ok()
                    .filter(|d| (1..=MAX_DAYS).contains(d))
                    .ok_or_else(|| {
                        bad(format!("Days must be a whole number from 1 to {MAX_DAYS}."))
                    })?;
                return Ok(Test::Days {
                    days,
                    within: self.op == Operator::InLastDays,
                });
            }
            _ => {}
        }
        let unknown = |v: &str| {
            bad(format!(
                "“{v}” is not a valid {}.",
                p.label().to_lowercase()
            ))
        };
        match p {
            Property::Status | Property::Contact | Property::Company | Property::Pipeline => values
                .iter()
                .map(|v| v.parse::<i64>().map_err(|_| unknown(v)))
                .collect::<Result<_, _>>()
                .map(Test::Ints),
            Property::Priority => values
                .iter()
                .map(|v| {
                    Priority::parse(&v.to_lowercase())
                        .map(|p| p.rank())
                        .ok_or_else(|| unknown(v))
                })
                .collect::<Result<_, _>>()
                .map(Test::Ints),
            Property::StatusCategory => values
                .iter()
                .map(|v| {
                    StatusCategory::parse(&v.to_lowercase())
                        .map(|c| c.as_str().to_string())
                        .ok_or_else(|| unknown(v))
                })
                .collect::<Result<_, _>>()
                .map(Test::Texts),
            Property::Category => values
                .iter()
                .map(|v| {
                    CATEGORIES
                        .iter()
                        .find(|c| c.eq_ignore_ascii_case(v))
                        .map(|c| c.to_string())
                        .ok_or_else(|| unknown(v))
                })
                .collect::<Result<_, _>>()
                .map(Test::Texts),
            Property::Channel => values
                .iter()
                .map(|v| {
                    let v = v.to_lowercase();
                    CHANNELS
                        .iter()
                        .find(|c| **c == v)
                        .map(|c| c.to_string())
                        .ok_or_else(|| unknown(&v))
                })
                .collect::<Result<_, _>>()
                .map(Test::Texts),
            Property::Owner | Property::Team => values
                .iter()
                .map(|v| match *v {
                    "none" => Ok(PersonValue::None),
                    "me" if p == Property::Owner => Ok(PersonValue::Me),
                    _ => v
                        .parse::<i64>()
                        .map(PersonValue::Id)
                        .map_err(|_| unknown(v)),
                })
                .collect::<Result<_, _>>()
                .map(Test::People),
            Property::SlaState => values
                .iter()
                .map(|v| {
                    crate::sla::SlaState::parse(&v.to_lowercase())
                        .filter(|s| s.is_running())
                        .map(|s| s.as_str().to_string())
                        .ok_or_else(|| unknown(v))
                })
                .collect::<Result<_, _>>()
                .map(Test::Texts),
            Property::CreatedAt
            | Property::UpdatedAt
            | Property::LastCustomerMessageAt
            | Property::SlaDueAt => Err(bad(format!(
                "{} cannot use “{}”.",
                p.label(),
                self.op.label()
            ))),
        }
    }
}

impl ViewDefinition {
    /// Checks every condition and the limits. Returns the message for the
    /// `definition` field.
    pub fn validate(&self) -> Result<(), String> {
        if self.groups.len() > MAX_GROUPS {
            return Err(format!("At most {MAX_GROUPS} filter groups."));
        }
        let conditions: usize = self.groups.iter().map(Vec::len).sum();
        if conditions > MAX_CONDITIONS {
            return Err(format!("At most {MAX_CONDITIONS} conditions in all."));
        }
        if self.groups.iter().any(Vec::is_empty) {
            return Err("A filter group needs at least one condition.".into());
        }
        for c in self.groups.iter().flatten() {
            c.test()?;
        }
        if self.columns.is_empty() {
            return Err("Choose at least one column.".into());
        }
        let mut seen = std::collections::HashSet::new();
        if !self.columns.iter().all(|c| seen.insert(*c)) {
            return Err("Each column can be shown once.".into());
        }
        Ok(())
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

    #[test]
    fn values_are_parsed_per_property() {
        assert_eq!(
            cond(Property::Priority, Operator::IsAnyOf, &["High", "urgent"]).test(),
            Ok(Test::Ints(vec![2, 3]))
        );
        assert_eq!(
            cond(Property::Owner, Operator::IsAnyOf, &["me", "none", "7"]).test(),
            Ok(Test::People(vec![
                PersonValue::Me,
                PersonValue::None,
                PersonValue::Id(7)
            ]))
        );
        assert_eq!(
            cond(Property::Channel, Operator::IsNoneOf, &["EMAIL"]).test(),
            Ok(Test::Texts(vec!["email".into()]))
        );
        assert_eq!(
            cond(Property::CreatedAt, Operator::After, &["2026-11-01"]).test(),
            Ok(Test::At {
                ms: 1_793_491_200_000,
                after: true
            })
        );
        assert_eq!(
            cond(Property::UpdatedAt, Operator::InLastDays, &["7"]).test(),
            Ok(Test::Days {
                days: 7,
                within: true
            })
        );
        assert_eq!(
            cond(Property::Team, Operator::IsUnknown, &[]).test(),
            Ok(Test::Unknown)
        );
    }

    #[test]
    fn bad_conditions_say_why() {
        let cases = [
            cond(Property::Priority, Operator::IsAnyOf, &["extreme"]),
            cond(Property::Priority, Operator::IsAnyOf, &[]),
            cond(Property::Priority, Operator::IsKnown, &[]),
            cond(Property::Team, Operator::IsAnyOf, &["me"]),
            cond(Property::Status, Operator::InLastDays, &["3"]),
            cond(Property::CreatedAt, Operator::IsAnyOf, &["3"]),
            cond(Property::CreatedAt, Operator::After, &["2026-13-01"]),
            cond(Property::CreatedAt, Operator::After, &["a", "b"]),
            cond(Property::UpdatedAt, Operator::InLastDays, &["0"]),
            cond(Property::UpdatedAt, Operator::InLastDays, &["99999"]),
            cond(Property::Category, Operator::IsAnyOf, &["Gossip"]),
        ];
        for c in cases {
            assert!(c.test().is_err(), "{c:?} was accepted");
        }
    }

    #[test]
    fn definitions_enforce_limits() {
        let ok = ViewDefinition {
            groups: vec![vec![cond(Property::Priority, Operator::IsAnyOf, &["high"])]],
            ..Default::default()
        };
        assert_eq!(ok.validate(), Ok(()));
        let mut empty_group = ok.clone();
        empty_group.groups.push(Vec::new());
        assert!(empty_group.validate().is_err());
        let mut no_columns = ok.clone();
        no_columns.columns.clear();
        assert!(no_columns.validate().is_err());
        let mut twice = ok.clone();
        twice.columns.push(Column::Number);
        assert!(twice.validate().is_err());
        let many = ViewDefinition {
            groups: vec![vec![cond(Property::Priority, Operator::IsAnyOf, &["high"]); 11]; 2],
            ..Default::default()
        };
        assert!(many.validate().is_err());
    }

    #[test]
    fn names_round_trip() {
        for p in Property::ALL {
            assert_eq!(Property::parse(p.as_str()), Some(p));
            assert!(!p.operators().is_empty());
        }
        for o in Operator::ALL {
            assert_eq!(Operator::parse(o.as_str()), Some(o));
        }
        for c in Column::ALL {
            assert_eq!(Column::parse(c.as_str()), Some(c));
        }
        for l in Layout::ALL {
            assert_eq!(Layout::parse(l.as_str()), Some(l));
        }
    }

    #[test]
    fn definitions_read_with_defaults() {
        let d: ViewDefinition = serde_json::from_str(
            r#"{"groups":[[{"property":"owner","op":"is_any_of","values":["me"]}]]}"#,
        )
        .unwrap();
        assert_eq!(d.columns, Column::DEFAULT.to_vec());
        assert_eq!(d.layout, Layout::Split);
    }
}
