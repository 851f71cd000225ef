//! The help desk settings page (`/settings/help-desk`, super admins):
//! routing, SLA goals, business-hours calendars and people's hours and
//! capacity. Each section lives with its domain (`routing::settings`,
//! `sla::settings`, `business_hours::editor`, `users::settings`); this page
//! only lays them out. The sidebar editor has its own page
//! (`/settings/sidebar`, [`crate::sidebar::editor`]).

use crate::resource::server_resource;
use crate::workspace::load_workspace;
use leptos::prelude::*;

/// Only super admins change settings; the message says so. Every settings
/// service checks it first.
#[cfg(feature = "ssr")]
pub fn require_admin(actor: &crate::users::User) -> Result<(), crate::error::AppError> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(crate::error::AppError::forbidden(
            "Only super admins can change settings.",
        ))
    }
}

/// The event that tells open settings pages and workspaces that a kind of
/// setting changed (`calendars`, `routing`, `sla`, `sidebar`).
#[cfg(feature = "ssr")]
pub fn settings_changed(
    actor: &crate::users::User,
    what: &str,
) -> crate::events::log::PendingEvent {
    crate::events::log::PendingEvent::global(
        crate::events::SETTINGS_CHANGED,
        Some(actor.id),
        serde_json::json!({ "settings": what }),
    )
}

/// The links between the settings pages, for super admins.
#[component]
pub fn SettingsNav(current: &'static str) -> impl IntoView {
    let pages = [
        ("/settings/help-desk", "Help desk"),
        ("/settings/sidebar", "Ticket sidebar"),
        ("/settings/channels", "Channels"),
    ];
    view! {
        <nav class="settings-nav">
            <a href="/views/unassigned" class="btn link">"← Workspace"</a>
            {pages.into_iter().map(|(href, label)| view! {
                <a href=href class="btn link" class:current=href == current>{label}</a>
            }).collect_view()}
        </nav>
    }
}

/// What a page shows someone who may not change settings.
pub fn not_allowed() -> AnyView {
    view! { <p class="form-error" data-testid="settings-forbidden">"Only super admins can change settings."</p> }
        .into_any()
}

#[component]
pub fn HelpDeskSettingsPage() -> impl IntoView {
    // Every resource is created here, outside the `Suspense`: one created
    // inside it can exist twice on the server and once in the browser, and
    // hydration would pair it with another's value (see
    // `crate::workspace::Loads`).
    let meta = server_resource(|| (), |_| load_workspace());
    let people = server_resource(|| (), |_| crate::users::settings::list_people());
    let epoch = RwSignal::new(0u32);
    let rules = server_resource(
        move || epoch.get(),
        |_| crate::routing::settings::list_routing_rules(),
    );
    let policies = server_resource(
        move || epoch.get(),
        |_| crate::sla::settings::list_sla_policies(),
    );
    let calendars = server_resource(
        move || epoch.get(),
        |_| crate::business_hours::editor::list_calendars(),
    );
    view! {
        <div class="settings-page">
            <SettingsNav current="/settings/help-desk"/>
            <h1>"Help desk settings"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match meta.await {
                        Ok(Some(meta)) if meta.me.is_admin() => {
                            let people = match people.await {
                                Ok(users) => view! { <crate::users::settings::PeopleSection users/> }.into_any(),
                                Err(e) => view! { <p class="form-error">{crate::error::server_error_message(&e)}</p> }.into_any(),
                            };
                            view! {
                                <div data-testid="settings-page">
                                    <crate::routing::settings::RoutingSection meta=meta.clone() rules calendars epoch/>
                                    <crate::sla::settings::SlaSection meta=meta.clone() policies calendars epoch/>
                                    <crate::business_hours::editor::CalendarsSection calendars epoch/>
                                    {people}
                                </div>
                            }
                            .into_any()
                        }
                        Ok(Some(_)) => not_allowed(),
                        Ok(None) => view! { <leptos_router::components::Redirect path="/login"/> }.into_any(),
                        Err(e) => view! { <p class="form-error">{crate::error::server_error_message(&e)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}
