//! `/api/v1/views` (default and custom views, their tickets and history),
//! `/api/v1/me/views` (the caller's choice and order of views) and
//! `/api/v1/tickets/{id}/follow`.

use super::{ApiJson, ApiPath, ApiQuery, ApiResult, Caller};
use app::error::AppError;
use app::state::AppState;
use app::tickets::{SortKey, TicketPage};
use app::views::{
    service as views, CustomView, NewView, ViewKey, ViewPatch, ViewPreferences, ViewSummary,
    ViewVersion,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct ViewList {
    pub views: Vec<ViewSummary>,
}

/// A custom view's id from the path; default views cannot be changed.
fn custom_id(id: &str) -> Result<i64, AppError> {
    match ViewKey::parse(id) {
        Some(ViewKey::Custom(id)) => Ok(id),
        Some(ViewKey::Default(_)) => Err(AppError::forbidden(
            "Default views cannot be changed; hide them under your view preferences.",
        )),
        None => Err(AppError::not_found("View")),
    }
}

/// The caller's views (default and custom), in their order, with counts.
#[utoipa::path(get, path = "/api/v1/views", tag = "views", responses((status = 200, body = ViewList)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> ApiResult<Json<ViewList>> {
    let directory = state.directory.get(&state.db).await?;
    Ok(Json(ViewList {
        views: views::summaries(&state, &directory, &user).await?,
    }))
}

/// Creates a custom view (seat agents and admins).
#[utoipa::path(post, path = "/api/v1/views", request_body = NewView, tag = "views",
    responses((status = 201, body = CustomView), (status = 403), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(input): ApiJson<NewView>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(views::create(&state.db, &user, input).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/views/{id}", params(("id" = String, Path)), tag = "views",
    responses((status = 200, body = CustomView), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CustomView>> {
    let id = match ViewKey::parse(&id) {
        Some(ViewKey::Custom(id)) => id,
        _ => return Err(AppError::not_found("View").into()),
    };
    Ok(Json(views::get(&state.db, &user, id).await?))
}

/// Changes a custom view; each change is kept in its history.
#[utoipa::path(patch, path = "/api/v1/views/{id}", params(("id" = String, Path)), request_body = ViewPatch,
    tag = "views", responses((status = 200, body = CustomView), (status = 403), (status = 404), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<ViewPatch>,
) -> ApiResult<Json<CustomView>> {
    Ok(Json(
        views::update(&state.db, &user, custom_id(&id)?, patch).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/views/{id}", params(("id" = String, Path)), tag = "views",
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    views::delete(&state.db, &user, custom_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// Overrides the view's sort.
    pub sort: Option<SortKey>,
    #[serde(default)]
    pub asc: bool,
    pub cursor: Option<String>,
    /// 1..=100, default 25.
    pub limit: Option<i64>,
}

/// One keyset page of a view's tickets (a default view's slug or a custom
/// view's id).
#[utoipa::path(get, path = "/api/v1/views/{id}/tickets", params(("id" = String, Path), PageQuery),
    tag = "views", responses((status = 200, body = TicketPage), (status = 404)))]
pub async fn tickets(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<TicketPage>> {
    let key = ViewKey::parse(&id).ok_or_else(|| AppError::not_found("View"))?;
    let sort = q.sort.map(|s| (s, q.asc));
    Ok(Json(
        views::tickets(&state.db, &user, key, sort, q.cursor, q.limit).await?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VersionList {
    pub versions: Vec<ViewVersion>,
}

/// Every saved state of a custom view, newest first.
#[utoipa::path(get, path = "/api/v1/views/{id}/versions", params(("id" = String, Path)), tag = "views",
    responses((status = 200, body = VersionList), (status = 404)))]
pub async fn versions(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<VersionList>> {
    Ok(Json(VersionList {
        versions: views::versions(&state.db, &user, custom_id(&id)?).await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Rollback {
    pub version: i64,
}

/// Restores a custom view as it was at `version` (saved as a new version).
#[utoipa::path(post, path = "/api/v1/views/{id}/rollback", params(("id" = String, Path)), request_body = Rollback,
    tag = "views", responses((status = 200, body = CustomView), (status = 403), (status = 404), (status = 422)))]
pub async fn rollback(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<Rollback>,
) -> ApiResult<Json<CustomView>> {
    Ok(Json(
        views::rollback(&state.db, &user, custom_id(&id)?, input.version).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/me/views", tag = "views", responses((status = 200, body = ViewPreferences)))]
pub async fn preferences(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> ApiResult<Json<ViewPreferences>> {
    let directory = state.directory.get(&state.db).await?;
    Ok(Json(views::preferences(&directory, &user)))
}

/// Sets which views the caller shows and in what order; answers their
/// views as `GET /api/v1/views` does.
#[utoipa::path(put, path = "/api/v1/me/views", request_body = ViewPreferences, tag = "views",
    responses((status = 200, body = ViewList), (status = 422)))]
pub async fn set_preferences(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(prefs): ApiJson<ViewPreferences>,
) -> ApiResult<Json<ViewList>> {
    views::set_preferences(&state, &user, prefs).await?;
    let directory = state.directory.get(&state.db).await?;
    Ok(Json(ViewList {
        views: views::summaries(&state, &directory, &user).await?,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Following {
    pub following: bool,
}

/// Follows a ticket: it appears in the caller's Followers view.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/follow", params(("id" = i64, Path)), tag = "tickets",
    responses((status = 200, body = Following), (status = 404)))]
pub async fn follow(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Following>> {
    Ok(Json(Following {
        following: views::follow(&state.db, &user, id, true).await?,
    }))
}

#[utoipa::path(delete, path = "/api/v1/tickets/{id}/follow", params(("id" = i64, Path)), tag = "tickets",
    responses((status = 200, body = Following), (status = 404)))]
pub async fn unfollow(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Following>> {
    Ok(Json(Following {
        following: views::follow(&state.db, &user, id, false).await?,
    }))
}
