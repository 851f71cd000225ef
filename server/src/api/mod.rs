//! REST API v1 (`/api/v1`). Handlers are thin: they authenticate, decode
//! the request and call the same services as the server functions.
//! Errors are `{"error": {"code", "message", "field"?}}` with the matching
//! HTTP status.

mod channels;
mod contacts;
pub mod events;
mod openapi;
mod search;
mod session;
mod settings;
mod tickets;
mod users;
mod views;

use app::error::AppError;
use app::state::AppState;
use app::users::User;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use serde_json::json;

/// Routes that take large uploads, outside the 1 MiB body limit (each
/// enforces its own).
pub fn upload_router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/channels/{id}/imports/mbox",
        post(channels::import_mbox),
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/session", post(session::sign_in).delete(session::sign_out))
        .route("/me", get(session::me))
        .route("/tokens", post(session::create_token))
        .route("/tickets", get(tickets::list).post(tickets::create))
        .route("/tickets/bulk", post(tickets::bulk))
        .route(
            "/tickets/{id}",
            get(tickets::get)
                .patch(tickets::update)
                .delete(tickets::trash),
        )
        .route("/tickets/{id}/merge", post(tickets::merge))
        .route("/tickets/{id}/unmerge", post(tickets::unmerge))
        .route("/tickets/{id}/split", post(tickets::split))
        .route("/tickets/{id}/move", post(tickets::move_ticket))
        .route("/tickets/{id}/restore", post(tickets::restore))
        .route("/search", get(search::search))
        .route(
            "/tickets/{id}/messages",
            get(tickets::list_messages).post(tickets::add_message),
        )
        .route("/contacts", get(contacts::list).post(contacts::create))
        .route("/contacts/{id}", get(contacts::get))
        .route("/users", get(users::list).post(users::create))
        .route("/users/loads", get(settings::loads))
        .route("/users/{id}", patch(users::update))
        .route("/me/availability", put(users::set_availability))
        .route("/teams", get(users::list_teams).post(users::create_team))
        .route("/views", get(views::list).post(views::create))
        .route(
            "/views/{id}",
            get(views::get).patch(views::update).delete(views::delete),
        )
        .route("/views/{id}/tickets", get(views::tickets))
        .route("/views/{id}/versions", get(views::versions))
        .route("/views/{id}/rollback", post(views::rollback))
        .route(
            "/me/views",
            get(views::preferences).put(views::set_preferences),
        )
        .route(
            "/tickets/{id}/follow",
            post(views::follow).delete(views::unfollow),
        )
        .route("/channels", get(channels::list).post(channels::create))
        .route(
            "/channels/{id}",
            get(channels::get)
                .patch(channels::update)
                .delete(channels::delete),
        )
        .route(
            "/channels/{id}/imports",
            get(channels::list_imports).post(channels::import_imap),
        )
        .route("/imports/{id}", get(channels::get_import))
        .route("/email-quarantine", get(channels::quarantine))
        .route("/email-quarantine/{id}/raw", get(channels::quarantine_raw))
        .route("/attachments/{id}", get(channels::attachment))
        .route(
            "/calendars",
            get(settings::list_calendars).post(settings::create_calendar),
        )
        .route(
            "/calendars/{id}",
            put(settings::update_calendar).delete(settings::delete_calendar),
        )
        .route(
            "/routing-rules",
            get(settings::list_rules).post(settings::create_rule),
        )
        .route(
            "/routing-rules/{id}",
            put(settings::update_rule).delete(settings::delete_rule),
        )
        .route(
            "/sla-policies",
            get(settings::list_policies).post(settings::create_policy),
        )
        .route(
            "/sla-policies/{id}",
            put(settings::update_policy).delete(settings::delete_policy),
        )
        .route(
            "/sidebar-layouts",
            get(settings::list_layouts).put(settings::save_layout),
        )
        .route("/sidebar-layouts/versions", get(settings::layout_versions))
        .route("/sidebar-layouts/rollback", post(settings::rollback_layout))
        .route(
            "/sidebar-layouts/teams/{id}",
            axum::routing::delete(settings::remove_team_layout),
        )
        .route("/events", get(events::connect))
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async { ApiError::from(AppError::not_found("API endpoint")) })
}

/// An error as the REST API reports it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        let field = match &err {
            AppError::Invalid { field, .. } => Some(field.clone()),
            _ => None,
        };
        ApiError {
            status: StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: err.code(),
            message: err.to_string(),
            field,
        }
    }
}

/// Maps an extractor rejection (bad JSON, wrong types, too large) to the
/// API's error shape, keeping axum's status (400, 413, 415, 422).
fn rejection(status: StatusCode, text: String) -> ApiError {
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        _ => "bad_request",
    };
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!(
            "The request body is too large (at most {} bytes).",
            crate::MAX_BODY_BYTES
        )
    } else {
        text
    };
    ApiError {
        status,
        code,
        message,
        field: None,
    }
}

/// The body limit layer answers 413 in plain text before any handler runs;
/// this gives that answer the API's JSON error shape.
pub async fn json_payload_too_large(res: Response) -> Response {
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        rejection(StatusCode::PAYLOAD_TOO_LARGE, String::new()).into_response()
    } else {
        res
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        rejection(r.status(), r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        // A malformed id cannot name anything that exists.
        let _ = r;
        ApiError::from(AppError::not_found("Resource"))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        rejection(StatusCode::BAD_REQUEST, r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

/// JSON request bodies with API-shaped rejections.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Path parameters with API-shaped rejections.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query strings with API-shaped rejections.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The authenticated caller (session cookie or Bearer token); 401 without.
pub struct Caller(pub User);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match app::auth::service::authenticate(&state.db, &parts.headers).await? {
            Some((user, _)) => Ok(Caller(user)),
            None => Err(AppError::Unauthenticated.into()),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
