//! The routing rules section of the help desk settings, and the server
//! functions behind it (super admins only, checked by the service).

use super::{RoutingMethod, RoutingRule, RoutingRuleInput, RoutingTarget};
use crate::error::failure_message;
use crate::resource::ServerResource;
use crate::tickets::{channel_label, CHANNELS};
use crate::workspace::WorkspaceMeta;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[server(prefix = "/rpc", endpoint = "list_routing_rules")]
pub async fn list_routing_rules() -> Result<Vec<RoutingRule>, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        crate::settings::require_admin(&user)?;
        let state = crate::state::app_state()?;
        super::service::list(&state.db).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "save_routing_rule", input = Json)]
pub async fn save_routing_rule(
    id: Option<i64>,
    rule: RoutingRuleInput,
) -> Result<RoutingRule, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        match id {
            None => super::service::create(&state.db, &user, rule).await,
            Some(id) => super::service::update(&state.db, &user, id, rule).await,
        }
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "delete_routing_rule")]
pub async fn delete_routing_rule(id: i64) -> Result<(), ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::delete(&state.db, &user, id).await
    })
    .await
}

/// Who a rule routes to, in words.
fn target_words(target: &RoutingTarget, meta: &WorkspaceMeta) -> String {
    if let Some(team) = target.team_id {
        let name = meta
            .teams
            .iter()
            .find(|t| t.id == team)
            .map_or("?".into(), |t| t.name.clone());
        return format!("team {name} (main members)");
    }
    if target.user_ids.is_empty() {
        return "nobody: leave unassigned".into();
    }
    target
        .user_ids
        .iter()
        .map(|id| {
            meta.users
                .iter()
                .find(|u| u.id == *id)
                .map_or("?".into(), |u| u.name.clone())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[component]
pub fn RoutingSection(
    meta: WorkspaceMeta,
    /// Created by the page outside its `Suspense` (see
    /// `crate::settings::HelpDeskSettingsPage`).
    rules: ServerResource<Vec<RoutingRule>>,
    calendars: ServerResource<Vec<crate::business_hours::Calendar>>,
    epoch: RwSignal<u32>,
) -> impl IntoView {
    let calendar = RwSignal::new(String::new());
    let save = ServerAction::<SaveRoutingRule>::new();
    let delete = ServerAction::<DeleteRoutingRule>::new();
    let name = RwSignal::new(String::new());
    let channel = RwSignal::new(String::new());
    // "team:ID", "users", or "" (leave unassigned).
    let target = RwSignal::new(String::new());
    let users = RwSignal::new(Vec::<i64>::new());
    let method = RwSignal::new("round_robin".to_string());
    let ignore = RwSignal::new(false);
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
        let t = target.get_untracked();
        let target = match t.strip_prefix("team:") {
            Some(id) => RoutingTarget {
                team_id: id.parse().ok(),
                user_ids: Vec::new(),
            },
            None if t == "users" => RoutingTarget {
                team_id: None,
                user_ids: users.get_untracked(),
            },
            None => RoutingTarget::default(),
        };
        save.dispatch(SaveRoutingRule {
            id: None,
            rule: RoutingRuleInput {
                name: name.get_untracked(),
                channel: Some(channel.get_untracked()).filter(|c| !c.is_empty()),
                conditions: Vec::new(),
                target,
                method: RoutingMethod::parse(&method.get_untracked()).unwrap_or_default(),
                ignore_availability: ignore.get_untracked(),
                calendar_id: calendar.get_untracked().parse().ok(),
                position: None,
            },
        });
    };
    let list_meta = meta.clone();
    let seats: Vec<_> = meta
        .users
        .iter()
        .filter(|u| u.can_work_tickets())
        .cloned()
        .collect();
    view! {
        <section class="settings-section" data-testid="routing">
            <h2>"Routing"</h2>
            <p class="muted">"New unassigned tickets go through these rules in order; the first that matches decides. Only available users under their capacity are picked."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    let meta = list_meta.clone();
                    Suspend::new(async move {
                        let list = rules.await.unwrap_or_default();
                        if list.is_empty() {
                            return view! { <p class="empty">"No rules: new tickets wait in Unassigned."</p> }.into_any();
                        }
                        view! {
                            <ol class="settings-list">
                                {list.into_iter().map(|r| {
                                    let id = r.id;
                                    let words = format!(
                                        "{} → {} · {}{}",
                                        r.channel.as_deref().map(channel_label).unwrap_or("Any channel"),
                                        target_words(&r.target, &meta),
                                        r.method.label(),
                                        if r.ignore_availability { " · ignores availability" } else { "" },
                                    );
                                    view! {
                                        <li data-testid="routing-rule">
                                            <strong>{r.name}</strong>" "<span class="muted">{words}</span>
                                            <button class="btn link danger" on:click=move |_| { delete.dispatch(DeleteRoutingRule { id }); }>"Delete"</button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ol>
                        }
                        .into_any()
                    })
                }}
            </Transition>
            <form class="settings-form" on:submit=submit data-testid="routing-form">
                <h3>"New rule"</h3>
                <label class="field"><span>"Name"</span>
                    <input data-testid="rule-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
                <label class="field"><span>"Channel"</span>
                    <select data-testid="rule-channel" on:change=move |ev| channel.set(event_target_value(&ev))>
                        <option value="">"Any channel"</option>
                        {CHANNELS.iter().map(|c| view! { <option value=*c>{channel_label(c)}</option> }).collect_view()}
                    </select></label>
                <label class="field"><span>"Route to"</span>
                    <select data-testid="rule-target" on:change=move |ev| target.set(event_target_value(&ev))>
                        <option value="">"Nobody (leave unassigned)"</option>
                        {meta.teams.iter().map(|t| view! { <option value=format!("team:{}", t.id)>{format!("Team {}", t.name)}</option> }).collect_view()}
                        <option value="users">"Chosen users…"</option>
                    </select></label>
                <Show when=move || target.get() == "users">
                    <fieldset class="user-picks">
                        {seats.iter().map(|u| {
                            let id = u.id;
                            view! {
                                <label><input type="checkbox" on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    users.update(|list| { list.retain(|x| *x != id); if on { list.push(id); } });
                                }/>" "{u.name.clone()}</label>
                            }
                        }).collect_view()}
                    </fieldset>
                </Show>
                <label class="field"><span>"Distribution"</span>
                    <select data-testid="rule-method" on:change=move |ev| method.set(event_target_value(&ev))>
                        {RoutingMethod::ALL.iter().map(|m| view! { <option value=m.as_str()>{m.label()}</option> }).collect_view()}
                    </select></label>
                <label><input type="checkbox" on:change=move |ev| ignore.set(event_target_checked(&ev))/>" Route to away users too"</label>
                <label class="field"><span>"Only during the hours of"</span>
                    <select data-testid="rule-calendar" on:change=move |ev| calendar.set(event_target_value(&ev))>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                calendars.await.unwrap_or_default().into_iter().map(|c| {
                                    // 24/7 is the same as no restriction.
                                    let value = if c.always_open { String::new() } else { c.id.to_string() };
                                    view! { <option value=value>{c.name}</option> }
                                }).collect_view()
                            })}
                        </Transition>
                    </select></label>
                <p class="form-error" role="alert" data-testid="rule-error">{move || failure_message(save.value().get())}</p>
                <button class="btn primary" type="submit" data-testid="save-rule">"Add rule"</button>
            </form>
        </section>
    }
}
