//! Passwords, sessions and API tokens.
//!
//! Passwords are argon2id hashes. Session cookies and API tokens are 256-bit
//! random strings of which only a SHA-256 digest is stored.

use crate::db::{now_ms, Db};
use crate::error::AppError;
use crate::events::log::PendingEvent;
use crate::users::service::{normalize_email, user_from_row, with_teams, USER_COLUMNS};
use crate::users::User;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::HeaderMap;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "ayuda_session";
/// API tokens carry a prefix so that leaked ones are easy to recognise.
const TOKEN_PREFIX: &str = "ayuda_";

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            AppError::Internal
        })
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A fresh 256-bit random secret, URL-safe.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

/// A hash to verify against when the email is unknown, so that a wrong
/// email and a wrong password take the same time.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

/// Checks credentials and opens a session. Returns the user and the cookie
/// value (the secret itself; the database keeps only its digest).
pub async fn sign_in(
    db: &Db,
    session_ttl_ms: i64,
    email: &str,
    password: &str,
) -> Result<(User, String), AppError> {
    let wrong = || AppError::invalid("password", "Wrong email or password.");
    let email = normalize_email("email", email).map_err(|_| wrong())?;
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = $1 AND u.active = 1"
    ))
    .bind(&email)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        verify_password(dummy_hash(), password);
        return Err(wrong());
    };
    let hash: String = row.try_get("password_hash")?;
    // argon2 is CPU-heavy: keep it off the async worker threads.
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .map_err(|_| AppError::Internal)?;
    if !ok {
        return Err(wrong());
    }
    let user = with_teams(db, user_from_row(&row)?).await?;
    let secret = random_secret();
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(digest(&secret))
        .bind(user.id)
        .bind(now)
        .bind(now + session_ttl_ms)
        .execute(tx.conn())
        .await?;
    // Expired sessions are swept here rather than by a timer.
    sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok((user, secret))
}

/// Ends a session. Its live connections hear `session.ended` (never sent
/// to clients) and close once they find their session gone.
pub async fn sign_out(db: &Db, secret: &str) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query("DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id")
        .bind(digest(secret))
        .fetch_optional(tx.conn())
        .await?;
    if let Some(row) = row {
        let user_id: i64 = row.try_get("user_id")?;
        tx.event(PendingEvent::global(
            crate::events::SESSION_ENDED,
            Some(user_id),
            serde_json::json!({ "user_id": user_id }),
        ));
    }
    tx.commit().await
}

async fn user_for_session(db: &Db, secret: &str) -> Result<Option<User>, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1"
    ))
    .bind(digest(secret))
    .bind(now_ms())
    .fetch_optional(db.pool())
    .await?;
    match row {
        Some(r) => Ok(Some(with_teams(db, user_from_row(&r)?).await?)),
        None => Ok(None),
    }
}

async fn user_for_token(db: &Db, token: &str) -> Result<Option<User>, AppError> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND u.active = 1"
    ))
    .bind(digest(token))
    .fetch_optional(db.pool())
    .await?;
    match row {
        Some(r) => Ok(Some(with_teams(db, user_from_row(&r)?).await?)),
        None => Ok(None),
    }
}

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Session,
    Bearer,
}

/// The session cookie's value, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
}

/// The token of an `Authorization: Bearer ...` header, if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Identifies the caller from a Bearer token or the session cookie.
/// A present but invalid Bearer token is an error, not a fallback to the
/// cookie, so API clients learn their token is wrong.
pub async fn authenticate(
    db: &Db,
    headers: &HeaderMap,
) -> Result<Option<(User, Credential)>, AppError> {
    if let Some(token) = bearer_token(headers) {
        return match user_for_token(db, token).await? {
            Some(u) => Ok(Some((u, Credential::Bearer))),
            None => Err(AppError::Unauthenticated),
        };
    }
    match session_cookie(headers) {
        Some(secret) => Ok(user_for_session(db, &secret)
            .await?
            .map(|u| (u, Credential::Session))),
        None => Ok(None),
    }
}

/// When the session behind these headers expires; `None` for Bearer
/// tokens (they do not expire) and for no or unknown sessions.
pub async fn session_expiry(db: &Db, headers: &HeaderMap) -> Result<Option<i64>, AppError> {
    if bearer_token(headers).is_some() {
        return Ok(None);
    }
    let Some(secret) = session_cookie(headers) else {
        return Ok(None);
    };
    let row = sqlx::query("SELECT expires_at FROM sessions WHERE token_hash = $1")
        .bind(digest(&secret))
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("expires_at")?),
        None => None,
    })
}

/// The `Set-Cookie` value that opens a session.
pub fn session_cookie_header(secret: &str, ttl_ms: i64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        ttl_ms / 1000,
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie_header(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// A personal API token just created; `token` is shown exactly once.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub id: i64,
    pub name: String,
    pub token: String,
    pub created_at: i64,
}

pub async fn create_api_token(db: &Db, actor: &User, name: &str) -> Result<CreatedToken, AppError> {
    let name = crate::users::service::required_text("name", "Token name", name, 80)?;
    let token = format!("{TOKEN_PREFIX}{}", random_secret());
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(actor.id)
    .bind(&name)
    .bind(digest(&token))
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(CreatedToken {
        id: row.try_get("id")?,
        name,
        token,
        created_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct horsE"));
        assert!(!verify_password("!", "anything"));
    }

    #[test]
    fn secrets_are_random_and_digests_stable() {
        let a = random_secret();
        assert_ne!(a, random_secret());
        assert_eq!(a.len(), 43);
        assert_eq!(digest(&a), digest(&a));
        assert_ne!(digest(&a), a);
    }

    #[test]
    fn reads_the_session_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::COOKIE,
            "a=1; ayuda_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(session_cookie(&h).as_deref(), Some("abc"));
        h.insert(http::header::COOKIE, "ayuda_sessionx=1".parse().unwrap());
        assert_eq!(session_cookie(&h), None);
    }

    #[test]
    fn cookie_is_httponly_and_samesite() {
        let c = session_cookie_header("s", 1000 * 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        assert!(clear_cookie_header(false).contains("Max-Age=0"));
    }
}
