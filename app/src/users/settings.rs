//! The people section of the help desk settings: each seat's availability,
//! timezone, working hours and routing capacity (super admins only).

use super::{Availability, User, UserPatch};
use crate::business_hours::editor::{WeekGrid, WeekGridEditor};
use crate::error::failure_message;
use crate::routing::Capacity;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Changes a user's settings (the service checks the caller is a super
/// admin).
#[server(prefix = "/rpc", endpoint = "update_user_settings", input = Json)]
pub async fn update_user_settings(id: i64, patch: UserPatch) -> Result<User, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::update(&state.db, &user, id, patch).await
    })
    .await
}

/// Every active user with their settings, for the people section (super
/// admins only: the workspace's own list of users leaves settings out).
#[server(prefix = "/rpc", endpoint = "list_people")]
pub async fn list_people() -> Result<Vec<User>, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::list_with_settings(&state.db, &user).await
    })
    .await
}

/// One person's row, with an inline form.
#[component]
fn PersonRow(user: User) -> impl IntoView {
    let save = ServerAction::<UpdateUserSettings>::new();
    let availability = RwSignal::new(user.availability.as_str().to_string());
    let timezone = RwSignal::new(user.timezone.clone());
    let max_open = RwSignal::new(
        user.capacity
            .max_open
            .map(|m| m.to_string())
            .unwrap_or_default(),
    );
    let scheduled = RwSignal::new(user.working_hours.is_some());
    let grid = WeekGrid::new(
        &user
            .working_hours
            .clone()
            .unwrap_or_else(crate::business_hours::office_hours),
    );
    let excluded = user.capacity.excluded_statuses.clone();
    let per_channel = user.capacity.per_channel.clone();
    let id = user.id;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let max = max_open.get_untracked();
        save.dispatch(UpdateUserSettings {
            id,
            patch: UserPatch {
                availability: Availability::parse(&availability.get_untracked()),
                timezone: Some(timezone.get_untracked()),
                working_hours: Some(if scheduled.get_untracked() {
                    grid.value()
                } else {
                    Vec::new()
                }),
                capacity: Some(Capacity {
                    max_open: max.trim().parse().ok(),
                    per_channel: per_channel.clone(),
                    excluded_statuses: excluded.clone(),
                }),
                ..Default::default()
            },
        });
    };
    let saved = move || matches!(save.value().get(), Some(Ok(_))).then_some("Saved.");
    view! {
        <li class="person" data-testid="person" data-user=user.email.clone()>
            <form class="settings-form inline" on:submit=submit>
                <strong>{user.name.clone()}</strong>
                <label class="field"><span>"Availability"</span>
                    <select data-testid="person-availability" prop:value=move || availability.get()
                        on:change=move |ev| availability.set(event_target_value(&ev))>
                        <option value="available">"Available"</option>
                        <option value="away">"Away"</option>
                    </select></label>
                <label class="field"><span>"Timezone"</span>
                    <input data-testid="person-timezone" prop:value=move || timezone.get() on:input=move |ev| timezone.set(event_target_value(&ev))/></label>
                <label class="field"><span>"Most open tickets (blank: no limit)"</span>
                    <input type="number" min="0" data-testid="person-capacity" prop:value=move || max_open.get()
                        on:input=move |ev| max_open.set(event_target_value(&ev))/></label>
                <label><input type="checkbox" data-testid="person-scheduled" prop:checked=move || scheduled.get()
                    on:change=move |ev| scheduled.set(event_target_checked(&ev))/>" Working hours (away outside them)"</label>
                <Show when=move || scheduled.get()>
                    <WeekGridEditor grid testid="person-hours"/>
                </Show>
                <button class="btn" type="submit" data-testid="save-person">"Save"</button>
                <span class="muted">{saved}</span>
                <span class="form-error" role="alert">{move || failure_message(save.value().get())}</span>
            </form>
        </li>
    }
}

#[component]
pub fn PeopleSection(users: Vec<User>) -> impl IntoView {
    view! {
        <section class="settings-section" data-testid="people">
            <h2>"People: hours and capacity"</h2>
            <p class="muted">"Outside their working hours people become Away (they can switch back until their hours next begin or end). Routing skips anyone away or at capacity."</p>
            <ul class="settings-list people">
                {users.into_iter().filter(|u| u.can_work_tickets()).map(|u| view! { <PersonRow user=u/> }).collect_view()}
            </ul>
        </section>
    }
}
