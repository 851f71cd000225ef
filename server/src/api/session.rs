//! Sign in and out over the API, who am I, personal API tokens.

use super::{ApiJson, ApiResult, Caller};
use app::auth::service::{self as auth, CreatedToken};
use app::state::AppState;
use app::users::User;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

/// Signs in and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", request_body = SignIn, tag = "session",
    responses((status = 200, body = User), (status = 422, description = "Wrong email or password")))]
pub async fn sign_in(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<SignIn>,
) -> ApiResult<impl IntoResponse> {
    let (user, secret) = auth::sign_in(
        &state.db,
        state.config.session_ttl_ms,
        &input.email,
        &input.password,
    )
    .await?;
    let cookie = auth::session_cookie_header(
        &secret,
        state.config.session_ttl_ms,
        state.config.secure_cookies,
    );
    Ok((AppendHeaders([(header::SET_COOKIE, cookie)]), Json(user)))
}

/// Signs out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", responses((status = 204)))]
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    if let Some(secret) = auth::session_cookie(&headers) {
        auth::sign_out(&state.db, &secret).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(
            header::SET_COOKIE,
            auth::clear_cookie_header(state.config.secure_cookies),
        )]),
    ))
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", responses((status = 200, body = User), (status = 401)))]
pub async fn me(Caller(user): Caller) -> Json<User> {
    Json(user)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    pub name: String,
}

/// Creates a personal API token for the caller. The token is returned once.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = NewToken, tag = "session",
    responses((status = 201, body = CreatedToken)))]
pub async fn create_token(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(input): ApiJson<NewToken>,
) -> ApiResult<impl IntoResponse> {
    let token = auth::create_api_token(&state.db, &user, &input.name).await?;
    Ok((StatusCode::CREATED, Json(token)))
}
