//! Keyboard shortcuts: j/k next/previous ticket, r reply, n note,
//! c create, ? help, Escape closes panels.

use super::{Route, Ws};

use leptos::prelude::*;

pub const SHORTCUTS: [(&str, &str); 9] = [
    ("Ctrl/⌘ K", "Jump to a ticket, view, contact or action"),
    ("/", "Search"),
    ("j", "Next ticket"),
    ("k", "Previous ticket"),
    ("r", "Reply to the customer"),
    ("n", "Add an internal note"),
    ("c", "Create a ticket"),
    ("?", "Show this help"),
    ("Esc", "Close panel or help"),
];

/// Listens for shortcuts on the window for the lifetime of the workspace.
pub fn install(ws: Ws, route: Route) {
    #[cfg(feature = "hydrate")]
    {
        use crate::messages::NewEntryKind;
        use leptos_router::hooks::use_navigate;
        use wasm_bindgen::JsCast;
        let navigate = use_navigate();
        let handle =
            window_event_listener(leptos::ev::keydown, move |ev: web_sys::KeyboardEvent| {
                let key = ev.key();
                if (ev.ctrl_key() || ev.meta_key()) && key.eq_ignore_ascii_case("k") {
                    ev.prevent_default();
                    ws.show_palette.update(|v| *v = !*v);
                    return;
                }
                if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                    return;
                }
                if key == "Escape" {
                    ws.show_help.set(false);
                    ws.show_create.set(false);
                    ws.show_palette.set(false);
                    return;
                }
                // Typing in a field is not a shortcut.
                let typing = ev
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .map(|el| {
                        let tag = el.tag_name().to_ascii_uppercase();
                        tag == "INPUT"
                            || tag == "TEXTAREA"
                            || tag == "SELECT"
                            || el.has_attribute("contenteditable")
                    })
                    .unwrap_or(false);
                if typing {
                    return;
                }
                let step = |delta: i64| {
                    let numbers = ws.visible.get_untracked();
                    if numbers.is_empty() {
                        return None;
                    }
                    let current = route.number.get_untracked();
                    let idx = current.and_then(|n| numbers.iter().position(|x| *x == n));
                    let next = match idx {
                        None => 0,
                        Some(i) => (i as i64 + delta).clamp(0, numbers.len() as i64 - 1) as usize,
                    };
                    Some(numbers[next])
                };
                let focus_composer = |mode: NewEntryKind| {
                    ws.composer_mode.set(mode);
                    if let Some(el) = ws.composer.get_untracked() {
                        let _ = el.focus();
                    }
                };
                match key.as_str() {
                    "j" | "k" => {
                        if let Some(n) = step(if key == "j" { 1 } else { -1 }) {
                            ev.prevent_default();
                            navigate(&route.ticket_href(n), Default::default());
                        }
                    }
                    "r" if ws.me().can_work_tickets() => {
                        ev.prevent_default();
                        focus_composer(NewEntryKind::Reply);
                    }
                    "n" => {
                        ev.prevent_default();
                        focus_composer(NewEntryKind::Note);
                    }
                    "c" if ws.me().can_work_tickets() => {
                        ev.prevent_default();
                        ws.show_create.set(true);
                    }
                    "?" => {
                        ev.prevent_default();
                        ws.show_help.update(|v| *v = !*v);
                    }
                    "/" => {
                        ev.prevent_default();
                        if let Some(el) = document()
                            .query_selector("[data-testid=search-input]")
                            .ok()
                            .flatten()
                            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
                        {
                            let _ = el.focus();
                        }
                    }
                    _ => {}
                }
            });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ws, route);
}

#[component]
pub fn HelpOverlay() -> impl IntoView {
    let ws = expect_context::<Ws>();
    view! {
        <div class="overlay" role="dialog" aria-label="Keyboard shortcuts" data-testid="help-overlay" on:click=move |_| ws.show_help.set(false)>
            <div class="overlay-card" on:click=|ev| ev.stop_propagation()>
                <h2>"Keyboard shortcuts"</h2>
                <table class="shortcuts">
                    {SHORTCUTS
                        .into_iter()
                        .map(|(k, what)| view! { <tr><td><kbd>{k}</kbd></td><td>{what}</td></tr> })
                        .collect_view()}
                </table>
                <button class="btn" on:click=move |_| ws.show_help.set(false)>"Close"</button>
            </div>
        </div>
    }
}
