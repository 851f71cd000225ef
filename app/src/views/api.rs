//! Server functions the workspace calls for views, follows and view
//! preferences. Each one authenticates the caller and hands over to
//! [`super::service`], which owns the rules (the REST API calls the same).

use super::{CustomView, NewView, ViewPreferences, ViewSummary, ViewVersion};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// The caller's views, in their order, with counts.
#[server(prefix = "/rpc", endpoint = "list_views")]
pub async fn list_views() -> Result<Vec<ViewSummary>, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        let directory = crate::workspace::directory::for_request(&state).await?;
        super::service::summaries(&state, &directory, &user).await
    })
    .await
}

/// Creates a custom view (`id` = None) or changes one.
#[server(prefix = "/rpc", endpoint = "save_view", input = Json)]
pub async fn save_view(id: Option<i64>, view: NewView) -> Result<CustomView, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        match id {
            None => super::service::create(&state.db, &user, view).await,
            Some(id) => {
                let patch = super::ViewPatch {
                    name: Some(view.name),
                    sharing: Some(view.sharing),
                    team_ids: Some(view.team_ids),
                    definition: Some(view.definition),
                };
                super::service::update(&state.db, &user, id, patch).await
            }
        }
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "delete_view")]
pub async fn delete_view(id: i64) -> Result<(), ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::delete(&state.db, &user, id).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "view_versions")]
pub async fn view_versions(id: i64) -> Result<Vec<ViewVersion>, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::versions(&state.db, &user, id).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "rollback_view")]
pub async fn rollback_view(id: i64, version: i64) -> Result<CustomView, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::rollback(&state.db, &user, id, version).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "set_view_preferences", input = Json)]
pub async fn set_view_preferences(
    preferences: ViewPreferences,
) -> Result<Vec<ViewSummary>, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::set_preferences(&state, &user, preferences).await?;
        // Read after the change, not the request's copy: it shows the new order.
        let directory = state.directory.get(&state.db).await?;
        super::service::summaries(&state, &directory, &user).await
    })
    .await
}

/// Follows (`on`) or unfollows a ticket; answers whether the caller now
/// follows it.
#[server(prefix = "/rpc", endpoint = "follow_ticket")]
pub async fn follow_ticket(ticket_id: i64, on: bool) -> Result<bool, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::follow(&state.db, &user, ticket_id, on).await
    })
    .await
}
