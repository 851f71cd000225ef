//! Help desk settings (super admins only): `/api/v1/calendars`,
//! `/api/v1/routing-rules`, `/api/v1/sla-policies` and
//! `/api/v1/sidebar-layouts`. Users' working hours, timezone, availability
//! and capacity are set through `PATCH /api/v1/users/{id}`.

use super::{ApiJson, ApiPath, ApiQuery, ApiResult, Caller};
use app::business_hours::{service as calendars, Calendar, CalendarInput};
use app::routing::{service as routing, Load, RoutingRule, RoutingRuleInput};
use app::settings::require_admin;
use app::sidebar::{service as sidebar, SidebarLayout, SidebarLayoutInput};
use app::sla::{service as sla, SlaPolicy, SlaPolicyInput};
use app::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct CalendarList {
    pub calendars: Vec<Calendar>,
}

/// Business-hours calendars, 24/7 first.
#[utoipa::path(get, path = "/api/v1/calendars", tag = "settings",
    responses((status = 200, body = CalendarList), (status = 403)))]
pub async fn list_calendars(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> ApiResult<Json<CalendarList>> {
    require_admin(&user)?;
    Ok(Json(CalendarList {
        calendars: calendars::list(&state.db).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/calendars", request_body = CalendarInput, tag = "settings",
    responses((status = 201, body = Calendar), (status = 403), (status = 409), (status = 422)))]
pub async fn create_calendar(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(input): ApiJson<CalendarInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(calendars::create(&state.db, &user, input).await?),
    ))
}

/// Replaces a calendar; the SLA clocks of open tickets are recalculated.
#[utoipa::path(put, path = "/api/v1/calendars/{id}", params(("id" = i64, Path)), request_body = CalendarInput,
    tag = "settings", responses((status = 200, body = Calendar), (status = 403), (status = 404), (status = 422)))]
pub async fn update_calendar(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CalendarInput>,
) -> ApiResult<Json<Calendar>> {
    Ok(Json(calendars::update(&state.db, &user, id, input).await?))
}

/// Deletes a calendar that no SLA policy uses (409 otherwise).
#[utoipa::path(delete, path = "/api/v1/calendars/{id}", params(("id" = i64, Path)), tag = "settings",
    responses((status = 204), (status = 403), (status = 404), (status = 409)))]
pub async fn delete_calendar(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    calendars::delete(&state.db, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RoutingRuleList {
    pub rules: Vec<RoutingRule>,
}

/// Routing rules, in the order they are tried.
#[utoipa::path(get, path = "/api/v1/routing-rules", tag = "settings",
    responses((status = 200, body = RoutingRuleList), (status = 403)))]
pub async fn list_rules(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> ApiResult<Json<RoutingRuleList>> {
    require_admin(&user)?;
    Ok(Json(RoutingRuleList {
        rules: routing::list(&state.db).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/routing-rules", request_body = RoutingRuleInput, tag = "settings",
    responses((status = 201, body = RoutingRule), (status = 403), (status = 422)))]
pub async fn create_rule(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(input): ApiJson<RoutingRuleInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(routing::create(&state.db, &user, input).await?),
    ))
}

#[utoipa::path(put, path = "/api/v1/routing-rules/{id}", params(("id" = i64, Path)), request_body = RoutingRuleInput,
    tag = "settings", responses((status = 200, body = RoutingRule), (status = 403), (status = 404), (status = 422)))]
pub async fn update_rule(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<RoutingRuleInput>,
) -> ApiResult<Json<RoutingRule>> {
    Ok(Json(routing::update(&state.db, &user, id, input).await?))
}

#[utoipa::path(delete, path = "/api/v1/routing-rules/{id}", params(("id" = i64, Path)), tag = "settings",
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_rule(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    routing::delete(&state.db, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoadList {
    pub loads: Vec<Load>,
}

/// Each user's open tickets against their capacity ("3/10"), for the
/// assignee picker. Agents and admins.
#[utoipa::path(get, path = "/api/v1/users/loads", tag = "settings",
    responses((status = 200, body = LoadList), (status = 403)))]
pub async fn loads(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> ApiResult<Json<LoadList>> {
    if !user.can_work_tickets() {
        return Err(app::error::AppError::forbidden("Collaborators cannot assign tickets.").into());
    }
    Ok(Json(LoadList {
        loads: routing::loads(&state.db).await?,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SlaPolicyList {
    pub policies: Vec<SlaPolicy>,
}

/// SLA policies, in the order they are tried.
#[utoipa::path(get, path = "/api/v1/sla-policies", tag = "settings",
    responses((status = 200, body = SlaPolicyList), (status = 403)))]
pub async fn list_policies(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> ApiResult<Json<SlaPolicyList>> {
    require_admin(&user)?;
    Ok(Json(SlaPolicyList {
        policies: sla::list(&state.db).await?,
    }))
}

/// Creates a policy; open tickets are recalculated before the answer.
#[utoipa::path(post, path = "/api/v1/sla-policies", request_body = SlaPolicyInput, tag = "settings",
    responses((status = 201, body = SlaPolicy), (status = 403), (status = 422)))]
pub async fn create_policy(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(input): ApiJson<SlaPolicyInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(sla::create(&state, &user, input).await?),
    ))
}

/// Replaces a policy; open tickets are recalculated before the answer.
#[utoipa::path(put, path = "/api/v1/sla-policies/{id}", params(("id" = i64, Path)), request_body = SlaPolicyInput,
    tag = "settings", responses((status = 200, body = SlaPolicy), (status = 403), (status = 404), (status = 422)))]
pub async fn update_policy(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<SlaPolicyInput>,
) -> ApiResult<Json<SlaPolicy>> {
    Ok(Json(sla::update(&state, &user, id, input).await?))
}

#[utoipa::path(delete, path = "/api/v1/sla-policies/{id}", params(("id" = i64, Path)), tag = "settings",
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_policy(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    sla::delete(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LayoutList {
    /// The default layout first, then each team's.
    pub layouts: Vec<SidebarLayout>,
}

/// The current sidebar layouts.
#[utoipa::path(get, path = "/api/v1/sidebar-layouts", tag = "settings",
    responses((status = 200, body = LayoutList), (status = 403)))]
pub async fn list_layouts(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> ApiResult<Json<LayoutList>> {
    require_admin(&user)?;
    Ok(Json(LayoutList {
        layouts: sidebar::list(&state.db).await?,
    }))
}

/// Saves a new version of the default layout (no `team_id`) or a team's.
#[utoipa::path(put, path = "/api/v1/sidebar-layouts", request_body = SidebarLayoutInput, tag = "settings",
    responses((status = 200, body = SidebarLayout), (status = 403), (status = 422)))]
pub async fn save_layout(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(input): ApiJson<SidebarLayoutInput>,
) -> ApiResult<Json<SidebarLayout>> {
    Ok(Json(sidebar::save(&state.db, &user, input).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LayoutScope {
    /// A team's layout; the default layout when absent.
    pub team_id: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LayoutVersions {
    pub versions: Vec<SidebarLayout>,
}

/// Saved versions of a layout, newest first.
#[utoipa::path(get, path = "/api/v1/sidebar-layouts/versions", params(LayoutScope), tag = "settings",
    responses((status = 200, body = LayoutVersions), (status = 403)))]
pub async fn layout_versions(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiQuery(scope): ApiQuery<LayoutScope>,
) -> ApiResult<Json<LayoutVersions>> {
    Ok(Json(LayoutVersions {
        versions: sidebar::versions(&state.db, &user, scope.team_id).await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LayoutRollback {
    pub team_id: Option<i64>,
    pub version: i64,
}

/// Saves an older version again as the newest.
#[utoipa::path(post, path = "/api/v1/sidebar-layouts/rollback", request_body = LayoutRollback, tag = "settings",
    responses((status = 200, body = SidebarLayout), (status = 403), (status = 404)))]
pub async fn rollback_layout(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(input): ApiJson<LayoutRollback>,
) -> ApiResult<Json<SidebarLayout>> {
    Ok(Json(
        sidebar::rollback(&state.db, &user, input.team_id, input.version).await?,
    ))
}

/// Removes a team's layout: its members see the default again.
#[utoipa::path(delete, path = "/api/v1/sidebar-layouts/teams/{id}", params(("id" = i64, Path)), tag = "settings",
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn remove_team_layout(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    sidebar::remove_team_layout(&state.db, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
