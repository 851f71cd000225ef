//! The right sidebar of the open ticket: a list of cards that super admins
//! arrange.
//!
//! There is a default layout and, optionally, one per team, shown to the
//! members of that team (a user in several teams with layouts gets the
//! first team's, by team id). Every save is a new version, so a layout can
//! be rolled back; a rollback is itself a save. Agents with a ticket open
//! see a saved layout at once (a `settings.changed` event reloads it).
//!
//! `service` (server only) stores layouts; `editor` is the settings page.

#[cfg(feature = "ssr")]
pub mod service;

pub mod editor;

use serde::{Deserialize, Serialize};

/// What a card shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    /// The customer: name and email.
    Contact,
    /// The customer's company.
    Company,
    /// Chosen ticket properties, each editable or read-only.
    Properties,
    /// The SLA goals with their state and due time.
    Sla,
    /// The contact's other tickets.
    ContactTickets,
    /// Call recordings and transcripts of the ticket.
    Calls,
}

impl CardKind {
    pub const ALL: [CardKind; 6] = [
        CardKind::Contact,
        CardKind::Company,
        CardKind::Properties,
        CardKind::Sla,
        CardKind::ContactTickets,
        CardKind::Calls,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CardKind::Contact => "contact",
            CardKind::Company => "company",
            CardKind::Properties => "properties",
            CardKind::Sla => "sla",
            CardKind::ContactTickets => "contact_tickets",
            CardKind::Calls => "calls",
        }
    }

    pub fn parse(s: &str) -> Option<CardKind> {
        CardKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            CardKind::Contact => "Contact",
            CardKind::Company => "Company",
            CardKind::Properties => "Ticket properties",
            CardKind::Sla => "SLA",
            CardKind::ContactTickets => "Other tickets of the contact",
            CardKind::Calls => "Calls and transcripts",
        }
    }
}

/// A ticket property a properties card can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TicketField {
    Status,
    Priority,
    Category,
    Owner,
    Team,
    Channel,
    Pipeline,
    Created,
    LastActivity,
    FirstReply,
    Closed,
}

impl TicketField {
    pub const ALL: [TicketField; 11] = [
        TicketField::Status,
        TicketField::Priority,
        TicketField::Category,
        TicketField::Owner,
        TicketField::Team,
        TicketField::Channel,
        TicketField::Pipeline,
        TicketField::Created,
        TicketField::LastActivity,
        TicketField::FirstReply,
        TicketField::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketField::Status => "status",
            TicketField::Priority => "priority",
            TicketField::Category => "category",
            TicketField::Owner => "owner",
            TicketField::Team => "team",
            TicketField::Channel => "channel",
            TicketField::Pipeline => "pipeline",
            TicketField::Created => "created",
            TicketField::LastActivity => "last_activity",
            TicketField::FirstReply => "first_reply",
            TicketField::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<TicketField> {
        TicketField::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            TicketField::Status => "Status",
            TicketField::Priority => "Priority",
            TicketField::Category => "Category",
            TicketField::Owner => "Owner",
            TicketField::Team => "Team",
            TicketField::Channel => "Channel",
            TicketField::Pipeline => "Pipeline",
            TicketField::Created => "Created",
            TicketField::LastActivity => "Last activity",
            TicketField::FirstReply => "First reply",
            TicketField::Closed => "Closed",
        }
    }

    /// Can agents change it from the sidebar? (Times and the channel are
    /// facts, never edited.)
    pub fn can_be_editable(self) -> bool {
        matches!(
            self,
            TicketField::Status
                | TicketField::Priority
                | TicketField::Category
                | TicketField::Owner
                | TicketField::Team
        )
    }
}

/// One property of a properties card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PropertySlot {
    pub field: TicketField,
    pub editable: bool,
}

/// One card of the sidebar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Card {
    pub kind: CardKind,
    /// Shown instead of the kind's name when set.
    #[serde(default)]
    pub title: Option<String>,
    /// For a properties card: which, in order.
    #[serde(default)]
    pub properties: Vec<PropertySlot>,
}

impl Card {
    pub fn of(kind: CardKind) -> Card {
        Card {
            kind,
            title: None,
            properties: if kind == CardKind::Properties {
                default_properties()
            } else {
                Vec::new()
            },
        }
    }

    pub fn heading(&self) -> String {
        self.title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| self.kind.label().to_string())
    }
}

fn default_properties() -> Vec<PropertySlot> {
    TicketField::ALL
        .into_iter()
        .filter(|f| f.can_be_editable())
        .map(|field| PropertySlot {
            field,
            editable: true,
        })
        .chain(
            [
                TicketField::Created,
                TicketField::LastActivity,
                TicketField::FirstReply,
                TicketField::Closed,
            ]
            .map(|field| PropertySlot {
                field,
                editable: false,
            }),
        )
        .collect()
}

/// A saved layout (or the built-in default, version 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SidebarLayout {
    /// The team it is for; the default layout when null.
    pub team_id: Option<i64>,
    /// 0 for the built-in default that was never saved.
    pub version: i64,
    pub cards: Vec<Card>,
    pub saved_at: Option<i64>,
    pub saved_by: Option<String>,
}

impl SidebarLayout {
    /// What a help desk shows before anyone arranged it.
    pub fn built_in() -> SidebarLayout {
        SidebarLayout {
            team_id: None,
            version: 0,
            cards: [
                CardKind::Contact,
                CardKind::Sla,
                CardKind::Properties,
                CardKind::ContactTickets,
            ]
            .map(Card::of)
            .to_vec(),
            saved_at: None,
            saved_by: None,
        }
    }
}

/// Input for saving a layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SidebarLayoutInput {
    #[serde(default)]
    pub team_id: Option<i64>,
    pub cards: Vec<Card>,
}

/// Most cards in a layout and properties in a card.
pub const MAX_CARDS: usize = 20;
pub const MAX_PROPERTIES: usize = 50;

/// Checks a layout's cards; the message is for the `cards` field.
pub fn validate_cards(cards: &[Card]) -> Result<(), String> {
    if cards.is_empty() {
        return Err("Keep at least one card.".into());
    }
    if cards.len() > MAX_CARDS {
        return Err(format!("At most {MAX_CARDS} cards."));
    }
    for card in cards {
        if card
            .title
            .as_deref()
            .is_some_and(|t| t.chars().count() > 60)
        {
            return Err("Card titles are at most 60 characters.".into());
        }
        if card.kind != CardKind::Properties {
            if !card.properties.is_empty() {
                return Err(format!(
                    "The {} card has no properties to choose.",
                    card.kind.label()
                ));
            }
            continue;
        }
        if card.properties.is_empty() {
            return Err("A properties card needs at least one property.".into());
        }
        if card.properties.len() > MAX_PROPERTIES {
            return Err(format!("At most {MAX_PROPERTIES} properties in a card."));
        }
        let mut seen = std::collections::HashSet::new();
        for slot in &card.properties {
            if !seen.insert(slot.field) {
                return Err(format!("{} is in the card twice.", slot.field.label()));
            }
            if slot.editable && !slot.field.can_be_editable() {
                return Err(format!("{} cannot be edited.", slot.field.label()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_layout_is_valid() {
        assert!(validate_cards(&SidebarLayout::built_in().cards).is_ok());
    }

    #[test]
    fn bad_layouts_say_why() {
        assert!(validate_cards(&[]).is_err());
        let mut props = Card::of(CardKind::Properties);
        props.properties.push(props.properties[0]);
        assert!(validate_cards(&[props]).is_err());
        let mut props = Card::of(CardKind::Properties);
        props.properties = vec![PropertySlot {
            field: TicketField::Created,
            editable: true,
        }];
        assert!(validate_cards(&[props]).is_err());
        let mut contact = Card::of(CardKind::Contact);
        contact.properties = Card::of(CardKind::Properties).properties;
        assert!(validate_cards(&[contact]).is_err());
        assert!(validate_cards(&vec![Card::of(CardKind::Sla); MAX_CARDS + 1]).is_err());
    }
}
