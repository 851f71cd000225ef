//! The search box above the ticket list (results as one types) and the
//! command palette (Ctrl/Cmd-K): jump to a ticket, a view, a contact's
//! tickets or an action, from the keyboard.
//!
//! Both load results only in the browser (`LocalResource`): nothing to
//! render on the server, and no resource to pair up at hydration.

use super::{search_tickets, SearchResults};
use crate::workspace::{Loads, Route, Ws};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

/// Waits this long after the last keystroke before asking the server.
const DEBOUNCE_MS: u64 = 120;

/// A query typed into a box, and the same query once typing paused.
#[derive(Clone, Copy)]
struct Typed {
    now: RwSignal<String>,
    settled: RwSignal<String>,
}

impl Typed {
    fn new() -> Typed {
        Typed {
            now: RwSignal::new(String::new()),
            settled: RwSignal::new(String::new()),
        }
    }

    fn set(&self, value: String) {
        self.now.set(value.clone());
        let typed = *self;
        set_timeout(
            move || {
                // try_: the box may be gone by then.
                if typed.now.try_get_untracked().as_deref() == Some(value.as_str()) {
                    typed.settled.set(value);
                }
            },
            std::time::Duration::from_millis(DEBOUNCE_MS),
        );
    }

    fn clear(&self) {
        self.now.set(String::new());
        self.settled.set(String::new());
    }
}

/// Moves the highlighted line of a list of `len` with the arrow keys.
fn move_selection(ev: &leptos::ev::KeyboardEvent, selected: RwSignal<usize>, len: usize) {
    ev.prevent_default();
    if ev.key() == "ArrowDown" {
        selected.update(|s| *s = (*s + 1).min(len.saturating_sub(1)));
    } else {
        selected.update(|s| *s = s.saturating_sub(1));
    }
}

/// Results for the settled query (`None` while it is empty).
fn results(
    typed: Typed,
    scope: impl Fn() -> Option<String> + 'static,
    limit: i64,
) -> LocalResource<Option<Result<SearchResults, ServerFnError>>> {
    LocalResource::new(move || {
        let q = typed.settled.get();
        let view = scope();
        async move {
            if q.trim().is_empty() {
                None
            } else {
                Some(search_tickets(q, view, Some(limit)).await)
            }
        }
    })
}

/// The search box: results drop down under it as one types; Enter opens
/// the selected one, arrows move, Escape closes.
#[component]
pub fn SearchBox() -> impl IntoView {
    let route = expect_context::<Route>();
    let navigate = use_navigate();
    let search = SearchBoxState {
        typed: Typed::new(),
        in_view: RwSignal::new(false),
        selected: RwSignal::new(0_usize),
        open: RwSignal::new(false),
        hits: RwSignal::new(Vec::new()),
    };
    let SearchBoxState {
        typed,
        in_view,
        selected,
        open,
        hits,
    } = search;
    let go = move |number: i64| {
        open.set(false);
        navigate(&route.ticket_href(number), Default::default());
    };
    let on_key = {
        move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
            "ArrowDown" | "ArrowUp" => move_selection(&ev, selected, hits.with(Vec::len)),
            "Enter" => {
                ev.prevent_default();
                if let Some(number) = hits.with(|h| h.get(selected.get_untracked()).copied()) {
                    go(number);
                }
            }
            "Escape" => {
                open.set(false);
            }
            _ => {}
        }
    };
    view! {
        <div class="search" data-testid="search">
            <input type="search" class="search-input" data-testid="search-input"
                placeholder="Search tickets, messages, contacts, #number"
                aria-label="Search tickets"
                prop:value=move || typed.now.get()
                on:input=move |ev| {
                    typed.set(event_target_value(&ev));
                    selected.set(0);
                    open.set(true);
                }
                on:focus=move |_| open.set(true)
                on:keydown=on_key/>
            <label class="search-scope muted">
                <input type="checkbox" data-testid="search-in-view"
                    prop:checked=move || in_view.get()
                    on:change=move |ev| in_view.set(event_target_checked(&ev))/>
                " In this view"
            </label>
            // The results, their search and their markup come with the
            // panels' code (see on_demand), once something is typed.
            <Show when=move || !typed.settled.get().trim().is_empty()>
                {crate::on_demand::search_results_panel(search)}
            </Show>
        </div>
    }
}

/// What the search box shares with its results: the query, the scope,
/// whether the results show, the highlighted line, and the ticket numbers
/// of the results (for Enter and the arrow keys, handled by the box).
#[derive(Clone, Copy)]
pub struct SearchBoxState {
    typed: Typed,
    /// Search only the open view.
    in_view: RwSignal<bool>,
    selected: RwSignal<usize>,
    open: RwSignal<bool>,
    hits: RwSignal<Vec<i64>>,
}

impl SearchBoxState {
    /// Hides the results (the box keeps its query).
    pub fn close(&self) {
        self.open.set(false);
    }
}

/// The results under the search box, while a query is typed.
#[component]
pub fn SearchResults(search: SearchBoxState) -> impl IntoView {
    let route = expect_context::<Route>();
    let SearchBoxState { selected, open, .. } = search;
    let found = results(
        search.typed,
        move || search.in_view.get().then(|| route.view.get()),
        20,
    );
    Effect::new(move |_| {
        let numbers = found
            .get()
            .flatten()
            .and_then(|r| r.ok())
            .map(|r| r.hits.iter().map(|h| h.ticket.number).collect())
            .unwrap_or_default();
        search.hits.set(numbers);
    });
    view! {
        <div class="search-results" data-testid="search-results" role="listbox" hidden=move || !open.get()>
            <Suspense fallback=|| view! { <p class="muted">"Searching…"</p> }>
                {
                    move || {
                        found.get().map(move |r| match r {
                            None => ().into_any(),
                            Some(Err(e)) => view! {
                                <p class="form-error" data-testid="search-error">{crate::error::server_error_message(&e)}</p>
                            }.into_any(),
                            Some(Ok(r)) => {
                                let total = if r.total_capped { format!("{}+", r.total) } else { r.total.to_string() };
                                let count = if r.total == 1 { "1 ticket".to_string() } else { format!("{total} tickets") };
                                view! {
                                    <p class="muted search-total" data-testid="search-total" data-total=r.total.to_string()>{count}</p>
                                    <ul>
                                        {r.hits.into_iter().enumerate().map(|(i, hit)| {
                                            let number = hit.ticket.number;
                                            view! {
                                                <li role="option" data-testid="search-hit"
                                                    data-number=number.to_string()
                                                    class:selected=move || selected.get() == i
                                                    // Before the box loses focus and closes the list.
                                                    on:mousedown=|ev| ev.prevent_default()>
                                                    <A href=move || route.ticket_href(number) on:click=move |_| open.set(false)>
                                                    <div class="hit-head">
                                                        <span class="num">{format!("#{number}")}</span>
                                                        " "
                                                        <strong>{hit.ticket.subject.clone()}</strong>
                                                        " "
                                                        <span class=format!("badge status-{}", hit.ticket.status_category.as_str())>{hit.ticket.status.clone()}</span>
                                                    </div>
                                                    // Escaped text with <mark> only (see SearchHit).
                                                    <div class="hit-snippet muted" inner_html=hit.snippet_html.clone()></div>
                                                    </A>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }
                        })
                    }
                }
            </Suspense>
        </div>
    }
}

/// One line of the palette.
#[derive(Clone)]
enum Item {
    Ticket { number: i64, label: String },
    View { slug: String, label: String },
    Contact { label: String, email: String },
    Action { label: &'static str, run: Action },
}

#[derive(Clone, Copy)]
enum Action {
    CreateTicket,
    NewView,
    ChooseViews,
    Shortcuts,
    Settings,
    Channels,
}

impl Item {
    fn label(&self) -> String {
        match self {
            Item::Ticket { label, .. } | Item::View { label, .. } | Item::Contact { label, .. } => {
                label.clone()
            }
            Item::Action { label, .. } => label.to_string(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Item::Ticket { .. } => "Ticket",
            Item::View { .. } => "View",
            Item::Contact { .. } => "Contact",
            Item::Action { .. } => "Action",
        }
    }
}

/// Ctrl/Cmd-K: type to find a ticket (by words or number), a view, a
/// contact or an action; arrows and Enter, or a click, to go.
#[component]
pub fn CommandPalette() -> impl IntoView {
    let ws = expect_context::<Ws>();
    let route = expect_context::<Route>();
    let views = expect_context::<Loads>().views;
    let navigate = use_navigate();
    let typed = Typed::new();
    let found = results(typed, || None, 8);
    let selected = RwSignal::new(0_usize);
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });
    let me = ws.me();
    // Views and actions whose names match first, then what search found.
    let items = move || {
        let q = typed.now.get().trim().to_lowercase();
        let matches = |label: &str| q.is_empty() || label.to_lowercase().contains(&q);
        let mut out: Vec<Item> = Vec::new();
        for v in views.get().and_then(|r| r.ok()).unwrap_or_default() {
            if !v.hidden && matches(&v.name) {
                out.push(Item::View {
                    slug: v.id.slug(),
                    label: v.name.clone(),
                });
            }
        }
        let mut actions = vec![("Keyboard shortcuts", Action::Shortcuts)];
        if me.can_work_tickets() {
            actions.push(("Create ticket", Action::CreateTicket));
            actions.push(("New view", Action::NewView));
        }
        actions.push(("Choose views", Action::ChooseViews));
        if me.is_admin() {
            actions.push(("Help desk settings", Action::Settings));
            actions.push(("Channels", Action::Channels));
        }
        for (label, run) in actions {
            if matches(label) {
                out.push(Item::Action { label, run });
            }
        }
        if let Some(Ok(r)) = found.get().flatten() {
            for hit in r.hits {
                out.push(Item::Ticket {
                    number: hit.ticket.number,
                    label: format!("#{} {}", hit.ticket.number, hit.ticket.subject),
                });
            }
            for c in r.contacts {
                let email = c.email.clone().unwrap_or_default();
                out.push(Item::Contact {
                    label: format!("{} {}", c.name, email),
                    email: if email.is_empty() { c.name } else { email },
                });
            }
        }
        out
    };
    let close = move || {
        ws.show_palette.set(false);
        typed.clear();
    };
    let run = {
        let navigate = navigate.clone();
        move |item: Item| {
            match item {
                Item::Ticket { number, .. } => {
                    navigate(&route.ticket_href(number), Default::default())
                }
                Item::View { slug, .. } => navigate(&format!("/views/{slug}"), Default::default()),
                Item::Contact { email, .. } => {
                    // The contact's tickets: search for them.
                    typed.set(email);
                    selected.set(0);
                    return;
                }
                Item::Action { run, .. } => match run {
                    Action::CreateTicket => ws.show_create.set(true),
                    Action::NewView => ws
                        .view_panel
                        .set(crate::views::editor::ViewPanel::Edit(None)),
                    Action::ChooseViews => ws
                        .view_panel
                        .set(crate::views::editor::ViewPanel::Customize),
                    Action::Shortcuts => ws.show_help.set(true),
                    Action::Settings => crate::auth::hard_navigate("/settings/help-desk"),
                    Action::Channels => crate::auth::hard_navigate("/settings/channels"),
                },
            }
            close();
        }
    };
    let on_key = {
        let run = run.clone();
        let items = items.clone();
        move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
            "ArrowDown" | "ArrowUp" => move_selection(&ev, selected, items().len()),
            "Enter" => {
                ev.prevent_default();
                if let Some(item) = items().get(selected.get_untracked()).cloned() {
                    run(item);
                }
            }
            "Escape" => {
                ev.prevent_default();
                close();
            }
            _ => {}
        }
    };
    view! {
        <div class="overlay palette-overlay" role="dialog" aria-label="Command palette" data-testid="palette"
            on:click=move |_| close()>
            <div class="overlay-card palette" on:click=|ev| ev.stop_propagation()>
                <input type="text" node_ref=input data-testid="palette-input" class="palette-input"
                    placeholder="Jump to a ticket, view, contact or action…"
                    prop:value=move || typed.now.get()
                    on:input=move |ev| { typed.set(event_target_value(&ev)); selected.set(0); }
                    on:keydown=on_key/>
                <ul class="palette-items" role="listbox">
                    {move || {
                        let run = run.clone();
                        items().into_iter().enumerate().map(|(i, item)| {
                            let run = run.clone();
                            let kind = item.kind();
                            let label = item.label();
                            view! {
                                <li role="option" data-testid="palette-item" data-kind=kind
                                    class:selected=move || selected.get() == i
                                    on:mousedown=move |ev| { ev.prevent_default(); run(item.clone()); }>
                                    <span class="palette-kind muted">{kind}</span>
                                    <span>{label}</span>
                                </li>
                            }
                        }).collect_view()
                    }}
                </ul>
            </div>
        </div>
    }
}
