//! Pages whose code the browser fetches only when it shows them.
//!
//! Agents spend their day in the workspace; the settings pages are for
//! super admins, now and then. Their code is split out of the WASM bundle
//! every page loads (`cargo leptos build --split`): each page below is a
//! `#[lazy]` function, which the build puts into a chunk of its own, and
//! calling it in the browser first fetches that chunk.
//!
//! The server renders these pages in full, as any other. For the browser to
//! hydrate that HTML, the page's code must already be there when hydration
//! reaches it, as hydration cannot wait halfway; so the WASM entry point
//! (`frontend`) fetches the chunk of the page it was loaded on
//! ([`load_code_for`]) before it hydrates. A page reached by a link from
//! the workspace shows "Loading…" while its chunk arrives.

use leptos::prelude::*;
use std::future::Future;
use std::pin::Pin;

/// What a `#[lazy]` page function becomes: a call that resolves once the
/// page's code is loaded (at once after the first time).
type LoadPage = fn() -> Pin<Box<dyn Future<Output = AnyView> + Send + Sync>>;

#[lazy]
fn channels_page() -> AnyView {
    view! { <crate::channels::settings::ChannelsPage/> }.into_any()
}

#[lazy]
fn help_desk_settings_page() -> AnyView {
    view! { <crate::settings::HelpDeskSettingsPage/> }.into_any()
}

#[lazy]
fn sidebar_editor_page() -> AnyView {
    view! { <crate::sidebar::editor::SidebarEditorPage/> }.into_any()
}

/// Boxes a lazy page function's future so that the three pages share one
/// [`LazyPage`] type.
macro_rules! load_page {
    ($page:ident) => {{
        fn load() -> Pin<Box<dyn Future<Output = AnyView> + Send + Sync>> {
            Box::pin($page())
        }
        load as LoadPage
    }};
}

/// `/settings/channels`.
#[component]
pub fn ChannelsSettings() -> impl IntoView {
    view! { <LazyPage load=load_page!(channels_page)/> }
}

/// `/settings/help-desk`.
#[component]
pub fn HelpDeskSettings() -> impl IntoView {
    view! { <LazyPage load=load_page!(help_desk_settings_page)/> }
}

/// `/settings/sidebar`.
#[component]
pub fn SidebarSettings() -> impl IntoView {
    view! { <LazyPage load=load_page!(sidebar_editor_page)/> }
}

/// Shows the page `load` makes once its code is there.
///
/// The child is one `Suspend`, not a closure: it is made once, so the
/// page's resources are created once, on the server as in the browser, and
/// hydration pairs each with its own value.
#[component]
fn LazyPage(load: LoadPage) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {Suspend::new(load())}
        </Suspense>
    }
}

/// Fetches the code of the page at `path` if it is one of the pages above,
/// so that hydrating it finds the code in place. Other paths return at once.
#[cfg(feature = "hydrate")]
pub async fn load_code_for(path: &str) {
    match path.trim_end_matches('/') {
        "/settings/channels" => __preload_channels_page().await,
        "/settings/help-desk" => __preload_help_desk_settings_page().await,
        "/settings/sidebar" => __preload_sidebar_editor_page().await,
        _ => {}
    }
}
