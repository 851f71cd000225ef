//! `/api/v1/users` and `/api/v1/teams` (super admins only).

use super::{ApiJson, ApiPath, ApiResult, Caller};
use app::error::AppError;
use app::state::AppState;
use app::users::{service as users, Availability, NewUser, Team, User, UserPatch};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};

fn require_admin(user: &User) -> Result<(), AppError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "Only super admins can manage users and teams.",
        ))
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserList {
    pub users: Vec<User>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "admin", responses((status = 200, body = UserList), (status = 403)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> ApiResult<Json<UserList>> {
    require_admin(&user)?;
    Ok(Json(UserList {
        users: users::list(&state.db).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/users", request_body = NewUser, tag = "admin",
    responses((status = 201, body = User), (status = 403), (status = 409), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(input): ApiJson<NewUser>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(users::create(&state.db, &user, input).await?),
    ))
}

/// Changes a user's name, role, access, teams or active flag. Takes effect
/// at once, including on the user's open live connections.
#[utoipa::path(patch, path = "/api/v1/users/{id}", params(("id" = i64, Path)), request_body = UserPatch,
    tag = "admin", responses((status = 200, body = User), (status = 403), (status = 404), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult<Json<User>> {
    Ok(Json(users::update(&state.db, &user, id, patch).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AvailabilityChange {
    pub availability: Availability,
}

/// Sets the caller's availability (available or away).
#[utoipa::path(put, path = "/api/v1/me/availability", request_body = AvailabilityChange,
    tag = "session", responses((status = 200, body = User), (status = 401), (status = 422)))]
pub async fn set_availability(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(change): ApiJson<AvailabilityChange>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        users::set_availability(&state.db, &user, change.availability).await?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TeamList {
    pub teams: Vec<Team>,
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "admin", responses((status = 200, body = TeamList), (status = 403)))]
pub async fn list_teams(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> ApiResult<Json<TeamList>> {
    require_admin(&user)?;
    Ok(Json(TeamList {
        teams: users::list_teams(&state.db).await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewTeam {
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/teams", request_body = NewTeam, tag = "admin",
    responses((status = 201, body = Team), (status = 403), (status = 409)))]
pub async fn create_team(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(input): ApiJson<NewTeam>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(users::create_team(&state.db, &user, &input.name).await?),
    ))
}
