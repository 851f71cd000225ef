//! Ticket actions beyond editing properties: merge and unmerge, split,
//! trash and restore, and bulk actions on selected rows. The shared request
//! and answer types (REST and server functions), the server functions the
//! workspace calls, and, server only, the rules in `service`.

pub mod components;
#[cfg(feature = "ssr")]
pub mod service;

use super::{Ticket, TicketPatch};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// Most tickets one bulk action applies to.
pub const MAX_BULK: usize = 100;
/// How long a deleted ticket stays in the trash before it is purged.
pub const TRASH_DAYS: i64 = 30;

/// `POST /api/v1/tickets/{id}/merge`: the path's ticket is the primary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MergeRequest {
    pub ticket_ids: Vec<i64>,
}

/// `POST /api/v1/tickets/{id}/unmerge`: the secondary to bring back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UnmergeRequest {
    pub ticket_id: i64,
}

/// `POST /api/v1/tickets/{id}/split`: the thread entries to split off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SplitRequest {
    pub message_ids: Vec<i64>,
}

/// `POST /api/v1/tickets/{id}/move`: another pipeline (its status mapped
/// to the new pipeline's first status of the same category unless one is
/// given), team or owner. `null` clears team or owner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MoveRequest {
    pub pipeline_id: Option<i64>,
    /// Status by name within the target pipeline.
    pub status: Option<String>,
    pub status_id: Option<i64>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<i64>))]
    pub team_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<i64>))]
    pub owner_id: Option<Option<i64>>,
}

impl From<MoveRequest> for TicketPatch {
    fn from(m: MoveRequest) -> TicketPatch {
        TicketPatch {
            pipeline_id: m.pipeline_id,
            status: m.status,
            status_id: m.status_id,
            team_id: m.team_id,
            owner_id: m.owner_id,
            ..Default::default()
        }
    }
}

/// What a bulk action does to each chosen ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum BulkAction {
    /// Assign, change status or priority, move: any ticket patch.
    Update { patch: TicketPatch },
    /// Move to the trash.
    Delete,
    /// Take out of the trash.
    Restore,
    /// Merge the other chosen tickets into `primary_id` (one of them).
    Merge { primary_id: i64 },
}

/// `POST /api/v1/tickets/bulk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BulkRequest {
    pub ticket_ids: Vec<i64>,
    #[serde(flatten)]
    pub action: BulkAction,
}

/// What a bulk action did: the tickets it changed, and why the others
/// were refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BulkOutcome {
    pub done: Vec<i64>,
    pub failed: Vec<BulkFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BulkFailure {
    pub id: i64,
    pub message: String,
}

#[server(prefix = "/rpc", endpoint = "merge_tickets", input = Json)]
pub async fn merge_tickets(primary_id: i64, ticket_ids: Vec<i64>) -> Result<Ticket, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        service::merge(&state.db, &user, primary_id, &ticket_ids).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "unmerge_ticket")]
pub async fn unmerge_ticket(primary_id: i64, ticket_id: i64) -> Result<Ticket, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        service::unmerge(&state.db, &user, primary_id, ticket_id).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "split_ticket", input = Json)]
pub async fn split_ticket(ticket_id: i64, message_ids: Vec<i64>) -> Result<Ticket, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        service::split(&state.db, &user, ticket_id, &message_ids).await
    })
    .await
}

/// Moves to the trash (`restore` false) or back out of it.
#[server(prefix = "/rpc", endpoint = "trash_ticket")]
pub async fn trash_ticket(id: i64, restore: bool) -> Result<Ticket, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        if restore {
            service::restore(&state.db, &user, id).await
        } else {
            service::trash(&state.db, &user, id).await
        }
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "bulk_tickets", input = Json)]
pub async fn bulk_tickets(request: BulkRequest) -> Result<BulkOutcome, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        service::bulk(&state.db, &user, &request.ticket_ids, request.action).await
    })
    .await
}
