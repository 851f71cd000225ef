//! The middle column: one keyset page of the current view's tickets.

use super::api::list_tickets;
use super::{channel_label, SortKey, TicketPage};
use crate::error::server_error_message;
use crate::time_fmt::format_ms;
use crate::views::ViewId;
use crate::workspace::{Live, Loads, Route, Ws};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

/// Loads the current view's page; reloads when the route, a mutation or a
/// live event says the list changed. Created by the workspace (see
/// [`crate::workspace::Loads`]).
pub fn load_list(
    route: Route,
    refresh: Memo<usize>,
    live: Live,
) -> Resource<Result<TicketPage, ServerFnError>> {
    Resource::new(
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
    let title = move || {
        ViewId::from_slug(&route.view.get())
            .map(|v| v.label())
            .unwrap_or("Tickets")
    };
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
                <h1 data-testid="view-title">{title}</h1>
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
            <Transition fallback=|| view! { <p class="loading">"Loading tickets…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => {
                            ws.visible.set(page.tickets.iter().map(|t| t.number).collect());
                            let empty = page.tickets.is_empty();
                            let next = page.next_cursor.clone();
                            view! {
                                <table class="tickets">
                                    <thead>
                                        <tr>
                                            <th>"Subject"</th>
                                            <th>"Contact"</th>
                                            <th>"Status"</th>
                                            <th>"Priority"</th>
                                            <th>"Owner"</th>
                                            <th>"Channel"</th>
                                            <th>"Last activity"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {page
                                            .tickets
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
                                                view! {
                                                    <tr
                                                        class=move || if selected() { "row selected" } else { "row" }
                                                        data-testid="ticket-row"
                                                        data-number=number.to_string()
                                                    >
                                                        <td class="subject">
                                                            <A href=move || route.ticket_href(number)>
                                                                <span class="num">{format!("#{number}")}</span>
                                                                " "
                                                                {t.subject.clone()}
                                                            </A>
                                                            <span class="row-viewers">{viewers}</span>
                                                        </td>
                                                        <td>{t.contact_name.clone().unwrap_or_else(|| "—".into())}</td>
                                                        <td>
                                                            <span class=format!("badge status-{}", t.status_category.as_str())>
                                                                {t.status.clone()}
                                                            </span>
                                                        </td>
                                                        <td>
                                                            <span class=format!("prio prio-{}", t.priority.as_str())>
                                                                {t.priority.label()}
                                                            </span>
                                                        </td>
                                                        <td>{t.owner_name.clone().unwrap_or_else(|| "Unassigned".into())}</td>
                                                        <td>{channel_label(&t.channel)}</td>
                                                        <td class="when">{format_ms(t.updated_at)}</td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
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
