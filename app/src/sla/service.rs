//! SLA policies and clocks: validation, SQL, the clock rules and the timer.
//!
//! The rules live in one pure function, [`plan`]: given a ticket's
//! properties and times, its stored clocks, the policies and the time now,
//! it returns the clocks as they should be. Every path goes through it:
//! [`refresh`] for one ticket inside the transaction that changed it,
//! [`recalculate_open`] for every open ticket after a policy or calendar
//! change, and [`run_timer`] when a clock's moment (due soon, overdue) comes.

use super::{SlaGoal, SlaPolicy, SlaPolicyInput, SlaState, TicketSla};
use crate::business_hours::clock::BusinessClock;
use crate::db::{now_ms, to_json, Db, DbKind, WriteTx};
use crate::error::AppError;
use crate::events::{self, log::PendingEvent};
use crate::settings::{require_admin, settings_changed};
use crate::state::AppState;
use crate::tickets::facts::{self, all_hold, validate_conditions, TicketFacts, FACT_COLUMNS};
use crate::users::service::{check_position, required_text};
use crate::users::User;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

const MINUTE_MS: i64 = 60_000;
/// Longest target accepted: a year of business minutes.
const MAX_TARGET_MINUTES: i64 = 366 * 24 * 60;

// ---------------------------------------------------------------------------
// Policies

const POLICY_COLUMNS: &str =
    "id, name, position, conditions, first_reply_minutes, next_reply_minutes, \
    close_minutes, calendar_id, due_soon_minutes, pause_statuses";

fn policy_from_row(row: &AnyRow) -> Result<SlaPolicy, AppError> {
    let conditions: String = row.try_get("conditions")?;
    let pause: String = row.try_get("pause_statuses")?;
    Ok(SlaPolicy {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        position: row.try_get("position")?,
        conditions: serde_json::from_str(&conditions).map_err(|_| AppError::Internal)?,
        first_reply_minutes: row.try_get("first_reply_minutes")?,
        next_reply_minutes: row.try_get("next_reply_minutes")?,
        close_minutes: row.try_get("close_minutes")?,
        calendar_id: row.try_get("calendar_id")?,
        due_soon_minutes: row.try_get("due_soon_minutes")?,
        pause_statuses: serde_json::from_str(&pause).map_err(|_| AppError::Internal)?,
    })
}

/// Every policy, in the order they are tried.
pub async fn list_policies(conn: &mut AnyConnection) -> Result<Vec<SlaPolicy>, AppError> {
    sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM sla_policies ORDER BY position, id"
    ))
    .fetch_all(conn)
    .await?
    .iter()
    .map(policy_from_row)
    .collect()
}

pub async fn list(db: &Db) -> Result<Vec<SlaPolicy>, AppError> {
    list_policies(&mut *db.pool().acquire().await?).await
}

async fn get_policy(conn: &mut AnyConnection, id: i64) -> Result<SlaPolicy, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM sla_policies WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| AppError::not_found("SLA policy"))?;
    policy_from_row(&row)
}

fn check_minutes(field: &str, value: Option<i64>) -> Result<Option<i64>, AppError> {
    match value {
        Some(m) if !(1..=MAX_TARGET_MINUTES).contains(&m) => Err(AppError::invalid(
            field,
            format!("Give a number of minutes between 1 and {MAX_TARGET_MINUTES}."),
        )),
        other => Ok(other),
    }
}

/// Checks an input against the stored calendars and statuses.
async fn validate(conn: &mut AnyConnection, input: &SlaPolicyInput) -> Result<String, AppError> {
    let name = required_text("name", "Name", &input.name, 80)?;
    check_position(input.position)?;
    validate_conditions(&input.conditions)?;
    check_minutes("first_reply_minutes", input.first_reply_minutes)?;
    check_minutes("next_reply_minutes", input.next_reply_minutes)?;
    check_minutes("close_minutes", input.close_minutes)?;
    if input.first_reply_minutes.is_none()
        && input.next_reply_minutes.is_none()
        && input.close_minutes.is_none()
    {
        return Err(AppError::invalid(
            "first_reply_minutes",
            "Set at least one target: first reply, next reply or close.",
        ));
    }
    if let Some(soon) = input.due_soon_minutes {
        if !(0..=MAX_TARGET_MINUTES).contains(&soon) {
            return Err(AppError::invalid(
                "due_soon_minutes",
                "Give a number of minutes, 0 or more.",
            ));
        }
    }
    if let Some(id) = input.calendar_id {
        crate::business_hours::service::get(&mut *conn, id)
            .await
            .map_err(|_| AppError::invalid("calendar_id", "That calendar does not exist."))?;
    }
    for status in &input.pause_statuses {
        let found = sqlx::query("SELECT category FROM pipeline_statuses WHERE id = $1")
            .bind(*status)
            .fetch_optional(&mut *conn)
            .await?;
        match found {
            None => {
                return Err(AppError::invalid(
                    "pause_statuses",
                    format!("Status {status} does not exist."),
                ))
            }
            Some(row) if row.try_get::<String, _>("category")? == "closed" => {
                return Err(AppError::invalid(
                    "pause_statuses",
                    "Closed statuses end the clocks; they cannot pause them.",
                ))
            }
            Some(_) => {}
        }
    }
    Ok(name)
}

/// Creates a policy and recalculates every open ticket.
pub async fn create(
    state: &AppState,
    actor: &User,
    input: SlaPolicyInput,
) -> Result<SlaPolicy, AppError> {
    require_admin(actor)?;
    let db = &state.db;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let name = validate(tx.conn(), &input).await?;
    let position = match input.position {
        Some(p) => p,
        None => sqlx::query("SELECT COALESCE(MAX(position), 0) + 1 AS next FROM sla_policies")
            .fetch_one(tx.conn())
            .await?
            .try_get("next")?,
    };
    let id: i64 = sqlx::query(
        "INSERT INTO sla_policies (name, position, conditions, first_reply_minutes, next_reply_minutes, \
         close_minutes, calendar_id, due_soon_minutes, pause_statuses, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(&name)
    .bind(position)
    .bind(to_json(&input.conditions))
    .bind(input.first_reply_minutes)
    .bind(input.next_reply_minutes)
    .bind(input.close_minutes)
    .bind(input.calendar_id)
    .bind(input.due_soon_minutes.unwrap_or(60))
    .bind(to_json(&input.pause_statuses))
    .bind(now)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.event(settings_changed(actor, "sla"));
    request_recalculation(&mut tx).await?;
    tx.commit().await?;
    recalculate_after_change(db).await;
    get_policy(&mut *db.pool().acquire().await?, id).await
}

/// Replaces a policy and recalculates every open ticket.
pub async fn update(
    state: &AppState,
    actor: &User,
    id: i64,
    input: SlaPolicyInput,
) -> Result<SlaPolicy, AppError> {
    require_admin(actor)?;
    let db = &state.db;
    let mut tx = db.begin_write().await?;
    let current = get_policy(tx.conn(), id).await?;
    let name = validate(tx.conn(), &input).await?;
    sqlx::query(
        "UPDATE sla_policies SET name = $1, position = $2, conditions = $3, first_reply_minutes = $4, \
         next_reply_minutes = $5, close_minutes = $6, calendar_id = $7, due_soon_minutes = $8, \
         pause_statuses = $9, updated_at = $10 WHERE id = $11",
    )
    .bind(&name)
    .bind(input.position.unwrap_or(current.position))
    .bind(to_json(&input.conditions))
    .bind(input.first_reply_minutes)
    .bind(input.next_reply_minutes)
    .bind(input.close_minutes)
    .bind(input.calendar_id)
    .bind(input.due_soon_minutes.unwrap_or(current.due_soon_minutes))
    .bind(to_json(&input.pause_statuses))
    .bind(now_ms())
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.event(settings_changed(actor, "sla"));
    request_recalculation(&mut tx).await?;
    tx.commit().await?;
    recalculate_after_change(db).await;
    get_policy(&mut *db.pool().acquire().await?, id).await
}

/// Deletes a policy; open tickets it applied to fall to the next matching
/// policy (or none). Finished clocks keep their result.
pub async fn delete(state: &AppState, actor: &User, id: i64) -> Result<(), AppError> {
    require_admin(actor)?;
    let db = &state.db;
    let mut tx = db.begin_write().await?;
    let done = sqlx::query("DELETE FROM sla_policies WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::not_found("SLA policy"));
    }
    tx.event(settings_changed(actor, "sla"));
    request_recalculation(&mut tx).await?;
    tx.commit().await?;
    recalculate_after_change(db).await;
    Ok(())
}

/// A policy with its calendar compiled.
pub struct LoadedPolicy {
    pub policy: SlaPolicy,
    pub clock: BusinessClock,
}

/// The policies and their calendars' clocks, in order.
pub async fn load_policies(conn: &mut AnyConnection) -> Result<Vec<LoadedPolicy>, AppError> {
    let policies = list_policies(&mut *conn).await?;
    let mut clocks: HashMap<Option<i64>, BusinessClock> = HashMap::new();
    let mut loaded = Vec::with_capacity(policies.len());
    for policy in policies {
        let clock = match clocks.get(&policy.calendar_id) {
            Some(c) => c.clone(),
            None => {
                let c =
                    crate::business_hours::service::clock(&mut *conn, policy.calendar_id).await?;
                clocks.insert(policy.calendar_id, c.clone());
                c
            }
        };
        loaded.push(LoadedPolicy { policy, clock });
    }
    Ok(loaded)
}

// ---------------------------------------------------------------------------
// Clocks

/// The ticket times that start and stop clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockTimes {
    pub created_at: i64,
    pub first_reply_at: Option<i64>,
    /// The customer's oldest unanswered message since the last reply.
    pub awaiting_reply_since: Option<i64>,
    pub closed_at: Option<i64>,
}

/// One stored clock (a `ticket_sla` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub goal: SlaGoal,
    pub policy_id: Option<i64>,
    pub started_at: i64,
    pub due_at: Option<i64>,
    pub paused_since: Option<i64>,
    /// Business time spent paused in earlier pauses.
    pub paused_ms: i64,
    pub stopped_at: Option<i64>,
    pub state: SlaState,
    pub next_change_at: Option<i64>,
}

impl Clock {
    pub fn public(&self) -> TicketSla {
        TicketSla {
            goal: self.goal,
            state: self.state,
            due_at: self.due_at,
            paused: self.paused_since.is_some() && self.stopped_at.is_none(),
            reached_at: self.stopped_at,
        }
    }
}

/// The clocks a ticket should have now. Pure: the rules of SLAs.
///
/// * The first matching policy's targets apply; a goal without a target
///   (or a ticket without a policy) has no running clock. Finished clocks
///   (met or missed) are history and stay as they are.
/// * First reply and close run from creation to the first reply and to
///   closing; next reply runs from the customer's first unanswered message
///   after the first reply until the reply to it. Closing a ticket ends its
///   reply clocks too.
/// * While the ticket's status is a pause status, the clock stops: the
///   business time spent paused is added to the due time when it resumes.
/// * The due time is the start plus the target plus the pauses, counted in
///   the policy calendar's business time. Due soon starts `due_soon_minutes`
///   (wall clock) before it.
pub fn plan(
    ticket: &TicketFacts,
    times: &ClockTimes,
    existing: &[Clock],
    policies: &[LoadedPolicy],
    now: i64,
) -> Vec<Clock> {
    let policy = policies
        .iter()
        .find(|p| all_hold(&p.policy.conditions, ticket));
    let closed = ticket.status_category == "closed";
    let mut planned = Vec::new();
    for goal in SlaGoal::ALL {
        let old = existing.iter().find(|c| c.goal == goal);
        let finished = old.filter(|c| c.stopped_at.is_some());
        let target = policy.and_then(|p| match goal {
            SlaGoal::FirstReply => p.policy.first_reply_minutes,
            SlaGoal::NextReply => p.policy.next_reply_minutes,
            SlaGoal::Close => p.policy.close_minutes,
        });
        // When this goal's clock starts, and when it stopped (if it did).
        let span: Option<(i64, Option<i64>)> = match goal {
            SlaGoal::FirstReply => Some((
                times.created_at,
                times.first_reply_at.or(times.closed_at.filter(|_| closed)),
            )),
            SlaGoal::Close => Some((times.created_at, times.closed_at.filter(|_| closed))),
            SlaGoal::NextReply => match (times.first_reply_at, times.awaiting_reply_since) {
                (Some(first), Some(since)) if since >= first => {
                    Some((since, times.closed_at.filter(|_| closed)))
                }
                // Answered: a running clock stops now (this is the reply).
                _ => old
                    .filter(|c| c.stopped_at.is_none())
                    .map(|c| (c.started_at, Some(now))),
            },
        };
        let (Some((started_at, stopped_at)), Some(target), Some(policy)) = (span, target, policy)
        else {
            // No running clock for this goal; a finished one stays.
            if let Some(f) = finished {
                planned.push(f.clone());
            }
            continue;
        };
        // A finished clock for this same start is not reopened.
        if let Some(f) = finished.filter(|f| f.started_at == started_at) {
            planned.push(f.clone());
            continue;
        }
        let same = old.filter(|c| c.started_at == started_at);
        let (mut paused_since, mut paused_ms) = same
            .map(|c| (c.paused_since, c.paused_ms))
            .unwrap_or((None, 0));
        let clock = &policy.clock;
        let pausing = policy.policy.pause_statuses.contains(&ticket.status_id);
        match (stopped_at, paused_since) {
            (Some(stop), Some(since)) => {
                paused_ms += clock.between(since, stop);
                paused_since = None;
            }
            (None, Some(since)) if !pausing => {
                paused_ms += clock.between(since, now);
                paused_since = None;
            }
            (None, None) if pausing => paused_since = Some(now.max(started_at)),
            _ => {}
        }
        let paused_now = paused_since.map_or(0, |since| clock.between(since, now));
        let due = clock.add(started_at, target * MINUTE_MS + paused_ms + paused_now);
        let soon = due - policy.policy.due_soon_minutes * MINUTE_MS;
        let state = match stopped_at {
            Some(stop) if stop <= due => SlaState::Met,
            Some(_) => SlaState::Missed,
            None if now >= due => SlaState::Overdue,
            None if now >= soon => SlaState::DueSoon,
            None => SlaState::OnTrack,
        };
        let next_change_at = match (state, paused_since) {
            (_, Some(_)) => None,
            (SlaState::OnTrack, None) => Some(soon),
            (SlaState::DueSoon, None) => Some(due),
            _ => None,
        };
        planned.push(Clock {
            goal,
            policy_id: Some(policy.policy.id),
            started_at,
            due_at: if paused_since.is_some() {
                None
            } else {
                Some(due)
            },
            paused_since,
            paused_ms,
            stopped_at,
            state,
            next_change_at,
        });
    }
    planned
}

/// The ticket's summary for views: the most urgent running state and the
/// earliest due time of the running clocks. A ticket with a running state
/// always has a due time ([`super::NO_DUE_TIME`] while all are paused), so
/// the SLA views page along their index.
pub fn summary(clocks: &[Clock]) -> (Option<SlaState>, Option<i64>) {
    let running = clocks.iter().filter(|c| c.state.is_running());
    let state = running.clone().map(|c| c.state).max();
    let due = running.filter_map(|c| c.due_at).min();
    (state, state.map(|_| due.unwrap_or(super::NO_DUE_TIME)))
}

fn clock_from_row(row: &AnyRow) -> Result<Clock, AppError> {
    let goal: String = row.try_get("goal")?;
    let state: String = row.try_get("state")?;
    Ok(Clock {
        goal: SlaGoal::parse(&goal).ok_or(AppError::Internal)?,
        policy_id: row.try_get("policy_id")?,
        started_at: row.try_get("started_at")?,
        due_at: row.try_get("due_at")?,
        paused_since: row.try_get("paused_since")?,
        paused_ms: row.try_get("paused_ms")?,
        stopped_at: row.try_get("stopped_at")?,
        state: SlaState::parse(&state).ok_or(AppError::Internal)?,
        next_change_at: row.try_get("next_change_at")?,
    })
}

const CLOCK_COLUMNS: &str =
    "ticket_id, goal, policy_id, started_at, due_at, paused_since, paused_ms, stopped_at, state, next_change_at";

fn sorted(mut clocks: Vec<Clock>) -> Vec<Clock> {
    clocks.sort_by_key(|c| c.goal as u8);
    clocks
}

/// The SLA goals of one ticket, as it reads back.
pub async fn for_ticket(
    conn: &mut AnyConnection,
    ticket_id: i64,
) -> Result<Vec<TicketSla>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {CLOCK_COLUMNS} FROM ticket_sla WHERE ticket_id = $1"
    ))
    .bind(ticket_id)
    .fetch_all(conn)
    .await?;
    let clocks = rows
        .iter()
        .map(clock_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sorted(clocks).iter().map(Clock::public).collect())
}

/// The SLA goals of several tickets (a page of the list).
pub async fn for_tickets(
    db: &Db,
    ticket_ids: &[i64],
) -> Result<HashMap<i64, Vec<TicketSla>>, AppError> {
    let mut out: HashMap<i64, Vec<Clock>> = HashMap::new();
    if ticket_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut sql = crate::db::SqlBuilder::new(&format!(
        "SELECT {CLOCK_COLUMNS} FROM ticket_sla WHERE ticket_id IN ("
    ));
    sql.bind_ints(ticket_ids);
    sql.push(")");
    for row in sql.query().fetch_all(db.pool()).await? {
        let id: i64 = row.try_get("ticket_id")?;
        out.entry(id).or_default().push(clock_from_row(&row)?);
    }
    Ok(out
        .into_iter()
        .map(|(id, clocks)| (id, sorted(clocks).iter().map(Clock::public).collect()))
        .collect())
}

async fn stored_clocks(conn: &mut AnyConnection, ticket_id: i64) -> Result<Vec<Clock>, AppError> {
    sqlx::query(&format!(
        "SELECT {CLOCK_COLUMNS} FROM ticket_sla WHERE ticket_id = $1"
    ))
    .bind(ticket_id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(clock_from_row)
    .collect()
}

fn times_from_row(row: &AnyRow) -> Result<ClockTimes, AppError> {
    Ok(ClockTimes {
        created_at: row.try_get("created_at")?,
        first_reply_at: row.try_get("first_reply_at")?,
        awaiting_reply_since: row.try_get("awaiting_reply_since")?,
        closed_at: row.try_get("closed_at")?,
    })
}

const TIME_COLUMNS: &str = "t.created_at, t.first_reply_at, t.awaiting_reply_since, t.closed_at";

/// Writes `planned` over `existing` for one ticket: only the rows that
/// changed, and the ticket's summary when it changed. Returns whether any
/// state or due time a user sees changed.
async fn store(
    conn: &mut AnyConnection,
    ticket_id: i64,
    existing: &[Clock],
    planned: &[Clock],
) -> Result<bool, AppError> {
    for old in existing {
        if !planned.iter().any(|c| c.goal == old.goal) {
            sqlx::query("DELETE FROM ticket_sla WHERE ticket_id = $1 AND goal = $2")
                .bind(ticket_id)
                .bind(old.goal.as_str())
                .execute(&mut *conn)
                .await?;
        }
    }
    // The new and changed clocks in one statement (a new ticket starts
    // two): each statement is a round trip on the one writer.
    let changed: Vec<&Clock> = planned.iter().filter(|c| !existing.contains(c)).collect();
    if !changed.is_empty() {
        let values = (0..changed.len())
            .map(|row| {
                let params: Vec<String> = (1..=10).map(|k| format!("${}", row * 10 + k)).collect();
                format!("({})", params.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO ticket_sla (ticket_id, goal, policy_id, started_at, due_at, paused_since, paused_ms, \
             stopped_at, state, next_change_at) VALUES {values} \
             ON CONFLICT (ticket_id, goal) DO UPDATE SET policy_id = excluded.policy_id, \
             started_at = excluded.started_at, due_at = excluded.due_at, paused_since = excluded.paused_since, \
             paused_ms = excluded.paused_ms, stopped_at = excluded.stopped_at, state = excluded.state, \
             next_change_at = excluded.next_change_at"
        );
        let mut insert = sqlx::query(&sql);
        for clock in changed {
            insert = insert
                .bind(ticket_id)
                .bind(clock.goal.as_str())
                .bind(clock.policy_id)
                .bind(clock.started_at)
                .bind(clock.due_at)
                .bind(clock.paused_since)
                .bind(clock.paused_ms)
                .bind(clock.stopped_at)
                .bind(clock.state.as_str())
                .bind(clock.next_change_at);
        }
        insert.execute(&mut *conn).await?;
    }
    let before = summary(existing);
    let after = summary(planned);
    if before != after {
        sqlx::query("UPDATE tickets SET sla_state = $1, sla_due_at = $2 WHERE id = $3")
            .bind(after.0.map(SlaState::as_str))
            .bind(after.1)
            .bind(ticket_id)
            .execute(&mut *conn)
            .await?;
    }
    let seen = |clocks: &[Clock]| -> Vec<TicketSla> {
        sorted(clocks.to_vec()).iter().map(Clock::public).collect()
    };
    Ok(seen(existing) != seen(planned))
}

/// Brings one ticket's clocks up to date inside the caller's transaction,
/// after anything that can move them (creation, a message, a status or
/// property change). Queues a `ticket.sla` event when what users see of
/// them changed.
pub async fn refresh(tx: &mut WriteTx, ticket_id: i64, now: i64) -> Result<(), AppError> {
    // Without policies and clocks (a help desk without SLA goals) there
    // is nothing to plan and the ticket need not be read (nor locked).
    // One statement answers both: this runs in every new ticket's and
    // every reply's write transaction.
    let anything: i64 = sqlx::query(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM sla_policies) \
         OR EXISTS (SELECT 1 FROM ticket_sla WHERE ticket_id = $1) THEN 1 ELSE 0 END AS anything",
    )
    .bind(ticket_id)
    .fetch_one(tx.conn())
    .await?
    .try_get("anything")?;
    if anything == 0 {
        return Ok(());
    }
    plan_and_store(tx, ticket_id, now, None).await
}

/// Starts the clocks of a ticket inserted in this same transaction, in a
/// help desk with SLA policies (its caller knows:
/// `InsertedTicket::sla_configured`). [`refresh`] without the two reads a
/// new ticket has no use for, whether there are policies and its stored
/// clocks (none yet): every statement saved in a new ticket's transaction
/// is one less that other writers wait behind.
pub async fn start_new(tx: &mut WriteTx, ticket_id: i64, now: i64) -> Result<(), AppError> {
    plan_and_store(tx, ticket_id, now, Some(Vec::new())).await
}

/// Plans the ticket's clocks and writes what changed; `existing` is its
/// stored clocks when the caller knows them, or `None` to read them.
async fn plan_and_store(
    tx: &mut WriteTx,
    ticket_id: i64,
    now: i64,
    existing: Option<Vec<Clock>>,
) -> Result<(), AppError> {
    let lock = match tx.kind() {
        // Two processes refreshing one ticket take turns; the second then
        // finds nothing left to change and writes no second event.
        DbKind::Postgres => " FOR UPDATE OF t",
        DbKind::Sqlite => "",
    };
    let policies = load_policies(tx.conn()).await?;
    let row = sqlx::query(&format!(
        "SELECT {FACT_COLUMNS}, {TIME_COLUMNS} FROM tickets t LEFT JOIN contacts c ON c.id = t.contact_id \
         WHERE t.id = $1{lock}"
    ))
    .bind(ticket_id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::not_found("Ticket"))?;
    let ticket = facts::from_row(&row)?;
    let times = times_from_row(&row)?;
    // Read under the row lock: what another process stored is seen.
    let existing = match existing {
        Some(known) => known,
        None => stored_clocks(tx.conn(), ticket_id).await?,
    };
    // Nothing to keep: a ticket that was closed before any clock started
    // (history imports).
    if existing.is_empty() && ticket.status_category == "closed" {
        return Ok(());
    }
    let planned = plan(&ticket, &times, &existing, &policies, now);
    if store(tx.conn(), ticket_id, &existing, &planned).await? {
        tx.event(sla_event(ticket_id, &planned, now));
    }
    Ok(())
}

fn sla_event(ticket_id: i64, clocks: &[Clock], now: i64) -> PendingEvent {
    let sla: Vec<TicketSla> = sorted(clocks.to_vec()).iter().map(Clock::public).collect();
    PendingEvent::ticket(events::TICKET_SLA, ticket_id, None, json!({ "sla": sla })).at(now)
}

/// Tickets per transaction in a recalculation: big enough to be quick,
/// small enough that other writers wait at most a moment between batches.
const RECALC_BATCH: i64 = 2_000;

/// What a recalculation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recalculation {
    pub tickets: u64,
    pub changed: u64,
}

/// Records, in the transaction that changes a policy or calendar, that the
/// open tickets' clocks must be recalculated: if the recalculation that
/// follows the commit does not finish, the SLA timer runs it again (see
/// migration 0017).
pub async fn request_recalculation(tx: &mut WriteTx) -> Result<(), AppError> {
    // The time of the request, in milliseconds, and always past the last
    // one (two requests within a millisecond).
    sqlx::query(
        "UPDATE counters SET value = CASE WHEN value >= $1 THEN value + 1 ELSE $1 END \
         WHERE name = 'sla_recalculation_requested'",
    )
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// How long a requested recalculation is left to the request that asked
/// for it before the SLA timer runs it: far longer than one takes (seconds
/// on a million tickets), so the two do not run side by side.
const RECALC_GRACE_MS: i64 = 60_000;

/// Whether a recalculation was asked for over [`RECALC_GRACE_MS`] ago and
/// none has finished since.
async fn recalculation_overdue(db: &Db) -> Result<bool, AppError> {
    let (requested, done) = recalculation_counters(db).await?;
    Ok(requested > done && now_ms() - requested >= RECALC_GRACE_MS)
}

/// The `(requested, done)` counters of migration 0017.
async fn recalculation_counters(db: &Db) -> Result<(i64, i64), AppError> {
    let row = sqlx::query(
        "SELECT MAX(CASE WHEN name = 'sla_recalculation_requested' THEN value END) AS requested, \
         MAX(CASE WHEN name = 'sla_recalculation_done' THEN value END) AS done \
         FROM counters WHERE name IN ('sla_recalculation_requested', 'sla_recalculation_done')",
    )
    .fetch_one(db.pool())
    .await?;
    Ok((
        row.try_get::<Option<i64>, _>("requested")?.unwrap_or(0),
        row.try_get::<Option<i64>, _>("done")?.unwrap_or(0),
    ))
}

/// The recalculation that follows a change of settings, once that change
/// has committed. The change is saved whatever happens here: a failure is
/// logged, and the SLA timer, which sees the request still open, runs the
/// recalculation again.
pub async fn recalculate_after_change(db: &Db) {
    if let Err(e) = recalculate_open(db).await {
        tracing::warn!(error = %e, "SLA recalculation failed; the SLA timer will run it again");
    }
}

/// Recalculates the clocks of every open (not closed) ticket, after a
/// policy or calendar changed. Works through the tickets in id order in
/// batches, each in its own transaction, writing each batch's changes in a
/// few multi-row statements. No per-ticket events: the change of settings
/// that caused this is one `settings.changed` event, on which workspaces
/// reload what they show.
pub async fn recalculate_open(db: &Db) -> Result<Recalculation, AppError> {
    // Read before the first batch: a change committed while this runs
    // bumps the count past it, and so is recalculated again.
    let (requested, _) = recalculation_counters(db).await?;
    let now = now_ms();
    let mut done = Recalculation::default();
    let mut after = 0_i64;
    loop {
        let mut tx = db.begin_write().await?;
        let policies = load_policies(tx.conn()).await?;
        let rows = sqlx::query(&format!(
            "SELECT {FACT_COLUMNS}, {TIME_COLUMNS} FROM tickets t LEFT JOIN contacts c ON c.id = t.contact_id \
             WHERE t.status_category <> 'closed' AND t.id > $1 ORDER BY t.id LIMIT $2"
        ))
        .bind(after)
        .bind(RECALC_BATCH)
        .fetch_all(tx.conn())
        .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.try_get("id")?;
        let first: i64 = rows[0].try_get("id")?;
        let mut stored: HashMap<i64, Vec<Clock>> = HashMap::new();
        for row in sqlx::query(&format!(
            "SELECT {CLOCK_COLUMNS} FROM ticket_sla WHERE ticket_id BETWEEN $1 AND $2"
        ))
        .bind(first)
        .bind(after)
        .fetch_all(tx.conn())
        .await?
        {
            let id: i64 = row.try_get("ticket_id")?;
            stored.entry(id).or_default().push(clock_from_row(&row)?);
        }
        let count = rows.len() as i64;
        let mut changed: Vec<(i64, Vec<Clock>)> = Vec::new();
        let mut summaries: Vec<(i64, Option<SlaState>, Option<i64>)> = Vec::new();
        for row in &rows {
            let ticket = facts::from_row(row)?;
            let times = times_from_row(row)?;
            let existing = stored.remove(&ticket.id).unwrap_or_default();
            let planned = plan(&ticket, &times, &existing, &policies, now);
            if existing != planned {
                let after = summary(&planned);
                if summary(&existing) != after {
                    summaries.push((ticket.id, after.0, after.1));
                }
                changed.push((ticket.id, planned));
            }
        }
        done.tickets += count as u64;
        done.changed += changed.len() as u64;
        write_batch(tx.conn(), &changed, &summaries).await?;
        tx.commit().await?;
        if count < RECALC_BATCH {
            break;
        }
    }
    let mut tx = db.begin_write().await?;
    if done.changed > 0 {
        // The settings change was announced before its recalculation ran;
        // this tells workspaces (and the custom view counter) that the
        // clocks it moved are now all written.
        tx.event(PendingEvent::global(
            events::SETTINGS_CHANGED,
            None,
            json!({ "settings": "sla", "recalculated": done.changed }),
        ));
    }
    sqlx::query(
        "UPDATE counters SET value = $1 WHERE name = 'sla_recalculation_done' AND value < $1",
    )
    .bind(requested)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(done)
}

/// Rows per multi-row statement (10 parameters each: well under both
/// databases' limits).
const ROWS_PER_STATEMENT: usize = 200;

/// Replaces the clocks of the changed tickets and their summaries.
///
/// The rows are written as SQL literals rather than bound parameters:
/// every value is an integer or one of the fixed goal and state names (no
/// text from outside), and a recalculation writes a few hundred thousand of
/// them, where binding each through the driver costs several times the
/// insert itself.
async fn write_batch(
    conn: &mut AnyConnection,
    changed: &[(i64, Vec<Clock>)],
    summaries: &[(i64, Option<SlaState>, Option<i64>)],
) -> Result<(), AppError> {
    use std::fmt::Write;
    let int =
        |v: Option<i64>| v.map_or_else(|| "CAST(NULL AS BIGINT)".to_string(), |v| v.to_string());
    for chunk in changed.chunks(ROWS_PER_STATEMENT) {
        let ids: Vec<String> = chunk.iter().map(|(id, _)| id.to_string()).collect();
        sqlx::query(&format!(
            "DELETE FROM ticket_sla WHERE ticket_id IN ({})",
            ids.join(", ")
        ))
        .execute(&mut *conn)
        .await?;
    }
    let rows: Vec<(i64, &Clock)> = changed
        .iter()
        .flat_map(|(id, clocks)| clocks.iter().map(move |c| (*id, c)))
        .collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::from(
            "INSERT INTO ticket_sla (ticket_id, goal, policy_id, started_at, due_at, paused_since, paused_ms, \
             stopped_at, state, next_change_at) VALUES ",
        );
        for (i, (id, c)) in chunk.iter().enumerate() {
            let _ = write!(
                sql,
                "{}({id}, '{}', {}, {}, {}, {}, {}, {}, '{}', {})",
                if i > 0 { ", " } else { "" },
                c.goal.as_str(),
                int(c.policy_id),
                c.started_at,
                int(c.due_at),
                int(c.paused_since),
                c.paused_ms,
                int(c.stopped_at),
                c.state.as_str(),
                int(c.next_change_at),
            );
        }
        sqlx::query(&sql).execute(&mut *conn).await?;
    }
    for chunk in summaries.chunks(ROWS_PER_STATEMENT) {
        // One UPDATE per chunk, from a VALUES list both databases read.
        let mut sql = String::from("WITH v(id, state, due) AS (VALUES ");
        for (i, (id, state, due)) in chunk.iter().enumerate() {
            let state = state.map_or("NULL".to_string(), |s| format!("'{}'", s.as_str()));
            let _ = write!(
                sql,
                "{}({id}, CAST({state} AS TEXT), {})",
                if i > 0 { ", " } else { "" },
                int(*due)
            );
        }
        sql.push_str(
            ") UPDATE tickets SET sla_state = v.state, sla_due_at = v.due FROM v WHERE tickets.id = v.id",
        );
        sqlx::query(&sql).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Longest the timer sleeps: other processes may have started clocks that
/// come due sooner than anything this one knows of.
const TIMER_IDLE_MS: i64 = 1_000;

/// Moves clocks to due soon and overdue when their moment comes, forever.
/// Reads the moments from the database, so it needs nothing in memory to
/// survive a restart, and works the same with nobody connected.
pub async fn run_timer(state: AppState) {
    let mut closing = state.hub.closing();
    loop {
        // A recalculation asked for by a change of settings that did not
        // finish (a crash, a failed batch): run it now.
        match recalculation_overdue(&state.db).await {
            Ok(true) => {
                if let Err(e) = recalculate_open(&state.db).await {
                    tracing::warn!(error = %e, "SLA recalculation failed; retrying");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not check for an SLA recalculation"),
        }
        let wait = match tick(&state.db).await {
            Ok(next) => next
                .map(|at| (at - now_ms()).clamp(0, TIMER_IDLE_MS))
                .unwrap_or(TIMER_IDLE_MS),
            Err(e) => {
                tracing::warn!(error = %e, "SLA timer pass failed; retrying");
                TIMER_IDLE_MS
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(wait as u64)) => {}
            _ = closing.changed() => return,
        }
    }
}

/// One timer pass: refreshes every ticket whose clock moment has come.
/// Returns the next moment it knows of.
pub async fn tick(db: &Db) -> Result<Option<i64>, AppError> {
    let now = now_ms();
    let due: Vec<i64> = sqlx::query(
        "SELECT DISTINCT ticket_id FROM ticket_sla WHERE next_change_at IS NOT NULL AND next_change_at <= $1 \
         LIMIT 500",
    )
    .bind(now)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| r.try_get("ticket_id"))
    .collect::<Result<_, _>>()?;
    for ticket_id in due {
        let mut tx = db.begin_write().await?;
        refresh(&mut tx, ticket_id, now).await?;
        tx.commit().await?;
    }
    let next: Option<i64> = sqlx::query(
        "SELECT MIN(next_change_at) AS next FROM ticket_sla WHERE next_change_at IS NOT NULL",
    )
    .fetch_one(db.pool())
    .await?
    .try_get("next")?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::business_hours::{office_hours, Calendar, DateException};

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    /// Monday 2026-12-07 09:00 UTC.
    const MONDAY_9: i64 = 1_796_634_000_000;

    fn policy(
        first: Option<i64>,
        next: Option<i64>,
        close: Option<i64>,
        clock: BusinessClock,
    ) -> LoadedPolicy {
        LoadedPolicy {
            policy: SlaPolicy {
                id: 1,
                name: "Standard".into(),
                position: 1,
                conditions: vec![],
                first_reply_minutes: first,
                next_reply_minutes: next,
                close_minutes: close,
                calendar_id: None,
                due_soon_minutes: 30,
                pause_statuses: vec![3],
            },
            clock,
        }
    }

    fn office(tz: &str) -> BusinessClock {
        BusinessClock::for_calendar(&Calendar {
            id: 2,
            name: "Office".into(),
            timezone: tz.into(),
            always_open: false,
            weekly: office_hours(),
            exceptions: vec![DateException {
                date: "2026-12-08".into(),
                name: "Holiday".into(),
                hours: vec![],
            }],
        })
    }

    fn ticket(status_id: i64, category: &str) -> TicketFacts {
        TicketFacts {
            id: 1,
            status_id,
            status_category: category.into(),
            priority: 1,
            channel: "email".into(),
            pipeline_id: 1,
            ..Default::default()
        }
    }

    fn goal(clocks: &[Clock], goal: SlaGoal) -> &Clock {
        clocks.iter().find(|c| c.goal == goal).expect("clock")
    }

    #[test]
    fn a_new_ticket_runs_on_track_then_due_soon_then_overdue() {
        let p = [policy(
            Some(60),
            None,
            Some(8 * 60),
            BusinessClock::always(),
        )];
        let t = ticket(1, "open");
        let times = ClockTimes {
            created_at: MONDAY_9,
            ..Default::default()
        };
        let c = plan(&t, &times, &[], &p, MONDAY_9);
        let first = goal(&c, SlaGoal::FirstReply);
        assert_eq!(first.due_at, Some(MONDAY_9 + HOUR));
        assert_eq!(first.state, SlaState::OnTrack);
        assert_eq!(first.next_change_at, Some(MONDAY_9 + 30 * MIN));
        assert!(c.iter().all(|c| c.goal != SlaGoal::NextReply));

        let c = plan(&t, &times, &c, &p, MONDAY_9 + 31 * MIN);
        assert_eq!(goal(&c, SlaGoal::FirstReply).state, SlaState::DueSoon);
        assert_eq!(
            goal(&c, SlaGoal::FirstReply).next_change_at,
            Some(MONDAY_9 + HOUR)
        );
        let c = plan(&t, &times, &c, &p, MONDAY_9 + HOUR);
        assert_eq!(goal(&c, SlaGoal::FirstReply).state, SlaState::Overdue);
        assert_eq!(
            summary(&c),
            (Some(SlaState::Overdue), Some(MONDAY_9 + HOUR))
        );

        // Replied late: missed, and no longer in the summary.
        let replied = ClockTimes {
            first_reply_at: Some(MONDAY_9 + 2 * HOUR),
            ..times
        };
        let c = plan(&t, &replied, &c, &p, MONDAY_9 + 2 * HOUR);
        assert_eq!(goal(&c, SlaGoal::FirstReply).state, SlaState::Missed);
        assert_eq!(
            summary(&c),
            (Some(SlaState::OnTrack), Some(MONDAY_9 + 8 * HOUR))
        );
    }

    #[test]
    fn business_hours_and_holidays_push_the_due_time() {
        // Created Monday 16:30 with a 2-hour target on office hours, Tuesday
        // a holiday: 30 minutes Monday, 90 minutes Wednesday -> 10:30.
        let p = [policy(Some(120), None, None, office("UTC"))];
        let created = MONDAY_9 + 7 * HOUR + 30 * MIN;
        let times = ClockTimes {
            created_at: created,
            ..Default::default()
        };
        let c = plan(&ticket(1, "open"), &times, &[], &p, created);
        assert_eq!(
            goal(&c, SlaGoal::FirstReply).due_at,
            Some(MONDAY_9 + 2 * 24 * HOUR + 90 * MIN)
        );
        // The same calendar in New York (UTC-5): Monday 16:30 UTC is 11:30
        // local, so the two hours end at 13:30 local = 18:30 UTC.
        let p = [policy(Some(120), None, None, office("America/New_York"))];
        let c = plan(&ticket(1, "open"), &times, &[], &p, created);
        assert_eq!(
            goal(&c, SlaGoal::FirstReply).due_at,
            Some(created + 2 * HOUR)
        );
    }

    #[test]
    fn pause_statuses_stop_the_clock_and_add_the_pause() {
        let p = [policy(None, None, Some(4 * 60), BusinessClock::always())];
        let times = ClockTimes {
            created_at: MONDAY_9,
            ..Default::default()
        };
        let c = plan(&ticket(1, "open"), &times, &[], &p, MONDAY_9);
        // Waiting on contact (status 3) from 10:00 to 12:00.
        let c = plan(&ticket(3, "waiting"), &times, &c, &p, MONDAY_9 + HOUR);
        let close = goal(&c, SlaGoal::Close);
        assert_eq!((close.due_at, close.next_change_at), (None, None));
        assert!(close.public().paused);
        let c = plan(&ticket(1, "open"), &times, &c, &p, MONDAY_9 + 3 * HOUR);
        let close = goal(&c, SlaGoal::Close);
        assert_eq!(close.paused_ms, 2 * HOUR);
        assert_eq!(close.due_at, Some(MONDAY_9 + 6 * HOUR));
        // Closed at 14:00, inside the extended target: met.
        let closed = ClockTimes {
            closed_at: Some(MONDAY_9 + 5 * HOUR),
            ..times
        };
        let c = plan(&ticket(4, "closed"), &closed, &c, &p, MONDAY_9 + 5 * HOUR);
        assert_eq!(goal(&c, SlaGoal::Close).state, SlaState::Met);
        assert_eq!(summary(&c), (None, None));
    }

    #[test]
    fn next_reply_runs_from_each_unanswered_customer_message() {
        let p = [policy(Some(60), Some(30), None, BusinessClock::always())];
        let t = ticket(1, "open");
        let mut times = ClockTimes {
            created_at: MONDAY_9,
            first_reply_at: Some(MONDAY_9 + 10 * MIN),
            ..Default::default()
        };
        let c = plan(&t, &times, &[], &p, MONDAY_9 + 10 * MIN);
        assert_eq!(goal(&c, SlaGoal::FirstReply).state, SlaState::Met);
        assert!(c.iter().all(|c| c.goal != SlaGoal::NextReply));
        // The customer writes at 10:00; the agent answers at 10:20.
        times.awaiting_reply_since = Some(MONDAY_9 + HOUR);
        let c = plan(&t, &times, &c, &p, MONDAY_9 + HOUR);
        assert_eq!(
            goal(&c, SlaGoal::NextReply).due_at,
            Some(MONDAY_9 + HOUR + 30 * MIN)
        );
        times.awaiting_reply_since = None;
        let c = plan(&t, &times, &c, &p, MONDAY_9 + HOUR + 20 * MIN);
        assert_eq!(goal(&c, SlaGoal::NextReply).state, SlaState::Met);
        // Writes again at 11:00: a fresh clock.
        times.awaiting_reply_since = Some(MONDAY_9 + 2 * HOUR);
        let c = plan(&t, &times, &c, &p, MONDAY_9 + 2 * HOUR);
        let next = goal(&c, SlaGoal::NextReply);
        // A 30-minute target with a 30-minute "due soon" is due soon at once.
        assert_eq!(
            (next.state, next.due_at),
            (SlaState::DueSoon, Some(MONDAY_9 + 2 * HOUR + 30 * MIN))
        );
    }

    #[test]
    fn a_policy_change_moves_running_clocks_but_not_finished_ones() {
        let times = ClockTimes {
            created_at: MONDAY_9,
            ..Default::default()
        };
        let t = ticket(1, "open");
        let old = [policy(Some(60), None, Some(60), BusinessClock::always())];
        let c = plan(&t, &times, &[], &old, MONDAY_9);
        let answered = ClockTimes {
            first_reply_at: Some(MONDAY_9 + 5 * MIN),
            ..times
        };
        let c = plan(&t, &answered, &c, &old, MONDAY_9 + 5 * MIN);
        let new = [policy(
            Some(1),
            None,
            Some(24 * 60),
            BusinessClock::always(),
        )];
        let c = plan(&t, &answered, &c, &new, MONDAY_9 + 10 * MIN);
        assert_eq!(goal(&c, SlaGoal::FirstReply).state, SlaState::Met);
        assert_eq!(goal(&c, SlaGoal::Close).due_at, Some(MONDAY_9 + 24 * HOUR));
        // A policy that no longer matches removes the running clock.
        let mut urgent_only = policy(Some(1), None, Some(1), BusinessClock::always());
        urgent_only.policy.conditions = vec![crate::views::Condition {
            property: crate::views::Property::Priority,
            op: crate::views::Operator::IsAnyOf,
            values: vec!["urgent".into()],
        }];
        let c = plan(&t, &answered, &c, &[urgent_only], MONDAY_9 + 20 * MIN);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].goal, SlaGoal::FirstReply);
    }
}
