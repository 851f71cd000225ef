//! View rules and SQL: what each default view and each custom view filters,
//! who may see and change a custom view, its history, the counts beside
//! every view, and each user's choice and order of views.

use super::filter::{PersonValue, Test};
use super::{
    counts_from_buckets, CountBucket, CustomView, NewView, Property, Sharing, ViewCount,
    ViewDefinition, ViewId, ViewKey, ViewKind, ViewPatch, ViewPreferences, ViewSummary,
    ViewVersion, DAY_MS,
};
use crate::access::push_ticket_filter;
use crate::db::{now_ms, Db, SqlBuilder, WriteTx};
use crate::error::AppError;
use crate::events::{self, log::PendingEvent};
use crate::state::AppState;
use crate::tickets::{SortKey, TicketPage, TicketQuery};
use crate::users::service::required_text;
use crate::users::User;
use crate::workspace::directory::Directory;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;

const MAX_NAME_CHARS: usize = 80;

/// Appends the default view's condition (starting with " AND ") for ticket
/// alias `t`.
///
/// The conditions of the bucketed views repeat the WHERE clauses of the
/// partial indexes in migration 0002 exactly, so each view pages along its
/// own index. My mentions and Followers start from the viewer's (small)
/// list of mentioned or followed tickets.
pub fn push_filter(sql: &mut SqlBuilder, view: ViewId, actor: &User) {
    push_filter_along(sql, view, actor, false);
}

/// [`push_filter`], where My mentions and Followers may walk the page's
/// sort index instead (`along_sort_index`).
///
/// Starting from the viewer's list costs a lookup of every ticket on it,
/// open or closed, and a sort: right for the usual list of a few dozen
/// tickets, but ten milliseconds and more for a team lead who follows
/// thousands. Walking the open tickets in page order and checking each
/// against the list costs about one step per (all tickets / listed
/// tickets) for each row of the page instead, which is cheaper once the
/// list is long (see `tickets::service::personal_list_is_long`). Written
/// `+t.id` so that SQLite does not use the list to look tickets up.
pub fn push_filter_along(sql: &mut SqlBuilder, view: ViewId, actor: &User, along_sort_index: bool) {
    let id = if along_sort_index { "+t.id" } else { "t.id" };
    match view {
        ViewId::Unassigned => {
            sql.push(" AND t.owner_id IS NULL AND t.status_category <> 'closed'");
        }
        ViewId::Mine => {
            sql.push(" AND t.owner_id = ").bind_int(actor.id);
            sql.push(" AND t.status_category <> 'closed'");
        }
        ViewId::Open => {
            sql.push(" AND t.status_category <> 'closed'");
        }
        ViewId::Mentions => {
            sql.push(" AND t.status_category <> 'closed'");
            sql.push(&format!(
                " AND {id} IN (SELECT ticket_id FROM mentions WHERE user_id = "
            ))
            .bind_int(actor.id)
            .push(")");
        }
        ViewId::Followers => {
            sql.push(" AND t.status_category <> 'closed'");
            sql.push(&format!(
                " AND {id} IN (SELECT ticket_id FROM followers WHERE user_id = "
            ))
            .bind_int(actor.id)
            .push(")");
        }
        ViewId::Closed => {
            sql.push(" AND t.status_category = 'closed'");
        }
        ViewId::SlaDueSoon => {
            sql.push(" AND t.sla_state = 'due_soon'");
        }
        ViewId::SlaOverdue => {
            sql.push(" AND t.sla_state = 'overdue'");
        }
        ViewId::Trash => {
            // Merged tickets stay out: they are part of their primary.
            sql.push(" AND t.deleted_at IS NOT NULL AND t.merged_into_id IS NULL");
            return;
        }
    }
    sql.push(crate::tickets::service::LISTED);
}

/// The ticket column a property is stored in (company goes through the
/// contact and is handled apart).
fn column(property: Property) -> &'static str {
    match property {
        Property::Status => "t.status_id",
        Property::StatusCategory => "t.status_category",
        Property::Priority => "t.priority",
        Property::Category => "t.category",
        Property::Owner => "t.owner_id",
        Property::Team => "t.team_id",
        Property::Channel => "t.channel",
        Property::Contact | Property::Company => "t.contact_id",
        Property::Pipeline => "t.pipeline_id",
        Property::CreatedAt => "t.created_at",
        Property::UpdatedAt => "t.updated_at",
        Property::LastCustomerMessageAt => "t.last_inbound_at",
        Property::SlaState => "t.sla_state",
        Property::SlaDueAt => "t.sla_due_at",
    }
}

/// `col IN ($1, $2, ...)` (or `NOT IN`) for the given values.
fn push_in(sql: &mut SqlBuilder, col: &str, not: bool, ints: &[i64], texts: &[String]) {
    sql.push(col).push(if not { " NOT IN (" } else { " IN (" });
    let mut first = true;
    for v in ints {
        if !first {
            sql.push(", ");
        }
        sql.bind_int(*v);
        first = false;
    }
    for v in texts {
        if !first {
            sql.push(", ");
        }
        sql.bind_text(v.clone());
        first = false;
    }
    sql.push(")");
}

/// The expression a condition tests. Priority and creation date are
/// indexed for sorting; a filter on them written plainly would lead the
/// database to gather every match through that index and sort them all
/// (hundreds of thousands of rows for "priority is high or urgent"). Written
/// as `col + 0` they are tested row by row while the page walks along the
/// index of the view's sort key and stops after one page, as the default
/// views do. Unchanged when the view sorts by that very column.
fn filter_expr(property: Property, sort: SortKey) -> String {
    let col = column(property);
    let sorts_by_it = matches!(
        (property, sort),
        (Property::Priority, SortKey::Priority) | (Property::CreatedAt, SortKey::Created)
    );
    if matches!(property, Property::Priority | Property::CreatedAt) && !sorts_by_it {
        format!("({col} + 0)")
    } else {
        col.to_string()
    }
}

/// Appends one condition, parenthesised. `now` anchors relative dates.
fn push_condition(
    sql: &mut SqlBuilder,
    property: Property,
    test: &Test,
    negate: bool,
    actor: &User,
    now: i64,
    sort: SortKey,
) {
    let col = filter_expr(property, sort);
    let col = col.as_str();
    sql.push("(");
    if property == Property::Company {
        // Tickets whose contact belongs to one of the companies.
        let pick = |sql: &mut SqlBuilder| {
            sql.push("t.contact_id IN (SELECT id FROM contacts WHERE ");
        };
        match test {
            Test::Known | Test::Unknown => {
                if matches!(test, Test::Unknown) {
                    sql.push("t.contact_id IS NULL OR NOT ");
                }
                pick(sql);
                sql.push("company_id IS NOT NULL)");
            }
            Test::Ints(ids) => {
                if negate {
                    sql.push("t.contact_id IS NULL OR NOT ");
                }
                pick(sql);
                push_in(sql, "company_id", false, ids, &[]);
                sql.push(")");
            }
            _ => {
                sql.push("1 = 0");
            }
        }
        sql.push(")");
        return;
    }
    let nullable = property.is_nullable();
    match test {
        Test::Known => {
            sql.push(col).push(" IS NOT NULL");
        }
        Test::Unknown => {
            sql.push(col).push(" IS NULL");
        }
        Test::Ints(ints) => push_set(sql, col, ints, &[], false, negate, nullable),
        Test::Texts(texts) => push_set(sql, col, &[], texts, false, negate, nullable),
        Test::People(people) => {
            let mut ids: Vec<i64> = Vec::new();
            let mut none = false;
            for p in people {
                match p {
                    PersonValue::Id(id) => ids.push(*id),
                    PersonValue::Me => ids.push(actor.id),
                    PersonValue::None => none = true,
                }
            }
            push_set(sql, col, &ids, &[], none, negate, nullable);
        }
        Test::At { ms, after } => {
            sql.push(col)
                .push(if *after { " >= " } else { " < " })
                .bind_int(*ms);
        }
        Test::Days { days, within } => {
            sql.push(col)
                .push(if *within { " >= " } else { " < " })
                .bind_int(now - days * DAY_MS);
        }
    }
    sql.push(")");
}

/// "is any of" / "is none of" a set of values, where `none` stands for an
/// empty property. "is none of" also matches empty properties (a ticket
/// without a team is none of Billing and Support), unless "none" is one of
/// the values.
fn push_set(
    sql: &mut SqlBuilder,
    col: &str,
    ints: &[i64],
    texts: &[String],
    none: bool,
    negate: bool,
    nullable: bool,
) {
    let has_values = !ints.is_empty() || !texts.is_empty();
    if !negate {
        match (has_values, none) {
            (true, true) => {
                push_in(sql, col, false, ints, texts);
                sql.push(" OR ").push(col).push(" IS NULL");
            }
            (true, false) => push_in(sql, col, false, ints, texts),
            (false, _) => {
                sql.push(col).push(" IS NULL");
            }
        }
    } else {
        match (has_values, none) {
            (true, true) => {
                sql.push(col).push(" IS NOT NULL AND ");
                push_in(sql, col, true, ints, texts);
            }
            (true, false) => {
                if nullable {
                    sql.push(col).push(" IS NULL OR ");
                }
                push_in(sql, col, true, ints, texts);
            }
            (false, _) => {
                sql.push(col).push(" IS NOT NULL");
            }
        }
    }
}

/// Appends a custom view's filter groups (starting with " AND "): any group
/// whose conditions all hold. Nothing for a view without groups. `sort` is
/// the key the page is sorted by (see [`filter_expr`]).
pub fn push_definition(
    sql: &mut SqlBuilder,
    definition: &ViewDefinition,
    actor: &User,
    sort: SortKey,
) -> Result<(), AppError> {
    if definition.groups.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    sql.push(" AND (");
    for (g, group) in definition.groups.iter().enumerate() {
        if g > 0 {
            sql.push(" OR ");
        }
        sql.push("(");
        for (c, condition) in group.iter().enumerate() {
            if c > 0 {
                sql.push(" AND ");
            }
            let test = condition
                .test()
                .map_err(|m| AppError::invalid("definition", m))?;
            let negate = condition.op == super::Operator::IsNoneOf;
            push_condition(sql, condition.property, &test, negate, actor, now, sort);
        }
        sql.push(")");
    }
    sql.push(")");
    // Implied, but spelled out in the words of the partial index on active
    // tickets (migration 0002) so that the database can page along it.
    if only_active(definition) {
        sql.push(" AND t.status_category <> 'closed'");
    }
    Ok(())
}

/// Does every group keep closed tickets out (a status category condition
/// that allows only open and waiting, or excludes closed)?
fn only_active(definition: &ViewDefinition) -> bool {
    !definition.groups.is_empty()
        && definition.groups.iter().all(|group| {
            group.iter().any(|c| {
                c.property == Property::StatusCategory
                    && match c.test() {
                        Ok(Test::Texts(values)) => match c.op {
                            super::Operator::IsAnyOf => !values.iter().any(|v| v == "closed"),
                            super::Operator::IsNoneOf => values.iter().any(|v| v == "closed"),
                            _ => false,
                        },
                        _ => false,
                    }
            })
        })
}

/// The bucketed default views' counts for `actor`, from the maintained
/// count buckets: a read of a table of (owners x teams x 2) rows, whatever
/// the number of tickets.
pub async fn counts(db: &Db, actor: &User) -> Result<Vec<ViewCount>, AppError> {
    Ok(counts_from_buckets(&count_buckets(db).await?, actor))
}

/// Every non-empty row of the maintained `ticket_counts` table.
pub async fn count_buckets(db: &Db) -> Result<Vec<CountBucket>, AppError> {
    read_count_buckets(db.pool()).await
}

/// [`count_buckets`] on a given connection, to read them in the same
/// snapshot as something else (the hub reads them with the events).
pub async fn read_count_buckets<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
) -> Result<Vec<CountBucket>, AppError> {
    let rows = sqlx::query("SELECT owner_key, team_key, closed, n FROM ticket_counts WHERE n <> 0")
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|r| {
            let owner: i64 = r.try_get("owner_key")?;
            let team: i64 = r.try_get("team_key")?;
            let closed: i64 = r.try_get("closed")?;
            Ok(CountBucket {
                owner_id: (owner != 0).then_some(owner),
                team_id: (team != 0).then_some(team),
                closed: closed != 0,
                n: r.try_get("n")?,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()
        // In a fixed order, so two reads compare equal when nothing moved
        // (the hub broadcasts counts only when they changed).
        .map(|mut buckets| {
            buckets.sort_unstable_by_key(|b| (b.owner_id, b.team_id, b.closed));
            buckets
        })
}

/// Counts beside views stop here and show "10,000+": beyond it nobody reads
/// the exact number, and counting stops after that many matches instead of
/// visiting every ticket of a broad view.
pub const COUNT_CAP: i64 = 10_000;

/// Counts (up to [`COUNT_CAP`] + 1) the tickets of a view filter that
/// `actor` may see.
async fn count_where(
    db: &Db,
    actor: &User,
    filter: impl FnOnce(&mut SqlBuilder) -> Result<(), AppError>,
) -> Result<i64, AppError> {
    let mut sql = SqlBuilder::new("SELECT COUNT(*) AS n FROM (SELECT 1 FROM tickets t WHERE 1 = 1");
    filter(&mut sql)?;
    push_ticket_filter(&mut sql, actor);
    sql.push(" LIMIT ").bind_int(COUNT_CAP + 1).push(") capped");
    Ok(sql.query().fetch_one(db.pool()).await?.try_get("n")?)
}

const VIEW_SELECT: &str = "SELECT v.id, v.name, v.owner_id, u.name AS owner_name, v.sharing, \
    v.definition, v.version, v.updated_at FROM views v JOIN users u ON u.id = v.owner_id";

/// May `actor`, a member of `actor_teams`, see the view: their own, or
/// shared with them? Admins see every shared view, so that they can
/// maintain them; collaborators see none.
fn visible_to(view: &CustomView, actor: &User, actor_teams: &[i64]) -> bool {
    actor.can_work_tickets()
        && (view.owner_id == actor.id
            || match view.sharing {
                Sharing::Private => false,
                Sharing::Everyone => true,
                Sharing::Teams => {
                    actor.is_admin() || view.team_ids.iter().any(|t| actor_teams.contains(t))
                }
            })
}

/// May `actor` change or delete the view? Its owner, and admins for shared
/// views (and their own).
fn editable_by(actor: &User, owner_id: i64, sharing: Sharing) -> bool {
    actor.can_work_tickets()
        && (owner_id == actor.id || (actor.is_admin() && sharing != Sharing::Private))
}

/// A stored view; `editable` is left false, as it depends on who asks.
fn view_from_row(row: &AnyRow, teams: &HashMap<i64, Vec<i64>>) -> Result<CustomView, AppError> {
    let id: i64 = row.try_get("id")?;
    let sharing: String = row.try_get("sharing")?;
    let sharing = Sharing::parse(&sharing).ok_or(AppError::Internal)?;
    let definition: String = row.try_get("definition")?;
    let owner_id: i64 = row.try_get("owner_id")?;
    Ok(CustomView {
        id,
        name: row.try_get("name")?,
        owner_id,
        owner_name: row.try_get("owner_name")?,
        sharing,
        team_ids: teams.get(&id).cloned().unwrap_or_default(),
        definition: serde_json::from_str(&definition).map_err(|e| {
            tracing::error!(view = id, error = %e, "stored view definition does not parse");
            AppError::Internal
        })?,
        version: row.try_get("version")?,
        editable: false,
        updated_at: row.try_get("updated_at")?,
    })
}

/// `view` as `actor` sees it: whether they may change it is theirs.
fn as_seen_by(view: &CustomView, actor: &User) -> CustomView {
    CustomView {
        editable: editable_by(actor, view.owner_id, view.sharing),
        ..view.clone()
    }
}

/// Every custom view, by name, for the workspace directory.
pub async fn all_views(db: &Db) -> Result<Vec<CustomView>, AppError> {
    let rows = sqlx::query(&format!("{VIEW_SELECT} ORDER BY v.name, v.id"))
        .fetch_all(db.pool())
        .await?;
    let teams = view_teams(db, None).await?;
    rows.iter().map(|r| view_from_row(r, &teams)).collect()
}

/// The custom views `actor` may see, by name, out of the directory.
pub fn visible_views(directory: &Directory, actor: &User) -> Vec<CustomView> {
    let actor_teams: Vec<i64> = directory
        .teams
        .iter()
        .filter(|t| t.member_ids.contains(&actor.id))
        .map(|t| t.id)
        .collect();
    directory
        .views
        .iter()
        .filter(|v| visible_to(v, actor, &actor_teams))
        .map(|v| as_seen_by(v, actor))
        .collect()
}

/// One custom view `actor` may see; "not found" otherwise. Read from the
/// database, not the directory: the write paths check and answer with it.
pub async fn get(db: &Db, actor: &User, id: i64) -> Result<CustomView, AppError> {
    if !actor.can_work_tickets() {
        return Err(AppError::not_found("View"));
    }
    let row = sqlx::query(&format!("{VIEW_SELECT} WHERE v.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| AppError::not_found("View"))?;
    let view = view_from_row(&row, &view_teams(db, Some(id)).await?)?;
    let actor_teams: Vec<i64> = if view.sharing == Sharing::Teams {
        sqlx::query_scalar("SELECT team_id FROM team_members WHERE user_id = $1")
            .bind(actor.id)
            .fetch_all(db.pool())
            .await?
    } else {
        Vec::new()
    };
    if !visible_to(&view, actor, &actor_teams) {
        return Err(AppError::not_found("View"));
    }
    Ok(as_seen_by(&view, actor))
}

/// The teams each view is shared with: one view's, or every view's.
async fn view_teams(db: &Db, view: Option<i64>) -> Result<HashMap<i64, Vec<i64>>, AppError> {
    let mut sql = SqlBuilder::new("SELECT view_id, team_id FROM view_teams");
    if let Some(id) = view {
        sql.push(" WHERE view_id = ").bind_int(id);
    }
    sql.push(" ORDER BY view_id, team_id");
    let rows = sql.query().fetch_all(db.pool()).await?;
    let mut map: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in rows {
        map.entry(r.try_get("view_id")?)
            .or_default()
            .push(r.try_get("team_id")?);
    }
    Ok(map)
}

/// The validated name, sharing and teams of a view `actor` saves. Agents
/// share with their own teams; sharing with everyone, or with teams they
/// are not in, is for admins.
async fn check_view(
    tx: &mut WriteTx,
    actor: &User,
    name: &str,
    sharing: Sharing,
    team_ids: &[i64],
    definition: &ViewDefinition,
) -> Result<(String, Vec<i64>), AppError> {
    let name = required_text("name", "View name", name, MAX_NAME_CHARS)?;
    definition
        .validate()
        .map_err(|m| AppError::invalid("definition", m))?;
    let mut teams: Vec<i64> = team_ids.to_vec();
    teams.sort_unstable();
    teams.dedup();
    match sharing {
        Sharing::Teams if teams.is_empty() => {
            return Err(AppError::invalid(
                "team_ids",
                "Choose the teams to share the view with.",
            ));
        }
        Sharing::Teams => {
            for team in &teams {
                let row = sqlx::query(
                    "SELECT t.id, (SELECT COUNT(*) FROM team_members m WHERE m.team_id = t.id AND m.user_id = $2) AS member \
                     FROM teams t WHERE t.id = $1",
                )
                .bind(*team)
                .bind(actor.id)
                .fetch_optional(tx.conn())
                .await?
                .ok_or_else(|| AppError::invalid("team_ids", "That team does not exist."))?;
                let member: i64 = row.try_get("member")?;
                if member == 0 && !actor.is_admin() {
                    return Err(AppError::forbidden(
                        "You can share views only with your own teams.",
                    ));
                }
            }
        }
        Sharing::Everyone if !actor.is_admin() => {
            return Err(AppError::forbidden(
                "Only super admins can share a view with everyone.",
            ));
        }
        _ => teams.clear(),
    }
    Ok((name, teams))
}

/// Writes the view's current state as version `version` and its teams.
#[allow(clippy::too_many_arguments)]
async fn record_version(
    tx: &mut WriteTx,
    actor: &User,
    id: i64,
    version: i64,
    name: &str,
    sharing: Sharing,
    teams: &[i64],
    definition: &str,
    now: i64,
) -> Result<(), AppError> {
    sqlx::query("DELETE FROM view_teams WHERE view_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    for team in teams {
        sqlx::query("INSERT INTO view_teams (view_id, team_id) VALUES ($1, $2)")
            .bind(id)
            .bind(*team)
            .execute(tx.conn())
            .await?;
    }
    sqlx::query(
        "INSERT INTO view_versions (view_id, version, name, sharing, team_ids, definition, changed_by, changed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(version)
    .bind(name)
    .bind(sharing.as_str())
    .bind(json!(teams).to_string())
    .bind(definition)
    .bind(actor.id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    // Open workspaces reload their views (the event says which, nothing
    // more: each client asks what it may see).
    tx.event(
        PendingEvent::global(events::VIEW_CHANGED, Some(actor.id), json!({"view_id": id})).at(now),
    );
    Ok(())
}

fn require_seat(actor: &User) -> Result<(), AppError> {
    if actor.can_work_tickets() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "Custom views need a help desk seat; collaborators use the default views.",
        ))
    }
}

/// A view `actor` may see and change: "not found" when they may not see
/// it, "forbidden" when they may see but not change it.
async fn get_editable(db: &Db, actor: &User, id: i64, what: &str) -> Result<CustomView, AppError> {
    let view = get(db, actor, id).await?;
    if view.editable {
        Ok(view)
    } else {
        Err(AppError::forbidden(format!(
            "Only the view's owner or a super admin can {what} a shared view."
        )))
    }
}

/// Creates a custom view owned by `actor` (seat agents and admins).
pub async fn create(db: &Db, actor: &User, input: NewView) -> Result<CustomView, AppError> {
    require_seat(actor)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let (name, teams) = check_view(
        &mut tx,
        actor,
        &input.name,
        input.sharing,
        &input.team_ids,
        &input.definition,
    )
    .await?;
    let definition = serde_json::to_string(&input.definition).map_err(|_| AppError::Internal)?;
    let id: i64 = sqlx::query(
        "INSERT INTO views (name, owner_id, sharing, definition, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id",
    )
    .bind(&name)
    .bind(actor.id)
    .bind(input.sharing.as_str())
    .bind(&definition)
    .bind(now)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    record_version(
        &mut tx,
        actor,
        id,
        1,
        &name,
        input.sharing,
        &teams,
        &definition,
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, actor, id).await
}

/// Changes a custom view; the previous state stays in its history.
pub async fn update(
    db: &Db,
    actor: &User,
    id: i64,
    patch: ViewPatch,
) -> Result<CustomView, AppError> {
    let current = get_editable(db, actor, id, "change").await?;
    let now = now_ms();
    let name = patch.name.unwrap_or(current.name);
    let sharing = patch.sharing.unwrap_or(current.sharing);
    let team_ids = patch.team_ids.unwrap_or(current.team_ids);
    let definition = patch.definition.unwrap_or(current.definition);
    let mut tx = db.begin_write().await?;
    let (name, teams) = check_view(&mut tx, actor, &name, sharing, &team_ids, &definition).await?;
    let definition = serde_json::to_string(&definition).map_err(|_| AppError::Internal)?;
    // Versions come from the row, so two concurrent saves get two numbers.
    let version: i64 = sqlx::query(
        "UPDATE views SET name = $1, sharing = $2, definition = $3, version = version + 1, updated_at = $4 \
         WHERE id = $5 RETURNING version",
    )
    .bind(&name)
    .bind(sharing.as_str())
    .bind(&definition)
    .bind(now)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::not_found("View"))?
    .try_get("version")?;
    record_version(
        &mut tx,
        actor,
        id,
        version,
        &name,
        sharing,
        &teams,
        &definition,
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, actor, id).await
}

/// Deletes a custom view and its history.
pub async fn delete(db: &Db, actor: &User, id: i64) -> Result<(), AppError> {
    get_editable(db, actor, id, "delete").await?;
    let mut tx = db.begin_write().await?;
    for sql in [
        "DELETE FROM view_teams WHERE view_id = $1",
        "DELETE FROM view_versions WHERE view_id = $1",
        "DELETE FROM views WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(tx.conn()).await?;
    }
    sqlx::query("DELETE FROM view_preferences WHERE view_key = $1")
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    tx.event(PendingEvent::global(
        events::VIEW_CHANGED,
        Some(actor.id),
        json!({"view_id": id, "deleted": true}),
    ));
    tx.commit().await
}

/// Every saved state of a view the caller may see, newest first.
pub async fn versions(db: &Db, actor: &User, id: i64) -> Result<Vec<ViewVersion>, AppError> {
    get(db, actor, id).await?;
    let rows = sqlx::query(
        "SELECT vv.version, vv.name, vv.sharing, vv.team_ids, vv.definition, u.name AS changed_by, vv.changed_at \
         FROM view_versions vv LEFT JOIN users u ON u.id = vv.changed_by \
         WHERE vv.view_id = $1 ORDER BY vv.version DESC",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let sharing: String = r.try_get("sharing")?;
            let teams: String = r.try_get("team_ids")?;
            let definition: String = r.try_get("definition")?;
            Ok(ViewVersion {
                version: r.try_get("version")?,
                name: r.try_get("name")?,
                sharing: Sharing::parse(&sharing).ok_or(AppError::Internal)?,
                team_ids: serde_json::from_str(&teams).map_err(|_| AppError::Internal)?,
                definition: serde_json::from_str(&definition).map_err(|_| AppError::Internal)?,
                changed_by: r.try_get("changed_by")?,
                changed_at: r.try_get("changed_at")?,
            })
        })
        .collect()
}

/// Puts a view back as it was at `version`; that is saved as a new version,
/// so a rollback can itself be undone.
pub async fn rollback(
    db: &Db,
    actor: &User,
    id: i64,
    version: i64,
) -> Result<CustomView, AppError> {
    let old = versions(db, actor, id)
        .await?
        .into_iter()
        .find(|v| v.version == version)
        .ok_or_else(|| AppError::invalid("version", "That version does not exist."))?;
    update(
        db,
        actor,
        id,
        ViewPatch {
            name: Some(old.name),
            sharing: Some(old.sharing),
            team_ids: Some(old.team_ids),
            definition: Some(old.definition),
        },
    )
    .await
}

/// The ticket query of a view for `actor`, or "not found" when the view is
/// not theirs to see. `sort` overrides the view's own sort.
pub async fn ticket_query(
    db: &Db,
    actor: &User,
    key: ViewKey,
    sort: Option<(SortKey, bool)>,
) -> Result<TicketQuery, AppError> {
    Ok(match key {
        ViewKey::Default(view) => {
            if !view.available_to(actor.role) {
                return Err(AppError::not_found("View"));
            }
            let (sort, asc) = sort.unwrap_or(view.default_sort());
            TicketQuery {
                view: Some(view),
                sort,
                asc,
                ..Default::default()
            }
        }
        ViewKey::Custom(id) => {
            let view = get(db, actor, id).await?;
            let (sort, asc) = sort.unwrap_or((view.definition.sort, view.definition.asc));
            TicketQuery {
                sort,
                asc,
                custom: Some(view.definition),
                ..Default::default()
            }
        }
    })
}

/// One page of a view's tickets.
pub async fn tickets(
    db: &Db,
    actor: &User,
    key: ViewKey,
    sort: Option<(SortKey, bool)>,
    cursor: Option<String>,
    limit: Option<i64>,
) -> Result<TicketPage, AppError> {
    let mut q = ticket_query(db, actor, key, sort).await?;
    q.cursor = cursor;
    q.limit = limit;
    crate::tickets::service::list(db, actor, &q).await
}

/// The caller's views in their chosen order, each with its count, as of
/// `directory` (custom views and the caller's choice of them come from it).
pub async fn summaries(
    state: &AppState,
    directory: &Directory,
    actor: &User,
) -> Result<Vec<ViewSummary>, AppError> {
    let db = &state.db;
    let bucketed = match state.hub.current_buckets() {
        Some(buckets) => counts_from_buckets(&buckets, actor),
        None => counts(db, actor).await?,
    };
    let mut all: Vec<ViewSummary> = Vec::new();
    for view in ViewId::ALL
        .into_iter()
        .filter(|v| v.available_to(actor.role))
    {
        let personal = match view {
            ViewId::Mentions => Some(super::counter::Personal::Mentions),
            ViewId::Followers => Some(super::counter::Personal::Follows),
            _ => None,
        };
        let maintained = match personal {
            Some(list) => state.hub.view_counter().personal_count(list, actor).await,
            None => None,
        };
        let (count, exact) = match (bucketed.iter().find(|c| c.view == view), maintained) {
            (Some(c), _) => (c.count, true),
            (None, Some(n)) => (n, true),
            (None, None) => {
                // Until the counter's first scan ends (seconds at a million
                // tickets, right after a start), counted in SQL, once per
                // viewer and ticket change rather than on every page.
                let key = CountKey {
                    view: Counted::Default(view),
                    viewer: Some(actor.id),
                };
                let n = cached_count(state, key, false, || {
                    count_where(db, actor, |sql| {
                        push_filter(sql, view, actor);
                        Ok(())
                    })
                })
                .await?;
                (n, false)
            }
        };
        all.push(ViewSummary {
            id: ViewKey::Default(view),
            name: view.label().to_string(),
            kind: ViewKind::Default,
            // Bucketed and maintained counts are exact at any size.
            count: if exact { count } else { count.min(COUNT_CAP) },
            count_capped: !exact && count > COUNT_CAP,
            hidden: false,
            custom: None,
        });
    }
    for view in visible_views(directory, actor) {
        // Maintained counts are exact at any size; until the counter has
        // this version of the view, it is counted in SQL, up to the cap.
        let (count, exact) = match state
            .hub
            .view_counter()
            .count(view.id, view.version, actor)
            .await
        {
            Some(n) => (n, true),
            None => (custom_count(state, actor, &view).await?, false),
        };
        all.push(ViewSummary {
            id: ViewKey::Custom(view.id),
            name: view.name.clone(),
            kind: ViewKind::Custom,
            count: if exact { count } else { count.min(COUNT_CAP) },
            count_capped: !exact && count > COUNT_CAP,
            hidden: false,
            custom: Some(view),
        });
    }
    Ok(apply_preferences(all, &preferences(directory, actor)))
}

/// Who a custom view's count is the same for: everyone who sees every
/// ticket gets the same number unless the view says "me"; anyone else's
/// count is their own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CountKey {
    view: Counted,
    /// None when the count is shared by everyone who sees every ticket.
    viewer: Option<i64>,
}

/// Which view a cached count is of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Counted {
    /// A custom view at one version of its definition.
    Custom { view_id: i64, version: i64 },
    /// A default view the counter does not maintain yet.
    Default(ViewId),
}

#[derive(Debug, Clone, Copy)]
struct CachedCount {
    /// The hub's ticket epoch the count was computed at.
    epoch: u64,
    computed_at: i64,
    n: i64,
}

/// Custom view counts, kept until a ticket changes.
///
/// A custom view's count is a scan of the tickets it filters, hundreds of
/// milliseconds at a million tickets, and every open workspace asks for its
/// views' counts after every change. The count only moves when a ticket
/// does, so it is kept until the event hub publishes the next ticket event
/// (whichever server process made the change: the hub follows the shared
/// log), and shared by everyone it is the same for. Views with relative
/// dates ("in the last 7 days") also move with the clock: theirs are kept a
/// minute at most.
#[derive(Default)]
pub struct CountCache {
    entries: std::sync::Mutex<HashMap<CountKey, CachedCount>>,
    /// One lock per count being computed: when many workspaces reload at
    /// once after a change, the first counts and the others wait for its
    /// result instead of all scanning the same tickets at the same time.
    computing: std::sync::Mutex<HashMap<CountKey, Arc<tokio::sync::Mutex<()>>>>,
}

/// Entries kept at most; beyond it the cache starts over (it is only a
/// cache).
const COUNT_CACHE_ENTRIES: usize = 10_000;
const RELATIVE_DATE_TTL_MS: i64 = 60_000;

impl CountCache {
    fn get(&self, key: &CountKey, epoch: u64, oldest: i64) -> Option<i64> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|c| c.epoch == epoch && c.computed_at >= oldest)
            .map(|c| c.n)
    }

    /// The lock for computing `key`.
    fn lock_for(&self, key: &CountKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut computing = self.computing.lock().unwrap_or_else(|p| p.into_inner());
        if computing.len() >= COUNT_CACHE_ENTRIES {
            // Only locks nobody holds or waits for can go.
            computing.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        computing.entry(key.clone()).or_default().clone()
    }

    fn put(&self, key: CountKey, count: CachedCount) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= COUNT_CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(key, count);
    }
}

/// A custom view's (capped) count for `actor`, from the cache when no
/// ticket changed since it was computed.
async fn custom_count(state: &AppState, actor: &User, view: &CustomView) -> Result<i64, AppError> {
    let definition = &view.definition;
    let conditions = || definition.groups.iter().flatten();
    let says_me =
        conditions().any(|c| c.property == Property::Owner && c.values.iter().any(|v| v == "me"));
    let relative = conditions().any(|c| {
        matches!(
            c.op,
            super::Operator::InLastDays | super::Operator::MoreThanDaysAgo
        )
    });
    let shared = crate::access::sees_all(actor) && !says_me;
    let key = CountKey {
        view: Counted::Custom {
            view_id: view.id,
            version: view.version,
        },
        viewer: (!shared).then_some(actor.id),
    };
    cached_count(state, key, relative, || {
        count_where(&state.db, actor, |sql| {
            sql.push(crate::tickets::service::LISTED);
            push_definition(sql, definition, actor, definition.sort)
        })
    })
    .await
}

/// The count under `key` from the cache when no ticket changed since it was
/// computed (and, for views with relative dates, when it is under a minute
/// old); otherwise `count` runs once while concurrent callers for the same
/// key wait for its result.
async fn cached_count<F>(
    state: &AppState,
    key: CountKey,
    relative: bool,
    count: impl FnOnce() -> F,
) -> Result<i64, AppError>
where
    F: std::future::Future<Output = Result<i64, AppError>>,
{
    // Read before counting: a change committed meanwhile moves the epoch on
    // and the next reader counts again.
    let epoch = state.hub.ticket_epoch();
    let now = now_ms();
    let oldest = if relative {
        now - RELATIVE_DATE_TTL_MS
    } else {
        i64::MIN
    };
    let cache = state.hub.view_counts();
    if let Some(n) = cache.get(&key, epoch, oldest) {
        return Ok(n);
    }
    let lock = cache.lock_for(&key);
    let _computing = lock.lock().await;
    // Someone else may have counted while this one waited.
    if let Some(n) = cache.get(&key, epoch, oldest) {
        return Ok(n);
    }
    let n = count().await?;
    cache.put(
        key,
        CachedCount {
            epoch,
            computed_at: now,
            n,
        },
    );
    Ok(n)
}

/// Orders views as the preferences say (named ones first, in that order;
/// the rest after, as they were) and marks hidden ones.
pub fn apply_preferences(mut views: Vec<ViewSummary>, prefs: &ViewPreferences) -> Vec<ViewSummary> {
    let rank = |k: &ViewKey| {
        prefs
            .order
            .iter()
            .position(|o| o == k)
            .unwrap_or(usize::MAX)
    };
    // A stable sort keeps the default order among unranked views.
    views.sort_by_key(|v| rank(&v.id));
    for v in &mut views {
        v.hidden = prefs.hidden.contains(&v.id);
    }
    views
}

/// The caller's stored choice and order of views, out of the directory.
pub fn preferences(directory: &Directory, actor: &User) -> ViewPreferences {
    directory
        .view_preferences
        .get(&actor.id)
        .cloned()
        .unwrap_or_default()
}

/// Every user's stored choice and order of views, for the directory.
pub async fn all_preferences(db: &Db) -> Result<HashMap<i64, ViewPreferences>, AppError> {
    let rows = sqlx::query(
        "SELECT user_id, view_key, hidden FROM view_preferences ORDER BY user_id, position",
    )
    .fetch_all(db.pool())
    .await?;
    let mut all: HashMap<i64, ViewPreferences> = HashMap::new();
    for r in rows {
        let key: String = r.try_get("view_key")?;
        let hidden: i64 = r.try_get("hidden")?;
        // A deleted custom view's key is simply skipped.
        if let Some(key) = ViewKey::parse(&key) {
            let prefs = all.entry(r.try_get("user_id")?).or_default();
            prefs.order.push(key);
            if hidden != 0 {
                prefs.hidden.push(key);
            }
        }
    }
    Ok(all)
}

/// Replaces the caller's choice and order of views. Every view named must
/// be one of theirs.
pub async fn set_preferences(
    state: &AppState,
    actor: &User,
    prefs: ViewPreferences,
) -> Result<(), AppError> {
    let db = &state.db;
    let directory = state.directory.get(db).await?;
    let mine: Vec<ViewKey> = ViewId::ALL
        .into_iter()
        .filter(|v| v.available_to(actor.role))
        .map(ViewKey::Default)
        .chain(
            visible_views(&directory, actor)
                .into_iter()
                .map(|v| ViewKey::Custom(v.id)),
        )
        .collect();
    let mut order: Vec<ViewKey> = Vec::new();
    for key in prefs.order.iter().chain(prefs.hidden.iter()) {
        if !mine.contains(key) {
            return Err(AppError::invalid(
                "order",
                format!("There is no view {}.", key.slug()),
            ));
        }
        if !order.contains(key) {
            order.push(*key);
        }
    }
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM view_preferences WHERE user_id = $1")
        .bind(actor.id)
        .execute(tx.conn())
        .await?;
    for (position, key) in order.iter().enumerate() {
        sqlx::query(
            "INSERT INTO view_preferences (user_id, view_key, position, hidden) VALUES ($1, $2, $3, $4)",
        )
        .bind(actor.id)
        .bind(key.slug())
        .bind(position as i64)
        .bind(i64::from(prefs.hidden.contains(key)))
        .execute(tx.conn())
        .await?;
    }
    tx.commit().await
}

/// Follows or unfollows a ticket the caller may see.
pub async fn follow(db: &Db, actor: &User, ticket_id: i64, on: bool) -> Result<bool, AppError> {
    // Following a merged ticket follows its primary.
    let ticket_id = crate::tickets::service::get(db, actor, ticket_id).await?.id;
    let mut tx = db.begin_write().await?;
    let changed = if on {
        sqlx::query(
            "INSERT INTO followers (user_id, ticket_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, ticket_id) DO NOTHING",
        )
        .bind(actor.id)
        .bind(ticket_id)
        .bind(now_ms())
        .execute(tx.conn())
        .await?
        .rows_affected()
    } else {
        sqlx::query("DELETE FROM followers WHERE user_id = $1 AND ticket_id = $2")
            .bind(actor.id)
            .bind(ticket_id)
            .execute(tx.conn())
            .await?
            .rows_affected()
    };
    if changed > 0 {
        let text = if on {
            format!("{} started following the ticket.", actor.name)
        } else {
            format!("{} stopped following the ticket.", actor.name)
        };
        crate::messages::service::insert_timeline_event(
            &mut tx,
            ticket_id,
            Some(actor.id),
            &text,
            now_ms(),
        )
        .await?;
        tx.event(PendingEvent::ticket(
            events::TICKET_FOLLOWED,
            ticket_id,
            Some(actor.id),
            json!({"user_id": actor.id, "following": on}),
        ));
    }
    tx.commit().await?;
    Ok(on)
}

/// Does the caller follow the ticket?
pub async fn is_following(db: &Db, actor: &User, ticket_id: i64) -> Result<bool, AppError> {
    let row = sqlx::query("SELECT 1 AS yes FROM followers WHERE user_id = $1 AND ticket_id = $2")
        .bind(actor.id)
        .bind(ticket_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::{Condition, Operator};

    fn actor() -> User {
        User {
            id: 7,
            email: "a@b.c".into(),
            name: "A".into(),
            role: crate::users::Role::Agent,
            access: Default::default(),
            availability: Default::default(),
            timezone: "UTC".into(),
            working_hours: None,
            capacity: Default::default(),
        }
    }

    fn sql_of(groups: Vec<Vec<Condition>>) -> String {
        let mut sql = SqlBuilder::new("");
        push_definition(
            &mut sql,
            &ViewDefinition {
                groups,
                ..Default::default()
            },
            &actor(),
            SortKey::Updated,
        )
        .unwrap();
        sql.sql().to_string()
    }

    fn c(property: Property, op: Operator, values: &[&str]) -> Condition {
        Condition {
            property,
            op,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn groups_are_ored_conditions_anded() {
        let sql = sql_of(vec![
            vec![
                c(Property::Priority, Operator::IsAnyOf, &["high", "urgent"]),
                c(Property::Owner, Operator::IsAnyOf, &["me", "none"]),
            ],
            vec![c(Property::Team, Operator::IsNoneOf, &["3"])],
        ]);
        assert_eq!(
            sql,
            " AND ((((t.priority + 0) IN ($1, $2)) AND (t.owner_id IN ($3) OR t.owner_id IS NULL)) \
             OR ((t.team_id IS NULL OR t.team_id NOT IN ($4))))"
        );
    }

    #[test]
    fn none_of_with_none_excludes_empty() {
        let sql = sql_of(vec![vec![c(
            Property::Owner,
            Operator::IsNoneOf,
            &["none", "4"],
        )]]);
        assert_eq!(
            sql,
            " AND (((t.owner_id IS NOT NULL AND t.owner_id NOT IN ($1))))"
        );
    }

    #[test]
    fn no_groups_means_no_filter() {
        assert_eq!(sql_of(Vec::new()), "");
    }

    #[test]
    fn preferences_order_and_hide() {
        let summary = |k: ViewKey| ViewSummary {
            id: k,
            name: k.slug(),
            kind: ViewKind::Default,
            count: 0,
            count_capped: false,
            hidden: false,
            custom: None,
        };
        let views = vec![
            summary(ViewKey::Default(ViewId::Unassigned)),
            summary(ViewKey::Default(ViewId::Mine)),
            summary(ViewKey::Custom(4)),
        ];
        let prefs = ViewPreferences {
            order: vec![ViewKey::Custom(4), ViewKey::Default(ViewId::Mine)],
            hidden: vec![ViewKey::Default(ViewId::Mine)],
        };
        let out = apply_preferences(views, &prefs);
        let keys: Vec<_> = out.iter().map(|v| (v.id.slug(), v.hidden)).collect();
        assert_eq!(
            keys,
            [
                ("4".to_string(), false),
                ("mine".to_string(), true),
                ("unassigned".to_string(), false)
            ]
        );
    }
}
