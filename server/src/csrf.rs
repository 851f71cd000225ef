//! Cross-site request forgery protection.
//!
//! The session cookie is `SameSite=Lax`, so browsers do not send it with
//! cross-site POSTs. As a second layer, every state-changing request that
//! authenticates with the cookie (not a Bearer token) must come from our own
//! origin: its `Origin` header, or failing that `Sec-Fetch-Site`, must say so.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, Method};

pub async fn check_origin(req: Request, next: Next) -> Response {
    // A websocket upgrade is a GET, but it opens a channel that acts with
    // the user's cookie, so it gets the same origin check (cross-site
    // websocket hijacking).
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    // Only a Bearer token exempts a request: any other Authorization header
    // is ignored by authentication, which then uses the cookie.
    if (is_safe_method(req.method()) && !upgrade)
        || app::auth::service::bearer_token(req.headers()).is_some()
        || same_origin(&req)
    {
        next.run(req).await
    } else {
        crate::api::ApiError::from(app::error::AppError::forbidden(
            "Cross-site request refused. Reload the page and try again.",
        ))
        .into_response()
    }
}

fn is_safe_method(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn same_origin(req: &Request) -> bool {
    let headers = req.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        // "null" (sandboxed frames, some redirects) is never ours.
        let origin_host = origin
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'));
        return matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h));
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        // Neither header: not a modern browser (curl, scripts). Such a
        // client holds its own cookie; no forgery is possible.
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn req(origin: Option<&str>, fetch_site: Option<&str>) -> Request {
        let mut b = Request::builder()
            .method("POST")
            .uri("/x")
            .header(header::HOST, "127.0.0.1:3000");
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        if let Some(s) = fetch_site {
            b = b.header("sec-fetch-site", s);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn same_origin_passes_and_others_do_not() {
        assert!(same_origin(&req(Some("http://127.0.0.1:3000"), None)));
        assert!(!same_origin(&req(Some("https://evil.example"), None)));
        assert!(!same_origin(&req(Some("null"), None)));
        assert!(!same_origin(&req(None, Some("cross-site"))));
        assert!(same_origin(&req(None, Some("same-origin"))));
        assert!(same_origin(&req(None, None)));
    }
}
