//! User and team rules and SQL.

use super::{Availability, NewUser, Role, Team, TeamMembership, User, UserPatch};
use crate::access::{Access, AccessScope};
use crate::auth::service::hash_password;
use crate::db::{now_ms, Db, SqlBuilder};
use crate::error::AppError;
use crate::events::log::PendingEvent;
use crate::events::{USER_AVAILABILITY, USER_UPDATED};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

/// The columns [`user_from_row`] reads, for a `users` table aliased `u`.
pub const USER_COLUMNS: &str =
    "u.id, u.email, u.name, u.role, u.access_scope, u.include_unassigned, u.availability, \
     u.timezone, u.working_hours, u.capacity";

/// A user from a row of [`USER_COLUMNS`], without their team ids (see
/// [`with_teams`]).
pub(crate) fn user_from_row(row: &AnyRow) -> Result<User, AppError> {
    let role: String = row.try_get("role")?;
    let scope: String = row.try_get("access_scope")?;
    let include_unassigned: i64 = row.try_get("include_unassigned")?;
    let availability: String = row.try_get("availability")?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: Role::parse(&role).ok_or(AppError::Internal)?,
        access: Access {
            scope: AccessScope::parse(&scope).ok_or(AppError::Internal)?,
            include_unassigned: include_unassigned != 0,
            team_ids: Vec::new(),
        },
        availability: Availability::parse(&availability).ok_or(AppError::Internal)?,
        timezone: row.try_get("timezone")?,
        working_hours: json_column(row, "working_hours")?,
        capacity: json_column(row, "capacity")?.unwrap_or_default(),
    })
}

/// A nullable JSON column, parsed.
fn json_column<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    column: &str,
) -> Result<Option<T>, AppError> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| serde_json::from_str(&t).map_err(|_| AppError::Internal))
        .transpose()
}

/// Fills in the user's team ids, which only the `teams` access scope reads
/// (everyone else is spared the query).
pub(crate) async fn with_teams(db: &Db, mut user: User) -> Result<User, AppError> {
    if user.access.scope == AccessScope::Teams {
        let rows =
            sqlx::query("SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY team_id")
                .bind(user.id)
                .fetch_all(db.pool())
                .await?;
        user.access.team_ids = rows
            .iter()
            .map(|r| r.try_get("team_id"))
            .collect::<Result<_, _>>()?;
    }
    Ok(user)
}

/// Validates and normalises an email address (trimmed, lower-case).
///
/// An address must also be one the mail library sends to (`lettre`'s
/// `Address`): a contact whose address it refuses, such as `a..b@x.com`,
/// would get a ticket that no reply could ever leave.
pub fn normalize_email(field: &str, email: &str) -> Result<String, AppError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.parse::<lettre::Address>().is_ok()
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email
                    .chars()
                    .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',')
        });
    if valid {
        Ok(email)
    } else {
        Err(AppError::invalid(field, "Enter a valid email address."))
    }
}

/// The largest position a routing rule or SLA policy may be given.
pub const MAX_POSITION: i64 = 1_000_000;

/// Validates an ordering position, if one is given: 0 to [`MAX_POSITION`].
/// A new rule without one goes after the last (`MAX(position) + 1`), which
/// must not overflow.
pub fn check_position(position: Option<i64>) -> Result<(), AppError> {
    match position {
        Some(p) if !(0..=MAX_POSITION).contains(&p) => Err(AppError::invalid(
            "position",
            format!("Position must be between 0 and {MAX_POSITION}."),
        )),
        _ => Ok(()),
    }
}

/// Validates a required, bounded, single-line name.
pub fn required_text(
    field: &str,
    label: &str,
    value: &str,
    max: usize,
) -> Result<String, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::invalid(field, format!("{label} is required.")));
    }
    if v.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("{label} must be at most {max} characters."),
        ));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(AppError::invalid(
            field,
            format!("{label} must be a single line of text."),
        ));
    }
    Ok(v.to_string())
}

pub async fn get(db: &Db, id: i64) -> Result<Option<User>, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1 AND u.active = 1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    match row {
        Some(r) => Ok(Some(with_teams(db, user_from_row(&r)?).await?)),
        None => Ok(None),
    }
}

/// Active users with their settings, by name, for the people section of
/// the help desk settings: super admins only, like changing them.
pub async fn list_with_settings(db: &Db, actor: &User) -> Result<Vec<User>, AppError> {
    if !actor.is_admin() {
        return Err(AppError::forbidden(
            "Only super admins can see people's settings.",
        ));
    }
    list(db).await
}

/// Active users, by name. Everyone signed in may list them (owner pickers,
/// @mentions).
pub async fn list(db: &Db) -> Result<Vec<User>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.active = 1 ORDER BY u.name, u.id"
    ))
    .fetch_all(db.pool())
    .await?;
    let memberships = sqlx::query("SELECT team_id, user_id FROM team_members ORDER BY team_id")
        .fetch_all(db.pool())
        .await?;
    with_memberships(&rows, &memberships)
}

/// The active users among `ids`, in id order (inactive and unknown ids are
/// left out): two queries whatever their number, where `get` in a loop
/// would be one or two per user (routing reads a whole team this way).
pub async fn get_many(db: &Db, ids: &[i64]) -> Result<Vec<User>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut users = SqlBuilder::new(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.active = 1 AND u.id IN ("
    ));
    users.bind_ints(ids).push(") ORDER BY u.id");
    let rows = users.query().fetch_all(db.pool()).await?;
    let mut memberships =
        SqlBuilder::new("SELECT team_id, user_id FROM team_members WHERE user_id IN (");
    memberships.bind_ints(ids).push(") ORDER BY team_id");
    let memberships = memberships.query().fetch_all(db.pool()).await?;
    with_memberships(&rows, &memberships)
}

/// The `value` column of `rows` grouped by their `key` column, in row
/// order: team memberships by user or by team, decoded once.
fn grouped(rows: &[AnyRow], key: &str, value: &str) -> Result<HashMap<i64, Vec<i64>>, AppError> {
    let mut groups: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in rows {
        groups
            .entry(r.try_get(key)?)
            .or_default()
            .push(r.try_get(value)?);
    }
    Ok(groups)
}

/// Users decoded from `rows`, each with its team ids from the
/// `team_members` rows (`team_id`, `user_id`). The memberships are grouped
/// into a map once: looking each user up in every membership row (by
/// column name) grew with users x memberships.
fn with_memberships(rows: &[AnyRow], memberships: &[AnyRow]) -> Result<Vec<User>, AppError> {
    let mut teams_of = grouped(memberships, "user_id", "team_id")?;
    rows.iter()
        .map(|r| {
            let mut user = user_from_row(r)?;
            user.access.team_ids = teams_of.remove(&user.id).unwrap_or_default();
            Ok(user)
        })
        .collect()
}

pub async fn create(db: &Db, actor: &User, input: NewUser) -> Result<User, AppError> {
    if !actor.is_admin() {
        return Err(AppError::forbidden("Only super admins can add users."));
    }
    create_unchecked(db, input).await
}

/// Creates a user without an authorisation check: used by start-up (the
/// first super admin) and demo seeding, never by a request path.
pub async fn create_unchecked(db: &Db, input: NewUser) -> Result<User, AppError> {
    let email = normalize_email("email", &input.email)?;
    let name = required_text("name", "Name", &input.name, 120)?;
    let hash = match &input.password {
        Some(p) => {
            if p.chars().count() < 8 {
                return Err(AppError::invalid(
                    "password",
                    "Password must be at least 8 characters.",
                ));
            }
            if p.len() > 1024 {
                return Err(AppError::invalid("password", "Password is too long."));
            }
            hash_password(p)?
        }
        // An unusable hash: no password verifies against it.
        None => "!".to_string(),
    };
    let mut teams = input.teams.clone();
    for id in &input.team_ids {
        if !teams.iter().any(|t| t.id == *id) {
            teams.push(TeamMembership {
                id: *id,
                main: true,
            });
        }
    }
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "INSERT INTO users (email, name, role, password_hash, active, created_at, \
         access_scope, include_unassigned) \
         VALUES ($1, $2, $3, $4, 1, $5, $6, $7) RETURNING id",
    )
    .bind(&email)
    .bind(&name)
    .bind(input.role.as_str())
    .bind(hash)
    .bind(now_ms())
    .bind(input.access.as_str())
    .bind(i64::from(input.include_unassigned))
    .fetch_one(tx.conn())
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => {
            AppError::Conflict("A user with this email already exists.".into())
        }
        other => other,
    })?;
    let id: i64 = row.try_get("id")?;
    set_memberships(tx.conn(), id, &teams).await?;
    tx.commit().await?;
    Ok(User {
        id,
        email,
        name,
        role: input.role,
        access: Access {
            scope: input.access,
            include_unassigned: input.include_unassigned,
            team_ids: {
                let mut ids: Vec<i64> = teams.iter().map(|t| t.id).collect();
                ids.sort_unstable();
                ids
            },
        },
        availability: Availability::Available,
        timezone: "UTC".into(),
        working_hours: None,
        capacity: Default::default(),
    })
}

/// Replaces a user's team memberships.
async fn set_memberships(
    conn: &mut AnyConnection,
    user_id: i64,
    teams: &[TeamMembership],
) -> Result<(), AppError> {
    sqlx::query("DELETE FROM team_members WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for (i, team) in teams.iter().enumerate() {
        if teams[..i].iter().any(|t| t.id == team.id) {
            return Err(AppError::invalid("teams", "A team is listed twice."));
        }
        let exists = sqlx::query("SELECT id FROM teams WHERE id = $1")
            .bind(team.id)
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Err(AppError::invalid("teams", "Unknown team."));
        }
        sqlx::query("INSERT INTO team_members (team_id, user_id, is_main) VALUES ($1, $2, $3)")
            .bind(team.id)
            .bind(user_id)
            .bind(i64::from(team.main))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Changes a user (super admins only). Takes effect at once everywhere,
/// including on the user's open websocket connections, which hear
/// `user.updated` and re-check who they are and what they may see.
pub async fn update(db: &Db, actor: &User, id: i64, patch: UserPatch) -> Result<User, AppError> {
    if !actor.is_admin() {
        return Err(AppError::forbidden("Only super admins can change users."));
    }
    if id == actor.id
        && (patch.active == Some(false) || patch.role.is_some_and(|r| r != Role::SuperAdmin))
    {
        return Err(AppError::invalid(
            "role",
            "You cannot demote or deactivate yourself; ask another super admin.",
        ));
    }
    let name = patch
        .name
        .as_deref()
        .map(|n| required_text("name", "Name", n, 120))
        .transpose()?;
    let mut tx = db.begin_write().await?;
    let exists = sqlx::query("SELECT id FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    if exists.is_none() {
        return Err(AppError::not_found("User"));
    }
    let mut set = crate::db::SqlBuilder::new("UPDATE users SET id = id");
    if let Some(name) = name {
        set.push(", name = ").bind_text(name);
    }
    if let Some(role) = patch.role {
        set.push(", role = ").bind_text(role.as_str());
    }
    if let Some(scope) = patch.access {
        set.push(", access_scope = ").bind_text(scope.as_str());
    }
    if let Some(include) = patch.include_unassigned {
        set.push(", include_unassigned = ")
            .bind_int(i64::from(include));
    }
    if let Some(active) = patch.active {
        set.push(", active = ").bind_int(i64::from(active));
    }
    if let Some(availability) = patch.availability {
        set.push(", availability = ")
            .bind_text(availability.as_str());
        tx.event(PendingEvent::global(
            USER_AVAILABILITY,
            Some(actor.id),
            json!({ "user_id": id, "availability": availability }),
        ));
    }
    if let Some(timezone) = &patch.timezone {
        let tz = crate::business_hours::clock::parse_timezone(timezone).ok_or_else(|| {
            AppError::invalid(
                "timezone",
                format!("“{timezone}” is not a timezone (use a name such as Europe/Madrid)."),
            )
        })?;
        set.push(", timezone = ").bind_text(tz.name());
    }
    if let Some(hours) = &patch.working_hours {
        crate::business_hours::validate_weekly(hours)
            .map_err(|m| AppError::invalid("working_hours", m))?;
        match hours.is_empty() {
            true => set.push(", working_hours = NULL"),
            false => set
                .push(", working_hours = ")
                .bind_text(crate::db::to_json(hours)),
        };
    }
    if patch.timezone.is_some() || patch.working_hours.is_some() {
        // The hours now mean other instants: the schedule is looked at
        // afresh (once: PostgreSQL refuses a column set twice).
        set.push(", schedule_state = NULL");
    }
    if let Some(capacity) = &patch.capacity {
        validate_capacity(tx.conn(), capacity).await?;
        match capacity.is_unlimited() {
            true => set.push(", capacity = NULL"),
            false => set
                .push(", capacity = ")
                .bind_text(crate::db::to_json(capacity)),
        };
    }
    set.push(" WHERE id = ").bind_int(id);
    set.query().execute(tx.conn()).await?;
    if let Some(teams) = &patch.teams {
        set_memberships(tx.conn(), id, teams).await?;
    }
    if patch.active == Some(false) {
        // Deactivation ends every session at once.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    tx.event(PendingEvent::global(
        USER_UPDATED,
        Some(actor.id),
        json!({ "user_id": id }),
    ));
    tx.commit().await?;
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
    ))
    .bind(id)
    .fetch_one(db.pool())
    .await?;
    with_teams(db, user_from_row(&row)?).await
}

/// Checks a routing capacity: sensible limits, known channels and statuses.
async fn validate_capacity(
    conn: &mut AnyConnection,
    capacity: &crate::routing::Capacity,
) -> Result<(), AppError> {
    let bad = |m: String| AppError::invalid("capacity", m);
    let limits = capacity
        .max_open
        .iter()
        .chain(capacity.per_channel.values());
    if limits.into_iter().any(|n| !(0..=10_000).contains(n)) {
        return Err(bad(
            "Capacity limits are between 0 and 10000 open tickets.".into()
        ));
    }
    for channel in capacity.per_channel.keys() {
        if !crate::tickets::CHANNELS.contains(&channel.as_str()) {
            return Err(bad(format!("“{channel}” is not a channel.")));
        }
    }
    for status in &capacity.excluded_statuses {
        sqlx::query("SELECT id FROM pipeline_statuses WHERE id = $1")
            .bind(*status)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| bad(format!("Status {status} does not exist.")))?;
    }
    Ok(())
}

/// Sets the caller's own availability; everyone sees it live.
pub async fn set_availability(
    db: &Db,
    actor: &User,
    availability: Availability,
) -> Result<User, AppError> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE users SET availability = $1 WHERE id = $2")
        .bind(availability.as_str())
        .bind(actor.id)
        .execute(tx.conn())
        .await?;
    tx.event(PendingEvent::global(
        USER_AVAILABILITY,
        Some(actor.id),
        json!({ "user_id": actor.id, "availability": availability }),
    ));
    tx.commit().await?;
    Ok(User {
        availability,
        ..actor.clone()
    })
}

pub async fn count(db: &Db) -> Result<i64, AppError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get("n")?)
}

pub async fn list_teams(db: &Db) -> Result<Vec<Team>, AppError> {
    let teams = sqlx::query("SELECT id, name FROM teams ORDER BY name, id")
        .fetch_all(db.pool())
        .await?;
    let members = sqlx::query("SELECT team_id, user_id FROM team_members ORDER BY user_id")
        .fetch_all(db.pool())
        .await?;
    let mut members_of = grouped(&members, "team_id", "user_id")?;
    teams
        .iter()
        .map(|t| {
            let id: i64 = t.try_get("id")?;
            Ok(Team {
                id,
                name: t.try_get("name")?,
                member_ids: members_of.remove(&id).unwrap_or_default(),
            })
        })
        .collect()
}

pub async fn create_team(db: &Db, actor: &User, name: &str) -> Result<Team, AppError> {
    if !actor.is_admin() {
        return Err(AppError::forbidden("Only super admins can add teams."));
    }
    create_team_unchecked(db, name).await
}

pub async fn create_team_unchecked(db: &Db, name: &str) -> Result<Team, AppError> {
    let name = required_text("name", "Team name", name, 80)?;
    let mut tx = db.begin_write().await?;
    let row = sqlx::query("INSERT INTO teams (name, created_at) VALUES ($1, $2) RETURNING id")
        .bind(&name)
        .bind(now_ms())
        .fetch_one(tx.conn())
        .await
        .map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => {
                AppError::Conflict("A team with this name already exists.".into())
            }
            other => other,
        })?;
    tx.commit().await?;
    Ok(Team {
        id: row.try_get("id")?,
        name,
        member_ids: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("e", "  Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        for good in ["first.last+tag@mail.example.co", "o'brien@x.io"] {
            assert_eq!(normalize_email("e", good).unwrap(), good);
        }
        for bad in [
            "",
            "ana",
            "@x.com",
            "ana@",
            "ana@x",
            "a b@x.com",
            "a@x.com>",
            "a@.com",
            // Refused by the mail library, so no reply could be sent.
            "a..b@x.com",
            "a;b@x.com",
            "a@b@x.com",
        ] {
            assert!(normalize_email("e", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn positions_stay_in_range() {
        assert!(check_position(None).is_ok());
        assert!(check_position(Some(0)).is_ok());
        assert!(check_position(Some(MAX_POSITION)).is_ok());
        assert!(check_position(Some(-1)).is_err());
        assert!(check_position(Some(i64::MAX)).is_err());
    }

    #[test]
    fn required_text_trims_and_limits() {
        assert_eq!(required_text("s", "Subject", "  hi ", 10).unwrap(), "hi");
        assert!(required_text("s", "Subject", "   ", 10).is_err());
        assert!(required_text("s", "Subject", "abcdefghijk", 10).is_err());
        assert!(required_text("s", "Subject", "a\nb", 10).is_err());
    }
}
