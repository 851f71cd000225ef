//! Signing in and out, and finding out who is calling.

#[cfg(feature = "ssr")]
pub mod service;

use crate::error::failure_message;
use crate::resource::server_resource;
use crate::users::User;
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// Who made the current request, looked up at most once per request.
///
/// Rendering the workspace runs several server functions (the workspace,
/// its counts, the list, the open ticket) in one request, and each asks who
/// is calling; without this, each read the session and the user again. The
/// server provides a fresh one per request (see `server::router`).
#[cfg(feature = "ssr")]
#[derive(Clone, Default)]
pub struct RequestCaller(std::sync::Arc<tokio::sync::OnceCell<Option<User>>>);

/// The signed-in user of a server function or SSR render.
#[cfg(feature = "ssr")]
pub async fn current_user() -> Result<Option<User>, crate::error::AppError> {
    let state = crate::state::app_state()?;
    let Some(parts) = use_context::<http::request::Parts>() else {
        return Ok(None);
    };
    let lookup = || async {
        Ok::<_, crate::error::AppError>(
            service::authenticate(&state.db, &parts.headers)
                .await?
                .map(|(u, _)| u),
        )
    };
    match use_context::<RequestCaller>() {
        Some(caller) => caller.0.get_or_try_init(lookup).await.cloned(),
        None => lookup().await,
    }
}

/// Like [`current_user`], but signed-out callers get an error.
#[cfg(feature = "ssr")]
pub async fn require_user() -> Result<User, crate::error::AppError> {
    current_user()
        .await?
        .ok_or(crate::error::AppError::Unauthenticated)
}

/// Who is signed in (None when nobody is).
#[server(prefix = "/rpc", endpoint = "me")]
pub async fn get_me() -> Result<Option<User>, ServerFnError> {
    crate::error::server_fn(current_user()).await
}

#[server(prefix = "/rpc", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<(), ServerFnError> {
    crate::error::server_fn(async move {
        let state = crate::state::app_state()?;
        let (_, secret) =
            service::sign_in(&state.db, state.config.session_ttl_ms, &email, &password).await?;
        let response = expect_context::<leptos_axum::ResponseOptions>();
        let cookie = service::session_cookie_header(
            &secret,
            state.config.session_ttl_ms,
            state.config.secure_cookies,
        );
        if let Ok(value) = http::HeaderValue::from_str(&cookie) {
            response.insert_header(http::header::SET_COOKIE, value);
        }
        // Without JavaScript the form posts here directly: send the browser on.
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ServerFnError> {
    crate::error::server_fn(async move {
        let state = crate::state::app_state()?;
        if let Some(parts) = use_context::<http::request::Parts>() {
            if let Some(secret) = service::session_cookie(&parts.headers) {
                service::sign_out(&state.db, &secret).await?;
            }
        }
        let response = expect_context::<leptos_axum::ResponseOptions>();
        if let Ok(value) =
            http::HeaderValue::from_str(&service::clear_cookie_header(state.config.secure_cookies))
        {
            response.insert_header(http::header::SET_COOKIE, value);
        }
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// Full-page navigation, so the next page is rendered by the server with
/// the new session cookie.
pub fn hard_navigate(path: &str) {
    #[cfg(feature = "hydrate")]
    {
        if let Some(w) = web_sys::window() {
            let _ = w.location().set_href(path);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let me = server_resource(|| (), |_| get_me());
    let action = ServerAction::<SignIn>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            hard_navigate("/");
        }
    });
    let error = move || failure_message(action.value().get());
    // Effects run only in the browser, once hydrated (the page's code comes
    // in a chunk of its own; see on_demand): the form then signs in without
    // leaving the page.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(_)) => view! { <Redirect path="/"/> }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Suspense>
        <main class="signin" data-hydrated=move || hydrated.get().to_string()>
            <div class="signin-card">
                <h1 class="brand">"Ayuda"</h1>
                <p class="muted">"Sign in to your help desk"</p>
                <ActionForm action=action attr:class="stack">
                    <label>
                        "Email" <input type="email" name="email" autocomplete="username" required autofocus/>
                    </label>
                    <label>
                        "Password"
                        <input type="password" name="password" autocomplete="current-password" required/>
                    </label>
                    <p class="form-error" role="alert" data-testid="signin-error">{error}</p>
                    <button type="submit" class="btn primary" disabled=move || action.pending().get()>
                        "Sign in"
                    </button>
                </ActionForm>
            </div>
        </main>
    }
}
