//! The open ticket: header, thread, composer and the properties sidebar.

use super::actions::components::{
    LinkedCard, SplitBar, SplitMode, SplitTick, TicketActions, TicketNotices,
};
use super::api::{open_ticket, AddEntry, AddOutcome, TicketDetail, TicketDetailJson, UpdateTicket};
use super::{channel_label, Priority, Ticket, CATEGORIES};
use crate::error::server_error_message;
use crate::events::Typing;
use crate::messages::{EntryKind, NewEntryKind, ThreadEntry};
use crate::resource::{server_resource, ServerResource};
use crate::routing::Load;
use crate::sidebar::{CardKind, PropertySlot, SidebarLayout, TicketField};
use crate::time_fmt::format_ms;
use crate::workspace::{Live, Loads, Route, Ws};
use leptos::prelude::*;
use leptos_router::components::A;

/// Loads the open ticket (`None` when none is open); reloads when the route,
/// a mutation or a live event about it says so. Created by the workspace
/// (see [`crate::workspace::Loads`]).
pub fn load_ticket(
    route: Route,
    refresh: Memo<usize>,
    live: Live,
) -> ServerResource<Option<TicketDetailJson>> {
    server_resource(
        move || (route.number.get(), refresh.get(), live.ticket_epoch.get()),
        |(number, _, _)| async move {
            match number {
                Some(n) => open_ticket(n).await.map(Some),
                None => Ok(None),
            }
        },
    )
}

#[component]
pub fn TicketPane() -> impl IntoView {
    let ws = expect_context::<Ws>();
    let route = expect_context::<Route>();
    // The ticket on screen: (id, newest entry id, 0 when none). Set by
    // [`open_ticket_view`] once the ticket has loaded, rather than read from
    // the ticket's resource here: a read outside the `Transition` would
    // suspend the whole workspace on every reload of the ticket.
    let shown = RwSignal::new(None::<(i64, i64)>);
    // The open ticket's id: the one shown, while the address names one
    // (back on the list, `shown` keeps the last ticket, but none is open).
    let current_id = Memo::new(move |_| {
        route
            .number
            .get()
            .and_then(|_| shown.get().map(|(id, _)| id))
    });
    // The newest entry shown, which a reply is written against.
    let newest_entry = Memo::new(move |_| shown.get().map(|(_, newest)| newest));
    // Live events about this ticket reload it; others see us viewing it,
    // until we leave it (for the list, another ticket, or another page: the
    // workspace that replaces this one reports its own open ticket, or none,
    // the same way).
    Effect::new(move |_| ws.live.set_presence(current_id.get(), None));

    let open = OpenTicket {
        shown,
        current_id,
        newest_entry,
    };
    // The open ticket's code is fetched on demand (see on_demand): the
    // list's page never waits for it.
    view! {
        <section class="ticket" aria-label="Open ticket">
            <Show
                when=move || route.number.get().is_some()
                fallback=|| view! { <div class="no-ticket muted">"Select a ticket to see its conversation."</div> }
            >
                {crate::on_demand::open_ticket_view(open)}
            </Show>
        </section>
    }
}

/// What the open ticket shares with the pane around it, which made it. The
/// pane is in the bundle every page loads; the open ticket
/// ([`open_ticket_view`]) is in a chunk of its own.
#[derive(Clone, Copy)]
pub struct OpenTicket {
    /// The ticket on screen: (id, newest entry id, 0 when none).
    shown: RwSignal<Option<(i64, i64)>>,
    /// The open ticket's id, `None` while it loads or back on the list.
    current_id: Memo<Option<i64>>,
    /// The newest entry shown, which a reply is written against.
    newest_entry: Memo<Option<i64>>,
}

/// The open ticket: its thread, sidebar and composer.
pub fn open_ticket_view(open: OpenTicket) -> AnyView {
    let OpenTicket {
        shown,
        current_id,
        newest_entry,
    } = open;
    let detail = expect_context::<Loads>().ticket;
    // The ticket's own mutations, made here rather than by the parts that
    // dispatch them: those are made again each time the ticket reloads,
    // which a change makes it do, and a refused change's message must
    // outlive that reload.
    let ws = expect_context::<Ws>();
    let update = ServerAction::<UpdateTicket>::new();
    let add = ServerAction::<AddEntry>::new();
    ws.reload_after(update);
    ws.reload_after(add);
    provide_context(update);
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading ticket…"</p> }>
            {move || Suspend::new(async move {
                // Read here, in the open ticket's chunk (see TicketDetailJson).
                let loaded = detail.await.and_then(|json| {
                    json.map(|json| json.read())
                        .transpose()
                        .map_err(|_| ServerFnError::ServerError("This ticket could not be read. Reload the page to try again.".into()))
                });
                shown.set(match &loaded {
                    // An empty thread counts as "seen up to 0", so a
                    // first reply is still checked against anything
                    // that arrives while it is written.
                    Ok(Some(d)) => Some((d.ticket.id, d.entries.iter().map(|e| e.id).max().unwrap_or(0))),
                    _ => None,
                });
                match loaded {
                    Ok(Some(d)) => view! { <TicketView detail=d/> }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(e) => {
                        view! { <p class="form-error" data-testid="ticket-error">{server_error_message(&e)}</p> }
                            .into_any()
                    }
                }
            })}
        </Transition>
        <Composer ticket_id=current_id newest_entry add/>
    }
    .into_any()
}

/// Previous / next ticket of the list as shown (the same as `k` / `j`).
/// Rendered only after hydration: the list and the ticket load
/// independently, so the server cannot know the neighbours when it renders.
#[component]
fn TicketNav(number: i64) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let route = expect_context::<Route>();
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    let neighbour = move |delta: i64| {
        let numbers = ws.visible.get();
        let i = numbers.iter().position(|x| *x == number)? as i64 + delta;
        usize::try_from(i)
            .ok()
            .and_then(|i| numbers.get(i).copied())
    };
    let link = move |delta: i64, label: &'static str, title: &'static str| {
        move || {
            // try_: when the list and this ticket reload together, the list
            // can notify this link after its ticket view was replaced.
            mounted.try_get().unwrap_or(false).then(|| {
                neighbour(delta).map(|n| {
                    view! { <A href=route.ticket_href(n) attr:title=title attr:class="btn link">{label}</A> }
                })
            })
        }
    };
    view! {
        <nav class="ticket-nav" aria-label="Previous and next ticket">
            {link(-1, "‹ Previous", "Previous ticket (k)")}
            {link(1, "Next ›", "Next ticket (j)")}
        </nav>
    }
}

/// Follow / Unfollow: a followed ticket is in the follower's Followers view.
#[component]
fn FollowButton(ticket_id: i64, following: bool) -> impl IntoView {
    let follow = ServerAction::<crate::views::api::FollowTicket>::new();
    // The server's answer once there is one, what the page loaded until then.
    let on = move || match follow.value().get() {
        Some(Ok(now)) => now,
        _ => following,
    };
    view! {
        <button class="btn link follow" data-testid="follow"
            aria-pressed=move || on().to_string()
            on:click=move |_| { follow.dispatch(crate::views::api::FollowTicket { ticket_id, on: !on() }); }>
            {move || if on() { "★ Following" } else { "☆ Follow" }}
        </button>
        <span class="form-error" role="alert">{move || crate::error::failure_message(follow.value().get())}</span>
    }
}

/// Who else is on this ticket: "Ana is viewing", "Bo is typing a reply…".
#[component]
fn Viewers(ticket_id: i64) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let me = ws.me().id;
    let others = move || ws.live.others_on(ticket_id, me);
    view! {
        <div class="viewers" data-testid="viewers" aria-live="polite">
            {move || {
                others()
                    .into_iter()
                    .map(|v| {
                        let what = match v.typing {
                            Some(Typing::Reply) => "is typing a reply…",
                            Some(Typing::Note) => "is typing a note…",
                            None => "is viewing",
                        };
                        let typing = v.typing.is_some();
                        view! {
                            <span class="viewer" class:typing=typing data-testid="viewer">
                                <span class="avatar small">{crate::users::initials(&v.name)}</span>
                                {format!("{} {what}", v.name)}
                            </span>
                        }
                    })
                    .collect_view()
            }}
        </div>
    }
}

#[component]
fn TicketView(detail: TicketDetail) -> impl IntoView {
    let TicketDetail {
        ticket,
        entries,
        following,
        layout,
        loads,
        company,
        contact_tickets,
        merged_from,
        merged,
        split_from,
        split_into,
    } = detail;
    let split = SplitMode(RwSignal::new(None));
    provide_context(split);
    let linked = view! {
        <LinkedCard ticket_id=ticket.id merged split_from split_into/>
    }
    .into_any();
    view! {
        <div class="ticket-main" data-testid="ticket-pane" data-ticket-id=ticket.id.to_string()>
            <TicketNav number=ticket.number/>
            <header class="ticket-header">
                <h2 data-testid="ticket-subject">
                    <span class="num">{format!("#{}", ticket.number)}</span>
                    " "
                    {ticket.subject.clone()}
                </h2>
                <div class="ticket-meta muted">
                    <span class=format!("badge status-{}", ticket.status_category.as_str()) data-testid="ticket-status">
                        {ticket.status.clone()}
                    </span>
                    " · "
                    {channel_label(&ticket.channel)}
                    " · created "
                    {format_ms(ticket.created_at)}
                    " "
                    <crate::sla::SlaBadge state=ticket.sla_state due_at=ticket.sla_due_at/>
                </div>
                <FollowButton ticket_id=ticket.id following/>
                <TicketActions ticket=ticket.clone() split/>
                <Viewers ticket_id=ticket.id/>
                <TicketNotices ticket=ticket.clone() merged_from/>
            </header>
            <ol class="thread" data-testid="thread">
                {entries.into_iter().map(|e| view! { <Entry entry=e/> }).collect_view()}
            </ol>
            <SplitBar ticket_id=ticket.id split/>
        </div>
        <Sidebar ticket layout loads company contact_tickets linked/>
    }
}

#[component]
fn Entry(entry: ThreadEntry) -> impl IntoView {
    let who = entry
        .author
        .as_ref()
        .map(|a| a.name.clone())
        .unwrap_or_else(|| "System".into());
    let kind = entry.kind.as_str();
    let label = match entry.kind {
        EntryKind::Inbound => "wrote",
        EntryKind::Reply => "replied",
        EntryKind::Note => "added a note",
        EntryKind::Event => "",
    };
    let show_images = RwSignal::new(false);
    let body_html = entry.body_html.clone();
    let files: Vec<_> = entry
        .attachments
        .iter()
        .filter(|a| !a.inline)
        .cloned()
        .collect();
    if entry.kind == EntryKind::Event {
        return view! {
            <li class="entry event" data-testid="entry" data-kind=kind>
                <span class="muted">{entry.body.clone()}" · "{format_ms(entry.created_at)}</span>
            </li>
        }
        .into_any();
    }
    view! {
        <li class=format!("entry {kind}") data-testid="entry" data-kind=kind>
            <div class="entry-head">
                <SplitTick entry_id=entry.id/>
                <span class="avatar small">{crate::users::initials(&who)}</span>
                <strong>{who.clone()}</strong>
                " "
                <span class="muted">{label}</span>
                <span class="muted when">{format_ms(entry.created_at)}</span>
                {entry.merged_from.as_ref().map(|m| view! {
                    <span class="badge merged-from" data-testid="entry-merged-from" title="Merged in from this ticket">{format!("from #{}", m.number)}</span>
                })}
            </div>
            {entry.origin.clone().map(|o| view! { <div class="entry-origin muted" data-testid="entry-origin">{o}</div> })}
            // body_html was sanitised by the server when it was stored;
            // remote images sit in data-remote-src until asked for.
            <div class="entry-body" inner_html=move || {
                if show_images.get() {
                    body_html.replace(" data-remote-src=\"http", " src=\"http")
                } else {
                    body_html.clone()
                }
            }></div>
            {entry.remote_images.then(|| view! {
                <button class="btn link small" data-testid="show-images"
                    hidden=move || show_images.get()
                    on:click=move |_| show_images.set(true)>
                    "Remote images are blocked. Show images"
                </button>
            })}
            {entry.quoted_html.clone().map(|q| view! {
                <details class="entry-quote">
                    <summary>"Show quoted text"</summary>
                    <div inner_html=move || if show_images.get() { q.replace(" data-remote-src=\"http", " src=\"http") } else { q.clone() }></div>
                </details>
            })}
            {(!files.is_empty()).then(|| view! {
                <ul class="attachments" data-testid="attachments">
                    {files.into_iter().map(|a| view! {
                        <li>
                            <a href=format!("/api/v1/attachments/{}", a.id) download=a.filename.clone()>{a.filename.clone()}</a>
                            <span class="muted">{format!(" {}", human_size(a.size))}</span>
                        </li>
                    }).collect_view()}
                </ul>
            })}
            {entry.delivery_state.clone().map(|state| {
                let text = match (state.as_str(), entry.delivery_error.as_deref()) {
                    ("sent", _) => "Email sent".to_string(),
                    ("failed", Some(e)) => format!("Email not delivered: {e}"),
                    ("failed", None) => "Email not delivered".to_string(),
                    (_, Some(e)) => format!("Email queued — {e}"),
                    _ => "Email queued".to_string(),
                };
                view! { <div class=format!("delivery delivery-{state}") data-testid="delivery" data-state=state.clone()>{text}</div> }
            })}
        </li>
    }
    .into_any()
}

/// "2.1 MB", "14 KB".
fn human_size(bytes: i64) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
        b if b >= 1024 => format!("{} KB", b / 1024),
        b => format!("{b} B"),
    }
}

#[component]
fn Composer(
    ticket_id: Memo<Option<i64>>,
    newest_entry: Memo<Option<i64>>,
    add: ServerAction<AddEntry>,
) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let route = expect_context::<Route>();
    let can_reply = ws.me().can_work_tickets();
    if !can_reply {
        ws.composer_mode.set(NewEntryKind::Note);
    }
    let text = RwSignal::new(String::new());
    // The newest entry on screen when the agent started this message: the
    // server refuses a reply if the customer or another agent wrote after
    // it, until the agent confirms.
    let typing_from = StoredValue::new(None::<i64>);
    let stale = RwSignal::new(None::<String>);
    let reset = move || {
        text.set(String::new());
        typing_from.set_value(None);
        stale.set(None);
    };
    // A new ticket starts with an empty composer.
    Effect::new(move |prev: Option<Option<i64>>| {
        let n = route.number.get();
        if prev.is_some() && prev != Some(n) {
            reset();
        }
        n
    });
    Effect::new(move |_| match add.value().get() {
        // Accepted: clear the box and stop showing as typing.
        Some(Ok(AddOutcome::Added(_))) => {
            reset();
            ws.live.set_presence(ticket_id.get_untracked(), None);
        }
        Some(Ok(AddOutcome::Stale { message })) => stale.set(Some(message)),
        _ => {}
    });
    let error = move || crate::error::failure_message(add.value().get());
    let submit = move |confirm_stale: bool| {
        let Some(id) = ticket_id.get_untracked() else {
            return;
        };
        let kind = match ws.composer_mode.get_untracked() {
            NewEntryKind::Reply => "reply",
            NewEntryKind::Note => "note",
        };
        stale.set(None);
        add.dispatch(AddEntry {
            ticket_id: id,
            kind: kind.into(),
            body: text.get_untracked(),
            seen_message_id: typing_from
                .get_value()
                .or_else(|| newest_entry.get_untracked()),
            confirm_stale,
        });
    };
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit(false);
    };
    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        if text.with_untracked(|t| t.trim().is_empty()) && !value.trim().is_empty() {
            typing_from.set_value(newest_entry.get_untracked());
        }
        let typing = (!value.trim().is_empty()).then(|| match ws.composer_mode.get_untracked() {
            NewEntryKind::Reply => Typing::Reply,
            NewEntryKind::Note => Typing::Note,
        });
        ws.live.set_presence(ticket_id.get_untracked(), typing);
        text.set(value);
    };
    let is_note = move || ws.composer_mode.get() == NewEntryKind::Note;
    view! {
        <form class=move || if is_note() { "composer note" } else { "composer" } on:submit=send>
            <div class="tabs" role="tablist">
                {can_reply.then(|| view! {
                    <button type="button" role="tab" data-testid="mode-reply"
                        class=move || if is_note() { "tab" } else { "tab active" }
                        on:click=move |_| ws.composer_mode.set(NewEntryKind::Reply)>"Reply"</button>
                })}
                <button type="button" role="tab" data-testid="mode-note"
                    class=move || if is_note() { "tab active" } else { "tab" }
                    on:click=move |_| ws.composer_mode.set(NewEntryKind::Note)>"Internal note"</button>
            </div>
            <textarea
                data-testid="composer"
                node_ref=ws.composer
                rows="4"
                placeholder=move || if is_note() { "Add a note for your team; @mention teammates" } else { "Write a reply to the customer" }
                prop:value=move || text.get()
                on:input=on_input
                // try_: a focused box removed with its ticket still blurs.
                on:blur=move |_| {
                    if let Some(id) = ticket_id.try_get_untracked() {
                        ws.live.set_presence(id, None);
                    }
                }
            ></textarea>
            {move || stale.get().map(|message| view! {
                <div class="stale-warning" role="alert" data-testid="stale-warning">
                    <p>{message}</p>
                    <button type="button" class="btn primary" data-testid="send-anyway" on:click=move |_| submit(true)>"Send anyway"</button>
                    <button type="button" class="btn link" on:click=move |_| {
                        stale.set(None);
                        typing_from.set_value(newest_entry.get_untracked());
                    }>"Keep editing"</button>
                </div>
            })}
            <div class="composer-actions">
                <p class="form-error" role="alert" data-testid="composer-error">{error}</p>
                <button type="submit" class="btn primary" data-testid="send" disabled=move || add.pending().get()>
                    {move || if is_note() { "Add note" } else { "Send reply" }}
                </button>
            </div>
        </form>
    }
}

/// The right sidebar: the cards of the caller's layout, in its order.
#[component]
fn Sidebar(
    ticket: Ticket,
    layout: SidebarLayout,
    loads: Vec<Load>,
    company: Option<String>,
    contact_tickets: Vec<Ticket>,
    /// The linked tickets card, shown after the layout's cards when there
    /// is anything linked.
    linked: AnyView,
) -> impl IntoView {
    let version = layout.version.to_string();
    let team = layout.team_id.map(|t| t.to_string()).unwrap_or_default();
    let cards = layout
        .cards
        .into_iter()
        .map(|card| {
            let heading = card.heading();
            let body = match card.kind {
                CardKind::Contact => match (ticket.contact_name.clone(), ticket.contact_email.clone()) {
                    (Some(name), email) => view! {
                        <p class="contact-name">{name}</p>
                        <p class="muted">{email.unwrap_or_default()}</p>
                    }
                    .into_any(),
                    _ => view! { <p class="muted">"No contact"</p> }.into_any(),
                },
                CardKind::Company => match company.clone() {
                    Some(name) => view! { <p>{name}</p> }.into_any(),
                    None => view! { <p class="muted">"No company"</p> }.into_any(),
                },
                CardKind::Properties => view! {
                    <PropertiesCard ticket=ticket.clone() slots=card.properties.clone() loads=loads.clone()/>
                }
                .into_any(),
                CardKind::Sla => view! { <crate::sla::SlaGoals goals=ticket.sla.clone()/> }.into_any(),
                CardKind::ContactTickets => {
                    view! { <ContactTickets tickets=contact_tickets.clone()/> }.into_any()
                }
                CardKind::Calls => {
                    view! { <p class="muted">"No call recordings on this ticket."</p> }.into_any()
                }
            };
            view! {
                <section class="card" data-testid=format!("{}-card", card.kind.as_str().replace('_', "-"))>
                    <h3>{heading}</h3>
                    {body}
                </section>
            }
        })
        .collect_view();
    view! {
        <aside class="sidebar" aria-label="Ticket details" data-testid="sidebar"
            data-layout-version=version data-layout-team=team>
            {cards}
            {linked}
        </aside>
    }
}

/// The contact's other tickets, each a link.
#[component]
fn ContactTickets(tickets: Vec<Ticket>) -> impl IntoView {
    let route = expect_context::<Route>();
    if tickets.is_empty() {
        return view! { <p class="muted">"No other tickets."</p> }.into_any();
    }
    view! {
        <ul class="contact-tickets">
            {tickets.into_iter().map(|t| {
                let number = t.number;
                view! {
                    <li>
                        <A href=move || route.ticket_href(number)>{format!("#{number} {}", t.subject)}</A>
                        " "<span class=format!("badge status-{}", t.status_category.as_str())>{t.status}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// The chosen ticket properties: editable ones as controls (for those who
/// may work tickets), the rest as facts.
#[component]
fn PropertiesCard(ticket: Ticket, slots: Vec<PropertySlot>, loads: Vec<Load>) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let can_edit = ws.me().can_work_tickets();
    let update = expect_context::<ServerAction<UpdateTicket>>();
    let id = ticket.id;
    let change = move |field: &'static str| {
        move |ev: leptos::ev::Event| {
            update.dispatch(UpdateTicket {
                id,
                field: field.into(),
                value: event_target_value(&ev),
            });
        }
    };
    let error = move || crate::error::failure_message(update.value().get());
    let meta = ws.meta.get_value();
    let t = ticket;
    let mut controls = Vec::new();
    let mut facts = Vec::new();
    for slot in slots {
        let editable = can_edit && slot.editable;
        let label = slot.field.label();
        let fact = |value: String| view! { <dt>{label}</dt><dd>{value}</dd> }.into_any();
        match slot.field {
            TicketField::Pipeline if slot.editable && meta.pipelines.len() > 1 => {
                let current = t.pipeline_id;
                let pipelines = meta.pipelines.clone();
                controls.push(view! {
                    <label>{label}
                        <select data-testid="prop-pipeline" disabled=!editable on:change=change("pipeline_id")>
                            {pipelines.into_iter().map(|p| view! {
                                <option value=p.id.to_string() selected=p.id == current>{p.name}</option>
                            }).collect_view()}
                        </select>
                    </label>
                }.into_any());
            }
            TicketField::Status if slot.editable => {
                let statuses = meta
                    .pipelines
                    .iter()
                    .find(|p| p.id == t.pipeline_id)
                    .map(|p| p.statuses.clone())
                    .unwrap_or_default();
                let current = t.status_id;
                controls.push(view! {
                    <label>{label}
                        <select data-testid="prop-status" disabled=!editable on:change=change("status_id")>
                            {statuses.into_iter().map(|s| view! {
                                <option value=s.id.to_string() selected=s.id == current>{s.name}</option>
                            }).collect_view()}
                        </select>
                    </label>
                }.into_any());
            }
            TicketField::Priority if slot.editable => {
                let current = t.priority;
                controls.push(view! {
                    <label>{label}
                        <select data-testid="prop-priority" disabled=!editable on:change=change("priority")>
                            {Priority::ALL.into_iter().map(|p| view! {
                                <option value=p.as_str() selected=p == current>{p.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                }.into_any());
            }
            TicketField::Category if slot.editable => {
                let current = t.category.clone();
                controls.push(view! {
                    <label>{label}
                        <select data-testid="prop-category" disabled=!editable on:change=change("category")>
                            <option value="" selected=current.is_none()>"—"</option>
                            {CATEGORIES.into_iter().map(|c| view! {
                                <option value=c selected=current.as_deref() == Some(c)>{c}</option>
                            }).collect_view()}
                        </select>
                    </label>
                }.into_any());
            }
            TicketField::Owner if slot.editable => {
                let owners: Vec<_> = meta
                    .users
                    .iter()
                    .filter(|u| u.can_work_tickets())
                    .cloned()
                    .collect();
                let current = t.owner_id;
                let loads = loads.clone();
                controls.push(view! {
                    <label>{label}
                        <select data-testid="prop-owner" disabled=!editable on:change=change("owner_id")>
                            <option value="" selected=current.is_none()>"Unassigned"</option>
                            {owners.into_iter().map(|u| {
                                let uid = u.id;
                                // "· 3/10" for people with a capacity: how full they are.
                                let load = loads.iter().find(|l| l.user_id == uid && l.max_open.is_some()).map(|l| format!(" · {}", l.label())).unwrap_or_default();
                                let text = move || match ws.live.availability.with(|m| m.get(&uid).copied()) {
                                    Some(crate::users::Availability::Away) => format!("{} (away){load}", u.name),
                                    _ => format!("{}{load}", u.name),
                                };
                                view! { <option value=uid.to_string() selected=current == Some(uid)>{text}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                }.into_any());
            }
            TicketField::Team if slot.editable => {
                let current = t.team_id;
                let teams = meta.teams.clone();
                controls.push(view! {
                    <label>{label}
                        <select data-testid="prop-team" disabled=!editable on:change=change("team_id")>
                            <option value="" selected=current.is_none()>"No team"</option>
                            {teams.into_iter().map(|team| view! {
                                <option value=team.id.to_string() selected=current == Some(team.id)>{team.name}</option>
                            }).collect_view()}
                        </select>
                    </label>
                }.into_any());
            }
            TicketField::Status => facts.push(fact(t.status.clone())),
            TicketField::Priority => facts.push(fact(t.priority.label().to_string())),
            TicketField::Category => {
                facts.push(fact(t.category.clone().unwrap_or_else(|| "—".into())))
            }
            TicketField::Owner => facts.push(fact(
                t.owner_name.clone().unwrap_or_else(|| "Unassigned".into()),
            )),
            TicketField::Team => {
                facts.push(fact(t.team_name.clone().unwrap_or_else(|| "—".into())))
            }
            TicketField::Channel => facts.push(fact(channel_label(&t.channel).to_string())),
            TicketField::Pipeline => {
                let name = meta
                    .pipelines
                    .iter()
                    .find(|p| p.id == t.pipeline_id)
                    .map(|p| p.name.clone());
                facts.push(fact(name.unwrap_or_else(|| "—".into())))
            }
            TicketField::Created => facts.push(fact(format_ms(t.created_at))),
            TicketField::LastActivity => facts.push(fact(format_ms(t.updated_at))),
            TicketField::FirstReply => facts.push(fact(
                t.first_reply_at
                    .map(format_ms)
                    .unwrap_or_else(|| "—".into()),
            )),
            TicketField::Closed => facts.push(fact(
                t.closed_at.map(format_ms).unwrap_or_else(|| "—".into()),
            )),
        }
    }
    view! {
        {controls}
        {(!facts.is_empty()).then(|| view! { <dl class="facts">{facts}</dl> })}
        <p class="form-error" role="alert" data-testid="prop-error">{error}</p>
    }
}
