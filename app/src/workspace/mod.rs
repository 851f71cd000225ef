//! The help desk workspace: views on the left, the ticket list in the
//! middle, the open ticket on the right, plus the create panel, keyboard
//! shortcuts and their help overlay.
//!
//! The URL is the state: `/views/<view>[/tickets/<number>]?sort=&asc=&cursor=`
//! so deep links and the back button work.

#[cfg(feature = "ssr")]
pub mod directory;
pub(crate) mod live;
mod shortcuts;

pub use live::Live;

use crate::auth::{hard_navigate, SignOut};
use crate::error::server_error_message;
use crate::messages::NewEntryKind;
use crate::resource::{server_resource, ServerResource};
use crate::tickets::api::TicketDetailJson;
use crate::tickets::detail::TicketPane;
use crate::tickets::list::TicketList;
use crate::tickets::{Pipeline, TicketPage};
use crate::users::{Team, Teammate, User};
use crate::views::api::list_views;
use crate::views::editor::ViewPanel;
use crate::views::{Column, Layout, ViewKey, ViewSummary};
use leptos::html;
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::{use_location, use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

/// What the workspace needs once per page: who is signed in and the
/// choices of the pickers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceMeta {
    pub me: User,
    /// Every active user, for the pickers; `me`'s own settings are above.
    pub users: Vec<Teammate>,
    pub teams: Vec<Team>,
    pub pipelines: Vec<Pipeline>,
    /// The event sequence number the page was rendered at: the live
    /// connection resumes from here, so nothing between render and connect
    /// is missed.
    pub event_seq: i64,
}

/// `None` when nobody is signed in (the page then leads to sign-in).
#[server(prefix = "/rpc", endpoint = "load_workspace")]
pub async fn load_workspace() -> Result<Option<WorkspaceMeta>, ServerFnError> {
    crate::error::server_fn(async move {
        let Some(me) = crate::auth::current_user().await? else {
            return Ok(None);
        };
        let state = crate::state::app_state()?;
        // Read before the data: anything committed later is replayed.
        let event_seq = state.hub.published_seq();
        let directory = directory::for_request(&state).await?;
        Ok(Some(WorkspaceMeta {
            event_seq,
            me,
            users: directory.teammates.clone(),
            teams: directory.teams.clone(),
            pipelines: directory.pipelines.clone(),
        }))
    })
    .await
}

/// Sets the caller's availability ("available" or "away"); teammates see
/// it live and routing skips agents who are away.
#[server(prefix = "/rpc", endpoint = "set_availability")]
pub async fn set_availability(availability: String) -> Result<User, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        let availability = crate::users::Availability::parse(&availability).ok_or_else(|| {
            crate::error::AppError::invalid("availability", "Choose available or away.")
        })?;
        crate::users::service::set_availability(&state.db, &user, availability).await
    })
    .await
}

/// Shared state of one workspace page, provided as context to its parts.
#[derive(Clone, Copy)]
pub struct Ws {
    pub meta: StoredValue<WorkspaceMeta>,
    pub show_create: RwSignal<bool>,
    pub show_help: RwSignal<bool>,
    /// The command palette (Ctrl/Cmd-K).
    pub show_palette: RwSignal<bool>,
    pub composer_mode: RwSignal<NewEntryKind>,
    pub composer: NodeRef<html::Textarea>,
    /// Ticket numbers of the list as shown, for next/previous.
    pub visible: RwSignal<Vec<i64>>,
    /// [`Ws::changed`], which the lists, counts and open ticket reload on.
    pub refresh: Memo<usize>,
    /// Bumped by every completed mutation (see [`Ws::reload_after`]).
    pub changed: RwSignal<usize>,
    /// The list rows ticked for a bulk action (ticket ids).
    pub selection: RwSignal<Vec<i64>>,
    /// The live event stream's state (owned by the root, not by this
    /// workspace).
    pub live: Live,
    /// Bumped when the user saved a view or their view preferences: the
    /// left column reloads.
    pub views_changed: RwSignal<usize>,
    /// The view editor or the view chooser, when open.
    pub view_panel: RwSignal<ViewPanel>,
}

impl Ws {
    pub fn me(&self) -> User {
        self.meta.with_value(|m| m.me.clone())
    }

    /// Reloads the lists, counts and open ticket each time `action`
    /// completes, refused or not: what is shown is then what the server
    /// has (a refused change of a property shows its old value again).
    ///
    /// The actions are made by the parts that dispatch them, in the chunks
    /// fetched on demand, so that their code is not in the main bundle.
    pub fn reload_after<A>(&self, action: ServerAction<A>)
    where
        A: leptos::server_fn::ServerFn<Error = ServerFnError> + Clone + Send + Sync + 'static,
        A::Output: Clone + Send + Sync + 'static,
    {
        let changed = self.changed;
        Effect::new(move |seen: Option<usize>| {
            let version = action.version().get();
            if seen.is_some_and(|seen| seen != version) {
                changed.update(|n| *n += 1);
            }
            version
        });
    }
}

/// The current route, as the list and links need it.
#[derive(Clone, Copy)]
pub struct Route {
    pub view: Memo<String>,
    pub number: Memo<Option<i64>>,
    pub sort: Memo<Option<String>>,
    pub asc: Memo<bool>,
    pub cursor: Memo<Option<String>>,
    /// [`Route::sort_query`], computed once per URL rather than once per
    /// ticket link (every row of the list has one).
    list_query: Memo<String>,
}

impl Route {
    /// The route of the current URL, as memos so each part re-renders only
    /// when the piece it uses changes.
    pub fn from_url() -> Route {
        let params = use_params_map();
        let query = use_query_map();
        // The ticket number is the child route's parameter, which the
        // workspace (the parent route) does not see among its params.
        let pathname = use_location().pathname;
        let sort = Memo::new(move |_| query.read().get("sort").filter(|s| !s.is_empty()));
        let asc = Memo::new(move |_| query.read().get("asc").as_deref() == Some("true"));
        let cursor = Memo::new(move |_| query.read().get("cursor").filter(|s| !s.is_empty()));
        Route {
            view: Memo::new(move |_| {
                params
                    .read()
                    .get("view")
                    .unwrap_or_else(|| "unassigned".into())
            }),
            number: Memo::new(move |_| pathname.with(|path| ticket_number_in(path))),
            sort,
            asc,
            cursor,
            list_query: Memo::new(move |_| {
                let mut parts = Vec::new();
                if let Some(s) = sort.get() {
                    parts.push(format!("sort={s}"));
                }
                if asc.get() {
                    parts.push("asc=true".to_string());
                }
                if let Some(c) = cursor.get() {
                    parts.push(format!("cursor={c}"));
                }
                if parts.is_empty() {
                    String::new()
                } else {
                    format!("?{}", parts.join("&"))
                }
            }),
        }
    }

    /// The query string that keeps the list's sort and page when a ticket
    /// is opened.
    pub fn sort_query(&self) -> String {
        self.list_query.get()
    }

    pub fn ticket_href(&self, number: i64) -> String {
        self.view.with(|view| {
            self.list_query
                .with(|query| format!("/views/{view}/tickets/{number}{query}"))
        })
    }
}

/// The ticket number of a workspace address, `/views/<view>/tickets/<n>`.
pub(crate) fn ticket_number_in(path: &str) -> Option<i64> {
    match path.trim_end_matches('/').split('/').collect::<Vec<_>>()[..] {
        ["", "views", _view, "tickets", number] => number.parse().ok(),
        _ => None,
    }
}

#[component]
pub fn Workspace() -> impl IntoView {
    let route = Route::from_url();
    provide_context(route);
    #[cfg(feature = "ssr")]
    if route.number.get_untracked().is_some() {
        crate::on_demand::preload_open_ticket_chunks();
    }
    let changed = RwSignal::new(0_usize);
    let refresh = Memo::new(move |_| changed.get());
    let live = expect_context::<Live>();
    // Every resource of the page is created here, before any Suspense; see
    // `Loads` for why.
    let meta = server_resource(|| (), |_| load_workspace());
    let views_changed = RwSignal::new(0_usize);
    let loads = Loads {
        // Counts of custom views, My mentions and Followers are not pushed:
        // they reload with the list whenever a live event touches a ticket.
        views: server_resource(
            move || {
                (
                    refresh.get(),
                    views_changed.get(),
                    live.views_epoch.get(),
                    live.list_epoch.get(),
                )
            },
            |_| list_views(),
        ),
        list: crate::tickets::list::load_list(route, refresh, live),
        ticket: crate::tickets::detail::load_ticket(route, refresh, live),
    };
    provide_context(loads);
    let counters = ReloadCounters {
        refresh,
        changed,
        views_changed,
    };
    // A Transition, not a Suspense: once shown, the workspace stays on
    // screen (and keeps its state) whatever reloads below it.
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match meta.await {
                    Ok(Some(meta)) => view! { <WorkspaceLayout meta counters/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(e) => {
                        view! { <p class="form-error">{server_error_message(&e)}</p> }.into_any()
                    }
                }
            })}
        </Transition>
        // The child routes (a view alone, or with a ticket) show nothing,
        // but the router completes a navigation between them (and puts the
        // address in the location bar) only once their outlet has them.
        <Outlet/>
    }
}

/// The counters of completed mutations that make the lists, counts and
/// open ticket reload.
#[derive(Clone, Copy)]
struct ReloadCounters {
    refresh: Memo<usize>,
    changed: RwSignal<usize>,
    views_changed: RwSignal<usize>,
}

/// Everything the workspace loads from the server, created once at its top
/// and read by the parts that show it.
///
/// Why up there and not in those parts: while rendering on the server,
/// Leptos walks the children of a `Suspense` more than once to find pending
/// loads, and may run them again. A resource created in there can then
/// exist twice on the server but once in the browser, which shifts the
/// numbering hydration uses to pair each resource with its serialized
/// value: the browser then hydrated the list from another resource's value,
/// the page panicked and ignored clicks. Created outside every `Suspense`,
/// each resource exists exactly once on both sides.
#[derive(Clone, Copy)]
pub struct Loads {
    /// The caller's views, in their order, with counts.
    pub views: ServerResource<Vec<ViewSummary>>,
    /// One keyset page of the current view.
    pub list: ServerResource<TicketPage>,
    /// The open ticket, `None` when no ticket is open.
    pub ticket: ServerResource<Option<TicketDetailJson>>,
}

/// What the list needs to know about the view it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentView {
    pub name: String,
    pub columns: Vec<Column>,
    pub layout: Layout,
    /// The custom view, when it is one the caller may edit.
    pub editable: Option<crate::views::CustomView>,
}

/// The view named by `slug` in the caller's loaded view list.
///
/// Parts rendered on the server must read the list with `views.await`
/// inside a Suspense before calling this: a plain `get()` there renders
/// before the list has loaded, and the browser, which hydrates with the
/// list at hand, would then disagree with the server's HTML.
pub fn find_view(views: &[ViewSummary], slug: &str) -> Option<CurrentView> {
    views
        .iter()
        .find(|v| v.id.slug() == slug)
        .map(|v| match &v.custom {
            Some(c) => CurrentView {
                name: v.name.clone(),
                columns: c.definition.columns.clone(),
                layout: c.definition.layout,
                editable: c.editable.then(|| c.clone()),
            },
            None => CurrentView {
                name: v.name.clone(),
                columns: Column::DEFAULT.to_vec(),
                layout: Layout::Split,
                editable: None,
            },
        })
}

/// The links of the left column, with their counts.
#[component]
fn ViewLinks(views: Vec<ViewSummary>) -> impl IntoView {
    let route = expect_context::<Route>();
    let live = expect_context::<Live>();
    view! {
        <ul class="view-list">
            {views
                .into_iter()
                .filter(|v| !v.hidden)
                .map(|v| {
                    let slug = v.id.slug();
                    let loaded = v.count;
                    let capped = v.count_capped;
                    let key = v.id;
                    // Pushed counts (default views by owner and team) once
                    // connected; loaded ones otherwise.
                    let count = move || {
                        let pushed = match key {
                            ViewKey::Default(id) => live
                                .counts
                                .with(|cs| cs.as_ref().and_then(|cs| cs.iter().find(|c| c.view == id).map(|c| c.count))),
                            ViewKey::Custom(_) => None,
                        };
                        match pushed {
                            Some(n) => n.to_string(),
                            None if capped => format!("{loaded}+"),
                            None => loaded.to_string(),
                        }
                    };
                    let active = {
                        let slug = slug.clone();
                        move || route.view.get() == slug
                    };
                    view! {
                        <li>
                            <A href=format!("/views/{slug}") attr:class=move || if active() { "view active" } else { "view" } attr:data-testid=format!("view-{slug}")>
                                <span class="view-name">{v.name.clone()}</span>
                                <span class="count">{count}</span>
                            </A>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

#[component]
fn WorkspaceLayout(meta: WorkspaceMeta, counters: ReloadCounters) -> impl IntoView {
    let route = expect_context::<Route>();
    let ReloadCounters {
        refresh,
        changed,
        views_changed,
    } = counters;
    let live = expect_context::<Live>();
    let since = meta.event_seq;
    let availability: std::collections::HashMap<_, _> =
        meta.users.iter().map(|u| (u.id, u.availability)).collect();
    // Effects run only in the browser: connect once hydrated.
    Effect::new(move |_| live.start(since, availability.clone()));
    let ws = Ws {
        live,
        meta: StoredValue::new(meta),
        show_create: RwSignal::new(false),
        show_help: RwSignal::new(false),
        show_palette: RwSignal::new(false),
        composer_mode: RwSignal::new(NewEntryKind::Reply),
        composer: NodeRef::new(),
        visible: RwSignal::new(Vec::new()),
        refresh,
        changed,
        selection: RwSignal::new(Vec::new()),
        views_changed,
        view_panel: RwSignal::new(ViewPanel::Closed),
    };
    provide_context(ws);
    shortcuts::install(ws, route);

    let views = expect_context::<Loads>().views;
    let me = ws.me();
    let me_id = me.id;
    let set_availability = ServerAction::<SetAvailability>::new();
    // Our own change shows at once, before its event comes back.
    Effect::new(move |_| {
        if let Some(Ok(user)) = set_availability.value().get() {
            live.availability.update(|m| {
                m.insert(user.id, user.availability);
            });
        }
    });
    let availability_error = move || crate::error::failure_message(set_availability.value().get());
    let sign_out = ServerAction::<SignOut>::new();
    let sign_out_url = <SignOut as leptos::server_fn::ServerFn>::url();
    Effect::new(move |_| {
        if sign_out.value().get().is_some() {
            hard_navigate("/login");
        }
    });

    // Effects run only in the browser, once hydrated: the marker tells
    // tests (and anyone scripting the page) that clicks are now handled by
    // the app rather than by plain links.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    // Then the code of the panels that open on a click or a key (see
    // on_demand); `data-panels` says when it is all in.
    let panels_loaded = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if crate::on_demand::load_workspace_panels().await {
                panels_loaded.try_set(true);
            }
        })
    });
    // Table and board views use the whole width; a ticket opens in their
    // place.
    let layout_class = move || {
        // After hydration only (see `find_view`): the server renders the
        // split layout and the browser switches once it runs.
        let layout = hydrated
            .get()
            .then(|| views.get().and_then(|r| r.ok()))
            .flatten()
            .and_then(|vs| find_view(&vs, &route.view.get()))
            .map(|v| v.layout)
            .unwrap_or_default();
        let open = if route.number.get().is_some() {
            " ticket-open"
        } else {
            ""
        };
        format!("workspace layout-{}{open}", layout.as_str())
    };

    view! {
        <div class=layout_class data-hydrated=move || hydrated.get().to_string() data-panels=move || panels_loaded.get().then_some("loaded")>
            <nav class="views" aria-label="Views">
                <div class="brand">"Ayuda"</div>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let list = views.await.unwrap_or_default();
                        view! { <ViewLinks views=list/> }
                    })}
                </Transition>
                <div class="view-actions">
                    {me.can_work_tickets().then(|| view! {
                        <button class="btn link" data-testid="new-view" on:click=move |_| ws.view_panel.set(ViewPanel::Edit(None))>"+ New view"</button>
                    })}
                    <button class="btn link" data-testid="choose-views" on:click=move |_| ws.view_panel.set(ViewPanel::Customize)>"Choose views"</button>
                    {me.is_admin().then(|| view! {
                        <a class="btn link" href="/settings/help-desk" data-testid="settings-help-desk">"Settings"</a>
                        <a class="btn link" href="/settings/channels" data-testid="settings-channels">"Channels"</a>
                    })}
                </div>
                {me.can_work_tickets().then(|| view! {
                    <button class="btn primary create-btn" data-testid="create-ticket" on:click=move |_| ws.show_create.set(true)>
                        "Create ticket"
                    </button>
                })}
                <div class="me">
                    <p class="connection" data-testid="connection"
                        class:offline=move || !live.online.get()
                        title="Live updates">
                        {move || if live.online.get() { "● Live" } else { "○ Offline, reconnecting…" }}
                    </p>
                    <span class=move || format!("avatar {}", live.availability_of(me_id).as_str()) title=me.name.clone()>{me.initials()}</span>
                    <span class="me-name" data-testid="me-name">{me.name.clone()}</span>
                    <span class="muted me-role">{me.role.label()}</span>
                    <label class="availability">
                        <span class="sr-only">"Availability"</span>
                        <select data-testid="availability"
                            prop:value=move || live.availability_of(me_id).as_str()
                            on:change=move |ev| {
                                set_availability.dispatch(SetAvailability { availability: event_target_value(&ev) });
                            }>
                            <option value="available">"Available"</option>
                            <option value="away">"Away"</option>
                        </select>
                    </label>
                    <p class="form-error" role="alert">{availability_error}</p>
                    // A plain form posts to the same address before the
                    // page is interactive. Not an `ActionForm`, which reads
                    // the form's fields into the function's arguments with
                    // a query-string reader that would come into the main
                    // bundle (sign-out has no arguments).
                    <form class="signout" method="post" action=sign_out_url
                        on:submit=move |ev| {
                            ev.prevent_default();
                            sign_out.dispatch(SignOut {});
                        }>
                        <button type="submit" class="btn link" data-testid="sign-out">"Sign out"</button>
                    </form>
                    <button class="btn link" title="Keyboard shortcuts (?)" on:click=move |_| ws.show_help.set(true)>"Shortcuts"</button>
                </div>
            </nav>
            <TicketList/>
            <TicketPane/>
            <Show when=move || ws.show_create.get()>
                {crate::on_demand::create_ticket_panel()}
            </Show>
            <Show when=move || ws.show_help.get()>
                <shortcuts::HelpOverlay/>
            </Show>
            <Show when=move || ws.show_palette.get()>
                {crate::on_demand::command_palette_panel()}
            </Show>
            {move || match ws.view_panel.get() {
                ViewPanel::Closed => ().into_any(),
                ViewPanel::Edit(editing) => crate::on_demand::view_editor_panel(editing),
                ViewPanel::Customize => {
                    let all = views.get().and_then(|r| r.ok()).unwrap_or_default();
                    crate::on_demand::customize_views_panel(all)
                }
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::ticket_number_in;

    #[test]
    fn ticket_number_comes_from_the_address() {
        assert_eq!(ticket_number_in("/views/open/tickets/42"), Some(42));
        assert_eq!(ticket_number_in("/views/open/tickets/42/"), Some(42));
        assert_eq!(ticket_number_in("/views/open"), None);
        assert_eq!(ticket_number_in("/views/open/"), None);
        assert_eq!(ticket_number_in("/views/open/tickets/"), None);
        assert_eq!(ticket_number_in("/views/open/tickets/4x2"), None);
        // A view may be called "tickets" too.
        assert_eq!(ticket_number_in("/views/tickets/tickets/7"), Some(7));
        assert_eq!(ticket_number_in("/views/tickets"), None);
    }
}
