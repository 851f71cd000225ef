//! `/api/v1/channels` (super admins), the email quarantine, history
//! imports, and attachment downloads (anyone who can see the ticket).

use super::{ApiJson, ApiPath, ApiQuery, ApiResult, Caller};
use app::channels::email::import;
use app::channels::{
    service as channels, Channel, ChannelPatch, EmailImport, NewChannel, QuarantinedEmail,
};
use app::error::AppError;
use app::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChannelList {
    pub channels: Vec<Channel>,
}

#[utoipa::path(get, path = "/api/v1/channels", tag = "channels", responses((status = 200, body = ChannelList), (status = 403)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> ApiResult<Json<ChannelList>> {
    Ok(Json(ChannelList {
        channels: channels::list(&state.db, &state.config.secret_key, &user).await?,
    }))
}

/// Connects an email channel. Passwords are stored sealed and never
/// returned. With `import_history` and an IMAP mailbox, the folder's last
/// `import_days` (default 90) days are imported as closed tickets.
#[utoipa::path(post, path = "/api/v1/channels", request_body = NewChannel, tag = "channels",
    responses((status = 201, body = Channel), (status = 403), (status = 409), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiJson(input): ApiJson<NewChannel>,
) -> ApiResult<impl IntoResponse> {
    let channel = channels::connect(&state, &user, input).await?;
    Ok((StatusCode::CREATED, Json(channel)))
}

#[utoipa::path(get, path = "/api/v1/channels/{id}", params(("id" = i64, Path)), tag = "channels",
    responses((status = 200, body = Channel), (status = 403), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Channel>> {
    Ok(Json(
        channels::get(&state.db, &state.config.secret_key, &user, id).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/channels/{id}", params(("id" = i64, Path)), request_body = ChannelPatch,
    tag = "channels", responses((status = 200, body = Channel), (status = 403), (status = 404), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<ChannelPatch>,
) -> ApiResult<Json<Channel>> {
    Ok(Json(
        channels::update(&state.db, &state.config.secret_key, &user, id, patch).await?,
    ))
}

/// Disconnects the channel: its tickets stay, unsent replies fail.
#[utoipa::path(delete, path = "/api/v1/channels/{id}", params(("id" = i64, Path)), tag = "channels",
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    channels::delete(&state.db, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportList {
    pub imports: Vec<EmailImport>,
}

#[utoipa::path(get, path = "/api/v1/channels/{id}/imports", params(("id" = i64, Path)), tag = "channels",
    responses((status = 200, body = ImportList), (status = 403)))]
pub async fn list_imports(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ImportList>> {
    Ok(Json(ImportList {
        imports: channels::list_imports(&state.db, &user, id).await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewImapImport {
    /// Mail of the last this many days (default 90).
    pub days: Option<u32>,
}

/// Imports the channel's IMAP folder in the background; poll the returned
/// import for progress.
#[utoipa::path(post, path = "/api/v1/channels/{id}/imports", params(("id" = i64, Path)), request_body = NewImapImport,
    tag = "channels", responses((status = 202, body = EmailImport), (status = 403), (status = 404), (status = 422)))]
pub async fn import_imap(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<NewImapImport>,
) -> ApiResult<impl IntoResponse> {
    let import_id = import::start_imap(&state, &user, id, input.days.unwrap_or(90)).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(channels::get_import(&state.db, &user, import_id).await?),
    ))
}

/// Largest mbox upload.
pub const MAX_MBOX_BYTES: usize = 2 * 1024 * 1024 * 1024;

/// Imports an mbox file sent as the raw request body. The file is spooled
/// to disk as it arrives and read message by message.
#[utoipa::path(post, path = "/api/v1/channels/{id}/imports/mbox", params(("id" = i64, Path)),
    request_body(content = String, content_type = "application/mbox"),
    tag = "channels", responses((status = 202, body = EmailImport), (status = 403), (status = 404), (status = 422)))]
pub async fn import_mbox(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    channels::get(&state.db, &state.config.secret_key, &user, id).await?;
    let path = std::env::temp_dir().join(format!(
        "ayuda-import-{}.mbox",
        app::auth::service::random_secret()
    ));
    let spool = async {
        let mut file = tokio::fs::File::create(&path).await?;
        let mut stream = body.into_data_stream();
        let mut size = 0usize;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(std::io::Error::other)?;
            size += chunk.len();
            if size > MAX_MBOX_BYTES {
                return Err(std::io::Error::other("too large"));
            }
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        Ok::<usize, std::io::Error>(size)
    };
    match spool.await {
        Ok(0) => {
            let _ = tokio::fs::remove_file(&path).await;
            Err(AppError::invalid("file", "The upload is empty.").into())
        }
        Ok(_) => {
            let import_id = import::start_mbox(&state, &user, id, path).await?;
            Ok((
                StatusCode::ACCEPTED,
                Json(channels::get_import(&state.db, &user, import_id).await?),
            ))
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            tracing::info!(error = %e, "mbox upload failed");
            Err(AppError::invalid("file", "The upload failed or is over the 2 GiB limit.").into())
        }
    }
}

#[utoipa::path(get, path = "/api/v1/imports/{id}", params(("id" = i64, Path)), tag = "channels",
    responses((status = 200, body = EmailImport), (status = 403), (status = 404)))]
pub async fn get_import(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<EmailImport>> {
    Ok(Json(channels::get_import(&state.db, &user, id).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QuarantineList {
    pub emails: Vec<QuarantinedEmail>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct QuarantineQuery {
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/email-quarantine", params(QuarantineQuery), tag = "channels",
    responses((status = 200, body = QuarantineList), (status = 403)))]
pub async fn quarantine(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiQuery(q): ApiQuery<QuarantineQuery>,
) -> ApiResult<Json<QuarantineList>> {
    Ok(Json(QuarantineList {
        emails: channels::list_quarantine(&state.db, &user, q.limit.unwrap_or(100)).await?,
    }))
}

/// The raw message, as an .eml download.
#[utoipa::path(get, path = "/api/v1/email-quarantine/{id}/raw", params(("id" = i64, Path)), tag = "channels",
    responses((status = 200, content_type = "message/rfc822"), (status = 403), (status = 404)))]
pub async fn quarantine_raw(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let raw = channels::quarantine_raw(&state.db, &user, id).await?;
    Ok(download(
        raw,
        "message/rfc822",
        &format!("quarantined-{id}.eml"),
    ))
}

/// A download that a browser never renders as a page: attachment
/// disposition, no sniffing, and a sandbox in case it is opened anyway.
fn download(data: Vec<u8>, content_type: &str, filename: &str) -> Response {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let content_type =
        if content_type.bytes().all(|b| b.is_ascii_graphic()) && content_type.contains('/') {
            content_type
        } else {
            "application/octet-stream"
        };
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".to_string(),
            ),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
        ],
        data,
    )
        .into_response()
}

/// An attachment of a ticket the caller may see.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", params(("id" = i64, Path)), tag = "tickets",
    responses((status = 200, content_type = "application/octet-stream"), (status = 404)))]
pub async fn attachment(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let (meta, data) = app::messages::service::attachment(&state.db, &user, id).await?;
    Ok(download(data, &meta.content_type, &meta.filename))
}
