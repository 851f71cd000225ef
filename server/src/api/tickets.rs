//! `/api/v1/tickets` and their threads.

use super::{ApiJson, ApiPath, ApiQuery, ApiResult, Caller};
use app::messages::{service as messages, NewEntry, ThreadEntry};
use app::state::AppState;
use app::tickets::actions::{
    service as actions, BulkOutcome, BulkRequest, MergeRequest, MoveRequest, SplitRequest,
    UnmergeRequest,
};
use app::tickets::{service as tickets, NewTicket, Ticket, TicketPage, TicketPatch, TicketQuery};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;

/// Lists tickets: a view or all, filtered, sorted, one keyset page.
#[utoipa::path(get, path = "/api/v1/tickets", params(TicketQuery), tag = "tickets",
    responses((status = 200, body = TicketPage)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiQuery(query): ApiQuery<TicketQuery>,
) -> ApiResult<Json<TicketPage>> {
    Ok(Json(tickets::list(&state.db, &user, &query).await?))
}

/// Creates a ticket, its contact (matched by email) and first message.
#[utoipa::path(post, path = "/api/v1/tickets", request_body = NewTicket, tag = "tickets",
    responses((status = 201, body = Ticket), (status = 422), (status = 403)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(input): ApiJson<NewTicket>,
) -> ApiResult<impl IntoResponse> {
    let ticket = tickets::create(&state.db, &user, input, "api").await?;
    Ok((StatusCode::CREATED, Json(ticket)))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}", params(("id" = i64, Path)), tag = "tickets",
    responses((status = 200, body = Ticket), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Ticket>> {
    Ok(Json(tickets::get(&state.db, &user, id).await?))
}

/// Changes properties; absent fields are kept, `null` clears owner, team
/// or category.
#[utoipa::path(patch, path = "/api/v1/tickets/{id}", params(("id" = i64, Path)), request_body = TicketPatch,
    tag = "tickets", responses((status = 200, body = Ticket), (status = 404), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<TicketPatch>,
) -> ApiResult<Json<Ticket>> {
    Ok(Json(tickets::update(&state.db, &user, id, patch).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Thread {
    pub messages: Vec<ThreadEntry>,
}

/// The ticket's thread, oldest first.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/messages", params(("id" = i64, Path)), tag = "tickets",
    responses((status = 200, body = Thread), (status = 404)))]
pub async fn list_messages(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Thread>> {
    Ok(Json(Thread {
        messages: messages::list(&state.db, &user, id).await?,
    }))
}

/// Adds a reply or an internal note.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/messages", params(("id" = i64, Path)), request_body = NewEntry,
    tag = "tickets", responses((status = 201, body = ThreadEntry), (status = 403), (status = 404), (status = 422)))]
pub async fn add_message(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(entry): ApiJson<NewEntry>,
) -> ApiResult<impl IntoResponse> {
    let entry = messages::add(&state, &user, id, entry).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// Merges the listed tickets into this one (the primary). All or nothing.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/merge", params(("id" = i64, Path)), request_body = MergeRequest,
    tag = "tickets", responses((status = 200, body = Ticket), (status = 404), (status = 409), (status = 422)))]
pub async fn merge(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<MergeRequest>,
) -> ApiResult<Json<Ticket>> {
    Ok(Json(
        actions::merge(&state.db, &user, id, &input.ticket_ids).await?,
    ))
}

/// Undoes the merge of `ticket_id` into this ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/unmerge", params(("id" = i64, Path)), request_body = UnmergeRequest,
    tag = "tickets", responses((status = 200, body = Ticket), (status = 404), (status = 422)))]
pub async fn unmerge(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<UnmergeRequest>,
) -> ApiResult<Json<Ticket>> {
    Ok(Json(
        actions::unmerge(&state.db, &user, id, input.ticket_id).await?,
    ))
}

/// Makes a new ticket of the chosen thread entries; answers the new ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/split", params(("id" = i64, Path)), request_body = SplitRequest,
    tag = "tickets", responses((status = 201, body = Ticket), (status = 404), (status = 422)))]
pub async fn split(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<SplitRequest>,
) -> ApiResult<impl IntoResponse> {
    let ticket = actions::split(&state.db, &user, id, &input.message_ids).await?;
    Ok((StatusCode::CREATED, Json(ticket)))
}

/// Moves the ticket to another pipeline, team or owner.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/move", params(("id" = i64, Path)), request_body = MoveRequest,
    tag = "tickets", responses((status = 200, body = Ticket), (status = 404), (status = 422)))]
pub async fn move_ticket(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<MoveRequest>,
) -> ApiResult<Json<Ticket>> {
    Ok(Json(
        tickets::update(&state.db, &user, id, input.into()).await?,
    ))
}

/// Moves the ticket to the trash; it can be restored for 30 days.
#[utoipa::path(delete, path = "/api/v1/tickets/{id}", params(("id" = i64, Path)), tag = "tickets",
    responses((status = 200, body = Ticket), (status = 404), (status = 409)))]
pub async fn trash(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Ticket>> {
    Ok(Json(actions::trash(&state.db, &user, id).await?))
}

/// Takes the ticket back out of the trash.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/restore", params(("id" = i64, Path)), tag = "tickets",
    responses((status = 200, body = Ticket), (status = 404), (status = 409)))]
pub async fn restore(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Ticket>> {
    Ok(Json(actions::restore(&state.db, &user, id).await?))
}

/// One action on many tickets: `{"ticket_ids": [...], "action": "update",
/// "patch": {...}}`, or `"delete"`, `"restore"`, or `"merge"` with
/// `"primary_id"`.
#[utoipa::path(post, path = "/api/v1/tickets/bulk", request_body = BulkRequest, tag = "tickets",
    responses((status = 200, body = BulkOutcome), (status = 422)))]
pub async fn bulk(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(input): ApiJson<BulkRequest>,
) -> ApiResult<Json<BulkOutcome>> {
    Ok(Json(
        actions::bulk(&state.db, &user, &input.ticket_ids, input.action).await?,
    ))
}
