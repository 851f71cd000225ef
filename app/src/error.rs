//! The service layer's error type and how it crosses to clients.
//!
//! Services return [`AppError`]. Its `Display` text is always safe to show to
//! a client: database errors are logged in full where they happen and replaced
//! by a generic message, so no SQL or driver text ever leaves the server.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppError {
    /// Missing or invalid credentials.
    #[error("Please sign in.")]
    Unauthenticated,
    /// Signed in, but the role does not allow this action.
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist, or the caller may not know that it exists.
    #[error("{0} not found.")]
    NotFound(String),
    /// A field failed validation; `field` names it for inline display.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The request conflicts with existing data (a unique value taken).
    #[error("{0}")]
    Conflict(String),
    /// A reply was written against an older state of the thread: a customer
    /// message or another agent's reply arrived after the writer last saw
    /// it. Sending again with confirmation goes through.
    #[error("{0}")]
    StaleReply(String),
    /// Something failed on the server; details are in the server log only.
    #[error("Something went wrong on the server. Please try again.")]
    Internal,
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden(message.into())
    }

    pub fn not_found(what: &str) -> Self {
        AppError::NotFound(what.to_string())
    }

    /// A stable machine-readable code, used by the REST API.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Invalid { .. } => "invalid",
            AppError::Conflict(_) => "conflict",
            AppError::StaleReply(_) => "stale_reply",
            AppError::Internal => "internal",
        }
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Invalid { .. } => 422,
            AppError::Conflict(_) | AppError::StaleReply(_) => 409,
            AppError::Internal => 500,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    /// Logs the real error and keeps only a safe category. Unique-constraint
    /// violations become `Conflict` so callers can say what was taken.
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                return AppError::Conflict("That value is already in use.".into());
            }
            if db.is_foreign_key_violation() {
                return AppError::invalid("reference", "A referenced record does not exist.");
            }
        }
        if let sqlx::Error::RowNotFound = err {
            return AppError::NotFound("Record".into());
        }
        tracing::error!(error = %err, "database error");
        AppError::Internal
    }
}

// Server functions turn an `AppError` into `ServerFnError::ServerError` with
// its safe `Display` text through server_fn's blanket `From<E: Error>`.

/// Runs a server function's body and reports its error with the matching
/// HTTP status (a wrong password is a 422, not a server failure) and the
/// error's safe message.
#[cfg(feature = "ssr")]
pub async fn server_fn<T>(
    body: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<T, leptos::prelude::ServerFnError> {
    body.await.map_err(|err| {
        if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(
                http::StatusCode::from_u16(err.status())
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
        leptos::prelude::ServerFnError::ServerError(err.to_string())
    })
}

/// The inline message for an action's latest result, if it failed: what
/// a form shows under its button.
pub fn failure_message<T>(
    result: Option<Result<T, leptos::prelude::ServerFnError>>,
) -> Option<String> {
    result
        .and_then(|r| r.err())
        .map(|e| server_error_message(&e))
}

/// The message to show inline for a failed server function call.
pub fn server_error_message(err: &leptos::prelude::ServerFnError) -> String {
    match err {
        leptos::prelude::ServerFnError::ServerError(msg) => msg.clone(),
        _ => "The server could not be reached. Please try again.".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_error_hides_details() {
        assert_eq!(
            AppError::Internal.to_string(),
            "Something went wrong on the server. Please try again."
        );
        assert_eq!(AppError::Internal.status(), 500);
    }

    #[test]
    fn statuses_match_codes() {
        assert_eq!(AppError::Unauthenticated.status(), 401);
        assert_eq!(AppError::forbidden("no").status(), 403);
        assert_eq!(
            AppError::not_found("Ticket").to_string(),
            "Ticket not found."
        );
        assert_eq!(AppError::invalid("subject", "Required").status(), 422);
        assert_eq!(AppError::Conflict("x".into()).code(), "conflict");
    }
}
