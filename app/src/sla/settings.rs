//! The SLA policies section of the help desk settings, and the server
//! functions behind it (super admins only, checked by the service).

use super::{SlaPolicy, SlaPolicyInput};
use crate::error::failure_message;
use crate::resource::ServerResource;
use crate::tickets::Priority;
use crate::views::{Condition, Operator, Property};
use crate::workspace::WorkspaceMeta;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[server(prefix = "/rpc", endpoint = "list_sla_policies")]
pub async fn list_sla_policies() -> Result<Vec<SlaPolicy>, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        crate::settings::require_admin(&user)?;
        let state = crate::state::app_state()?;
        super::service::list(&state.db).await
    })
    .await
}

/// Creates (`id` None) or replaces a policy; every open ticket's clocks
/// are recalculated before it answers.
#[server(prefix = "/rpc", endpoint = "save_sla_policy", input = Json)]
pub async fn save_sla_policy(
    id: Option<i64>,
    policy: SlaPolicyInput,
) -> Result<SlaPolicy, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        match id {
            None => super::service::create(&state, &user, policy).await,
            Some(id) => super::service::update(&state, &user, id, policy).await,
        }
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "delete_sla_policy")]
pub async fn delete_sla_policy(id: i64) -> Result<(), ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::delete(&state, &user, id).await
    })
    .await
}

fn minutes(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

#[component]
pub fn SlaSection(
    meta: WorkspaceMeta,
    policies: ServerResource<Vec<SlaPolicy>>,
    calendars: ServerResource<Vec<crate::business_hours::Calendar>>,
    epoch: RwSignal<u32>,
) -> impl IntoView {
    let save = ServerAction::<SaveSlaPolicy>::new();
    let delete = ServerAction::<DeleteSlaPolicy>::new();
    let name = RwSignal::new(String::new());
    let priorities = RwSignal::new(Vec::<Priority>::new());
    let first = RwSignal::new(String::new());
    let next = RwSignal::new(String::new());
    let close = RwSignal::new(String::new());
    let soon = RwSignal::new("60".to_string());
    let calendar = RwSignal::new(String::new());
    let pauses = RwSignal::new(Vec::<i64>::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            name.set(String::new());
            epoch.update(|e| *e += 1);
        }
    });
    Effect::new(move |_| {
        if delete.value().get().is_some() {
            epoch.update(|e| *e += 1);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = priorities.get_untracked();
        let conditions = if chosen.is_empty() {
            Vec::new()
        } else {
            vec![Condition {
                property: Property::Priority,
                op: Operator::IsAnyOf,
                values: chosen.iter().map(|p| p.as_str().to_string()).collect(),
            }]
        };
        save.dispatch(SaveSlaPolicy {
            id: None,
            policy: SlaPolicyInput {
                name: name.get_untracked(),
                conditions,
                first_reply_minutes: minutes(&first.get_untracked()),
                next_reply_minutes: minutes(&next.get_untracked()),
                close_minutes: minutes(&close.get_untracked()),
                calendar_id: calendar.get_untracked().parse().ok(),
                due_soon_minutes: minutes(&soon.get_untracked()),
                pause_statuses: pauses.get_untracked(),
                position: None,
            },
        });
    };
    let statuses: Vec<_> = meta
        .pipelines
        .iter()
        .flat_map(|p| p.statuses.iter().cloned())
        .filter(|s| s.category != crate::tickets::StatusCategory::Closed)
        .collect();
    let target = |label: &'static str, m: Option<i64>| m.map(|m| format!("{label} {m} min"));
    view! {
        <section class="settings-section" data-testid="sla">
            <h2>"SLA goals"</h2>
            <p class="muted">"Policies are tried in order; the first whose conditions match a ticket sets its targets. Changing one recalculates every open ticket."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let list = policies.await.unwrap_or_default();
                    if list.is_empty() {
                        return view! { <p class="empty">"No SLA policy yet."</p> }.into_any();
                    }
                    view! {
                        <ol class="settings-list">
                            {list.into_iter().map(|p| {
                                let id = p.id;
                                let words: Vec<String> = [
                                    target("first reply", p.first_reply_minutes),
                                    target("next reply", p.next_reply_minutes),
                                    target("close", p.close_minutes),
                                ].into_iter().flatten().collect();
                                let scope = if p.conditions.is_empty() { "every ticket".to_string() } else {
                                    p.conditions.iter().map(|c| format!("{} {} {}", c.property.label(), c.op.label(), c.values.join(", "))).collect::<Vec<_>>().join(" and ")
                                };
                                view! {
                                    <li data-testid="sla-policy">
                                        <strong>{p.name}</strong>" "
                                        <span class="muted">{format!("{} · {} · due soon {} min before", scope, words.join(", "), p.due_soon_minutes)}</span>
                                        <button class="btn link danger" on:click=move |_| { delete.dispatch(DeleteSlaPolicy { id }); }>"Delete"</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ol>
                    }
                    .into_any()
                })}
            </Transition>
            <form class="settings-form" on:submit=submit data-testid="sla-form">
                <h3>"New policy"</h3>
                <label class="field"><span>"Name"</span>
                    <input data-testid="sla-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
                <fieldset><legend>"Only these priorities (none: every ticket)"</legend>
                    {Priority::ALL.into_iter().map(|p| view! {
                        <label><input type="checkbox" on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            priorities.update(|l| { l.retain(|x| *x != p); if on { l.push(p); } });
                        }/>" "{p.label()}</label>
                    }).collect_view()}
                </fieldset>
                <label class="field"><span>"First reply within (minutes)"</span>
                    <input type="number" min="1" data-testid="sla-first" prop:value=move || first.get() on:input=move |ev| first.set(event_target_value(&ev))/></label>
                <label class="field"><span>"Next reply within (minutes)"</span>
                    <input type="number" min="1" data-testid="sla-next" prop:value=move || next.get() on:input=move |ev| next.set(event_target_value(&ev))/></label>
                <label class="field"><span>"Close within (minutes)"</span>
                    <input type="number" min="1" data-testid="sla-close" prop:value=move || close.get() on:input=move |ev| close.set(event_target_value(&ev))/></label>
                <label class="field"><span>"Due soon (minutes before)"</span>
                    <input type="number" min="0" prop:value=move || soon.get() on:input=move |ev| soon.set(event_target_value(&ev))/></label>
                <label class="field"><span>"Calendar"</span>
                    <select data-testid="sla-calendar" on:change=move |ev| calendar.set(event_target_value(&ev))>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                calendars.await.unwrap_or_default().into_iter().map(|c| {
                                    let value = if c.always_open { String::new() } else { c.id.to_string() };
                                    view! { <option value=value>{c.name}</option> }
                                }).collect_view()
                            })}
                        </Transition>
                    </select></label>
                <fieldset><legend>"Pause while the status is"</legend>
                    {statuses.into_iter().map(|s| {
                        let id = s.id;
                        view! {
                            <label><input type="checkbox" on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                pauses.update(|l| { l.retain(|x| *x != id); if on { l.push(id); } });
                            }/>" "{s.name}</label>
                        }
                    }).collect_view()}
                </fieldset>
                <p class="form-error" role="alert" data-testid="sla-error">{move || failure_message(save.value().get())}</p>
                <button class="btn primary" type="submit" data-testid="save-sla">"Add policy"</button>
            </form>
        </section>
    }
}
