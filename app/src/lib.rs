//! Ayuda's application crate: everything that both the server (SSR) and the
//! browser (WASM, hydrate) need, organised as one module per domain concern.
//!
//! Each domain module holds its shared types, its server functions and its
//! components; the SQL and the rules live in a `service` submodule compiled
//! only with the `ssr` feature, so none of it reaches the browser. Server
//! functions here and the REST handlers in the `server` crate are thin
//! wrappers over those services.

#![recursion_limit = "256"]

pub mod access;
pub mod auth;
pub mod business_hours;
pub mod channels;
pub mod contacts;
pub mod error;
pub mod events;
pub mod messages;
pub mod on_demand;
pub mod resource;
pub mod routing;
pub mod search;
pub mod settings;
pub mod sidebar;
pub mod sla;
pub mod tickets;
pub mod time_fmt;
pub mod users;
pub mod views;
pub mod workspace;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{ParentRoute, Redirect, Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The root component: routes of the workspace and the sign-in page.
///
/// Every route renders with `SsrMode::Async`: the server waits for the data
/// and sends complete HTML, so a ticket can be read with JavaScript off.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Owned by the root so that it outlives every route change.
    workspace::Live::provide();
    view! {
        <Stylesheet id="leptos" href="/pkg/ayuda.css"/>
        <Title text="Ayuda"/>
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                <Route path=path!("/login") view=on_demand::Login ssr=SsrMode::Async/>
                <Route path=path!("/") view=|| view! { <Redirect path="/views/unassigned"/> }/>
                // One workspace for a view and for a ticket open beside it:
                // opening a ticket changes the child route only, so the
                // workspace (its list, counts and scroll) stays as it is and
                // reads the ticket number from the address (`Route`). The
                // children show nothing themselves.
                <ParentRoute path=path!("/views/:view") view=workspace::Workspace ssr=SsrMode::Async>
                    <Route path=path!("") view=|| () ssr=SsrMode::Async/>
                    <Route path=path!("tickets/:number") view=|| () ssr=SsrMode::Async/>
                </ParentRoute>
                // Settings pages come in their own WASM chunks (see on_demand).
                <Route path=path!("/settings/channels") view=on_demand::ChannelsSettings ssr=SsrMode::Async/>
                <Route path=path!("/settings/help-desk") view=on_demand::HelpDeskSettings ssr=SsrMode::Async/>
                <Route path=path!("/settings/sidebar") view=on_demand::SidebarSettings ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
