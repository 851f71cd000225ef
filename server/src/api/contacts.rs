//! `/api/v1/contacts`.

use super::{ApiJson, ApiPath, ApiQuery, ApiResult, Caller};
use app::contacts::{service as contacts, Contact, NewContact};
use app::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ContactQuery {
    /// Name or email prefix.
    pub q: Option<String>,
    /// 1..=200, default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ContactList {
    pub contacts: Vec<Contact>,
}

#[utoipa::path(get, path = "/api/v1/contacts", params(ContactQuery), tag = "contacts",
    responses((status = 200, body = ContactList)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<ContactQuery>,
) -> ApiResult<Json<ContactList>> {
    let contacts = contacts::list(&state.db, &user, q.q.as_deref(), q.limit.unwrap_or(50)).await?;
    Ok(Json(ContactList { contacts }))
}

#[utoipa::path(post, path = "/api/v1/contacts", request_body = NewContact, tag = "contacts",
    responses((status = 201, body = Contact), (status = 409), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(input): ApiJson<NewContact>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(contacts::create(&state.db, &user, input).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", params(("id" = i64, Path)), tag = "contacts",
    responses((status = 200, body = Contact), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Contact>> {
    Ok(Json(contacts::get(&state.db, &user, id).await?))
}
