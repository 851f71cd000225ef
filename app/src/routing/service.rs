//! Routing rules (SQL, validation) and the routing decision.
//!
//! [`route`] decides one waiting ticket in one transaction. Safety under
//! concurrency (several server processes on one PostgreSQL) comes from row
//! locks taken in a fixed order, ticket first, then its rule: a second
//! process routing the same ticket waits for the first, then finds it no
//! longer waiting; two processes routing different tickets by the same rule
//! take turns on the rule's row, so each reads the round robin's place as
//! the other left it. SQLite has one writer at a time already.

use super::{Capacity, Load, RoutingMethod, RoutingRule, RoutingRuleInput, RoutingTarget};
use crate::access::AccessScope;
use crate::business_hours::clock::BusinessClock;
use crate::db::{now_ms, to_json, Db, DbKind, SqlBuilder, WriteTx};
use crate::error::AppError;
use crate::events::{self, log::PendingEvent};
use crate::messages::service::insert_timeline_event;
use crate::settings::{require_admin, settings_changed};
use crate::tickets::facts::{self, all_hold, validate_conditions, TicketFacts, FACT_COLUMNS};
use crate::tickets::CHANNELS;
use crate::users::service::{check_position, required_text};
use crate::users::{Availability, Role, User};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

/// `routing_pending` values (see migration 0007).
pub const NEW: i64 = 1;
pub const WAITING: i64 = 2;

const RULE_COLUMNS: &str =
    "id, name, position, channel, conditions, target_team_id, target_user_ids, \
    method, ignore_availability, calendar_id, cycle, last_user_id";

/// A rule with the round robin's place.
struct StoredRule {
    rule: RoutingRule,
    cycle: i64,
    last_user_id: Option<i64>,
}

fn rule_from_row(row: &AnyRow) -> Result<StoredRule, AppError> {
    let conditions: String = row.try_get("conditions")?;
    let users: String = row.try_get("target_user_ids")?;
    let method: String = row.try_get("method")?;
    let ignore: i64 = row.try_get("ignore_availability")?;
    Ok(StoredRule {
        rule: RoutingRule {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            position: row.try_get("position")?,
            channel: row.try_get("channel")?,
            conditions: serde_json::from_str(&conditions).map_err(|_| AppError::Internal)?,
            target: RoutingTarget {
                team_id: row.try_get("target_team_id")?,
                user_ids: serde_json::from_str(&users).map_err(|_| AppError::Internal)?,
            },
            method: RoutingMethod::parse(&method).ok_or(AppError::Internal)?,
            ignore_availability: ignore != 0,
            calendar_id: row.try_get("calendar_id")?,
        },
        cycle: row.try_get("cycle")?,
        last_user_id: row.try_get("last_user_id")?,
    })
}

async fn stored_rules(conn: &mut AnyConnection) -> Result<Vec<StoredRule>, AppError> {
    sqlx::query(&format!(
        "SELECT {RULE_COLUMNS} FROM routing_rules ORDER BY position, id"
    ))
    .fetch_all(conn)
    .await?
    .iter()
    .map(rule_from_row)
    .collect()
}

/// Every rule, in the order they are tried.
pub async fn list(db: &Db) -> Result<Vec<RoutingRule>, AppError> {
    Ok(stored_rules(&mut *db.pool().acquire().await?)
        .await?
        .into_iter()
        .map(|s| s.rule)
        .collect())
}

async fn get_rule(conn: &mut AnyConnection, id: i64) -> Result<RoutingRule, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {RULE_COLUMNS} FROM routing_rules WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| AppError::not_found("Routing rule"))?;
    Ok(rule_from_row(&row)?.rule)
}

/// Checks a rule; returns its name and channel as stored.
async fn validate(
    conn: &mut AnyConnection,
    input: &RoutingRuleInput,
) -> Result<(String, Option<String>), AppError> {
    let name = required_text("name", "Name", &input.name, 80)?;
    check_position(input.position)?;
    let channel = match input
        .channel
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => None,
        Some(c) => {
            let c = c.to_lowercase();
            if !CHANNELS.contains(&c.as_str()) {
                return Err(AppError::invalid(
                    "channel",
                    format!("Channel must be one of: {}.", CHANNELS.join(", ")),
                ));
            }
            Some(c)
        }
    };
    validate_conditions(&input.conditions)?;
    let target = &input.target;
    if target.team_id.is_some() && !target.user_ids.is_empty() {
        return Err(AppError::invalid(
            "target",
            "Route to a team or to users, not both.",
        ));
    }
    if let Some(team) = target.team_id {
        sqlx::query("SELECT id FROM teams WHERE id = $1")
            .bind(team)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| AppError::invalid("target", "That team does not exist."))?;
    }
    if let Some(calendar) = input.calendar_id {
        crate::business_hours::service::get(&mut *conn, calendar)
            .await
            .map_err(|_| AppError::invalid("calendar_id", "That calendar does not exist."))?;
    }
    if target.user_ids.len() > 200 {
        return Err(AppError::invalid("target", "At most 200 users."));
    }
    for id in &target.user_ids {
        let row = sqlx::query("SELECT role FROM users WHERE id = $1 AND active = 1")
            .bind(*id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| AppError::invalid("target", format!("User {id} does not exist.")))?;
        let role: String = row.try_get("role")?;
        if Role::parse(&role) == Some(Role::Collaborator) {
            return Err(AppError::invalid(
                "target",
                "Collaborators have no help desk seat and cannot be routed to.",
            ));
        }
    }
    Ok((name, channel))
}

pub async fn create(
    db: &Db,
    actor: &User,
    input: RoutingRuleInput,
) -> Result<RoutingRule, AppError> {
    require_admin(actor)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let (name, channel) = validate(tx.conn(), &input).await?;
    let position = match input.position {
        Some(p) => p,
        None => sqlx::query("SELECT COALESCE(MAX(position), 0) + 1 AS next FROM routing_rules")
            .fetch_one(tx.conn())
            .await?
            .try_get("next")?,
    };
    let id: i64 = sqlx::query(
        "INSERT INTO routing_rules (name, channel, conditions, target_team_id, target_user_ids, method, \
         ignore_availability, position, created_at, updated_at, calendar_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING id",
    )
    .bind(&name)
    .bind(channel)
    .bind(to_json(&input.conditions))
    .bind(input.target.team_id)
    .bind(to_json(&dedup(&input.target.user_ids)))
    .bind(input.method.as_str())
    .bind(i64::from(input.ignore_availability))
    .bind(position)
    .bind(now)
    .bind(input.calendar_id)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.event(settings_changed(actor, "routing"));
    tx.commit().await?;
    get_rule(&mut *db.pool().acquire().await?, id).await
}

fn dedup(ids: &[i64]) -> Vec<i64> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

pub async fn update(
    db: &Db,
    actor: &User,
    id: i64,
    input: RoutingRuleInput,
) -> Result<RoutingRule, AppError> {
    require_admin(actor)?;
    let mut tx = db.begin_write().await?;
    let current = get_rule(tx.conn(), id).await?;
    let (name, channel) = validate(tx.conn(), &input).await?;
    sqlx::query(
        "UPDATE routing_rules SET name = $1, channel = $2, conditions = $3, target_team_id = $4, \
         target_user_ids = $5, method = $6, ignore_availability = $7, position = $8, updated_at = $9, \
         calendar_id = $11 WHERE id = $10",
    )
    .bind(&name)
    .bind(channel)
    .bind(to_json(&input.conditions))
    .bind(input.target.team_id)
    .bind(to_json(&dedup(&input.target.user_ids)))
    .bind(input.method.as_str())
    .bind(i64::from(input.ignore_availability))
    .bind(input.position.unwrap_or(current.position))
    .bind(now_ms())
    .bind(id)
    .bind(input.calendar_id)
    .execute(tx.conn())
    .await?;
    tx.event(settings_changed(actor, "routing"));
    tx.commit().await?;
    get_rule(&mut *db.pool().acquire().await?, id).await
}

pub async fn delete(db: &Db, actor: &User, id: i64) -> Result<(), AppError> {
    require_admin(actor)?;
    let mut tx = db.begin_write().await?;
    let done = sqlx::query("DELETE FROM routing_rules WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::not_found("Routing rule"));
    }
    tx.event(settings_changed(actor, "routing"));
    tx.commit().await
}

/// The `routing_pending` value of a ticket being inserted, as an SQL
/// expression over the INSERT's owner, status category and channel
/// parameters: [`NEW`] for a ticket without an owner when there is any
/// rule to route it by, 0 otherwise. It is part of the INSERT rather than
/// an UPDATE after it, since every statement of a new ticket's
/// transaction holds up the writers queued behind it.
///
/// Tickets an agent logs in the workspace (channel `agent`) are not
/// routed: as in HubSpot, routing distributes what comes in, not what
/// agents write down.
pub fn pending_when_inserted(owner: &str, status_category: &str, channel: &str) -> String {
    format!(
        "CASE WHEN {owner} IS NULL AND {status_category} <> 'closed' AND {channel} <> 'agent' \
         AND EXISTS (SELECT 1 FROM routing_rules) THEN {NEW} ELSE 0 END"
    )
}

// ---------------------------------------------------------------------------
// Capacity and load

/// Open tickets of `user_ids` as (owner, channel, status) -> count, from
/// the counts the database keeps as tickets change (`owner_loads`,
/// migration 0015): a few rows per user, where counting the tickets
/// themselves took 200 ms on a million.
async fn open_counts(
    conn: &mut AnyConnection,
    user_ids: &[i64],
) -> Result<HashMap<i64, Vec<(String, i64, i64)>>, AppError> {
    let mut out: HashMap<i64, Vec<(String, i64, i64)>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(out);
    }
    let mut sql = SqlBuilder::new(
        "SELECT owner_id, channel, status_id, n FROM owner_loads WHERE n <> 0 AND owner_id IN (",
    );
    sql.bind_ints(user_ids);
    sql.push(")");
    for row in sql.query().fetch_all(&mut *conn).await? {
        out.entry(row.try_get("owner_id")?).or_default().push((
            row.try_get("channel")?,
            row.try_get("status_id")?,
            row.try_get("n")?,
        ));
    }
    Ok(out)
}

/// A user's counts against their capacity: (total, per channel).
fn counted(capacity: &Capacity, rows: &[(String, i64, i64)]) -> (i64, HashMap<String, i64>) {
    let mut total = 0;
    let mut per_channel: HashMap<String, i64> = HashMap::new();
    for (channel, status, n) in rows {
        if capacity.excluded_statuses.contains(status) {
            continue;
        }
        total += n;
        *per_channel.entry(channel.clone()).or_default() += n;
    }
    (total, per_channel)
}

/// Why a user is not eligible for a ticket of `channel`, or their count of
/// open tickets (for balancing) when they are.
fn capacity_check(
    capacity: &Capacity,
    rows: &[(String, i64, i64)],
    channel: &str,
) -> Result<i64, String> {
    let (total, per_channel) = counted(capacity, rows);
    if let Some(max) = capacity.max_open {
        if total >= max {
            return Err(format!("at capacity {total}/{max}"));
        }
    }
    if let Some(max) = capacity.per_channel.get(channel) {
        let n = per_channel.get(channel).copied().unwrap_or(0);
        if n >= *max {
            return Err(format!("at {channel} capacity {n}/{max}"));
        }
    }
    Ok(total)
}

/// Current load of each user (for the assignee picker's "3/10").
pub async fn loads(db: &Db) -> Result<Vec<Load>, AppError> {
    let mut conn = db.pool().acquire().await?;
    let users = crate::users::service::list(db).await?;
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let counts = open_counts(&mut conn, &ids).await?;
    Ok(users
        .iter()
        .map(|u| Load {
            user_id: u.id,
            open: counted(
                &u.capacity,
                counts.get(&u.id).map_or(&[][..], Vec::as_slice),
            )
            .0,
            max_open: u.capacity.max_open,
        })
        .collect())
}

// ---------------------------------------------------------------------------
// The decision

/// What [`route`] did with a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// Assigned to this user.
    Assigned(i64),
    /// No rule matched, or the rule leaves it unassigned.
    LeftUnassigned,
    /// Nobody is eligible; the ticket waits.
    Waiting,
    /// Not waiting for routing any more (someone else took it).
    Nothing,
}

/// A candidate with their verdict.
struct Candidate {
    user: User,
    verdict: Result<i64, String>,
}

/// The eligibility of each target user for `ticket`.
async fn candidates(
    conn: &mut AnyConnection,
    db: &Db,
    rule: &RoutingRule,
    ticket: &TicketFacts,
) -> Result<(Option<String>, Vec<Candidate>), AppError> {
    let (team_name, ids): (Option<String>, Vec<i64>) = match rule.target.team_id {
        Some(team) => {
            let name: Option<String> = sqlx::query("SELECT name FROM teams WHERE id = $1")
                .bind(team)
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| r.try_get("name"))
                .transpose()?;
            let ids = sqlx::query(
                "SELECT user_id FROM team_members WHERE team_id = $1 AND is_main = 1 ORDER BY user_id",
            )
            .bind(team)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get("user_id"))
            .collect::<Result<_, _>>()?;
            (name, ids)
        }
        None => {
            let mut ids = rule.target.user_ids.clone();
            ids.sort_unstable();
            (None, ids)
        }
    };
    let users = crate::users::service::get_many(db, &ids).await?;
    // Counting open tickets reads every open ticket of every candidate:
    // done only when a capacity or the balanced method needs the numbers.
    let counts = if rule.method == RoutingMethod::Balanced
        || users.iter().any(|u| !u.capacity.is_unlimited())
    {
        let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        open_counts(&mut *conn, &ids).await?
    } else {
        HashMap::new()
    };
    let out = users
        .into_iter()
        .map(|user| {
            let rows = counts.get(&user.id).map_or(&[][..], Vec::as_slice);
            let verdict = eligibility(&user, rule, ticket, rows);
            Candidate { user, verdict }
        })
        .collect();
    Ok((team_name, out))
}

fn eligibility(
    user: &User,
    rule: &RoutingRule,
    ticket: &TicketFacts,
    counts: &[(String, i64, i64)],
) -> Result<i64, String> {
    if !user.can_work_tickets() {
        return Err("no help desk seat".into());
    }
    if user.access.scope == AccessScope::Teams
        && ticket
            .team_id
            .is_some_and(|t| !user.access.team_ids.contains(&t))
    {
        return Err("no access to the ticket's team".into());
    }
    if !rule.ignore_availability && user.availability == Availability::Away {
        return Err("away".into());
    }
    capacity_check(&user.capacity, counts, &ticket.channel)
}

/// Routes one ticket if it is waiting for routing. One transaction: the
/// assignment, the round robin's new place, the timeline entry with the
/// reason and the events commit together or not at all.
pub async fn route(db: &Db, ticket_id: i64) -> Result<Routed, AppError> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let kind = tx.kind();
    let lock = |what: &str| match kind {
        DbKind::Postgres => format!(" FOR UPDATE OF {what}"),
        DbKind::Sqlite => String::new(),
    };
    let ticket_lock = lock("t");
    let rule_lock = lock("routing_rules");
    let row = sqlx::query(&format!(
        "SELECT {FACT_COLUMNS}, t.routing_pending FROM tickets t LEFT JOIN contacts c ON c.id = t.contact_id \
         WHERE t.id = $1{ticket_lock}"
    ))
    .bind(ticket_id)
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else {
        return Ok(Routed::Nothing);
    };
    let pending: i64 = row.try_get("routing_pending")?;
    let ticket = facts::from_row(&row)?;
    if pending == 0 {
        return Ok(Routed::Nothing);
    }
    if ticket.owner_id.is_some() || ticket.status_category == "closed" {
        clear(&mut tx, ticket_id).await?;
        tx.commit().await?;
        return Ok(Routed::Nothing);
    }
    let rules = stored_rules(tx.conn()).await?;
    let Some(matched) = rules.iter().find(|s| {
        s.rule
            .channel
            .as_deref()
            .is_none_or(|c| c == ticket.channel)
            && all_hold(&s.rule.conditions, &ticket)
    }) else {
        clear(&mut tx, ticket_id).await?;
        tx.commit().await?;
        return Ok(Routed::LeftUnassigned);
    };
    if matched.rule.target.team_id.is_none() && matched.rule.target.user_ids.is_empty() {
        clear(&mut tx, ticket_id).await?;
        let text = format!(
            "Routing rule “{}” left the ticket unassigned.",
            matched.rule.name
        );
        insert_timeline_event(&mut tx, ticket_id, None, &text, now).await?;
        tx.commit().await?;
        return Ok(Routed::LeftUnassigned);
    }
    // The rule's row, locked, for the round robin's current place.
    let row = sqlx::query(&format!(
        "SELECT {RULE_COLUMNS} FROM routing_rules WHERE id = $1{rule_lock}"
    ))
    .bind(matched.rule.id)
    .fetch_one(tx.conn())
    .await?;
    let stored = rule_from_row(&row)?;
    let rule = &stored.rule;
    if let Some(calendar) = rule.calendar_id {
        let calendar = crate::business_hours::service::get(tx.conn(), calendar).await?;
        if !BusinessClock::for_calendar(&calendar).is_open(now) {
            let why = format!("outside the hours of {}", calendar.name);
            return wait(tx, ticket_id, pending, &rule.name, &why, now).await;
        }
    }
    let (team_name, candidates) = candidates(tx.conn(), db, rule, &ticket).await?;
    let turns: HashMap<i64, i64> =
        sqlx::query("SELECT user_id, last_cycle FROM routing_turns WHERE rule_id = $1")
            .bind(rule.id)
            .fetch_all(tx.conn())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("user_id")?, r.try_get("last_cycle")?)))
            .collect::<Result<_, AppError>>()?;
    let pool_name = match (&team_name, rule.target.team_id) {
        (Some(name), _) => name.clone(),
        _ => format!("rule “{}”", rule.name),
    };
    let skipped: Vec<String> = candidates
        .iter()
        .filter_map(|c| {
            c.verdict
                .as_ref()
                .err()
                .map(|why| format!("{} skipped: {why}", c.user.name))
        })
        .collect();
    let eligible: Vec<(&User, i64)> = candidates
        .iter()
        .filter_map(|c| c.verdict.as_ref().ok().map(|open| (&c.user, *open)))
        .collect();
    let pick = choose(
        rule.method,
        &eligible,
        &turns,
        stored.cycle,
        stored.last_user_id,
    );
    let Some(choice) = pick else {
        let why = if skipped.is_empty() {
            "it has no members".to_string()
        } else {
            skipped.join("; ")
        };
        let why = format!("nobody in {pool_name} can take it now ({why})");
        return wait(tx, ticket_id, pending, &rule.name, &why, now).await;
    };
    let chosen = choice.user;
    let done = sqlx::query(
        "UPDATE tickets SET owner_id = $1, routing_pending = 0, updated_at = $2 WHERE id = $3 AND owner_id IS NULL",
    )
    .bind(chosen.id)
    .bind(now)
    .bind(ticket_id)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Ok(Routed::Nothing);
    }
    sqlx::query("UPDATE routing_rules SET cycle = $1, last_user_id = $2 WHERE id = $3")
        .bind(choice.cycle)
        .bind(chosen.id)
        .bind(rule.id)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO routing_turns (rule_id, user_id, last_cycle) VALUES ($1, $2, $3) \
         ON CONFLICT (rule_id, user_id) DO UPDATE SET last_cycle = excluded.last_cycle",
    )
    .bind(rule.id)
    .bind(chosen.id)
    .bind(choice.cycle)
    .execute(tx.conn())
    .await?;
    let how = match rule.method {
        RoutingMethod::RoundRobin => match stored
            .last_user_id
            .and_then(|last| candidates.iter().find(|c| c.user.id == last))
        {
            Some(last) => format!("round robin in {pool_name}: next after {}", last.user.name),
            None => format!("round robin in {pool_name}: first in turn"),
        },
        RoutingMethod::Balanced => format!(
            "balanced in {pool_name}: fewest open tickets ({})",
            choice.open
        ),
        RoutingMethod::Random => format!("random in {pool_name}"),
    };
    let mut reason = how;
    for s in &skipped {
        reason.push_str("; ");
        reason.push_str(s);
    }
    let text = format!("Assigned to {} by routing ({reason}).", chosen.name);
    insert_timeline_event(&mut tx, ticket_id, None, &text, now).await?;
    tx.event(
        PendingEvent::ticket(
            events::TICKET_ASSIGNED,
            ticket_id,
            None,
            json!({"owner_id": chosen.id, "routing_rule_id": rule.id, "reason": reason}),
        )
        .at(now)
        .moved_from(None, ticket.team_id),
    );
    crate::sla::service::refresh(&mut tx, ticket_id, now).await?;
    tx.commit().await?;
    Ok(Routed::Assigned(chosen.id))
}

/// Leaves a ticket waiting for routing; the first time, the timeline says
/// why (later attempts change nothing and write nothing).
async fn wait(
    mut tx: WriteTx,
    ticket_id: i64,
    pending: i64,
    rule: &str,
    why: &str,
    now: i64,
) -> Result<Routed, AppError> {
    if pending == NEW {
        sqlx::query("UPDATE tickets SET routing_pending = $1 WHERE id = $2")
            .bind(WAITING)
            .bind(ticket_id)
            .execute(tx.conn())
            .await?;
        let text = format!(
            "Waiting for routing by “{rule}”: {why}. It will be assigned as soon as someone can take it."
        );
        insert_timeline_event(&mut tx, ticket_id, None, &text, now).await?;
        tx.commit().await?;
    }
    Ok(Routed::Waiting)
}

/// Takes a ticket off routing's to-do list.
async fn clear(tx: &mut WriteTx, ticket_id: i64) -> Result<(), AppError> {
    sqlx::query("UPDATE tickets SET routing_pending = 0 WHERE id = $1")
        .bind(ticket_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The pick of a method among eligible users.
struct Choice<'a> {
    user: &'a User,
    /// The round robin cycle the pick belongs to.
    cycle: i64,
    open: i64,
}

/// Picks among `eligible` (sorted by user id, with their open counts).
///
/// Round robin: the users still owed a ticket in the current cycle (their
/// last cycle is below it) are served in id order after the last one
/// served; when nobody eligible is owed one, a new cycle begins. A user who
/// becomes eligible mid-cycle is owed one in it, so they join at once.
fn choose<'a>(
    method: RoutingMethod,
    eligible: &[(&'a User, i64)],
    turns: &HashMap<i64, i64>,
    cycle: i64,
    last_user_id: Option<i64>,
) -> Option<Choice<'a>> {
    if eligible.is_empty() {
        return None;
    }
    let after_last = |list: &[(&'a User, i64)]| -> Option<(&'a User, i64)> {
        let last = last_user_id.unwrap_or(i64::MIN);
        list.iter()
            .find(|(u, _)| u.id > last)
            .or_else(|| list.first())
            .copied()
    };
    match method {
        RoutingMethod::RoundRobin => {
            let owed: Vec<(&User, i64)> = eligible
                .iter()
                .filter(|(u, _)| turns.get(&u.id).copied().unwrap_or(0) < cycle)
                .copied()
                .collect();
            let (cycle, pool) = if owed.is_empty() {
                (cycle + 1, eligible.to_vec())
            } else {
                (cycle, owed)
            };
            after_last(&pool).map(|(user, open)| Choice { user, cycle, open })
        }
        RoutingMethod::Balanced => {
            eligible
                .iter()
                .min_by_key(|(u, open)| (*open, u.id))
                .map(|(user, open)| Choice {
                    user,
                    cycle,
                    open: *open,
                })
        }
        RoutingMethod::Random => {
            let (user, open) = eligible[fastrand::usize(..eligible.len())];
            Some(Choice { user, cycle, open })
        }
    }
}

/// Routes every ticket waiting for routing, oldest first; `only_new` skips
/// the ones already found waiting for an eligible user. Returns how many
/// were assigned.
pub async fn route_pending(db: &Db, only_new: bool) -> Result<usize, AppError> {
    let mut assigned = 0;
    let mut after = 0_i64;
    loop {
        let ids: Vec<i64> = sqlx::query(
            "SELECT id FROM tickets WHERE routing_pending > 0 AND routing_pending <= $1 AND id > $2 \
             ORDER BY id LIMIT 200",
        )
        .bind(if only_new { NEW } else { WAITING })
        .bind(after)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
        let Some(last) = ids.last() else {
            return Ok(assigned);
        };
        after = *last;
        for id in ids {
            if let Routed::Assigned(_) = route(db, id).await? {
                assigned += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64) -> User {
        User {
            id,
            email: format!("u{id}@x.test"),
            name: format!("U{id}"),
            role: Role::Agent,
            access: Default::default(),
            availability: Availability::Available,
            timezone: "UTC".into(),
            working_hours: None,
            capacity: Capacity::default(),
        }
    }

    /// Runs a round robin of `n` picks over the eligible ids at each step.
    fn run(eligible_at: impl Fn(usize) -> Vec<i64>, n: usize) -> Vec<i64> {
        let users: Vec<User> = (1..=5).map(user).collect();
        let mut turns = HashMap::new();
        let (mut cycle, mut last) = (1, None);
        let mut picks = Vec::new();
        for step in 0..n {
            let ids = eligible_at(step);
            let eligible: Vec<(&User, i64)> = users
                .iter()
                .filter(|u| ids.contains(&u.id))
                .map(|u| (u, 0))
                .collect();
            let c = choose(RoutingMethod::RoundRobin, &eligible, &turns, cycle, last).unwrap();
            turns.insert(c.user.id, c.cycle);
            cycle = c.cycle;
            last = Some(c.user.id);
            picks.push(c.user.id);
        }
        picks
    }

    #[test]
    fn round_robin_serves_everyone_once_per_cycle() {
        assert_eq!(run(|_| vec![1, 2, 3], 7), vec![1, 2, 3, 1, 2, 3, 1]);
    }

    #[test]
    fn a_newly_eligible_user_joins_the_current_cycle() {
        // User 3 comes back after the first pick of the second cycle: they
        // get one in that cycle, before 1 gets a third.
        let picks = run(|step| if step < 3 { vec![1, 2] } else { vec![1, 2, 3] }, 6);
        assert_eq!(picks, vec![1, 2, 1, 2, 3, 1]);
        // A user who leaves is skipped without breaking the order.
        let picks = run(|step| if step == 1 { vec![1, 3] } else { vec![1, 2, 3] }, 5);
        assert_eq!(picks, vec![1, 3, 2, 3, 1]);
    }

    #[test]
    fn balanced_picks_the_fewest_open_tickets() {
        let (a, b, c) = (user(1), user(2), user(3));
        let eligible = vec![(&a, 4), (&b, 1), (&c, 1)];
        let pick = choose(RoutingMethod::Balanced, &eligible, &HashMap::new(), 1, None).unwrap();
        assert_eq!((pick.user.id, pick.open), (2, 1));
        assert!(choose(RoutingMethod::Random, &[], &HashMap::new(), 1, None).is_none());
        let pick = choose(RoutingMethod::Random, &eligible, &HashMap::new(), 1, None).unwrap();
        assert!([1, 2, 3].contains(&pick.user.id));
    }

    #[test]
    fn capacity_counts_what_it_should() {
        let capacity = Capacity {
            max_open: Some(3),
            per_channel: [("chat".to_string(), 1)].into_iter().collect(),
            excluded_statuses: vec![9],
        };
        let rows = vec![
            ("email".to_string(), 1, 2),
            ("email".to_string(), 9, 5), // waiting on contact: not counted
        ];
        assert_eq!(capacity_check(&capacity, &rows, "email"), Ok(2));
        let rows = vec![("email".to_string(), 1, 3)];
        assert_eq!(
            capacity_check(&capacity, &rows, "email"),
            Err("at capacity 3/3".into())
        );
        let rows = vec![("chat".to_string(), 1, 1)];
        assert_eq!(
            capacity_check(&capacity, &rows, "chat"),
            Err("at chat capacity 1/1".into())
        );
        assert_eq!(capacity_check(&capacity, &rows, "email"), Ok(1));
    }
}
