//! The create-ticket panel, opened from the left column or with `c`.

use super::api::{CreateTicket, CreateTicketForm};
use super::Priority;
use crate::error::failure_message;
use crate::workspace::{Route, Ws};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

#[component]
pub fn CreatePanel() -> impl IntoView {
    let ws = expect_context::<Ws>();
    let route = expect_context::<Route>();
    // Made with the panel: each opening starts with no answer shown.
    let create = ServerAction::<CreateTicket>::new();
    ws.reload_after(create);
    let meta = ws.meta.get_value();
    let pipelines = meta.pipelines.clone();
    let first_pipeline = pipelines.first().map(|p| p.id);
    let pipeline_id = RwSignal::new(first_pipeline);
    let pipelines_for_status = pipelines.clone();
    let statuses = Memo::new(move |_| {
        pipelines_for_status
            .iter()
            .find(|p| Some(p.id) == pipeline_id.get())
            .map(|p| p.statuses.clone())
            .unwrap_or_default()
    });
    let status_id = RwSignal::new(statuses.get_untracked().first().map(|s| s.id));
    let subject = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let priority = RwSignal::new(Priority::Medium.as_str().to_string());
    let owner = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(ticket)) = create.value().get() {
            navigate(&route.ticket_href(ticket.number), Default::default());
            // Last: closing the panel disposes of this effect.
            ws.show_create.set(false);
        }
    });
    let error = move || failure_message(create.value().get());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateTicket {
            form: CreateTicketForm {
                subject: subject.get_untracked(),
                pipeline_id: pipeline_id.get_untracked(),
                status_id: status_id.get_untracked(),
                contact_email: Some(email.get_untracked()),
                contact_name: Some(name.get_untracked()),
                priority: Some(priority.get_untracked()),
                owner_id: Some(owner.get_untracked()),
                body: Some(body.get_untracked()),
            },
        });
    };
    let owners: Vec<_> = meta
        .users
        .iter()
        .filter(|u| u.can_work_tickets())
        .cloned()
        .collect();

    view! {
        <div class="panel-backdrop" on:click=move |_| ws.show_create.set(false)></div>
        <aside class="create-panel" role="dialog" aria-label="Create ticket" data-testid="create-panel">
            <header>
                <h2>"Create ticket"</h2>
                <button class="btn link" type="button" on:click=move |_| ws.show_create.set(false)>"Close"</button>
            </header>
            <form class="stack" on:submit=submit>
                <label>"Ticket name *"
                    <input name="subject" data-testid="new-subject" required maxlength="250" autofocus
                        prop:value=move || subject.get() on:input=move |ev| subject.set(event_target_value(&ev))/>
                </label>
                <label>"Pipeline *"
                    <select name="pipeline_id" on:change=move |ev| {
                        let id = event_target_value(&ev).parse().ok();
                        pipeline_id.set(id);
                        status_id.set(statuses.get_untracked().first().map(|s| s.id));
                    }>
                        {pipelines.into_iter().map(|p| view! {
                            <option value=p.id.to_string() selected=Some(p.id) == first_pipeline>{p.name}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Ticket status *"
                    <select name="status_id" data-testid="new-status" on:change=move |ev| status_id.set(event_target_value(&ev).parse().ok())>
                        {move || statuses.get().into_iter().map(|s| {
                            let id = s.id;
                            view! { <option value=id.to_string() selected=move || status_id.get() == Some(id)>{s.name}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"Contact email"
                    <input type="email" name="contact_email" data-testid="new-contact-email"
                        prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/>
                </label>
                <label>"Contact name"
                    <input name="contact_name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <label>"Priority"
                    <select name="priority" data-testid="new-priority" on:change=move |ev| priority.set(event_target_value(&ev))>
                        {Priority::ALL.into_iter().map(|p| view! {
                            <option value=p.as_str() selected=p == Priority::Medium>{p.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Ticket owner"
                    <select name="owner_id" data-testid="new-owner" on:change=move |ev| owner.set(event_target_value(&ev))>
                        <option value="">"Unassigned"</option>
                        {owners.into_iter().map(|u| view! { <option value=u.id.to_string()>{u.name}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Description"
                    <textarea name="body" rows="4" data-testid="new-body"
                        prop:value=move || body.get() on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                </label>
                <p class="form-error" role="alert" data-testid="create-error">{error}</p>
                <button type="submit" class="btn primary" data-testid="create-submit" disabled=move || create.pending().get()>
                    "Create"
                </button>
            </form>
        </aside>
    }
}
