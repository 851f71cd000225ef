//! Server functions the workspace calls for tickets and threads. Each one
//! authenticates the caller and hands over to the services.

use super::{Ticket, TicketPage};
use crate::messages::ThreadEntry;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use {
    super::{NewTicket, Priority, SortKey, TicketPatch},
    crate::contacts::ContactRef,
    crate::messages::{NewEntry, NewEntryKind},
    crate::views::ViewKey,
};

/// An open ticket with its thread and what its sidebar shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketDetail {
    pub ticket: Ticket,
    pub entries: Vec<ThreadEntry>,
    /// Does the caller follow the ticket?
    pub following: bool,
    /// The sidebar layout the caller sees.
    pub layout: crate::sidebar::SidebarLayout,
    /// Open tickets per user against their capacity (the owner picker's
    /// "3/10"); empty for collaborators, who cannot assign.
    pub loads: Vec<crate::routing::Load>,
    /// The contact's company, if known.
    pub company: Option<String>,
    /// The contact's other tickets the caller may see, newest first.
    pub contact_tickets: Vec<Ticket>,
    /// The ticket that was asked for, when it had been merged into this one.
    pub merged_from: Option<super::LinkedTicket>,
    /// Tickets merged into this one (each can be unmerged).
    pub merged: Vec<super::LinkedTicket>,
    /// The ticket this one was split off from, and those split off it.
    pub split_from: Option<super::LinkedTicket>,
    pub split_into: Vec<super::LinkedTicket>,
}

/// A [`TicketDetail`] as the JSON the server wrote, as [`open_ticket`]
/// returns it; the same JSON on the wire.
///
/// Why not the `TicketDetail` itself: the workspace loads the open ticket
/// from the main WASM bundle (its resource must exist before any Suspense,
/// see `workspace::Loads`), and the code that reads a type goes where the
/// type is read. Read there, everything a ticket carries (thread, sidebar
/// layout, loads, links) would be read by code in the bundle every page
/// loads; kept as JSON text until the open ticket's own code, in its chunk,
/// calls [`TicketDetailJson::read`], that code is in the chunk too.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketDetailJson(Box<serde_json::value::RawValue>);

impl TicketDetailJson {
    #[cfg(feature = "ssr")]
    fn write(detail: &TicketDetail) -> Result<Self, crate::error::AppError> {
        serde_json::value::to_raw_value(detail)
            .map(Self)
            .map_err(|e| {
                tracing::error!(error = %e, "could not write a ticket as JSON");
                crate::error::AppError::Internal
            })
    }

    /// The ticket, read with the bundle's one JSON reader.
    pub fn read(&self) -> Result<TicketDetail, serde_json::Error> {
        crate::resource::from_json(self.0.get())
    }
}

impl PartialEq for TicketDetailJson {
    /// The same text: a reload that brings an unchanged ticket changes
    /// nothing.
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

/// One page of a view (a default view's slug or a custom view's id). The
/// view's own sort applies unless `sort` is given.
#[server(prefix = "/rpc", endpoint = "list_tickets")]
pub async fn list_tickets(
    view: String,
    sort: Option<String>,
    asc: Option<bool>,
    cursor: Option<String>,
) -> Result<TicketPage, ServerFnError> {
    crate::error::server_fn(async move {
        use crate::error::AppError;
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        let key = ViewKey::parse(&view).ok_or_else(|| AppError::not_found("View"))?;
        let sort = match sort.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some((
                SortKey::parse(s).ok_or_else(|| AppError::invalid("sort", "Unknown sort."))?,
                asc.unwrap_or(false),
            )),
            None => None,
        };
        crate::views::service::tickets(&state.db, &user, key, sort, cursor, None).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "open_ticket")]
pub async fn open_ticket(number: i64) -> Result<TicketDetailJson, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        let ticket = super::service::get_by_number(&state.db, &user, number).await?;
        let entries = crate::messages::service::list(&state.db, &user, ticket.id).await?;
        let following = crate::views::service::is_following(&state.db, &user, ticket.id).await?;
        let layout = crate::sidebar::service::for_user(&state.db, &user, None).await?;
        let loads = if user.can_work_tickets() {
            crate::routing::service::loads(&state.db).await?
        } else {
            Vec::new()
        };
        let (company, contact_tickets) = match ticket.contact_id {
            Some(contact) => {
                let company = crate::contacts::service::get(&state.db, &user, contact)
                    .await?
                    .company;
                let q = super::TicketQuery {
                    contact_id: Some(contact),
                    sort: SortKey::Created,
                    limit: Some(6),
                    ..Default::default()
                };
                let mut others = super::service::list(&state.db, &user, &q).await?.tickets;
                others.retain(|t| t.id != ticket.id);
                others.truncate(5);
                (company, others)
            }
            None => (None, Vec::new()),
        };
        use super::actions::service as actions;
        let merged_from = match ticket.merged_from {
            Some(id) => actions::link_of(&state.db, &user, id).await?,
            None => None,
        };
        let split_from = match ticket.split_from_id {
            Some(id) => actions::link_of(&state.db, &user, id).await?,
            None => None,
        };
        TicketDetailJson::write(&TicketDetail {
            merged: actions::merged_into(&state.db, &user, ticket.id).await?,
            split_into: actions::split_off(&state.db, &user, ticket.id).await?,
            merged_from,
            split_from,
            ticket,
            entries,
            following,
            layout,
            loads,
            company,
            contact_tickets,
        })
    })
    .await
}

/// Changes one property from the sidebar or header. `value` is the new
/// value as the form control gives it ("" clears owner, team, category).
#[server(prefix = "/rpc", endpoint = "update_ticket")]
pub async fn update_ticket(id: i64, field: String, value: String) -> Result<Ticket, ServerFnError> {
    crate::error::server_fn(async move {
        use crate::error::AppError;
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        let id_or_none = |field: &str| -> Result<Option<i64>, AppError> {
            if value.is_empty() {
                Ok(None)
            } else {
                value
                    .parse()
                    .map(Some)
                    .map_err(|_| AppError::invalid(field, "Invalid value."))
            }
        };
        let mut patch = TicketPatch::default();
        match field.as_str() {
            "subject" => patch.subject = Some(value.clone()),
            "status_id" => patch.status_id = id_or_none("status_id")?,
            "priority" => {
                patch.priority = Some(
                    Priority::parse(&value)
                        .ok_or_else(|| AppError::invalid("priority", "Unknown priority."))?,
                )
            }
            "category" => patch.category = Some(Some(value.clone()).filter(|v| !v.is_empty())),
            "owner_id" => patch.owner_id = Some(id_or_none("owner_id")?),
            "team_id" => patch.team_id = Some(id_or_none("team_id")?),
            "pipeline_id" => patch.pipeline_id = id_or_none("pipeline_id")?,
            _ => return Err(AppError::invalid("field", "Unknown property.")),
        }
        super::service::update(&state.db, &user, id, patch).await
    })
    .await
}

/// What happened to a reply or note sent from the composer.
// Built once per send and serialised straight away: boxing the entry would
// save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AddOutcome {
    Added(ThreadEntry),
    /// Not sent: the thread moved on while the agent was typing. The
    /// composer shows `message` and offers to send anyway.
    Stale {
        message: String,
    },
}

#[server(prefix = "/rpc", endpoint = "add_entry")]
pub async fn add_entry(
    ticket_id: i64,
    kind: String,
    body: String,
    #[server(default)] seen_message_id: Option<i64>,
    #[server(default)] confirm_stale: bool,
) -> Result<AddOutcome, ServerFnError> {
    crate::error::server_fn(async move {
        use crate::error::AppError;
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        let kind = match kind.as_str() {
            "reply" => NewEntryKind::Reply,
            "note" => NewEntryKind::Note,
            _ => return Err(AppError::invalid("kind", "Choose reply or note.")),
        };
        let entry = NewEntry {
            kind,
            body: Some(body),
            body_html: None,
            seen_message_id,
            confirm_stale,
        };
        match crate::messages::service::add(&state, &user, ticket_id, entry).await {
            Ok(entry) => Ok(AddOutcome::Added(entry)),
            Err(AppError::StaleReply(message)) => Ok(AddOutcome::Stale { message }),
            Err(e) => Err(e),
        }
    })
    .await
}

/// The create-ticket panel's form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTicketForm {
    pub subject: String,
    pub pipeline_id: Option<i64>,
    pub status_id: Option<i64>,
    pub contact_email: Option<String>,
    pub contact_name: Option<String>,
    pub priority: Option<String>,
    pub owner_id: Option<String>,
    pub body: Option<String>,
}

#[server(prefix = "/rpc", endpoint = "create_ticket")]
pub async fn create_ticket(form: CreateTicketForm) -> Result<Ticket, ServerFnError> {
    crate::error::server_fn(async move {
        use crate::error::AppError;
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        let priority = match form.priority.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => Some(
                Priority::parse(p)
                    .ok_or_else(|| AppError::invalid("priority", "Unknown priority."))?,
            ),
            None => None,
        };
        let owner_id = match form.owner_id.as_deref().filter(|o| !o.is_empty()) {
            Some(o) => Some(
                o.parse()
                    .map_err(|_| AppError::invalid("owner_id", "Invalid owner."))?,
            ),
            None => None,
        };
        let contact = form
            .contact_email
            .filter(|e| !e.trim().is_empty())
            .map(|email| ContactRef {
                email,
                name: form.contact_name.filter(|n| !n.trim().is_empty()),
            });
        let input = NewTicket {
            subject: form.subject,
            body: form.body,
            contact,
            priority,
            status_id: form.status_id,
            pipeline_id: form.pipeline_id,
            owner_id,
            channel: Some("agent".into()),
            ..Default::default()
        };
        super::service::create(&state.db, &user, input, "agent").await
    })
    .await
}
