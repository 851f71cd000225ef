//! Sidebar layouts: SQL, versions and which layout a user sees.

use super::{validate_cards, Card, SidebarLayout, SidebarLayoutInput};
use crate::db::{now_ms, to_json, Db, SqlBuilder};
use crate::error::AppError;
use crate::settings::{require_admin, settings_changed};
use crate::users::User;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

const COLUMNS: &str = "l.team_id, l.version, l.cards, l.created_at, u.name AS saved_by";
const FROM: &str = "FROM sidebar_layouts l LEFT JOIN users u ON u.id = l.saved_by";

fn from_row(row: &AnyRow) -> Result<SidebarLayout, AppError> {
    let cards: String = row.try_get("cards")?;
    Ok(SidebarLayout {
        team_id: row.try_get("team_id")?,
        version: row.try_get("version")?,
        cards: serde_json::from_str::<Vec<Card>>(&cards).map_err(|_| AppError::Internal)?,
        saved_at: row.try_get("created_at")?,
        saved_by: row.try_get("saved_by")?,
    })
}

/// `team_id = $n`, or `IS NULL` for the default layout.
fn push_scope(sql: &mut SqlBuilder, team_id: Option<i64>) {
    match team_id {
        Some(team) => {
            sql.push(" l.team_id = ").bind_int(team);
        }
        None => {
            sql.push(" l.team_id IS NULL");
        }
    }
}

/// The current layout of a scope (the default when `team_id` is None), or
/// `None` when it was never saved.
async fn current(
    conn: &mut AnyConnection,
    team_id: Option<i64>,
) -> Result<Option<SidebarLayout>, AppError> {
    let mut sql = SqlBuilder::new(&format!("SELECT {COLUMNS} {FROM} WHERE"));
    push_scope(&mut sql, team_id);
    sql.push(" ORDER BY l.version DESC LIMIT 1");
    sql.query()
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The default layout (saved or built in) and every team's current one.
pub async fn list(db: &Db) -> Result<Vec<SidebarLayout>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} {FROM} WHERE l.version = (SELECT MAX(m.version) FROM sidebar_layouts m \
         WHERE COALESCE(m.team_id, 0) = COALESCE(l.team_id, 0)) ORDER BY COALESCE(l.team_id, 0)"
    ))
    .fetch_all(db.pool())
    .await?;
    let mut layouts: Vec<SidebarLayout> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    if layouts.first().is_none_or(|l| l.team_id.is_some()) {
        layouts.insert(0, SidebarLayout::built_in());
    }
    Ok(layouts)
}

/// The layout `user` sees: their first team's (by team id) that has one,
/// else the default. `as_team` previews a team's layout (admins).
pub async fn for_user(
    db: &Db,
    user: &User,
    as_team: Option<i64>,
) -> Result<SidebarLayout, AppError> {
    let mut conn = db.pool().acquire().await?;
    if let Some(team) = as_team {
        require_admin(user)?;
        if let Some(layout) = current(&mut conn, Some(team)).await? {
            return Ok(layout);
        }
    } else {
        let team = sqlx::query(
            "SELECT l.team_id FROM sidebar_layouts l JOIN team_members m ON m.team_id = l.team_id \
             WHERE m.user_id = $1 ORDER BY l.team_id LIMIT 1",
        )
        .bind(user.id)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = team {
            if let Some(layout) = current(&mut conn, row.try_get("team_id")?).await? {
                return Ok(layout);
            }
        }
    }
    Ok(current(&mut conn, None)
        .await?
        .unwrap_or_else(SidebarLayout::built_in))
}

/// Saves a new version of a layout; agents with a ticket open see it at
/// once.
pub async fn save(
    db: &Db,
    actor: &User,
    input: SidebarLayoutInput,
) -> Result<SidebarLayout, AppError> {
    require_admin(actor)?;
    validate_cards(&input.cards).map_err(|m| AppError::invalid("cards", m))?;
    let mut tx = db.begin_write().await?;
    if let Some(team) = input.team_id {
        sqlx::query("SELECT id FROM teams WHERE id = $1")
            .bind(team)
            .fetch_optional(tx.conn())
            .await?
            .ok_or_else(|| AppError::invalid("team_id", "That team does not exist."))?;
    }
    let version = current(tx.conn(), input.team_id)
        .await?
        .map_or(1, |l| l.version + 1);
    sqlx::query(
        "INSERT INTO sidebar_layouts (team_id, version, cards, saved_by, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(input.team_id)
    .bind(version)
    .bind(to_json(&input.cards))
    .bind(actor.id)
    .bind(now_ms())
    .execute(tx.conn())
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => AppError::Conflict(
            "Someone else saved this layout at the same moment; reload and try again.".into(),
        ),
        other => other,
    })?;
    tx.event(settings_changed(actor, "sidebar"));
    tx.commit().await?;
    current(&mut *db.pool().acquire().await?, input.team_id)
        .await?
        .ok_or(AppError::Internal)
}

/// Every saved version of a scope, newest first.
pub async fn versions(
    db: &Db,
    actor: &User,
    team_id: Option<i64>,
) -> Result<Vec<SidebarLayout>, AppError> {
    require_admin(actor)?;
    let mut sql = SqlBuilder::new(&format!("SELECT {COLUMNS} {FROM} WHERE"));
    push_scope(&mut sql, team_id);
    sql.push(" ORDER BY l.version DESC LIMIT 100");
    sql.query()
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Saves an older version again, as the newest.
pub async fn rollback(
    db: &Db,
    actor: &User,
    team_id: Option<i64>,
    version: i64,
) -> Result<SidebarLayout, AppError> {
    require_admin(actor)?;
    let mut sql = SqlBuilder::new(&format!("SELECT {COLUMNS} {FROM} WHERE"));
    push_scope(&mut sql, team_id);
    sql.push(" AND l.version = ").bind_int(version);
    let old = sql
        .query()
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(from_row)
        .transpose()?
        .ok_or_else(|| AppError::not_found("Layout version"))?;
    save(
        db,
        actor,
        SidebarLayoutInput {
            team_id,
            cards: old.cards,
        },
    )
    .await
}

/// Removes a team's layout (every version): its members see the default.
pub async fn remove_team_layout(db: &Db, actor: &User, team_id: i64) -> Result<(), AppError> {
    require_admin(actor)?;
    let mut tx = db.begin_write().await?;
    let done = sqlx::query("DELETE FROM sidebar_layouts WHERE team_id = $1")
        .bind(team_id)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::not_found("Team layout"));
    }
    tx.event(settings_changed(actor, "sidebar"));
    tx.commit().await
}
