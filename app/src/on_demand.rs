//! Code the browser fetches only when it needs it.
//!
//! Every page loads one WASM bundle before it becomes interactive, so what
//! goes into that bundle delays every page. Four kinds of code are split out
//! of it (`cargo leptos build --split`), each as a split function that the
//! build puts into a chunk of its own; calling it in the browser first
//! fetches that chunk:
//!
//! - **Settings pages and the sign-in page.** Settings are for super
//!   admins, now and then; signing in is for visitors who are not yet in
//!   the workspace (and its form works before any code arrives). The server
//!   renders them in full, as any other page, and lists their chunks for
//!   the browser to preload. To hydrate that HTML, the page's code must be
//!   there when hydration reaches it, as hydration cannot wait halfway; so
//!   the WASM entry point (`frontend`) fetches the chunk of the page it was
//!   loaded on ([`load_code_for`]) before it hydrates. A page reached by a
//!   link from the workspace shows "Loading…" while its chunk arrives.
//! - **Workspace panels** that open on a click or a key: the view editor,
//!   choosing views, the Ctrl-K palette, the create panel, the merge dialog,
//!   the bar of bulk actions, the search box's results.
//!   The server never renders them, so nothing waits for them: the
//!   workspace fetches their chunks once it is hydrated
//!   ([`load_workspace_panels`]), and they open at once after that, made
//!   where they open as if they were not split ([`MakePanel`]).
//! - **The open ticket**: its thread, sidebar, actions and composer. The
//!   workspace fetches it first among the panels, so a ticket opened from
//!   the list finds it there. On a ticket's own address the server renders
//!   the ticket, so it is handled as a settings page is: preloaded beside
//!   the main bundle and fetched before hydration.
//! - **The live socket**: connecting, reconnecting and reading events
//!   (`workspace::live`). It connects once the workspace is interactive,
//!   so its code is fetched then, first of all.
//!
//! All of them use `wasm_split` itself rather than Leptos' `#[lazy]`, for its
//! `fallible` option: a chunk that cannot be fetched (offline, a proxy's
//! error) is an `Err` to show, where `#[lazy]` would panic, and a panic
//! stops the whole app. Each split function's first argument names its
//! chunk (`page_*` for pages; the bench and `scripts/wasm-size.sh` count
//! every other chunk as the workspace's, fetched once it is interactive).

use crate::search::palette::SearchBoxState;
use crate::tickets::detail::OpenTicket;
use crate::tickets::Ticket;
use crate::views::editor::ViewPanel;
use crate::views::{CustomView, ViewSummary};
use crate::workspace::Ws;
use leptos::prelude::*;
use leptos::wasm_split::{wasm_split, SplitLoaderError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A page's maker, as its split function hands it back once the page's
/// code is there; `Err` when the chunk could not be fetched.
type PageCode = Result<fn() -> AnyView, SplitLoaderError>;

/// A page's split function's call, boxed.
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

#[wasm_split(page_sign_in, wasm_split_path = ::leptos::wasm_split, preload(preload_page_sign_in), fallible)]
fn sign_in_page() -> PageCode {
    Ok(|| view! { <crate::auth::SignInPage/> }.into_any())
}

/// `/login`: only signed-out visitors see it, and its form posts without
/// the app's code, so every workspace page is spared its code.
#[component]
pub fn Login() -> impl IntoView {
    view! { <LazyPage chunk="page_sign_in" load=|| Box::pin(sign_in_page())/> }
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

/// On the server, for a workspace address with a ticket open: has the
/// browser fetch the open ticket's chunk beside the main bundle.
#[cfg(feature = "ssr")]
pub fn preload_open_ticket_chunks() {
    preload_chunks("panel_open_ticket");
}

/// Fetches the code of the page at `path` if it is one of the pages split
/// out (settings, sign-in) or has a ticket open, so that hydrating it finds
/// the code in place, and says whether the page can hydrate: `false` when
/// its chunk could not be fetched (the caller then leaves the server's page
/// as it is, as when the main bundle fails). Other paths return `true` at
/// once.
#[cfg(feature = "hydrate")]
pub async fn load_code_for(path: &str) -> bool {
    match path.trim_end_matches('/') {
        "/settings/channels" => preload_page_channels().await.is_ok(),
        "/settings/help-desk" => preload_page_help_desk_settings().await.is_ok(),
        "/settings/sidebar" => preload_page_sidebar_editor().await.is_ok(),
        "/login" => preload_page_sign_in().await.is_ok(),
        path if crate::workspace::ticket_number_in(path).is_some() => {
            preload_open_ticket().await.is_ok()
        }
        _ => true,
    }
}

/// A panel's maker. The panels' split function hands back the functions
/// that make the panels, rather than the panels: once the chunk is in, a
/// panel is then made synchronously, where it opens, under the owner and
/// context of the spot that shows it, exactly as if it were not split. (A
/// panel made inside a `Suspense` would instead suspend whenever one of its
/// own searches loads, and be remade.)
type MakePanel<A> = fn(A) -> AnyView;

/// A chunk could not be fetched (the network dropped, say).
type PanelCode<A> = Result<MakePanel<A>, SplitLoaderError>;

/// The makers of the workspace's panels.
///
/// They share one split function, so one chunk, rather than one each: the
/// workspace fetches them all at once anyway, and code that several split
/// functions share goes into a chunk of its own for each combination of
/// them that uses it, so one per panel meant dozens of small files, each
/// compressed alone.
#[derive(Clone, Copy)]
struct Panels {
    view_editor: MakePanel<Option<CustomView>>,
    customize_views: MakePanel<Vec<ViewSummary>>,
    command_palette: MakePanel<()>,
    create_ticket: MakePanel<()>,
    merge_dialog: MakePanel<(Ticket, RwSignal<bool>)>,
    bulk_bar: MakePanel<()>,
    search_results: MakePanel<SearchBoxState>,
}

// A panel whose chunk fails to load shows a notice and retries on its
// next opening (see `panel`).
#[wasm_split(panel_workspace, wasm_split_path = ::leptos::wasm_split, preload(preload_panels), fallible)]
fn panels() -> Result<Panels, SplitLoaderError> {
    Ok(Panels {
        view_editor: |editing| view! { <crate::views::editor::ViewEditor editing/> }.into_any(),
        customize_views: |views| view! { <crate::views::editor::CustomizeViews views/> }.into_any(),
        command_palette: |()| view! { <crate::search::palette::CommandPalette/> }.into_any(),
        create_ticket: |()| view! { <crate::tickets::create::CreatePanel/> }.into_any(),
        merge_dialog: |(primary, open)| {
            view! { <crate::tickets::actions::components::MergeDialog primary open/> }.into_any()
        },
        bulk_bar: |()| view! { <crate::tickets::actions::components::BulkBar/> }.into_any(),
        search_results: |search| {
            view! { <crate::search::palette::SearchResults search/> }.into_any()
        },
    })
}

/// The open ticket's chunk: the thread, sidebar, actions and composer. Its
/// own, apart from the panels', as a ticket's address fetches it before
/// hydrating (named `panel_*` as it too is fetched once the workspace is
/// hydrated).
#[wasm_split(panel_open_ticket, wasm_split_path = ::leptos::wasm_split, preload(preload_open_ticket), fallible)]
fn open_ticket() -> PanelCode<OpenTicket> {
    Ok(crate::tickets::detail::open_ticket_view)
}

/// The live socket's code: connecting, reconnecting and reading events
/// (`workspace::live`). The workspace fetches it as it hydrates; nothing of
/// it runs before then, as events are only read once the page is
/// interactive (and the server replays what happened meanwhile).
#[cfg(feature = "hydrate")]
#[wasm_split(live_socket, wasm_split_path = ::leptos::wasm_split, fallible)]
pub fn live_socket() -> Result<fn(crate::workspace::live::Live), SplitLoaderError> {
    Ok(crate::workspace::live::imp::connect_now)
}

/// The results under the search box; closing hides them.
pub fn search_results_panel(search: SearchBoxState) -> AnyView {
    panel(
        async { Ok(panels().await?.search_results) },
        search,
        move || search.close(),
    )
}

/// The bar of actions on the ticked rows; closing unticks them.
pub fn bulk_bar_panel() -> AnyView {
    let ws = expect_context::<Ws>();
    panel(async { Ok(panels().await?.bulk_bar) }, (), move || {
        ws.selection.set(Vec::new())
    })
}

/// The editor of a new (`None`) or existing custom view.
pub fn view_editor_panel(editing: Option<CustomView>) -> AnyView {
    let ws = expect_context::<Ws>();
    panel(
        async { Ok(panels().await?.view_editor) },
        editing,
        move || ws.view_panel.set(ViewPanel::Closed),
    )
}

/// Choosing and ordering one's views.
pub fn customize_views_panel(views: Vec<ViewSummary>) -> AnyView {
    let ws = expect_context::<Ws>();
    panel(
        async { Ok(panels().await?.customize_views) },
        views,
        move || ws.view_panel.set(ViewPanel::Closed),
    )
}

/// The Ctrl-K palette.
pub fn command_palette_panel() -> AnyView {
    let ws = expect_context::<Ws>();
    panel(
        async { Ok(panels().await?.command_palette) },
        (),
        move || ws.show_palette.set(false),
    )
}

/// The create-ticket panel.
pub fn create_ticket_panel() -> AnyView {
    let ws = expect_context::<Ws>();
    panel(async { Ok(panels().await?.create_ticket) }, (), move || {
        ws.show_create.set(false)
    })
}

/// Merging other tickets into `primary`; closing sets `open` to false.
pub fn merge_dialog_panel(primary: Ticket, open: RwSignal<bool>) -> AnyView {
    panel(
        async { Ok(panels().await?.merge_dialog) },
        (primary, open),
        move || open.set(false),
    )
}

/// The open ticket, in the pane the main bundle made for it. While its
/// chunk is on its way (a ticket opened in the instant after hydration) the
/// pane says the ticket is loading; if the chunk cannot be fetched, a notice
/// offers to load the page again, which fetches it before hydrating (see
/// [`load_code_for`]).
pub fn open_ticket_view(open: OpenTicket) -> AnyView {
    let path = leptos_router::hooks::use_location().pathname;
    once_loaded(
        with_args(open_ticket(), open),
        || view! { <p class="loading">"Loading ticket…"</p> }.into_any(),
        Arc::new(move || {
            view! {
                <div class="notice" role="alert" data-testid="ticket-unavailable">
                    <p>"This ticket could not be loaded. Check your connection, then try again."</p>
                    <a href=path.get_untracked() rel="external">"Try again"</a>
                </div>
            }
            .into_any()
        }),
    )
}

/// A split function's view, ready to be made: its maker with its
/// arguments. Behind a pointer, so that [`once_loaded`] and the notices are
/// compiled once, not once per panel.
type MakeView = Arc<dyn Fn() -> AnyView + Send + Sync>;

/// The call of a split function, with the arguments its maker will get.
type LoadView = Pin<Box<dyn Future<Output = Result<MakeView, SplitLoaderError>>>>;

/// `load`'s maker, given `args` each time it makes its view.
fn with_args<A>(load: impl Future<Output = PanelCode<A>> + 'static, args: A) -> LoadView
where
    A: Clone + Send + Sync + 'static,
{
    Box::pin(async move {
        let make = load.await?;
        Ok(Arc::new(move || make(args.clone())) as MakeView)
    })
}

/// What shows in place of a split function's view while its code is not
/// there.
#[derive(Clone)]
enum Loading {
    Waiting,
    Ready(MakeView),
    Failed,
}

/// A panel: made with `args` once its code is there; if it cannot be
/// fetched, a notice says so, and `close` closes the panel (opening it
/// again retries).
fn panel<A>(
    load: impl Future<Output = PanelCode<A>> + 'static,
    args: A,
    close: impl Fn() + Send + Sync + 'static,
) -> AnyView
where
    A: Clone + Send + Sync + 'static,
{
    once_loaded(
        with_args(load, args),
        || ().into_any(),
        panel_unavailable(Arc::new(close)),
    )
}

/// The notice of a panel whose code could not be fetched.
fn panel_unavailable(close: Arc<dyn Fn() + Send + Sync>) -> Arc<dyn Fn() -> AnyView + Send + Sync> {
    Arc::new(move || {
        let (close, close_button) = (close.clone(), close.clone());
        view! {
            <div class="overlay" on:click=move |_| close()>
                <div
                    class="overlay-card"
                    role="alert"
                    data-testid="panel-unavailable"
                    on:click=|ev| ev.stop_propagation()
                >
                    <p>"This could not be loaded. Check your connection, then try again."</p>
                    <button on:click=move |_| close_button()>"Close"</button>
                </div>
            </div>
        }
        .into_any()
    })
}

/// Makes a split function's view as soon as `load` (the split function's
/// call) has its maker: at once when its chunk is in, as it is after
/// [`load_workspace_panels`] (and always on the server, where nothing is
/// split), so that hydration finds the same view the server rendered.
/// Until the chunk arrives, `waiting` shows; `failed` if it cannot be
/// fetched.
fn once_loaded(
    mut load: LoadView,
    waiting: fn() -> AnyView,
    failed: Arc<dyn Fn() -> AnyView + Send + Sync>,
) -> AnyView {
    use std::task::{Context, Poll, Waker};
    let state = match load.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(make)) => return make(),
        Poll::Ready(Err(_)) => RwSignal::new(Loading::Failed),
        Poll::Pending => {
            let state = RwSignal::new(Loading::Waiting);
            leptos::task::spawn_local(async move {
                let loaded = match load.await {
                    Ok(make) => Loading::Ready(make),
                    Err(_) => Loading::Failed,
                };
                // try_: the view may have gone meanwhile.
                state.try_set(loaded);
            });
            state
        }
    };
    (move || match state.get() {
        Loading::Waiting => waiting(),
        Loading::Ready(make) => make(),
        Loading::Failed => failed(),
    })
    .into_any()
}

/// Fetches the open ticket's chunks, then the panels', and says whether
/// all came. The workspace calls it once hydrated, so their
/// download never delays the page becoming interactive. A chunk that fails
/// stops the rest (the network is likely gone); each panel then retries
/// when it opens.
#[cfg(feature = "hydrate")]
pub async fn load_workspace_panels() -> bool {
    preload_open_ticket().await.is_ok() && preload_panels().await.is_ok()
}
