//! The sidebar editor (`/settings/sidebar`, super admins): choose the
//! default layout or a team's, add, remove, reorder and configure cards,
//! preview, save, and roll back to an earlier version.

use super::{Card, CardKind, PropertySlot, SidebarLayout, SidebarLayoutInput, TicketField};
use crate::error::failure_message;
use crate::resource::{server_resource, ServerResource};
use crate::settings::{not_allowed, SettingsNav};
use crate::workspace::load_workspace;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[server(prefix = "/rpc", endpoint = "list_sidebar_layouts")]
pub async fn list_sidebar_layouts() -> Result<Vec<SidebarLayout>, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        crate::settings::require_admin(&user)?;
        let state = crate::state::app_state()?;
        super::service::list(&state.db).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "sidebar_versions")]
pub async fn sidebar_versions(team_id: Option<i64>) -> Result<Vec<SidebarLayout>, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::versions(&state.db, &user, team_id).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "save_sidebar_layout", input = Json)]
pub async fn save_sidebar_layout(
    layout: SidebarLayoutInput,
) -> Result<SidebarLayout, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::save(&state.db, &user, layout).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "rollback_sidebar_layout")]
pub async fn rollback_sidebar_layout(
    team_id: Option<i64>,
    version: i64,
) -> Result<SidebarLayout, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::rollback(&state.db, &user, team_id, version).await
    })
    .await
}

/// The layout a scope starts from in the editor: its own, else the
/// default's cards (a team layout begins as a copy of the default).
fn starting_cards(layouts: &[SidebarLayout], team: Option<i64>) -> (Vec<Card>, i64) {
    let own = layouts.iter().find(|l| l.team_id == team);
    let default = layouts.iter().find(|l| l.team_id.is_none());
    match (own, default) {
        (Some(l), _) => (l.cards.clone(), l.version),
        (None, Some(d)) => (d.cards.clone(), 0),
        (None, None) => (SidebarLayout::built_in().cards, 0),
    }
}

#[component]
pub fn SidebarEditorPage() -> impl IntoView {
    // Every resource is created here, outside the `Suspense` (see
    // `crate::settings::HelpDeskSettingsPage`).
    let meta = server_resource(|| (), |_| load_workspace());
    let epoch = RwSignal::new(0u32);
    let layouts = server_resource(move || epoch.get(), |_| list_sidebar_layouts());
    // The scope being edited: None = the default layout.
    let scope = RwSignal::new(None::<i64>);
    let versions = server_resource(
        move || (scope.get(), epoch.get()),
        |(team, _)| sidebar_versions(team),
    );
    view! {
        <div class="settings-page">
            <SettingsNav current="/settings/sidebar"/>
            <h1>"Ticket sidebar"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match meta.await {
                        Ok(Some(meta)) if meta.me.is_admin() => view! { <Editor teams=meta.teams epoch layouts scope versions/> }.into_any(),
                        Ok(Some(_)) => not_allowed(),
                        Ok(None) => view! { <leptos_router::components::Redirect path="/login"/> }.into_any(),
                        Err(e) => view! { <p class="form-error">{crate::error::server_error_message(&e)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn Editor(
    teams: Vec<crate::users::Team>,
    epoch: RwSignal<u32>,
    layouts: ServerResource<Vec<SidebarLayout>>,
    scope: RwSignal<Option<i64>>,
    versions: ServerResource<Vec<SidebarLayout>>,
) -> impl IntoView {
    let cards = RwSignal::new(Vec::<Card>::new());
    let version = RwSignal::new(0_i64);
    let save = ServerAction::<SaveSidebarLayout>::new();
    let rollback = ServerAction::<RollbackSidebarLayout>::new();
    // Load the scope's cards whenever the scope or the stored layouts change.
    Effect::new(move |_| {
        let team = scope.get();
        if let Some(Ok(list)) = layouts.get() {
            let (c, v) = starting_cards(&list, team);
            cards.set(c);
            version.set(v);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            epoch.update(|e| *e += 1);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = rollback.value().get() {
            epoch.update(|e| *e += 1);
        }
    });
    let move_card = move |i: usize, up: bool| {
        cards.update(|c| {
            let j = if up {
                i.checked_sub(1)
            } else {
                Some(i + 1).filter(|j| *j < c.len())
            };
            if let Some(j) = j {
                c.swap(i, j);
            }
        })
    };
    let add = RwSignal::new(CardKind::Company.as_str().to_string());
    let team_options = teams.clone();
    let team_name = move |id: Option<i64>| match id {
        None => "Default".to_string(),
        Some(id) => teams
            .iter()
            .find(|t| t.id == id)
            .map_or("?".into(), |t| format!("Team {}", t.name)),
    };
    view! {
        <div data-testid="settings-page" class="sidebar-editor">
            <label class="field"><span>"Layout"</span>
                <select data-testid="layout-scope" on:change=move |ev| scope.set(event_target_value(&ev).parse().ok())>
                    <option value="">"Default (everyone else)"</option>
                    {team_options.into_iter().map(|t| view! { <option value=t.id.to_string()>{format!("Team {}", t.name)}</option> }).collect_view()}
                </select></label>
            <p class="muted" data-testid="layout-version">
                {move || match version.get() {
                    0 => format!("{}: not saved yet (shows the default)", team_name(scope.get())),
                    v => format!("{}: version {v}", team_name(scope.get())),
                }}
            </p>
            <div class="editor-columns">
                <ol class="card-list" data-testid="layout-cards">
                    {move || cards.get().into_iter().enumerate().map(|(i, card)| {
                        let kind = card.kind;
                        view! {
                            <li class="layout-card" data-testid="layout-card" data-kind=kind.as_str()>
                                <div class="layout-card-head">
                                    <strong>{card.heading()}</strong>
                                    <button class="btn link" title="Move up" data-testid="card-up" on:click=move |_| move_card(i, true)>"↑"</button>
                                    <button class="btn link" title="Move down" data-testid="card-down" on:click=move |_| move_card(i, false)>"↓"</button>
                                    <button class="btn link danger" data-testid="card-remove"
                                        on:click=move |_| cards.update(|c| { c.remove(i); })>"Remove"</button>
                                </div>
                                <input placeholder="Title (optional)" prop:value=card.title.clone().unwrap_or_default()
                                    on:change=move |ev| {
                                        let v = event_target_value(&ev);
                                        cards.update(|c| c[i].title = Some(v).filter(|t| !t.trim().is_empty()));
                                    }/>
                                {(kind == CardKind::Properties).then(|| view! { <PropertyPicker cards index=i/> })}
                            </li>
                        }
                    }).collect_view()}
                </ol>
                <aside class="sidebar preview" data-testid="layout-preview" aria-label="Preview">
                    <h3 class="muted">"Preview"</h3>
                    {move || cards.get().into_iter().map(|c| view! {
                        <section class="card">
                            <h3>{c.heading()}</h3>
                            {c.properties.iter().map(|p| view! {
                                <p class="muted">{p.field.label()}{if p.editable { " ✎" } else { "" }}</p>
                            }).collect_view()}
                        </section>
                    }).collect_view()}
                </aside>
            </div>
            <div class="editor-actions">
                <select data-testid="add-card-kind" on:change=move |ev| add.set(event_target_value(&ev))>
                    {CardKind::ALL.iter().map(|k| view! { <option value=k.as_str() selected=*k == CardKind::Company>{k.label()}</option> }).collect_view()}
                </select>
                <button class="btn" data-testid="add-card" on:click=move |_| {
                    if let Some(kind) = CardKind::parse(&add.get_untracked()) {
                        cards.update(|c| c.push(Card::of(kind)));
                    }
                }>"Add card"</button>
                <button class="btn primary" data-testid="save-layout" on:click=move |_| {
                    save.dispatch(SaveSidebarLayout { layout: SidebarLayoutInput { team_id: scope.get_untracked(), cards: cards.get_untracked() } });
                }>"Save layout"</button>
                <span class="form-error" role="alert" data-testid="layout-error">{move || failure_message(save.value().get())}</span>
            </div>
            <section class="settings-section">
                <h2>"Versions"</h2>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let list = versions.await.unwrap_or_default();
                        view! {
                            <ul class="settings-list" data-testid="layout-versions">
                                {list.into_iter().map(|l| {
                                    let (team, v) = (l.team_id, l.version);
                                    let who = l.saved_by.clone().unwrap_or_default();
                                    let when = l.saved_at.map(crate::time_fmt::format_ms).unwrap_or_default();
                                    let kinds: Vec<&str> = l.cards.iter().map(|c| c.kind.label()).collect();
                                    view! {
                                        <li>
                                            {format!("Version {v} · {when} · {who} · {}", kinds.join(", "))}
                                            <button class="btn link" data-testid="rollback" on:click=move |_| {
                                                rollback.dispatch(RollbackSidebarLayout { team_id: team, version: v });
                                            }>"Restore"</button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }
                    })}
                </Transition>
                <span class="form-error" role="alert">{move || failure_message(rollback.value().get())}</span>
            </section>
        </div>
    }
}

/// Which properties a properties card shows, and which agents may edit.
#[component]
fn PropertyPicker(cards: RwSignal<Vec<Card>>, index: usize) -> impl IntoView {
    let slot = move |field: TicketField| {
        cards.with(|c| {
            c.get(index)
                .and_then(|card| card.properties.iter().find(|p| p.field == field).copied())
        })
    };
    let set = move |field: TicketField, shown: bool, editable: bool| {
        cards.update(|c| {
            let Some(card) = c.get_mut(index) else {
                return;
            };
            match (shown, card.properties.iter().position(|p| p.field == field)) {
                (true, Some(i)) => card.properties[i].editable = editable,
                (true, None) => card.properties.push(PropertySlot { field, editable }),
                (false, Some(i)) => {
                    card.properties.remove(i);
                }
                (false, None) => {}
            }
        })
    };
    view! {
        <table class="property-picker">
            <tbody>
                {TicketField::ALL.into_iter().map(|field| view! {
                    <tr>
                        <td><label><input type="checkbox" prop:checked=move || slot(field).is_some()
                            on:change=move |ev| set(field, event_target_checked(&ev), field.can_be_editable())/>
                            " "{field.label()}</label></td>
                        <td>{field.can_be_editable().then(|| view! {
                            <label><input type="checkbox" prop:checked=move || slot(field).is_some_and(|s| s.editable)
                                disabled=move || slot(field).is_none()
                                on:change=move |ev| set(field, true, event_target_checked(&ev))/>" editable"</label>
                        })}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
