//! The routing worker: routes new tickets as they are created, and waiting
//! ones as soon as someone may have become eligible.
//!
//! It listens to the event hub, which carries every committed change from
//! every server process, so a ticket created by one instance can be routed
//! by any. A change that can make someone eligible (availability, a user's
//! settings, a ticket assigned or closed, a routing setting) sends it over
//! the waiting tickets too. A slow sweep catches anything a lagging
//! subscription dropped.

use super::service::route_pending;
use crate::events::hub::HubMessage;
use crate::events::{
    SETTINGS_CHANGED, TICKET_ASSIGNED, TICKET_CREATED, TICKET_UPDATED, USER_AVAILABILITY,
    USER_UPDATED,
};
use crate::state::AppState;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Sweep of every waiting ticket when nothing else woke the worker.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

pub async fn run(state: AppState) {
    let mut events = state.hub.subscribe();
    let mut closing = state.hub.closing();
    // Tickets left waiting while no process ran.
    let mut work = Some(false);
    loop {
        if let Some(only_new) = work.take() {
            if let Err(e) = route_pending(&state.db, only_new).await {
                tracing::warn!(error = %e, "routing pass failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                work = Some(only_new);
                continue;
            }
        }
        tokio::select! {
            message = events.recv() => match message {
                Ok(HubMessage::Event(e)) => {
                    let kind = e.event.kind.as_str();
                    if kind == TICKET_CREATED {
                        work = Some(true);
                    } else if [USER_AVAILABILITY, USER_UPDATED, TICKET_ASSIGNED, TICKET_UPDATED, SETTINGS_CHANGED]
                        .contains(&kind)
                    {
                        work = Some(false);
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => work = Some(false),
                Err(RecvError::Closed) => return,
            },
            _ = tokio::time::sleep(SWEEP_EVERY) => work = Some(false),
            _ = closing.changed() => return,
        }
    }
}
