//! Code the browser fetches only when it needs it.
//!
//! Every page loads one WASM bundle before it becomes interactive, so what
//! goes into that bundle delays every page. Two kinds of code are split out
//! of it (`cargo leptos build --split`), each as a split function that the
//! build puts into a chunk of its own; calling it in the browser first
//! fetches that chunk:
//!
//! - **Settings pages.** They are for super admins, now and then. The server
//!   renders them in full, as any other page, and lists their chunks for
//!   the browser to preload. To hydrate that HTML, the page's code must be
//!   there when hydration reaches it, as hydration cannot wait halfway; so
//!   the WASM entry point (`frontend`) fetches the chunk of the page it was
//!   loaded on ([`load_code_for`]) before it hydrates. A page reached by a
//!   link from the workspace shows "Loading…" while its chunk arrives.
//! - **Workspace panels** that open on a click or a key: the view editor,
//!   choosing views, the Ctrl-K palette, the create panel, the merge dialog.
//!   The server never renders them, so nothing waits for them: the
//!   workspace fetches their chunks once it is hydrated
//!   ([`load_workspace_panels`]), and they open at once after that, made
//!   where they open as if they were not split ([`MakePanel`]).
//!
//! Both kinds use `wasm_split` itself rather than Leptos' `#[lazy]`, for its
//! `fallible` option: a chunk that cannot be fetched (offline, a proxy's
//! error) is an `Err` to show, where `#[lazy]` would panic, and a panic
//! stops the whole app. Each split function's first argument names its
//! chunk (`page_*` for pages, `panel_*` for panels; the bench and
//! `scripts/wasm-size.sh` sort chunks by that prefix).

use crate::tickets::Ticket;
use crate::views::editor::ViewPanel;
use crate::views::{CustomView, ViewSummary};
use crate::workspace::Ws;
use leptos::prelude::*;
use leptos::wasm_split::{wasm_split, SplitLoaderError};
use std::future::Future;
use std::pin::Pin;

/// A settings page's maker, as its split function hands it back once the
/// page's code is there; `Err` when the chunk could not be fetched.
type PageCode = Result<fn() -> AnyView, SplitLoaderError>;

/// A settings page's split function's call, boxed.
type LoadPage = Pin<Box<dyn Future<Output = PageCode> + Send>>;

#[wasm_split(page_channels, wasm_split_path = ::leptos::wasm_split, preload(preload_page_channels), fallible)]
fn channels_page() -> PageCode {
    Ok(|| view! { <crate::channels::settings::ChannelsPage/> }.into_any())
}

#[wasm_split(page_help_desk_settings, wasm_split_path = ::leptos::wasm_split, preload(preload_page_help_desk_settings), fallible)]
fn help_desk_settings_page() -> PageCode {
    Ok(|| view! { <crate::settings::HelpDeskSettingsPage/> }.into_any())
}

#[wasm_split(page_sidebar_editor, wasm_split_path = ::leptos::wasm_split, preload(preload_page_sidebar_editor), fallible)]
fn sidebar_editor_page() -> PageCode {
    Ok(|| view! { <crate::sidebar::editor::SidebarEditorPage/> }.into_any())
}

/// `/settings/channels`.
#[component]
pub fn ChannelsSettings() -> impl IntoView {
    view! { <LazyPage chunk="page_channels" load=|| Box::pin(channels_page())/> }
}

/// `/settings/help-desk`.
#[component]
pub fn HelpDeskSettings() -> impl IntoView {
    view! { <LazyPage chunk="page_help_desk_settings" load=|| Box::pin(help_desk_settings_page())/> }
}

/// `/settings/sidebar`.
#[component]
pub fn SidebarSettings() -> impl IntoView {
    view! { <LazyPage chunk="page_sidebar_editor" load=|| Box::pin(sidebar_editor_page())/> }
}

/// Shows the page `load` makes once its code is there, or a notice with a
/// way to try again when its chunk could not be fetched.
///
/// `chunk` is the split function's name: the server lists its chunks for
/// the browser to preload ([`preload_chunks`]).
///
/// The child is one `Suspend`, not a closure: it is made once, so the
/// page's resources are created once, on the server as in the browser, and
/// hydration pairs each with its own value.
#[component]
fn LazyPage(chunk: &'static str, load: fn() -> LoadPage) -> impl IntoView {
    #[cfg(feature = "ssr")]
    preload_chunks(chunk);
    #[cfg(not(feature = "ssr"))]
    let _ = chunk;
    let path = leptos_router::hooks::use_location().pathname;
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {Suspend::new(async move {
                match load().await {
                    Ok(make) => make(),
                    // A link from the workspace while the network is down;
                    // a full load of the same address tries again.
                    Err(_) => view! {
                        <div class="notice" role="alert" data-testid="page-unavailable">
                            <p>"This page could not be loaded. Check your connection, then try again."</p>
                            <a href=path.get_untracked() rel="external">"Try again"</a>
                        </div>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

/// Adds to the page's `<head>` a `<link rel=preload>` for each chunk the
/// split function `function` needs, so that the browser fetches them
/// beside the main bundle rather than after it (`load_code_for` then finds
/// them fetched).
///
/// Leptos 0.8 has the same for `#[lazy]` functions
/// (`prefetch_lazy_fn_on_server`), but its links never reach the page:
/// `leptos_integration_utils` looks the split manifest up after the render,
/// outside the page's reactive owner, where the context is not found. The
/// manifest itself is the one `HydrationScripts` read and provided.
#[cfg(feature = "ssr")]
fn preload_chunks(function: &str) {
    let Some(manifest) = use_context::<leptos::WasmSplitManifest>() else {
        return;
    };
    let hrefs = manifest
        .0
        .try_with_value(|(pkg, chunks, _loader)| {
            chunks
                .get(function)
                .into_iter()
                .flatten()
                .map(|chunk| format!("{pkg}/{chunk}.wasm"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for href in hrefs {
        // Rendered here, a leptos_meta tag goes to the `<head>`, not in place.
        let _ = view! {
            <leptos_meta::Link rel="preload" href as_="fetch" type_="application/wasm" crossorigin="anonymous"/>
        }
        .to_html();
    }
}

/// Fetches the code of the page at `path` if it is one of the settings
/// pages, so that hydrating it finds the code in place, and says whether
/// the page can hydrate: `false` when its chunk could not be fetched (the
/// caller then leaves the server's page as it is, as when the main bundle
/// fails). Other paths return `true` at once.
#[cfg(feature = "hydrate")]
pub async fn load_code_for(path: &str) -> bool {
    match path.trim_end_matches('/') {
        "/settings/channels" => preload_page_channels().await.is_ok(),
        "/settings/help-desk" => preload_page_help_desk_settings().await.is_ok(),
        "/settings/sidebar" => preload_page_sidebar_editor().await.is_ok(),
        _ => true,
    }
}

/// A panel's maker. Each panel's split function hands back the function
/// that makes the panel, rather than the panel: once the chunk is in, the
/// panel is then made synchronously, where it opens, under the owner and
/// context of the spot that shows it, exactly as if it were not split. (A
/// panel made inside a `Suspense` would instead suspend whenever one of its
/// own searches loads, and be remade.)
type MakePanel<A> = fn(A) -> AnyView;

/// A panel's chunk could not be fetched (the network dropped, say).
type PanelCode<A> = Result<MakePanel<A>, SplitLoaderError>;

// A panel whose chunk fails to load shows a notice and retries on its
// next opening (see `panel`).

#[wasm_split(panel_view_editor, wasm_split_path = ::leptos::wasm_split, preload(preload_view_editor), fallible)]
fn view_editor() -> PanelCode<Option<CustomView>> {
    Ok(|editing| view! { <crate::views::editor::ViewEditor editing/> }.into_any())
}

#[wasm_split(panel_customize_views, wasm_split_path = ::leptos::wasm_split, preload(preload_customize_views), fallible)]
fn customize_views() -> PanelCode<Vec<ViewSummary>> {
    Ok(|views| view! { <crate::views::editor::CustomizeViews views/> }.into_any())
}

#[wasm_split(panel_command_palette, wasm_split_path = ::leptos::wasm_split, preload(preload_command_palette), fallible)]
fn command_palette() -> PanelCode<()> {
    Ok(|()| view! { <crate::search::palette::CommandPalette/> }.into_any())
}

#[wasm_split(panel_create_ticket, wasm_split_path = ::leptos::wasm_split, preload(preload_create_ticket), fallible)]
fn create_ticket() -> PanelCode<()> {
    Ok(|()| view! { <crate::tickets::create::CreatePanel/> }.into_any())
}

#[wasm_split(panel_merge_dialog, wasm_split_path = ::leptos::wasm_split, preload(preload_merge_dialog), fallible)]
fn merge_dialog() -> PanelCode<(Ticket, RwSignal<bool>)> {
    Ok(|(primary, open)| {
        view! { <crate::tickets::actions::components::MergeDialog primary open/> }.into_any()
    })
}

/// The editor of a new (`None`) or existing custom view.
pub fn view_editor_panel(editing: Option<CustomView>) -> AnyView {
    let ws = expect_context::<Ws>();
    panel(view_editor(), editing, move || {
        ws.view_panel.set(ViewPanel::Closed)
    })
}

/// Choosing and ordering one's views.
pub fn customize_views_panel(views: Vec<ViewSummary>) -> AnyView {
    let ws = expect_context::<Ws>();
    panel(customize_views(), views, move || {
        ws.view_panel.set(ViewPanel::Closed)
    })
}

/// The Ctrl-K palette.
pub fn command_palette_panel() -> AnyView {
    let ws = expect_context::<Ws>();
    panel(command_palette(), (), move || ws.show_palette.set(false))
}

/// The create-ticket panel.
pub fn create_ticket_panel() -> AnyView {
    let ws = expect_context::<Ws>();
    panel(create_ticket(), (), move || ws.show_create.set(false))
}

/// Merging other tickets into `primary`; closing sets `open` to false.
pub fn merge_dialog_panel(primary: Ticket, open: RwSignal<bool>) -> AnyView {
    panel(merge_dialog(), (primary, open), move || open.set(false))
}

/// What a panel shows while its code is not there.
#[derive(Clone, Copy)]
enum Loading<A: 'static> {
    Waiting,
    Ready(MakePanel<A>),
    Failed,
}

/// Makes a panel with `args` as soon as `load` (its split function's call)
/// has its maker: at once when its chunk is in, as it is after
/// [`load_workspace_panels`] (and always on the server, where nothing is
/// split). When a panel opens before that, in the instant after hydration,
/// nothing shows until the chunk arrives; if it cannot be fetched, a notice
/// says so, and `close` closes the panel (opening it again retries).
fn panel<A>(
    load: impl Future<Output = PanelCode<A>> + 'static,
    args: A,
    close: impl Fn() + Copy + Send + Sync + 'static,
) -> AnyView
where
    A: Clone + Send + Sync + 'static,
{
    use std::task::{Context, Poll, Waker};
    let mut load = Box::pin(load);
    let state = match load.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(make)) => return make(args),
        Poll::Ready(Err(_)) => RwSignal::new(Loading::Failed),
        Poll::Pending => {
            let state = RwSignal::new(Loading::Waiting);
            leptos::task::spawn_local(async move {
                let loaded = match load.await {
                    Ok(make) => Loading::Ready(make),
                    Err(_) => Loading::Failed,
                };
                // try_: the panel may have closed meanwhile.
                state.try_set(loaded);
            });
            state
        }
    };
    (move || match state.get() {
        Loading::Waiting => ().into_any(),
        Loading::Ready(make) => make(args.clone()),
        Loading::Failed => view! {
            <div class="overlay" on:click=move |_| close()>
                <div
                    class="overlay-card"
                    role="alert"
                    data-testid="panel-unavailable"
                    on:click=|ev| ev.stop_propagation()
                >
                    <p>"This could not be loaded. Check your connection, then try again."</p>
                    <button on:click=move |_| close()>"Close"</button>
                </div>
            </div>
        }
        .into_any(),
    })
    .into_any()
}

/// Fetches the workspace panels' chunks, one after the other, and says
/// whether all came. The workspace calls it once hydrated, so their
/// download never delays the page becoming interactive. A chunk that fails
/// stops the rest (the network is likely gone); each panel then retries
/// when it opens.
#[cfg(feature = "hydrate")]
pub async fn load_workspace_panels() -> bool {
    preload_command_palette().await.is_ok()
        && preload_create_ticket().await.is_ok()
        && preload_merge_dialog().await.is_ok()
        && preload_view_editor().await.is_ok()
        && preload_customize_views().await.is_ok()
}
