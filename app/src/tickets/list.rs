//! The middle column: one keyset page of the current view's tickets.

use super::api::list_tickets;
use super::{channel_label, SortKey, Ticket, TicketPage};
use crate::error::server_error_message;
use crate::resource::{server_resource, ServerResource};
use crate::tickets::actions::components::RowTick;
use crate::time_fmt::format_ms;
use crate::views::editor::ViewPanel;
use crate::views::{Column, Layout};
use crate::workspace::{find_view, Live, Loads, Route, Ws};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

/// Loads the current view's page; reloads when the route, a mutation or a
/// live event says the list changed. Created by the workspace (see
/// [`crate::workspace::Loads`]).
pub fn load_list(route: Route, refresh: Memo<usize>, live: Live) -> ServerResource<TicketPage> {
    server_resource(
        move || {
            (
                route.view.get(),
                route.sort.get(),
                route.asc.get(),
                route.cursor.get(),
                refresh.get(),
                live.list_epoch.get(),
            )
        },
        |(view, sort, asc, cursor, _, _)| list_tickets(view, sort, Some(asc), cursor),
    )
}

#[component]
pub fn TicketList() -> impl IntoView {
    let ws = expect_context::<Ws>();
    let route = expect_context::<Route>();
    let me = ws.me().id;
    let page = expect_context::<Loads>().list;
    let views = expect_context::<Loads>().views;
    // Awaited, so that the server renders the same title as the browser
    // (see `find_view`).
    let current = move || async move {
        let list = views.await.unwrap_or_default();
        find_view(&list, &route.view.get_untracked())
    };
    // A new view starts with nothing ticked.
    Effect::new(move |_| {
        route.view.track();
        ws.selection.set(Vec::new());
    });
    // Changing the sort starts again from the first page.
    let navigate = use_navigate();
    let on_sort = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let (key, asc) = value.split_once(':').unwrap_or((value.as_str(), "desc"));
        let mut href = format!("/views/{}?sort={key}", route.view.get_untracked());
        if asc == "asc" {
            href.push_str("&asc=true");
        }
        navigate(&href, Default::default());
    };
    let sort_value = move || {
        format!(
            "{}:{}",
            route
                .sort
                .get()
                .unwrap_or_else(|| SortKey::default().as_str().to_string()),
            if route.asc.get() { "asc" } else { "desc" }
        )
    };

    view! {
        <section class="list" aria-label="Tickets">
            <header class="list-header">
                <Transition fallback=|| view! { <h1>"Tickets"</h1> }>
                    {move || {
                        route.view.track();
                        Suspend::new(async move {
                            let shown = current().await;
                            let title = shown.as_ref().map(|v| v.name.clone()).unwrap_or_else(|| "Tickets".into());
                            let editable = shown.and_then(|v| v.editable);
                            view! {
                                <h1 data-testid="view-title">{title}</h1>
                                {editable.map(|v| view! {
                                    <button class="btn link" data-testid="edit-view" on:click=move |_| ws.view_panel.set(ViewPanel::Edit(Some(v.clone())))>
                                        "Edit view"
                                    </button>
                                })}
                            }
                        })
                    }}
                </Transition>
                <label class="sort">
                    "Sort "
                    <select data-testid="sort" on:change=on_sort prop:value=sort_value>
                        {SortKey::ALL
                            .into_iter()
                            .flat_map(|k| {
                                [("desc", "↓"), ("asc", "↑")]
                                    .map(|(dir, arrow)| {
                                        let v = format!("{}:{dir}", k.as_str());
                                        view! {
                                            <option value=v.clone() selected=move || sort_value() == v>
                                                {format!("{} {arrow}", k.label())}
                                            </option>
                                        }
                                    })
                            })
                            .collect_view()}
                    </select>
                </label>
            </header>
            <crate::search::palette::SearchBox/>
            <Show when=move || ws.selection.with(|s| !s.is_empty())>
                {crate::on_demand::bulk_bar_panel()}
            </Show>
            <Transition fallback=|| view! { <p class="loading">"Loading tickets…"</p> }>
                {move || Suspend::new(async move {
                    let shown = current().await;
                    match page.await {
                        Ok(page) => {
                            ws.visible.set(page.tickets.iter().map(|t| t.number).collect());
                            let empty = page.tickets.is_empty();
                            let next = page.next_cursor.clone();
                            let tickets = page.tickets;
                            view! {
                                {
                                    let columns = shown.as_ref().map(|v| v.columns.clone()).unwrap_or_else(|| Column::DEFAULT.to_vec());
                                    if shown.map(|v| v.layout) == Some(Layout::Board) {
                                        view! { <Board tickets/> }.into_any()
                                    } else {
                                        view! { <Table tickets columns me/> }.into_any()
                                    }
                                }
                                {empty.then(|| view! { <p class="empty" data-testid="empty-view">"No tickets here. Nice work."</p> })}
                                <nav class="pager">
                                    {move || {
                                        route
                                            .cursor
                                            .get()
                                            .map(|_| {
                                                let mut href = format!("/views/{}", route.view.get());
                                                if let Some(s) = route.sort.get() {
                                                    href.push_str(&format!("?sort={s}"));
                                                    if route.asc.get() {
                                                        href.push_str("&asc=true");
                                                    }
                                                }
                                                view! { <A href=href>"« First page"</A> }
                                            })
                                    }}
                                    {next.map(|cursor| {
                                        let href = move || {
                                            let mut href = format!("/views/{}?cursor={cursor}", route.view.get());
                                            if let Some(s) = route.sort.get() {
                                                href.push_str(&format!("&sort={s}"));
                                            }
                                            if route.asc.get() {
                                                href.push_str("&asc=true");
                                            }
                                            href
                                        };
                                        view! { <A href=href attr:data-testid="next-page">"Next page »"</A> }
                                    })}
                                </nav>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="form-error">{server_error_message(&e)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The page as a table with the view's columns.
#[component]
fn Table(tickets: Vec<Ticket>, columns: Vec<Column>, me: i64) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let route = expect_context::<Route>();
    let with_number = !columns.contains(&Column::Number);
    // Bulk actions are for people who may change tickets.
    let can_tick = ws.me().can_work_tickets();
    view! {
        <table class="tickets">
            <thead>
                <tr>
                    {can_tick.then(|| view! { <th class="tick"><span class="sr-only">"Select"</span></th> })}
                    {columns.iter().map(|c| view! { <th data-column=c.as_str()>{c.label()}</th> }).collect_view()}
                </tr>
            </thead>
            <tbody>
                {tickets
                    .into_iter()
                    .map(|t| {
                        let number = t.number;
                        let ticket_id = t.id;
                        // Teammates on this ticket right now.
                        let viewers = move || {
                            ws.live
                                .others_on(ticket_id, me)
                                .into_iter()
                                .map(|v| {
                                    let title = match v.typing {
                                        Some(_) => format!("{} is typing", v.name),
                                        None => format!("{} is viewing", v.name),
                                    };
                                    view! {
                                        <span class="avatar tiny" class:typing=v.typing.is_some() data-testid="row-viewer" title=title>
                                            {crate::users::initials(&v.name)}
                                        </span>
                                    }
                                })
                                .collect_view()
                        };
                        let selected = move || route.number.get() == Some(number);
                        let cells = columns
                            .iter()
                            .map(|c| match c {
                                Column::Number => view! { <td class="num">{format!("#{number}")}</td> }.into_any(),
                                Column::Subject => {
                                    let subject = t.subject.clone();
                                    view! {
                                    <td class="subject">
                                        // A plain link (the router still takes the
                                        // click): `A` resolves each href against
                                        // the route, a cost paid for every row.
                                        <a href=move || route.ticket_href(number)>
                                            {with_number.then(|| view! { <span class="num">{format!("#{number}")}</span>" " })}
                                            {subject}
                                        </a>
                                        <span class="row-viewers">{viewers}</span>
                                    </td>
                                }
                                .into_any()
                                }
                                Column::Contact => view! { <td>{t.contact_name.clone().unwrap_or_else(|| "—".into())}</td> }.into_any(),
                                Column::Status => view! {
                                    <td>
                                        <span class=format!("badge status-{}", t.status_category.as_str())>{t.status.clone()}</span>
                                    </td>
                                }
                                .into_any(),
                                Column::Priority => view! {
                                    <td>
                                        <span class=format!("prio prio-{}", t.priority.as_str())>{t.priority.label()}</span>
                                    </td>
                                }
                                .into_any(),
                                Column::Owner => view! { <td>{t.owner_name.clone().unwrap_or_else(|| "Unassigned".into())}</td> }.into_any(),
                                Column::Team => view! { <td>{t.team_name.clone().unwrap_or_else(|| "—".into())}</td> }.into_any(),
                                Column::Channel => view! { <td>{channel_label(&t.channel)}</td> }.into_any(),
                                Column::Category => view! { <td>{t.category.clone().unwrap_or_else(|| "—".into())}</td> }.into_any(),
                                Column::Created => view! { <td class="when">{format_ms(t.created_at)}</td> }.into_any(),
                                Column::Updated => view! { <td class="when">{format_ms(t.updated_at)}</td> }.into_any(),
                                Column::Sla => view! {
                                    <td><crate::sla::SlaBadge state=t.sla_state due_at=t.sla_due_at/></td>
                                }
                                .into_any(),
                            })
                            .collect_view();
                        view! {
                            <tr
                                class=move || if selected() { "row selected" } else { "row" }
                                data-testid="ticket-row"
                                data-number=number.to_string()
                            >
                                {can_tick.then(|| view! { <td class="tick"><RowTick ticket_id/></td> })}
                                {cells}
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// The page as a board: one column per status, in pipeline order.
#[component]
fn Board(tickets: Vec<Ticket>) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let route = expect_context::<Route>();
    // Statuses in pipeline order, then any the page has that the pipelines
    // do not list (they cannot be missed).
    let mut lanes: Vec<(i64, String)> = ws.meta.with_value(|m| {
        m.pipelines
            .iter()
            .flat_map(|p| p.statuses.iter().map(|s| (s.id, s.name.clone())))
            .collect()
    });
    for t in &tickets {
        if !lanes.iter().any(|(id, _)| *id == t.status_id) {
            lanes.push((t.status_id, t.status.clone()));
        }
    }
    view! {
        <div class="board" data-testid="board">
            {lanes
                .into_iter()
                .map(|(status_id, name)| {
                    let cards: Vec<Ticket> = tickets.iter().filter(|t| t.status_id == status_id).cloned().collect();
                    let n = cards.len();
                    view! {
                        <section class="lane" data-testid="board-lane">
                            <h3>{name}" "<span class="muted">{n}</span></h3>
                            {cards
                                .into_iter()
                                .map(|t| {
                                    let number = t.number;
                                    view! {
                                        <a href=move || route.ticket_href(number) class="card" data-testid="ticket-row" data-number=number.to_string()>
                                            <span class="num">{format!("#{number}")}</span>
                                            " "
                                            {t.subject.clone()}
                                            <span class=format!("prio prio-{}", t.priority.as_str())>{t.priority.label()}</span>
                                            <span class="muted">{t.owner_name.clone().unwrap_or_else(|| "Unassigned".into())}</span>
                                        </a>
                                    }
                                })
                                .collect_view()}
                        </section>
                    }
                })
                .collect_view()}
        </div>
    }
}
