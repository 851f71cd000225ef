//! The Channels settings page (`/settings/channels`, super admins): connect
//! and change email channels, import history with a progress bar, and read
//! the quarantine. Its server functions sit here, thin over
//! [`super::service`].

use super::{Channel, EmailImport, NewChannel, QuarantinedEmail, Security, ServerSettings};
use crate::error::failure_message;
use crate::resource::server_resource;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[server(prefix = "/rpc", endpoint = "list_channels")]
pub async fn list_channels() -> Result<Vec<Channel>, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::list(&state.db, &state.config.secret_key, &user).await
    })
    .await
}

/// Connects a channel (`id` = None) or changes one; a blank password keeps
/// the stored one.
#[server(prefix = "/rpc", endpoint = "save_channel", input = Json)]
pub async fn save_channel(id: Option<i64>, channel: NewChannel) -> Result<Channel, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        let key = &state.config.secret_key;
        match id {
            None => super::service::connect(&state, &user, channel).await,
            Some(id) => {
                let patch = super::ChannelPatch {
                    name: Some(channel.name),
                    team_id: Some(channel.team_id),
                    from_name: Some(channel.from_name.unwrap_or_default()),
                    signature: Some(channel.signature.unwrap_or_default()),
                    outbound: Some(channel.outbound),
                    imap: Some(channel.imap),
                };
                super::service::update(&state.db, key, &user, id, patch).await
            }
        }
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "disconnect_channel")]
pub async fn disconnect_channel(id: i64) -> Result<(), ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::delete(&state.db, &user, id).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "channel_imports")]
pub async fn channel_imports(id: i64) -> Result<Vec<EmailImport>, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::list_imports(&state.db, &user, id).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "import_imap_history")]
pub async fn import_imap_history(id: i64, days: u32) -> Result<i64, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::email::import::start_imap(&state, &user, id, days).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "list_quarantine")]
pub async fn list_quarantine() -> Result<Vec<QuarantinedEmail>, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::list_quarantine(&state.db, &user, 100).await
    })
    .await
}

/// The connect / edit form's fields, as strings the inputs hold.
#[derive(Clone, Default)]
struct FormFields {
    name: RwSignal<String>,
    address: RwSignal<String>,
    from_name: RwSignal<String>,
    signature: RwSignal<String>,
    smtp_host: RwSignal<String>,
    smtp_port: RwSignal<String>,
    smtp_security: RwSignal<String>,
    smtp_user: RwSignal<String>,
    smtp_password: RwSignal<String>,
    use_imap: RwSignal<bool>,
    imap_host: RwSignal<String>,
    imap_port: RwSignal<String>,
    imap_security: RwSignal<String>,
    imap_user: RwSignal<String>,
    imap_password: RwSignal<String>,
    imap_folder: RwSignal<String>,
    import_history: RwSignal<bool>,
}

fn security_str(s: Security) -> &'static str {
    match s {
        Security::None => "none",
        Security::Starttls => "starttls",
        Security::Tls => "tls",
    }
}

fn parse_security(s: &str) -> Security {
    match s {
        "none" => Security::None,
        "tls" => Security::Tls,
        _ => Security::Starttls,
    }
}

impl FormFields {
    fn fill(&self, c: Option<&Channel>) {
        let text = |v: Option<&str>| v.unwrap_or("").to_string();
        self.name.set(c.map(|c| c.name.clone()).unwrap_or_default());
        self.address
            .set(c.map(|c| c.address.clone()).unwrap_or_default());
        self.from_name
            .set(text(c.and_then(|c| c.from_name.as_deref())));
        self.signature
            .set(text(c.and_then(|c| c.signature.as_deref())));
        self.smtp_host
            .set(c.map(|c| c.outbound.host.clone()).unwrap_or_default());
        self.smtp_port.set(
            c.map(|c| c.outbound.port.to_string())
                .unwrap_or_else(|| "587".into()),
        );
        self.smtp_security
            .set(security_str(c.map(|c| c.outbound.security).unwrap_or_default()).into());
        self.smtp_user
            .set(text(c.and_then(|c| c.outbound.username.as_deref())));
        self.smtp_password.set(String::new());
        let imap = c.and_then(|c| c.imap.as_ref());
        self.use_imap.set(imap.is_some());
        self.imap_host
            .set(imap.map(|i| i.host.clone()).unwrap_or_default());
        self.imap_port.set(
            imap.map(|i| i.port.to_string())
                .unwrap_or_else(|| "993".into()),
        );
        self.imap_security
            .set(security_str(imap.map(|i| i.security).unwrap_or(Security::Tls)).into());
        self.imap_user
            .set(text(imap.and_then(|i| i.username.as_deref())));
        self.imap_password.set(String::new());
        self.imap_folder.set(
            imap.and_then(|i| i.folder.clone())
                .unwrap_or_else(|| "INBOX".into()),
        );
        self.import_history.set(false);
    }

    fn to_new_channel(&self) -> NewChannel {
        let opt = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        NewChannel {
            kind: "email".into(),
            name: self.name.get_untracked(),
            address: self.address.get_untracked(),
            team_id: None,
            from_name: opt(self.from_name.get_untracked()),
            signature: opt(self.signature.get_untracked()),
            outbound: ServerSettings {
                host: self.smtp_host.get_untracked(),
                port: self.smtp_port.get_untracked().trim().parse().unwrap_or(0),
                security: parse_security(&self.smtp_security.get_untracked()),
                username: opt(self.smtp_user.get_untracked()),
                password: opt(self.smtp_password.get_untracked()),
                folder: None,
            },
            imap: self.use_imap.get_untracked().then(|| ServerSettings {
                host: self.imap_host.get_untracked(),
                port: self.imap_port.get_untracked().trim().parse().unwrap_or(0),
                security: parse_security(&self.imap_security.get_untracked()),
                username: opt(self.imap_user.get_untracked()),
                password: opt(self.imap_password.get_untracked()),
                folder: opt(self.imap_folder.get_untracked()),
            }),
            import_history: self.import_history.get_untracked(),
            import_days: None,
        }
    }
}

#[component]
fn TextField(
    label: &'static str,
    value: RwSignal<String>,
    testid: &'static str,
    #[prop(optional)] kind: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <input
                type=kind.unwrap_or("text")
                data-testid=testid
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        </label>
    }
}

#[component]
fn SecurityField(
    label: &'static str,
    value: RwSignal<String>,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <select data-testid=testid prop:value=move || value.get() on:change=move |ev| value.set(event_target_value(&ev))>
                <option value="starttls">"STARTTLS"</option>
                <option value="tls">"TLS"</option>
                <option value="none">"None (local relay only)"</option>
            </select>
        </label>
    }
}

/// Sends an mbox file picked in the page to the import endpoint.
#[cfg(feature = "hydrate")]
fn upload_mbox(channel_id: i64, input_id: &str, done: impl Fn(Result<(), String>) + 'static) {
    use wasm_bindgen::JsCast;
    let file = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(input_id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        .and_then(|i| i.files())
        .and_then(|f| f.get(0));
    let Some(file) = file else {
        done(Err("Choose an mbox file first.".into()));
        return;
    };
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&file);
    let url = format!("/api/v1/channels/{channel_id}/imports/mbox");
    let Some(promise) = web_sys::window().map(|w| w.fetch_with_str_and_init(&url, &init)) else {
        return;
    };
    leptos::task::spawn_local(async move {
        let result = match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(res) => match res.dyn_into::<web_sys::Response>() {
                Ok(r) if r.ok() => Ok(()),
                Ok(r) => {
                    let text = match r.text() {
                        Ok(p) => wasm_bindgen_futures::JsFuture::from(p)
                            .await
                            .ok()
                            .and_then(|t| t.as_string())
                            .unwrap_or_default(),
                        Err(_) => String::new(),
                    };
                    let message = crate::resource::from_json::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                        .unwrap_or_else(|| "The upload failed.".into());
                    Err(message)
                }
                Err(_) => Err("The upload failed.".into()),
            },
            Err(_) => Err("The server could not be reached.".into()),
        };
        done(result);
    });
}

#[component]
fn Imports(channel: Channel) -> impl IntoView {
    let id = channel.id;
    let has_imap = channel.imap.is_some();
    let epoch = RwSignal::new(0u32);
    let imports = server_resource(move || epoch.get(), move |_| channel_imports(id));
    // While an import runs, look again every second for the progress bar.
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                let running = imports
                    .get_untracked()
                    .and_then(|r| r.ok())
                    .is_some_and(|list| list.iter().any(|i| i.state == "running"));
                if running {
                    epoch.update(|e| *e += 1);
                }
            },
            std::time::Duration::from_millis(1000),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }
    let message = RwSignal::new(None::<String>);
    let days = RwSignal::new("90".to_string());
    let imap_import = ServerAction::<ImportImapHistory>::new();
    Effect::new(move |_| {
        if let Some(r) = imap_import.value().get() {
            message.set(r.err().map(|e| crate::error::server_error_message(&e)));
            epoch.update(|e| *e += 1);
        }
    });
    let input_id = format!("mbox-{id}");
    let input_id2 = input_id.clone();
    let upload = move |_| {
        #[cfg(feature = "hydrate")]
        upload_mbox(id, &input_id2, move |r| {
            message.set(r.err());
            epoch.update(|e| *e += 1);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = &input_id2;
    };
    view! {
        <div class="imports" data-testid=format!("imports-{id}")>
            <h4>"Import history"</h4>
            <div class="import-actions">
                <input type="file" id=input_id accept=".mbox,application/mbox" data-testid="mbox-file"/>
                <button class="btn" data-testid="mbox-upload" on:click=upload>"Import mbox file"</button>
                {has_imap.then(|| view! {
                    <span class="imap-import">
                        <input class="days" type="number" min="1" max="3650" prop:value=move || days.get() on:input=move |ev| days.set(event_target_value(&ev))/>
                        " days "
                        <button class="btn" data-testid="imap-import" on:click=move |_| {
                            let d = days.get_untracked().trim().parse().unwrap_or(0);
                            imap_import.dispatch(ImportImapHistory { id, days: d });
                        }>"Import from IMAP"</button>
                    </span>
                })}
            </div>
            {move || message.get().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let list = imports.await.unwrap_or_default();
                    view! {
                        <ul class="import-list">
                            {list.into_iter().map(|i| {
                                let pct = if i.total > 0 { (i.processed * 100 / i.total).min(100) } else { 0 };
                                view! {
                                    <li data-testid="import" data-state=i.state.clone()>
                                        <progress max="100" value=pct.to_string()></progress>
                                        <span>{format!(
                                            "{} import: {} — {} of {} messages; {} imported, {} already present, {} quarantined{}",
                                            i.source, i.state, i.processed, i.total, i.imported, i.skipped, i.failed,
                                            i.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default(),
                                        )}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }
                })}
            </Transition>
        </div>
    }
}

/// `/settings/channels`.
#[component]
pub fn ChannelsPage() -> impl IntoView {
    let epoch = RwSignal::new(0u32);
    let channels = server_resource(move || epoch.get(), |_| list_channels());
    let quarantine = server_resource(move || epoch.get(), |_| list_quarantine());
    let fields = FormFields::default();
    fields.fill(None);
    let editing = RwSignal::new(None::<Option<i64>>);
    let save = ServerAction::<SaveChannel>::new();
    let disconnect = ServerAction::<DisconnectChannel>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            editing.set(None);
            epoch.update(|e| *e += 1);
        }
    });
    Effect::new(move |_| {
        if disconnect.value().get().is_some() {
            epoch.update(|e| *e += 1);
        }
    });
    let save_error = move || failure_message(save.value().get());
    let f = fields.clone();
    let open_new = move |_| {
        f.fill(None);
        save.value().set(None);
        editing.set(Some(None));
    };
    let f = fields.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveChannel {
            id: editing.get_untracked().flatten(),
            channel: f.to_new_channel(),
        });
    };
    let form_fields = fields.clone();
    view! {
        <div class="settings-page">
            <crate::settings::SettingsNav current="/settings/channels"/>
            <h1>"Channels"</h1>
            <section>
                <div class="section-head">
                    <h2>"Email"</h2>
                    <button class="btn primary" data-testid="connect-email" on:click=open_new>"Connect email"</button>
                </div>
                <Transition fallback=|| view! { <p>"Loading…"</p> }>
                    {move || {
                        let fields = fields.clone();
                        Suspend::new(async move {
                            match channels.await {
                                Err(e) => view! { <p class="form-error">{crate::error::server_error_message(&e)}</p> }.into_any(),
                                Ok(list) if list.is_empty() => view! { <p class="empty">"No channel is connected yet."</p> }.into_any(),
                                Ok(list) => view! {
                                    <ul class="channel-list">
                                        {list.into_iter().map(|c| {
                                            let edit_fields = fields.clone();
                                            let edit_channel = c.clone();
                                            let id = c.id;
                                            view! {
                                                <li class="channel" data-testid="channel">
                                                    <div class="channel-title">
                                                        <strong>{c.name.clone()}</strong>" "
                                                        <span class="muted">{c.address.clone()}</span>
                                                    </div>
                                                    <div class="muted">
                                                        {format!("Sends through {}:{} ({})", c.outbound.host, c.outbound.port, c.outbound.security.label())}
                                                        {c.imap.as_ref().map(|i| format!(" · Polls IMAP {}:{} {}", i.host, i.port, i.folder.clone().unwrap_or_default()))}
                                                        {c.imap_status.clone().map(|s| format!(" · IMAP: {s}"))}
                                                    </div>
                                                    <div class="channel-actions">
                                                        <button class="btn" on:click=move |_| {
                                                            edit_fields.fill(Some(&edit_channel));
                                                            editing.set(Some(Some(id)));
                                                        }>"Edit"</button>
                                                        <button class="btn danger" on:click=move |_| {
                                                            disconnect.dispatch(DisconnectChannel { id });
                                                        }>"Disconnect"</button>
                                                    </div>
                                                    <Imports channel=c.clone()/>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }.into_any(),
                            }
                        })
                    }}
                </Transition>
            </section>
            {move || editing.get().map(|id| {
                let f = form_fields.clone();
                let submit = submit.clone();
                view! {
                    <form class="channel-form" data-testid="channel-form" on:submit=submit>
                        <h3>{if id.is_some() { "Edit email channel" } else { "Connect an email channel" }}</h3>
                        <TextField label="Name" value=f.name testid="ch-name"/>
                        {id.is_none().then(|| view! { <TextField label="Support address" value=f.address testid="ch-address"/> })}
                        <TextField label="Sender name" value=f.from_name testid="ch-from-name"/>
                        <label class="field"><span>"Signature"</span>
                            <textarea prop:value=move || f.signature.get() on:input=move |ev| f.signature.set(event_target_value(&ev))></textarea>
                        </label>
                        <fieldset>
                            <legend>"Outgoing mail (SMTP)"</legend>
                            <TextField label="Host" value=f.smtp_host testid="ch-smtp-host"/>
                            <TextField label="Port" value=f.smtp_port testid="ch-smtp-port"/>
                            <SecurityField label="Security" value=f.smtp_security testid="ch-smtp-security"/>
                            <TextField label="User name" value=f.smtp_user testid="ch-smtp-user"/>
                            <TextField label="Password (blank keeps the stored one)" value=f.smtp_password testid="ch-smtp-password" kind="password"/>
                        </fieldset>
                        <label class="check">
                            <input type="checkbox" prop:checked=move || f.use_imap.get() on:change=move |ev| f.use_imap.set(event_target_checked(&ev))/>
                            " Also fetch mail from an IMAP mailbox"
                        </label>
                        {move || f.use_imap.get().then(|| view! {
                            <fieldset>
                                <legend>"Incoming mail (IMAP)"</legend>
                                <TextField label="Host" value=f.imap_host testid="ch-imap-host"/>
                                <TextField label="Port" value=f.imap_port testid="ch-imap-port"/>
                                <SecurityField label="Security" value=f.imap_security testid="ch-imap-security"/>
                                <TextField label="User name" value=f.imap_user testid="ch-imap-user"/>
                                <TextField label="Password" value=f.imap_password testid="ch-imap-password" kind="password"/>
                                <TextField label="Folder" value=f.imap_folder testid="ch-imap-folder"/>
                                <label class="check">
                                    <input type="checkbox" prop:checked=move || f.import_history.get() on:change=move |ev| f.import_history.set(event_target_checked(&ev))/>
                                    " Import the last 90 days as closed tickets"
                                </label>
                            </fieldset>
                        })}
                        {move || save_error().map(|m| view! { <p class="form-error" role="alert" data-testid="channel-error">{m}</p> })}
                        <div class="form-actions">
                            <button class="btn primary" type="submit" data-testid="channel-save">"Save"</button>
                            <button class="btn" type="button" on:click=move |_| editing.set(None)>"Cancel"</button>
                        </div>
                    </form>
                }
            })}
            <section>
                <h2>"Quarantine"</h2>
                <p class="muted">"Mail that did not become a ticket, with the reason. Nothing is thrown away."</p>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let list = quarantine.await.unwrap_or_default();
                        if list.is_empty() {
                            return view! { <p class="empty">"Nothing in quarantine."</p> }.into_any();
                        }
                        view! {
                            <table class="quarantine" data-testid="quarantine">
                                <thead><tr><th>"Received"</th><th>"From"</th><th>"Subject"</th><th>"Why"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|q| view! {
                                        <tr data-category=q.category.clone()>
                                            <td>{crate::time_fmt::format_ms(q.received_at)}</td>
                                            <td>{q.sender.clone().unwrap_or_default()}</td>
                                            <td>{q.subject.clone().unwrap_or_default()}</td>
                                            <td>{q.reason.clone()}</td>
                                            <td><a href=format!("/api/v1/email-quarantine/{}/raw", q.id)>"Download .eml"</a></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    })}
                </Transition>
            </section>
        </div>
    }
}
