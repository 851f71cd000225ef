//! User and team rules and SQL.

use super::{NewUser, Role, Team, User};
use crate::auth::service::hash_password;
use crate::db::{now_ms, Db};
use crate::error::AppError;
use sqlx::any::AnyRow;
use sqlx::Row;

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User, AppError> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: Role::parse(&role).ok_or(AppError::Internal)?,
    })
}

/// Validates and normalises an email address (trimmed, lower-case).
pub fn normalize_email(field: &str, email: &str) -> Result<String, AppError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
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
    let row = sqlx::query("SELECT id, email, name, role FROM users WHERE id = $1 AND active = 1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// Active users, by name. Everyone signed in may list them (owner pickers,
/// @mentions).
pub async fn list(db: &Db) -> Result<Vec<User>, AppError> {
    let rows =
        sqlx::query("SELECT id, email, name, role FROM users WHERE active = 1 ORDER BY name, id")
            .fetch_all(db.pool())
            .await?;
    rows.iter().map(user_from_row).collect()
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
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "INSERT INTO users (email, name, role, password_hash, active, created_at) \
         VALUES ($1, $2, $3, $4, 1, $5) RETURNING id",
    )
    .bind(&email)
    .bind(&name)
    .bind(input.role.as_str())
    .bind(hash)
    .bind(now_ms())
    .fetch_one(tx.conn())
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => {
            AppError::Conflict("A user with this email already exists.".into())
        }
        other => other,
    })?;
    let id: i64 = row.try_get("id")?;
    for team_id in &input.team_ids {
        sqlx::query("INSERT INTO team_members (team_id, user_id, is_main) VALUES ($1, $2, 1)")
            .bind(team_id)
            .bind(id)
            .execute(tx.conn())
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::Invalid { .. } => AppError::invalid("team_ids", "Unknown team."),
                other => other,
            })?;
    }
    tx.commit().await?;
    Ok(User {
        id,
        email,
        name,
        role: input.role,
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
    teams
        .iter()
        .map(|t| {
            let id: i64 = t.try_get("id")?;
            let mut member_ids = Vec::new();
            for m in &members {
                if m.try_get::<i64, _>("team_id")? == id {
                    member_ids.push(m.try_get("user_id")?);
                }
            }
            Ok(Team {
                id,
                name: t.try_get("name")?,
                member_ids,
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
        for bad in [
            "",
            "ana",
            "@x.com",
            "ana@",
            "ana@x",
            "a b@x.com",
            "a@x.com>",
            "a@.com",
        ] {
            assert!(normalize_email("e", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn required_text_trims_and_limits() {
        assert_eq!(required_text("s", "Subject", "  hi ", 10).unwrap(), "hi");
        assert!(required_text("s", "Subject", "   ", 10).is_err());
        assert!(required_text("s", "Subject", "abcdefghijk", 10).is_err());
        assert!(required_text("s", "Subject", "a\nb", 10).is_err());
    }
}
