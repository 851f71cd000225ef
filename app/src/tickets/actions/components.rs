//! The workspace's controls for ticket actions: the open ticket's Merge,
//! Split and Trash buttons, the merge dialog, the card of linked tickets
//! (merged in, split off) with Unmerge, and the bulk bar over the list.

use super::{
    BulkAction, BulkRequest, BulkTickets, MergeTickets, SplitTicket, TrashTicket, UnmergeTicket,
};
use crate::error::failure_message;
use crate::search::search_tickets;
use crate::tickets::{LinkedTicket, Priority, Ticket, TicketPatch};
use crate::time_fmt::format_ms;
use crate::workspace::{Route, Ws};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

/// Split mode of the open ticket: `Some(chosen entry ids)` while the agent
/// picks the entries to split off.
#[derive(Clone, Copy)]
pub struct SplitMode(pub RwSignal<Option<Vec<i64>>>);

/// Merge…, Split… and Move to trash / Restore, in the ticket header.
#[component]
pub fn TicketActions(ticket: Ticket, split: SplitMode) -> impl IntoView {
    let ws = expect_context::<Ws>();
    if !ws.me().can_work_tickets() {
        return ().into_any();
    }
    let trash = ServerAction::<TrashTicket>::new();
    ws.reload_after(trash);
    let merging = RwSignal::new(false);
    let id = ticket.id;
    let in_trash = ticket.deleted_at.is_some();
    view! {
        <div class="ticket-actions">
            {(!in_trash).then(|| view! {
                <button class="btn link" data-testid="merge" on:click=move |_| merging.set(true)>"Merge…"</button>
                <button class="btn link" data-testid="split"
                    on:click=move |_| split.0.update(|s| *s = if s.is_some() { None } else { Some(Vec::new()) })>
                    {move || if split.0.with(|s| s.is_some()) { "Cancel split" } else { "Split…" }}
                </button>
            })}
            <button class="btn link danger" data-testid=if in_trash { "restore" } else { "trash" }
                on:click=move |_| { trash.dispatch(TrashTicket { id, restore: in_trash }); }>
                {if in_trash { "Restore" } else { "Move to trash" }}
            </button>
            <span class="form-error" role="alert" data-testid="action-error">{move || failure_message(trash.value().get())}</span>
        </div>
        <Show when=move || merging.get()>
            {crate::on_demand::merge_dialog_panel(ticket.clone(), merging)}
        </Show>
    }
    .into_any()
}

/// Pick the tickets to merge into `primary`: search by words or number,
/// tick, confirm. Closing it sets `open` to false.
#[component]
pub fn MergeDialog(primary: Ticket, open: RwSignal<bool>) -> impl IntoView {
    let close = move || open.set(false);
    let ws = expect_context::<Ws>();
    let merge = ServerAction::<MergeTickets>::new();
    ws.reload_after(merge);
    Effect::new(move |_| {
        if let Some(Ok(_)) = merge.value().get() {
            close();
        }
    });
    let query = RwSignal::new(String::new());
    let chosen = RwSignal::new(Vec::<(i64, i64, String)>::new());
    let primary_id = primary.id;
    let found = LocalResource::new(move || {
        let q = query.get();
        async move {
            if q.trim().is_empty() {
                Vec::new()
            } else {
                search_tickets(q, None, Some(10))
                    .await
                    .map(|r| r.hits)
                    .unwrap_or_default()
            }
        }
    });
    view! {
        <div class="overlay" role="dialog" aria-label="Merge tickets" data-testid="merge-dialog" on:click=move |_| close()>
            <div class="overlay-card merge-dialog" on:click=|ev| ev.stop_propagation()>
                <h2>{format!("Merge into #{} {}", primary.number, primary.subject)}</h2>
                <p class="muted">"The tickets you choose become part of this one: their conversations join this thread. You can unmerge them later."</p>
                <input type="search" data-testid="merge-search" placeholder="Find tickets by words or #number"
                    prop:value=move || query.get()
                    on:input=move |ev| query.set(event_target_value(&ev))/>
                <ul class="merge-candidates">
                    <Suspense fallback=|| ()>
                        {move || found.get().map(|hits| hits.into_iter().filter(|h| h.ticket.id != primary_id).map(|h| {
                            let (id, number, subject) = (h.ticket.id, h.ticket.number, h.ticket.subject.clone());
                            let label = subject.clone();
                            let ticked = move || chosen.with(|c| c.iter().any(|(i, _, _)| *i == id));
                            view! {
                                <li>
                                    <label>
                                        <input type="checkbox" data-testid="merge-candidate" data-number=number.to_string()
                                            prop:checked=ticked
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                chosen.update(|c| {
                                                    c.retain(|(i, _, _)| *i != id);
                                                    if on { c.push((id, number, subject.clone())); }
                                                });
                                            }/>
                                        {format!(" #{number} {label}")}
                                    </label>
                                </li>
                            }
                        }).collect_view())}
                    </Suspense>
                </ul>
                <p class="muted" data-testid="merge-chosen">
                    {move || chosen.with(|c| c.iter().map(|(_, n, _)| format!("#{n}")).collect::<Vec<_>>().join(", "))}
                </p>
                <p class="form-error" role="alert" data-testid="merge-error">{move || failure_message(merge.value().get())}</p>
                <div class="dialog-actions">
                    <button class="btn primary" data-testid="merge-confirm"
                        disabled=move || chosen.with(|c| c.is_empty()) || merge.pending().get()
                        on:click=move |_| {
                            let ids = chosen.with_untracked(|c| c.iter().map(|(i, _, _)| *i).collect());
                            merge.dispatch(MergeTickets { primary_id, ticket_ids: ids });
                        }>
                        {move || format!("Merge {} into #{}", chosen.with(|c| c.len()), primary.number)}
                    </button>
                    <button class="btn link" on:click=move |_| close()>"Cancel"</button>
                </div>
            </div>
        </div>
    }
}

/// The bar under the thread while splitting: how many entries are chosen,
/// and the button that makes the new ticket.
#[component]
pub fn SplitBar(ticket_id: i64, split: SplitMode) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let route = expect_context::<Route>();
    let navigate = use_navigate();
    let action = ServerAction::<SplitTicket>::new();
    ws.reload_after(action);
    Effect::new(move |_| {
        if let Some(Ok(t)) = action.value().get() {
            split.0.set(None);
            navigate(&route.ticket_href(t.number), Default::default());
        }
    });
    let count = move || split.0.with(|s| s.as_ref().map_or(0, Vec::len));
    view! {
        <Show when=move || split.0.with(|s| s.is_some())>
            <div class="split-bar" data-testid="split-bar">
                <span>{move || format!("{} chosen: tick the entries that belong in a new ticket.", count())}</span>
                <button class="btn primary" data-testid="split-confirm"
                    disabled=move || count() == 0 || action.pending().get()
                    on:click=move |_| {
                        let ids = split.0.get_untracked().unwrap_or_default();
                        action.dispatch(SplitTicket { ticket_id, message_ids: ids });
                    }>
                    "Split into a new ticket"
                </button>
                <span class="form-error" role="alert" data-testid="split-error">{move || failure_message(action.value().get())}</span>
            </div>
        </Show>
    }
}

/// The tick box beside a thread entry in split mode.
#[component]
pub fn SplitTick(entry_id: i64) -> impl IntoView {
    let split = use_context::<SplitMode>();
    move || {
        let split = split?;
        split.0.with(|s| s.is_some()).then(|| {
            view! {
                <input type="checkbox" class="split-tick" data-testid="split-tick"
                    prop:checked=move || split.0.with(|s| s.as_ref().is_some_and(|v| v.contains(&entry_id)))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        split.0.update(|s| if let Some(v) = s {
                            v.retain(|i| *i != entry_id);
                            if on { v.push(entry_id); }
                        });
                    }/>
            }
        })
    }
}

/// Notices at the top of the open ticket: it is in the trash, or the
/// ticket asked for was merged into it.
#[component]
pub fn TicketNotices(ticket: Ticket, merged_from: Option<LinkedTicket>) -> impl IntoView {
    let purge_on = ticket
        .deleted_at
        .map(|at| format_ms(at + super::TRASH_DAYS * crate::views::DAY_MS));
    view! {
        {purge_on.map(|when| view! {
            <p class="notice trash-notice" data-testid="trash-notice">
                {format!("This ticket is in the trash. It will be deleted for good on {when} unless it is restored.")}
            </p>
        })}
        {merged_from.map(|m| view! {
            <p class="notice" data-testid="merged-notice">
                {format!("Ticket #{} “{}” was merged into this ticket.", m.number, m.subject)}
            </p>
        })}
    }
}

/// Tickets merged into this one (with Unmerge), and split links.
#[component]
pub fn LinkedCard(
    ticket_id: i64,
    merged: Vec<LinkedTicket>,
    split_from: Option<LinkedTicket>,
    split_into: Vec<LinkedTicket>,
) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let route = expect_context::<Route>();
    if merged.is_empty() && split_from.is_none() && split_into.is_empty() {
        return ().into_any();
    }
    let unmerge = ServerAction::<UnmergeTicket>::new();
    ws.reload_after(unmerge);
    let can_work = ws.me().can_work_tickets();
    let link = move |t: &LinkedTicket| {
        let number = t.number;
        view! { <A href=move || route.ticket_href(number)>{format!("#{number} {}", t.subject)}</A> }
    };
    view! {
        <section class="card" data-testid="linked-card">
            <h3>"Linked tickets"</h3>
            {(!merged.is_empty()).then(|| view! {
                <p class="muted">"Merged into this ticket"</p>
                <ul>
                    {merged.iter().map(|m| {
                        let secondary = m.id;
                        view! {
                            <li data-testid="merged-ticket" data-number=m.number.to_string()>
                                {format!("#{} {}", m.number, m.subject)}
                                {can_work.then(|| view! {
                                    " "
                                    <button class="btn link small" data-testid="unmerge"
                                        on:click=move |_| { unmerge.dispatch(UnmergeTicket { primary_id: ticket_id, ticket_id: secondary }); }>
                                        "Unmerge"
                                    </button>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })}
            {split_from.as_ref().map(|s| view! { <p data-testid="split-from">"Split off from "{link(s)}</p> })}
            {(!split_into.is_empty()).then(|| view! {
                <p class="muted">"Split off into"</p>
                <ul>{split_into.iter().map(|s| view! { <li data-testid="split-into">{link(s)}</li> }).collect_view()}</ul>
            })}
            <p class="form-error" role="alert">{move || failure_message(unmerge.value().get())}</p>
        </section>
    }
    .into_any()
}

/// Over the list while rows are ticked: assign, status, priority, team,
/// merge, trash (or restore, in the Trash view). Shown by the list (in a
/// chunk with the panels, see `on_demand`) while a row is ticked.
#[component]
pub fn BulkBar() -> impl IntoView {
    let ws = expect_context::<Ws>();
    let route = expect_context::<Route>();
    if !ws.me().can_work_tickets() {
        return ().into_any();
    }
    let bulk = ServerAction::<BulkTickets>::new();
    ws.reload_after(bulk);
    // Done tickets are unticked; refused ones stay ticked, so the bar stays
    // up with the reason (and they can be tried again).
    Effect::new(move |_| {
        if let Some(Ok(outcome)) = bulk.value().get() {
            ws.selection
                .update(|s| s.retain(|id| outcome.failed.iter().any(|f| f.id == *id)));
        }
    });
    let send = move |action: BulkAction| {
        let ids = ws.selection.get_untracked();
        if !ids.is_empty() {
            bulk.dispatch(BulkTickets {
                request: BulkRequest {
                    ticket_ids: ids,
                    action,
                },
            });
        }
    };
    let patch_from = move |field: &str, value: String| -> Option<TicketPatch> {
        let id = || value.parse::<i64>().ok();
        let mut p = TicketPatch::default();
        match field {
            "owner_id" => p.owner_id = Some(id()),
            "team_id" => p.team_id = Some(id()),
            "status_id" => p.status_id = Some(id()?),
            "priority" => p.priority = Some(Priority::parse(&value)?),
            _ => return None,
        }
        Some(p)
    };
    let on_change = move |field: &'static str| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            if value == "-" {
                return;
            }
            if let Some(patch) = patch_from(field, value) {
                send(BulkAction::Update { patch });
            }
        }
    };
    let in_trash = move || route.view.get() == "trash";
    let outcome = move || match bulk.value().get() {
        Some(Ok(o)) if !o.failed.is_empty() => format!(
            "{} changed; {} refused: {}",
            o.done.len(),
            o.failed.len(),
            o.failed
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Some(Ok(o)) => format!("{} changed.", o.done.len()),
        _ => String::new(),
    };
    view! {
        <div class="bulk-bar" data-testid="bulk-bar">
            <strong data-testid="bulk-count">{move || format!("{} selected", ws.selection.with(|s| s.len()))}</strong>
            <Show when=move || !in_trash()>
                <select data-testid="bulk-owner" on:change=on_change("owner_id") prop:value="-">
                    <option value="-">"Assign…"</option>
                    <option value="">"Unassigned"</option>
                    {move || ws.meta.with_value(|m| m.users.iter().filter(|u| u.can_work_tickets()).map(|u| view! {
                        <option value=u.id.to_string()>{u.name.clone()}</option>
                    }).collect_view())}
                </select>
                <select data-testid="bulk-status" on:change=on_change("status_id") prop:value="-">
                    <option value="-">"Status…"</option>
                    {move || ws.meta.with_value(|m| {
                        let several = m.pipelines.len() > 1;
                        m.pipelines.iter().flat_map(|p| p.statuses.iter().map(move |s| {
                            let label = if several { format!("{}: {}", p.name, s.name) } else { s.name.clone() };
                            view! { <option value=s.id.to_string()>{label}</option> }
                        })).collect_view()
                    })}
                </select>
                <select data-testid="bulk-priority" on:change=on_change("priority") prop:value="-">
                    <option value="-">"Priority…"</option>
                    {Priority::ALL.into_iter().map(|p| view! { <option value=p.as_str()>{p.label()}</option> }).collect_view()}
                </select>
                <select data-testid="bulk-team" on:change=on_change("team_id") prop:value="-">
                    <option value="-">"Move to team…"</option>
                    <option value="">"No team"</option>
                    {move || ws.meta.with_value(|m| m.teams.iter().map(|t| view! { <option value=t.id.to_string()>{t.name.clone()}</option> }).collect_view())}
                </select>
                <button class="btn" data-testid="bulk-merge"
                    disabled=move || ws.selection.with(|s| s.len() < 2)
                    title="Merge into the first ticket ticked"
                    on:click=move |_| {
                        if let Some(primary_id) = ws.selection.get_untracked().first().copied() {
                            send(BulkAction::Merge { primary_id });
                        }
                    }>"Merge"</button>
                <button class="btn danger" data-testid="bulk-delete" on:click=move |_| send(BulkAction::Delete)>"Move to trash"</button>
            </Show>
            <Show when=in_trash>
                <button class="btn" data-testid="bulk-restore" on:click=move |_| send(BulkAction::Restore)>"Restore"</button>
            </Show>
            <button class="btn link" on:click=move |_| ws.selection.set(Vec::new())>"Clear"</button>
            <span class="muted" data-testid="bulk-outcome">{outcome}</span>
            <span class="form-error" role="alert">{move || failure_message(bulk.value().get())}</span>
        </div>
    }
    .into_any()
}

/// The tick box of a list row.
#[component]
pub fn RowTick(ticket_id: i64) -> impl IntoView {
    let ws = expect_context::<Ws>();
    view! {
        <input type="checkbox" class="row-tick" data-testid="row-tick" aria-label="Select ticket"
            prop:checked=move || ws.selection.with(|s| s.contains(&ticket_id))
            on:change=move |ev| {
                let on = event_target_checked(&ev);
                ws.selection.update(|s| {
                    s.retain(|i| *i != ticket_id);
                    if on { s.push(ticket_id); }
                });
            }/>
    }
}
