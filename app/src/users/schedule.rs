//! Working hours: users become Away when their hours end and Available
//! when they begin.
//!
//! The task compares each scheduled user's hours with the time now and
//! remembers where the schedule stood (`users.schedule_state`). It changes
//! availability only when that flips, so a choice the user (or an admin)
//! makes in between, such as staying available for an evening, holds until
//! the next start or end of their hours: that is the override. Every
//! process runs the task; the conditional update lets exactly one of them
//! make each change.

use super::Availability;
use crate::business_hours::clock::BusinessClock;
use crate::business_hours::WeeklyHours;
use crate::db::{now_ms, Db};
use crate::error::AppError;
use crate::events::log::PendingEvent;
use crate::events::USER_AVAILABILITY;
use crate::state::AppState;
use serde_json::json;
use sqlx::Row;

pub async fn run(state: AppState) {
    let mut closing = state.hub.closing();
    loop {
        if let Err(e) = check(&state.db, now_ms()).await {
            tracing::warn!(error = %e, "working hours check failed; retrying");
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(state.config.working_hours_check_ms)) => {}
            _ = closing.changed() => return,
        }
    }
}

/// Applies every schedule as of `now`; returns how many availabilities it
/// changed.
pub async fn check(db: &Db, now: i64) -> Result<usize, AppError> {
    let rows = sqlx::query(
        "SELECT id, timezone, working_hours, schedule_state FROM users \
         WHERE active = 1 AND working_hours IS NOT NULL",
    )
    .fetch_all(db.pool())
    .await?;
    let mut changed = 0;
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let timezone: String = row.try_get("timezone")?;
        let hours: String = row.try_get("working_hours")?;
        let previous: Option<String> = row.try_get("schedule_state")?;
        let Ok(hours) = serde_json::from_str::<WeeklyHours>(&hours) else {
            continue;
        };
        let inside = BusinessClock::weekly(&timezone, &hours).is_open(now);
        let state = if inside { "in" } else { "out" };
        if previous.as_deref() == Some(state) {
            continue;
        }
        let availability = if inside {
            Availability::Available
        } else {
            Availability::Away
        };
        let mut tx = db.begin_write().await?;
        let done = sqlx::query(
            "UPDATE users SET schedule_state = $1, availability = $2 WHERE id = $3 \
             AND (schedule_state IS NULL OR schedule_state <> $1)",
        )
        .bind(state)
        .bind(availability.as_str())
        .bind(id)
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 1 {
            tx.event(PendingEvent::global(
                USER_AVAILABILITY,
                None,
                json!({ "user_id": id, "availability": availability, "automatic": true }),
            ));
            tx.commit().await?;
            changed += 1;
        }
    }
    Ok(changed)
}
