//! Search: full-text over ticket subjects, thread entries, contact names,
//! emails and phone numbers, and ticket numbers, inside the database
//! (SQLite FTS5 or PostgreSQL full-text search; no search server). A search
//! can be limited to a view, and only ever sees what the caller may see.
//!
//! `service` (server only) runs the queries; `palette` is the search box
//! and the Ctrl/Cmd-K command palette of the workspace.

pub mod palette;
#[cfg(feature = "ssr")]
pub mod service;

use crate::tickets::Ticket;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a result matched, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MatchedIn {
    /// The query is the ticket's number.
    Number,
    Subject,
    Contact,
    /// A thread entry (reply, note or customer message).
    Message,
}

/// One ticket found, with the passage that matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub ticket: Ticket,
    pub matched_in: MatchedIn,
    /// The matching passage as HTML: escaped text with the matched words in
    /// `<mark>`. Nothing else, so it is safe to render.
    pub snippet_html: String,
    /// The thread entry the snippet comes from, when it is one.
    pub message_id: Option<i64>,
}

/// A contact whose name, email or phone matched, on a ticket the caller
/// may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ContactHit {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SearchResults {
    /// Best first.
    pub hits: Vec<SearchHit>,
    /// How many tickets matched (at least; see `total_capped`).
    pub total: i64,
    /// More may match: the search stopped after the newest matches of a
    /// very common word.
    pub total_capped: bool,
    pub contacts: Vec<ContactHit>,
}

/// `GET /api/v1/search` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
pub struct SearchQuery {
    /// Words (the last may be a beginning: "refu" finds "refund"), or a
    /// ticket number ("1234" or "#1234").
    pub q: String,
    /// Search only this view's tickets: a default view's slug or a custom
    /// view's id.
    pub view: Option<String>,
    /// Results to return, 1..=50 (default 20).
    pub limit: Option<i64>,
}

/// The search box and the palette call this as one types.
#[server(prefix = "/rpc", endpoint = "search_tickets")]
pub async fn search_tickets(
    q: String,
    view: Option<String>,
    limit: Option<i64>,
) -> Result<SearchResults, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        service::search(&state.db, &user, &SearchQuery { q, view, limit }).await
    })
    .await
}
