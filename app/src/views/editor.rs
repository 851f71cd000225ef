//! The view panels of the workspace: the custom view editor (filters, sort,
//! columns, layout, sharing, history with rollback) and the panel where a
//! user picks which views they see and in what order.
//!
//! Both open over the workspace and save through server functions; the
//! server validates everything again and its message shows inline.

use super::api::{DeleteView, RollbackView, SaveView, SetViewPreferences, ViewVersions};
use super::filter::{Column, Condition, Layout, Operator, Property, ViewDefinition};
use super::{CustomView, NewView, Sharing, ViewKey, ViewPreferences, ViewSummary};
use crate::error::failure_message;
use crate::tickets::{channel_label, Priority, SortKey, StatusCategory, CATEGORIES, CHANNELS};
use crate::time_fmt::format_ms;
use crate::workspace::Ws;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// The choices of a condition's value picker: (value, label).
fn value_options(ws: &Ws, property: Property) -> Option<Vec<(String, String)>> {
    let meta = ws.meta;
    Some(match property {
        Property::Priority => [
            Priority::Low,
            Priority::Medium,
            Priority::High,
            Priority::Urgent,
        ]
        .into_iter()
        .map(|p| (p.as_str().to_string(), p.label().to_string()))
        .collect(),
        Property::StatusCategory => [
            StatusCategory::Open,
            StatusCategory::Waiting,
            StatusCategory::Closed,
        ]
        .into_iter()
        .map(|c| (c.as_str().to_string(), c.as_str().to_string()))
        .collect(),
        Property::Category => CATEGORIES
            .iter()
            .map(|c| (c.to_string(), c.to_string()))
            .collect(),
        Property::Channel => CHANNELS
            .iter()
            .map(|c| (c.to_string(), channel_label(c).to_string()))
            .collect(),
        Property::Status => meta.with_value(|m| {
            m.pipelines
                .iter()
                .flat_map(|p| {
                    p.statuses
                        .iter()
                        .map(move |s| (s.id.to_string(), format!("{} › {}", p.name, s.name)))
                })
                .collect()
        }),
        Property::Pipeline => meta.with_value(|m| {
            m.pipelines
                .iter()
                .map(|p| (p.id.to_string(), p.name.clone()))
                .collect()
        }),
        Property::Owner => {
            let mut options = vec![
                ("me".to_string(), "Me (whoever looks)".to_string()),
                ("none".to_string(), "Nobody (unassigned)".to_string()),
            ];
            meta.with_value(|m| {
                options.extend(
                    m.users
                        .iter()
                        .filter(|u| u.can_work_tickets())
                        .map(|u| (u.id.to_string(), u.name.clone())),
                )
            });
            options
        }
        Property::Team => {
            let mut options = vec![("none".to_string(), "No team".to_string())];
            meta.with_value(|m| {
                options.extend(m.teams.iter().map(|t| (t.id.to_string(), t.name.clone())))
            });
            options
        }
        Property::SlaState => [
            crate::sla::SlaState::OnTrack,
            crate::sla::SlaState::DueSoon,
            crate::sla::SlaState::Overdue,
        ]
        .iter()
        .map(|s| (s.as_str().to_string(), s.label().to_string()))
        .collect(),
        Property::Contact
        | Property::Company
        | Property::CreatedAt
        | Property::UpdatedAt
        | Property::LastCustomerMessageAt
        | Property::SlaDueAt => return None,
    })
}

/// Where a view panel is: closed, creating a view, or editing one.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewPanel {
    Closed,
    Edit(Option<CustomView>),
    Customize,
}

/// The custom view editor. `editing` is None for a new view.
#[component]
pub fn ViewEditor(editing: Option<CustomView>) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let me = ws.me();
    let id = editing.as_ref().map(|v| v.id);
    let start = editing
        .clone()
        .map(|v| (v.name, v.sharing, v.team_ids, v.definition));
    let (name0, sharing0, teams0, def0) = start.unwrap_or_else(|| {
        (
            String::new(),
            Sharing::Private,
            Vec::new(),
            ViewDefinition::default(),
        )
    });
    let name = RwSignal::new(name0);
    let sharing = RwSignal::new(sharing0);
    let team_ids = RwSignal::new(teams0);
    let groups = RwSignal::new(def0.groups);
    let sort = RwSignal::new(def0.sort);
    let asc = RwSignal::new(def0.asc);
    let columns = RwSignal::new(def0.columns);
    let layout = RwSignal::new(def0.layout);

    let save = ServerAction::<SaveView>::new();
    let delete = ServerAction::<DeleteView>::new();
    let history = ServerAction::<ViewVersions>::new();
    let rollback = ServerAction::<RollbackView>::new();
    let navigate = use_navigate();
    // Saved: close, show the view.
    Effect::new({
        let navigate = navigate.clone();
        move |_| {
            if let Some(Ok(view)) = save.value().get() {
                ws.views_changed.update(|n| *n += 1);
                ws.view_panel.set(ViewPanel::Closed);
                navigate(&format!("/views/{}", view.id), Default::default());
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            ws.views_changed.update(|n| *n += 1);
            ws.view_panel.set(ViewPanel::Closed);
            navigate("/views/unassigned", Default::default());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = rollback.value().get() {
            ws.views_changed.update(|n| *n += 1);
            ws.view_panel.set(ViewPanel::Closed);
        }
    });
    let error = move || {
        failure_message(save.value().get())
            .or_else(|| failure_message(delete.value().get()))
            .or_else(|| failure_message(rollback.value().get()))
            .or_else(|| failure_message(history.value().get()))
    };
    let on_save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveView {
            id,
            view: NewView {
                name: name.get_untracked(),
                sharing: sharing.get_untracked(),
                team_ids: team_ids.get_untracked(),
                definition: ViewDefinition {
                    groups: groups.get_untracked(),
                    sort: sort.get_untracked(),
                    asc: asc.get_untracked(),
                    columns: columns.get_untracked(),
                    layout: layout.get_untracked(),
                },
            },
        });
    };
    let my_teams: Vec<(i64, String)> = ws.meta.with_value(|m| {
        m.teams
            .iter()
            .filter(|t| me.is_admin() || t.member_ids.contains(&me.id))
            .map(|t| (t.id, t.name.clone()))
            .collect()
    });
    let is_admin = me.is_admin();
    let add_group = move |_| {
        groups.update(|g| {
            g.push(vec![Condition {
                property: Property::Priority,
                op: Operator::IsAnyOf,
                values: Vec::new(),
            }])
        })
    };

    view! {
        <div class="overlay" role="dialog" aria-label="View editor">
            <form class="panel view-editor" data-testid="view-editor" on:submit=on_save>
                <header class="panel-header">
                    <h2>{if id.is_some() { "Edit view" } else { "New view" }}</h2>
                    <button type="button" class="btn link" on:click=move |_| ws.view_panel.set(ViewPanel::Closed)>"Close"</button>
                </header>
                <label class="field">
                    "Name"
                    <input data-testid="view-name" required maxlength="80"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <fieldset class="field">
                    <legend>"Filters"</legend>
                    <p class="muted hint">"A ticket is in the view when all conditions of any group hold. Without groups, the view shows every ticket you may see."</p>
                    {move || {
                        let count = groups.with(|g| g.len());
                        (0..count)
                            .map(|g| view! { <FilterGroup groups index=g/> })
                            .collect_view()
                    }}
                    <button type="button" class="btn" data-testid="add-group" on:click=add_group>
                        {move || if groups.with(|g| g.is_empty()) { "+ Add a filter" } else { "+ Or another group" }}
                    </button>
                </fieldset>
                <div class="field-row">
                    <label class="field">
                        "Sort by"
                        <select data-testid="view-sort"
                            prop:value=move || sort.get().as_str()
                            on:change=move |ev| if let Some(k) = SortKey::parse(&event_target_value(&ev)) { sort.set(k) }>
                            {SortKey::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="field checkbox">
                        <input type="checkbox" prop:checked=move || asc.get() on:change=move |ev| asc.set(event_target_checked(&ev))/>
                        "Oldest / lowest first"
                    </label>
                    <label class="field">
                        "Layout"
                        <select data-testid="view-layout"
                            prop:value=move || layout.get().as_str()
                            on:change=move |ev| if let Some(l) = Layout::parse(&event_target_value(&ev)) { layout.set(l) }>
                            {Layout::ALL.into_iter().map(|l| view! { <option value=l.as_str()>{l.label()}</option> }).collect_view()}
                        </select>
                    </label>
                </div>
                <fieldset class="field">
                    <legend>"Columns"</legend>
                    <ColumnPicker columns/>
                </fieldset>
                <fieldset class="field">
                    <legend>"Shared with"</legend>
                    {Sharing::ALL
                        .into_iter()
                        .filter(|s| *s != Sharing::Everyone || is_admin)
                        .map(|s| view! {
                            <label class="checkbox">
                                <input type="radio" name="sharing" value=s.as_str()
                                    data-testid=format!("sharing-{}", s.as_str())
                                    prop:checked=move || sharing.get() == s
                                    on:change=move |_| sharing.set(s)/>
                                {s.label()}
                            </label>
                        })
                        .collect_view()}
                    <Show when=move || sharing.get() == Sharing::Teams>
                        <div class="choices">
                            {my_teams
                                .clone()
                                .into_iter()
                                .map(|(tid, tname)| view! {
                                    <label class="checkbox">
                                        <input type="checkbox" data-testid=format!("share-team-{tid}")
                                            prop:checked=move || team_ids.with(|t| t.contains(&tid))
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                team_ids.update(|t| {
                                                    t.retain(|x| *x != tid);
                                                    if on { t.push(tid) }
                                                });
                                            }/>
                                        {tname}
                                    </label>
                                })
                                .collect_view()}
                        </div>
                    </Show>
                </fieldset>
                <p class="form-error" role="alert" data-testid="view-error">{error}</p>
                <footer class="panel-footer">
                    <button type="submit" class="btn primary" data-testid="save-view" disabled=move || save.pending().get()>
                        "Save view"
                    </button>
                    {id.map(|id| view! {
                        <button type="button" class="btn" data-testid="view-history" on:click=move |_| { history.dispatch(ViewVersions { id }); }>
                            "History"
                        </button>
                        <button type="button" class="btn danger" data-testid="delete-view" on:click=move |_| { delete.dispatch(DeleteView { id }); }>
                            "Delete"
                        </button>
                    })}
                </footer>
                {move || {
                    history.value().get().and_then(|r| r.ok()).map(|versions| {
                        let id = id.unwrap_or_default();
                        view! {
                            <ol class="versions" data-testid="view-versions">
                                {versions
                                    .into_iter()
                                    .enumerate()
                                    .map(|(i, v)| {
                                        let version = v.version;
                                        view! {
                                            <li data-testid="view-version">
                                                <strong>{format!("v{}", v.version)}</strong>
                                                " “" {v.name} "” · "
                                                {v.changed_by.unwrap_or_else(|| "someone".into())}
                                                " · "
                                                {format_ms(v.changed_at)}
                                                {(i > 0).then(|| view! {
                                                    " "
                                                    <button type="button" class="btn link" data-testid="rollback"
                                                        on:click=move |_| { rollback.dispatch(RollbackView { id, version }); }>
                                                        "Restore this version"
                                                    </button>
                                                })}
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ol>
                        }
                    })
                }}
            </form>
        </div>
    }
}

/// One filter group: conditions that must all hold.
#[component]
fn FilterGroup(groups: RwSignal<Vec<Vec<Condition>>>, index: usize) -> impl IntoView {
    let len = move || groups.with(|g| g.get(index).map(Vec::len).unwrap_or(0));
    let add = move |_| {
        groups.update(|g| {
            if let Some(group) = g.get_mut(index) {
                group.push(Condition {
                    property: Property::Owner,
                    op: Operator::IsAnyOf,
                    values: Vec::new(),
                });
            }
        })
    };
    view! {
        <div class="filter-group" data-testid="filter-group">
            {move || (index > 0).then(|| view! { <p class="or">"or"</p> })}
            {move || (0..len()).map(|c| view! { <ConditionRow groups group=index index=c/> }).collect_view()}
            <button type="button" class="btn link" data-testid="add-condition" on:click=add>"+ And"</button>
        </div>
    }
}

#[component]
fn ConditionRow(
    groups: RwSignal<Vec<Vec<Condition>>>,
    group: usize,
    index: usize,
) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let get = move || groups.with(|g| g.get(group).and_then(|gr| gr.get(index)).cloned());
    let set = move |f: &dyn Fn(&mut Condition)| {
        groups.update(|g| {
            if let Some(c) = g.get_mut(group).and_then(|gr| gr.get_mut(index)) {
                f(c);
            }
        })
    };
    let remove = move |_| {
        groups.update(|g| {
            if let Some(gr) = g.get_mut(group) {
                if index < gr.len() {
                    gr.remove(index);
                }
                if gr.is_empty() {
                    g.remove(group);
                }
            }
        })
    };
    let property = Memo::new(move |_| get().map(|c| c.property).unwrap_or(Property::Priority));
    let op = Memo::new(move |_| get().map(|c| c.op).unwrap_or(Operator::IsAnyOf));
    let values = move || get().map(|c| c.values).unwrap_or_default();
    view! {
        <div class="condition" data-testid="condition">
            <select data-testid="condition-property"
                prop:value=move || property.get().as_str()
                on:change=move |ev| {
                    if let Some(p) = Property::parse(&event_target_value(&ev)) {
                        set(&|c| {
                            c.property = p;
                            c.op = p.operators()[0];
                            c.values.clear();
                        });
                    }
                }>
                {Property::ALL.into_iter().map(|p| view! { <option value=p.as_str()>{p.label()}</option> }).collect_view()}
            </select>
            <select data-testid="condition-op"
                prop:value=move || op.get().as_str()
                on:change=move |ev| {
                    if let Some(o) = Operator::parse(&event_target_value(&ev)) {
                        set(&|c| {
                            if !o.takes_values() {
                                c.values.clear();
                            }
                            c.op = o;
                        });
                    }
                }>
                {move || property.get().operators().into_iter().map(|o| view! { <option value=o.as_str() selected=move || op.get() == o>{o.label()}</option> }).collect_view()}
            </select>
            {move || {
                let p = property.get();
                let o = op.get();
                if !o.takes_values() {
                    return ().into_any();
                }
                match (o, value_options(&ws, p)) {
                    (Operator::IsAnyOf | Operator::IsNoneOf, Some(options)) => view! {
                        <div class="choices" data-testid="condition-values">
                            {options
                                .into_iter()
                                .map(|(value, label)| {
                                    let v = value.clone();
                                    let checked = move || values().contains(&v);
                                    view! {
                                        <label class="checkbox">
                                            <input type="checkbox" value=value.clone()
                                                prop:checked=checked
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    let value = value.clone();
                                                    set(&|c| {
                                                        c.values.retain(|x| *x != value);
                                                        if on {
                                                            c.values.push(value.clone());
                                                        }
                                                    });
                                                }/>
                                            {label}
                                        </label>
                                    }
                                })
                                .collect_view()}
                        </div>
                    }
                    .into_any(),
                    (Operator::After | Operator::Before, _) => view! {
                        <input type="date" data-testid="condition-value"
                            prop:value=move || values().first().cloned().unwrap_or_default()
                            on:change=move |ev| { let v = event_target_value(&ev); set(&|c| c.values = vec![v.clone()]); }/>
                    }
                    .into_any(),
                    (Operator::InLastDays | Operator::MoreThanDaysAgo, _) => view! {
                        <input type="number" min="1" max="3650" data-testid="condition-value" placeholder="days"
                            prop:value=move || values().first().cloned().unwrap_or_default()
                            on:input=move |ev| { let v = event_target_value(&ev); set(&|c| c.values = vec![v.clone()]); }/>
                    }
                    .into_any(),
                    _ => view! {
                        <input data-testid="condition-value" placeholder="ids, separated by commas"
                            prop:value=move || values().join(", ")
                            on:change=move |ev| {
                                let v: Vec<String> = event_target_value(&ev).split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
                                set(&|c| c.values = v.clone());
                            }/>
                    }
                    .into_any(),
                }
            }}
            <button type="button" class="btn link" title="Remove this condition" on:click=remove>"✕"</button>
        </div>
    }
}

/// Which columns the list shows, in order.
#[component]
fn ColumnPicker(columns: RwSignal<Vec<Column>>) -> impl IntoView {
    let toggle = move |col: Column, on: bool| {
        columns.update(|cs| {
            cs.retain(|c| *c != col);
            if on {
                cs.push(col);
            }
        })
    };
    let up = move |col: Column| {
        columns.update(|cs| {
            if let Some(i) = cs.iter().position(|c| *c == col) {
                if i > 0 {
                    cs.swap(i, i - 1);
                }
            }
        })
    };
    view! {
        <ol class="column-picker" data-testid="column-picker">
            {move || {
                let chosen = columns.get();
                let rest: Vec<Column> = Column::ALL.into_iter().filter(|c| !chosen.contains(c)).collect();
                chosen
                    .iter()
                    .map(|c| (*c, true))
                    .chain(rest.into_iter().map(|c| (c, false)))
                    .map(|(col, on)| view! {
                        <li>
                            <label class="checkbox">
                                <input type="checkbox" data-testid=format!("column-{}", col.as_str())
                                    prop:checked=on
                                    on:change=move |ev| toggle(col, event_target_checked(&ev))/>
                                {col.label()}
                            </label>
                            {on.then(|| view! {
                                <button type="button" class="btn link" title="Move up" on:click=move |_| up(col)>"↑"</button>
                            })}
                        </li>
                    })
                    .collect_view()
            }}
        </ol>
    }
}

/// The user's choice and order of views.
#[component]
pub fn CustomizeViews(views: Vec<ViewSummary>) -> impl IntoView {
    let ws = expect_context::<Ws>();
    let order = RwSignal::new(
        views
            .iter()
            .map(|v| (v.id, v.name.clone()))
            .collect::<Vec<_>>(),
    );
    let hidden = RwSignal::new(
        views
            .iter()
            .filter(|v| v.hidden)
            .map(|v| v.id)
            .collect::<Vec<ViewKey>>(),
    );
    let save = ServerAction::<SetViewPreferences>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            ws.views_changed.update(|n| *n += 1);
            ws.view_panel.set(ViewPanel::Closed);
        }
    });
    let move_by = move |key: ViewKey, delta: isize| {
        order.update(|o| {
            if let Some(i) = o.iter().position(|(k, _)| *k == key) {
                let j = i as isize + delta;
                if j >= 0 && (j as usize) < o.len() {
                    o.swap(i, j as usize);
                }
            }
        })
    };
    view! {
        <div class="overlay" role="dialog" aria-label="Choose views">
            <div class="panel" data-testid="customize-views">
                <header class="panel-header">
                    <h2>"Your views"</h2>
                    <button type="button" class="btn link" on:click=move |_| ws.view_panel.set(ViewPanel::Closed)>"Close"</button>
                </header>
                <ol class="column-picker">
                    {move || order
                        .get()
                        .into_iter()
                        .map(|(key, name)| view! {
                            <li data-testid="customize-view" data-view=key.slug()>
                                <label class="checkbox">
                                    <input type="checkbox" data-testid=format!("show-view-{}", key.slug())
                                        prop:checked=move || !hidden.with(|h| h.contains(&key))
                                        on:change=move |ev| {
                                            let show = event_target_checked(&ev);
                                            hidden.update(|h| {
                                                h.retain(|k| *k != key);
                                                if !show { h.push(key) }
                                            });
                                        }/>
                                    {name}
                                </label>
                                <button type="button" class="btn link" title="Move up" on:click=move |_| move_by(key, -1)>"↑"</button>
                                <button type="button" class="btn link" title="Move down" on:click=move |_| move_by(key, 1)>"↓"</button>
                            </li>
                        })
                        .collect_view()}
                </ol>
                <p class="form-error" role="alert">{move || failure_message(save.value().get())}</p>
                <footer class="panel-footer">
                    <button class="btn primary" data-testid="save-view-preferences"
                        on:click=move |_| {
                            save.dispatch(SetViewPreferences {
                                preferences: ViewPreferences {
                                    order: order.get_untracked().into_iter().map(|(k, _)| k).collect(),
                                    hidden: hidden.get_untracked(),
                                },
                            });
                        }>
                        "Save"
                    </button>
                </footer>
            </div>
        </div>
    }
}
