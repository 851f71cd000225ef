//! Calendars: validation and SQL. Super admins only.

use super::clock::{parse_timezone, BusinessClock};
use super::{validate_exceptions, validate_weekly, Calendar, CalendarInput};
use crate::db::{now_ms, to_json, Db};
use crate::error::AppError;
use crate::settings::{require_admin, settings_changed};
use crate::users::service::required_text;
use crate::users::User;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

const COLUMNS: &str = "id, name, timezone, always_open, weekly, exceptions";

fn from_row(row: &AnyRow) -> Result<Calendar, AppError> {
    let weekly: String = row.try_get("weekly")?;
    let exceptions: String = row.try_get("exceptions")?;
    let always: i64 = row.try_get("always_open")?;
    Ok(Calendar {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        timezone: row.try_get("timezone")?,
        always_open: always != 0,
        weekly: serde_json::from_str(&weekly).map_err(|_| AppError::Internal)?,
        exceptions: serde_json::from_str(&exceptions).map_err(|_| AppError::Internal)?,
    })
}

/// Every calendar, 24/7 first.
pub async fn list(db: &Db) -> Result<Vec<Calendar>, AppError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM calendars ORDER BY always_open DESC, name, id"
    ))
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Calendar, AppError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM calendars WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::not_found("Calendar"))?;
    from_row(&row)
}

/// The clock of a calendar, or the 24/7 clock for `None`.
pub async fn clock(conn: &mut AnyConnection, id: Option<i64>) -> Result<BusinessClock, AppError> {
    match id {
        Some(id) => Ok(BusinessClock::for_calendar(&get(conn, id).await?)),
        None => Ok(BusinessClock::always()),
    }
}

/// A checked calendar input: (name, timezone, weekly JSON, exceptions JSON).
fn validate(input: &CalendarInput) -> Result<(String, String, String, String), AppError> {
    let name = required_text("name", "Name", &input.name, 80)?;
    let timezone = input
        .timezone
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("UTC");
    let tz = parse_timezone(timezone).ok_or_else(|| {
        AppError::invalid(
            "timezone",
            format!("“{timezone}” is not a timezone (use a name such as Europe/Madrid)."),
        )
    })?;
    validate_weekly(&input.weekly).map_err(|m| AppError::invalid("weekly", m))?;
    if !input.always_open && input.weekly.is_empty() {
        return Err(AppError::invalid(
            "weekly",
            "Give the calendar some opening hours, or make it 24/7.",
        ));
    }
    validate_exceptions(&input.exceptions).map_err(|m| AppError::invalid("exceptions", m))?;
    Ok((
        name,
        tz.name().to_string(),
        to_json(&input.weekly),
        to_json(&input.exceptions),
    ))
}

fn name_taken(e: sqlx::Error) -> AppError {
    match AppError::from(e) {
        AppError::Conflict(_) => {
            AppError::Conflict("A calendar with this name already exists.".into())
        }
        other => other,
    }
}

pub async fn create(db: &Db, actor: &User, input: CalendarInput) -> Result<Calendar, AppError> {
    require_admin(actor)?;
    let (name, timezone, weekly, exceptions) = validate(&input)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO calendars (name, timezone, always_open, weekly, exceptions, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(&name)
    .bind(&timezone)
    .bind(i64::from(input.always_open))
    .bind(&weekly)
    .bind(&exceptions)
    .bind(now)
    .fetch_one(tx.conn())
    .await
    .map_err(name_taken)?
    .try_get("id")?;
    tx.event(settings_changed(actor, "calendars"));
    tx.commit().await?;
    get(&mut *db.pool().acquire().await?, id).await
}

/// Replaces a calendar and recalculates the SLA clocks of open tickets.
pub async fn update(
    db: &Db,
    actor: &User,
    id: i64,
    input: CalendarInput,
) -> Result<Calendar, AppError> {
    require_admin(actor)?;
    let (name, timezone, weekly, exceptions) = validate(&input)?;
    let mut tx = db.begin_write().await?;
    let done = sqlx::query(
        "UPDATE calendars SET name = $1, timezone = $2, always_open = $3, weekly = $4, exceptions = $5, \
         updated_at = $6 WHERE id = $7",
    )
    .bind(&name)
    .bind(&timezone)
    .bind(i64::from(input.always_open))
    .bind(&weekly)
    .bind(&exceptions)
    .bind(now_ms())
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(name_taken)?;
    if done.rows_affected() == 0 {
        return Err(AppError::not_found("Calendar"));
    }
    tx.event(settings_changed(actor, "calendars"));
    crate::sla::service::request_recalculation(&mut tx).await?;
    tx.commit().await?;
    // The clocks that count on this calendar now end elsewhere.
    crate::sla::service::recalculate_after_change(db).await;
    get(&mut *db.pool().acquire().await?, id).await
}

/// Deletes a calendar no SLA policy or routing rule uses.
pub async fn delete(db: &Db, actor: &User, id: i64) -> Result<(), AppError> {
    require_admin(actor)?;
    let mut tx = db.begin_write().await?;
    let used: Option<String> =
        sqlx::query("SELECT name FROM sla_policies WHERE calendar_id = $1 LIMIT 1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?
            .map(|r| r.try_get("name"))
            .transpose()?;
    if let Some(policy) = used {
        return Err(AppError::Conflict(format!(
            "The SLA policy “{policy}” uses this calendar; choose another calendar there first."
        )));
    }
    let rule: Option<String> =
        sqlx::query("SELECT name FROM routing_rules WHERE calendar_id = $1 LIMIT 1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?
            .map(|r| r.try_get("name"))
            .transpose()?;
    if let Some(rule) = rule {
        return Err(AppError::Conflict(format!(
            "The routing rule “{rule}” uses this calendar; choose another calendar there first."
        )));
    }
    let done = sqlx::query("DELETE FROM calendars WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::not_found("Calendar"));
    }
    tx.event(settings_changed(actor, "calendars"));
    tx.commit().await
}
