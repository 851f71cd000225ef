//! `/api/v1/search`: full-text search over the tickets the caller may see.

use super::{ApiQuery, ApiResult, Caller};
use app::search::{service, SearchQuery, SearchResults};
use app::state::AppState;
use axum::extract::State;
use axum::Json;

/// Searches subjects, thread entries, contacts (name, email, phone) and
/// ticket numbers; optionally within a view. Best matches first, each with
/// a highlighted snippet.
#[utoipa::path(get, path = "/api/v1/search", params(SearchQuery), tag = "search",
    responses((status = 200, body = SearchResults), (status = 422)))]
pub async fn search(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchResults>> {
    Ok(Json(service::search(&state.db, &user, &query).await?))
}
