//! Ticket rules and SQL: create, read, list (keyset), update.

use super::{
    NewTicket, Pipeline, Priority, SortKey, Status, StatusCategory, Ticket, TicketPage,
    TicketPatch, TicketQuery, CATEGORIES, CHANNELS,
};
use crate::access::{can_see, push_ticket_filter};
use crate::contacts;
use crate::db::{now_ms, Db, SqlBuilder, WriteTx};
use crate::error::AppError;
use crate::events::{self, log::PendingEvent};
use crate::messages::service::{insert_entry, insert_first_inbound, insert_timeline_event};
use crate::messages::{sanitize, EntryKind};
use crate::sla::SlaState;
use crate::users::service::required_text;
use crate::users::{Role, User};
use crate::views;
use crate::views::ViewId;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// Longest message body accepted, in characters (about 100 KB of text).
pub const MAX_BODY_CHARS: usize = 100_000;
const MAX_SUBJECT_CHARS: usize = 250;

const SELECT: &str = "SELECT t.id, t.number, t.subject, t.pipeline_id, t.status_id, s.name AS status, \
    t.status_category, t.priority, t.category, t.owner_id, o.name AS owner_name, t.team_id, \
    tm.name AS team_name, t.channel, t.contact_id, c.name AS contact_name, c.email AS contact_email, \
    t.created_at, t.updated_at, t.first_reply_at, t.closed_at, t.sla_state, t.sla_due_at, \
    t.deleted_at, t.split_from_id \
    FROM tickets t JOIN pipeline_statuses s ON s.id = t.status_id \
    LEFT JOIN users o ON o.id = t.owner_id LEFT JOIN teams tm ON tm.id = t.team_id \
    LEFT JOIN contacts c ON c.id = t.contact_id";

fn from_row(row: &AnyRow) -> Result<Ticket, AppError> {
    let category: String = row.try_get("status_category")?;
    let priority: i64 = row.try_get("priority")?;
    Ok(Ticket {
        id: row.try_get("id")?,
        number: row.try_get("number")?,
        subject: row.try_get("subject")?,
        pipeline_id: row.try_get("pipeline_id")?,
        status_id: row.try_get("status_id")?,
        status: row.try_get("status")?,
        status_category: StatusCategory::parse(&category).ok_or(AppError::Internal)?,
        priority: Priority::from_rank(priority).ok_or(AppError::Internal)?,
        category: row.try_get("category")?,
        owner_id: row.try_get("owner_id")?,
        owner_name: row.try_get("owner_name")?,
        team_id: row.try_get("team_id")?,
        team_name: row.try_get("team_name")?,
        channel: row.try_get("channel")?,
        contact_id: row.try_get("contact_id")?,
        contact_name: row.try_get("contact_name")?,
        contact_email: row.try_get("contact_email")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        first_reply_at: row.try_get("first_reply_at")?,
        closed_at: row.try_get("closed_at")?,
        sla_state: row
            .try_get::<Option<String>, _>("sla_state")?
            .and_then(|s| SlaState::parse(&s)),
        sla_due_at: row
            .try_get::<Option<i64>, _>("sla_due_at")?
            .filter(|d| *d != crate::sla::NO_DUE_TIME),
        sla: Vec::new(),
        deleted_at: row.try_get("deleted_at")?,
        split_from_id: row.try_get("split_from_id")?,
        merged_from: None,
    })
}

/// The tickets every list, count and search shows: not merged into another
/// ticket and not in the trash. Appended to every query over `tickets t`
/// that lists (the Trash view asks for the trashed ones instead).
pub const LISTED: &str = " AND t.merged_into_id IS NULL AND t.deleted_at IS NULL";

/// The ticket that `id` stands for: itself, or the primary it was merged
/// into (following merges of merges). "Not found" when it does not exist.
pub async fn resolve_merged(conn: &mut AnyConnection, id: i64) -> Result<i64, AppError> {
    let mut current = id;
    // A chain longer than this is a loop, which merge never makes.
    for _ in 0..64 {
        let row = sqlx::query("SELECT merged_into_id FROM tickets WHERE id = $1")
            .bind(current)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| AppError::not_found("Ticket"))?;
        match row.try_get::<Option<i64>, _>("merged_into_id")? {
            Some(next) => current = next,
            None => return Ok(current),
        }
    }
    tracing::error!(ticket_id = id, "merge chain too long");
    Err(AppError::Internal)
}

fn status_from_row(row: &AnyRow) -> Result<Status, AppError> {
    let category: String = row.try_get("category")?;
    Ok(Status {
        id: row.try_get("id")?,
        pipeline_id: row.try_get("pipeline_id")?,
        name: row.try_get("name")?,
        category: StatusCategory::parse(&category).ok_or(AppError::Internal)?,
    })
}

pub async fn pipelines(db: &Db) -> Result<Vec<Pipeline>, AppError> {
    let pipes = sqlx::query("SELECT id, name FROM pipelines ORDER BY position, id")
        .fetch_all(db.pool())
        .await?;
    let statuses = sqlx::query(
        "SELECT id, pipeline_id, name, category FROM pipeline_statuses ORDER BY pipeline_id, position, id",
    )
    .fetch_all(db.pool())
    .await?;
    let statuses: Vec<Status> = statuses
        .iter()
        .map(status_from_row)
        .collect::<Result<_, _>>()?;
    pipes
        .iter()
        .map(|p| {
            let id: i64 = p.try_get("id")?;
            Ok(Pipeline {
                id,
                name: p.try_get("name")?,
                statuses: statuses
                    .iter()
                    .filter(|s| s.pipeline_id == id)
                    .cloned()
                    .collect(),
            })
        })
        .collect()
}

/// The statuses of the default (first) pipeline, in order.
pub async fn default_statuses(db: &Db) -> Result<Vec<Status>, AppError> {
    pipelines(db)
        .await?
        .into_iter()
        .next()
        .map(|p| p.statuses)
        .ok_or(AppError::Internal)
}

/// Ticket categories for generated data: none, or one of [`CATEGORIES`].
pub fn category_choices() -> Vec<Option<&'static str>> {
    std::iter::once(None)
        .chain(CATEGORIES.iter().copied().map(Some))
        .collect()
}

/// Picks the status by id or by name within the pipeline (the default,
/// first, pipeline when `None`); the pipeline's first status when neither
/// is given. The default pipeline is looked up in the same statement, as
/// this runs in every new ticket's write transaction.
async fn resolve_status(
    conn: &mut AnyConnection,
    pipeline_id: Option<i64>,
    status_id: Option<i64>,
    status_name: Option<&str>,
) -> Result<Status, AppError> {
    let mut sql = SqlBuilder::new(
        "SELECT id, pipeline_id, name, category FROM pipeline_statuses WHERE pipeline_id = ",
    );
    match pipeline_id {
        Some(id) => sql.bind_int(id),
        None => sql.push("(SELECT id FROM pipelines ORDER BY position, id LIMIT 1)"),
    };
    match (
        status_id,
        status_name.map(str::trim).filter(|s| !s.is_empty()),
    ) {
        (Some(id), _) => {
            sql.push(" AND id = ").bind_int(id);
        }
        (None, Some(name)) => {
            sql.push(" AND lower(name) = ")
                .bind_text(name.to_lowercase());
        }
        (None, None) => {}
    }
    sql.push(" ORDER BY position, id LIMIT 1");
    let row = sql.query().fetch_optional(&mut *conn).await?;
    match row {
        Some(row) => status_from_row(&row),
        None => Err(AppError::invalid(
            "status",
            "That status does not exist in this pipeline.",
        )),
    }
}

/// The first status of `category` in `pipeline_id`, or its first status
/// when it has none of that category: where a ticket moved between
/// pipelines lands.
async fn same_category_status(
    conn: &mut AnyConnection,
    pipeline_id: i64,
    category: StatusCategory,
) -> Result<Status, AppError> {
    let row = sqlx::query(
        "SELECT id, pipeline_id, name, category FROM pipeline_statuses WHERE pipeline_id = $1 \
         ORDER BY CASE WHEN category = $2 THEN 0 ELSE 1 END, position, id LIMIT 1",
    )
    .bind(pipeline_id)
    .bind(category.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::invalid("pipeline_id", "That pipeline has no statuses."))?;
    status_from_row(&row)
}

/// The first status of `category` in the default (first) pipeline: where
/// a ticket from an inbound channel starts.
pub async fn first_status(
    conn: &mut AnyConnection,
    category: StatusCategory,
) -> Result<Status, AppError> {
    let row = sqlx::query(
        "SELECT id, pipeline_id, name, category FROM pipeline_statuses \
         WHERE pipeline_id = (SELECT id FROM pipelines ORDER BY position, id LIMIT 1) AND category = $1 \
         ORDER BY position, id LIMIT 1",
    )
    .bind(category.as_str())
    .fetch_one(&mut *conn)
    .await?;
    status_from_row(&row)
}

fn validate_category(category: Option<&str>) -> Result<Option<String>, AppError> {
    match category.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => CATEGORIES
            .iter()
            .find(|known| known.eq_ignore_ascii_case(c))
            .map(|known| Some(known.to_string()))
            .ok_or_else(|| {
                AppError::invalid(
                    "category",
                    format!("Category must be one of: {}.", CATEGORIES.join(", ")),
                )
            }),
    }
}

/// Owners must be active users with a help desk seat; returns their name.
async fn check_owner(conn: &mut AnyConnection, owner_id: i64) -> Result<String, AppError> {
    let row = sqlx::query("SELECT name, role FROM users WHERE id = $1 AND active = 1")
        .bind(owner_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::invalid("owner_id", "That user does not exist."))?;
    let role: String = row.try_get("role")?;
    if Role::parse(&role) == Some(Role::Collaborator) {
        return Err(AppError::invalid(
            "owner_id",
            "Collaborators cannot own tickets.",
        ));
    }
    Ok(row.try_get("name")?)
}

async fn check_team(conn: &mut AnyConnection, team_id: i64) -> Result<String, AppError> {
    let row = sqlx::query("SELECT name FROM teams WHERE id = $1")
        .bind(team_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::invalid("team_id", "That team does not exist."))?;
    Ok(row.try_get("name")?)
}

pub fn validate_body(body: &str) -> Result<(), AppError> {
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(AppError::invalid(
            "body",
            format!("The message is too long (at most {MAX_BODY_CHARS} characters)."),
        ));
    }
    Ok(())
}

pub(crate) fn require_worker(actor: &User) -> Result<(), AppError> {
    if actor.can_work_tickets() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "Collaborators can view tickets and add notes, but not change them.",
        ))
    }
}

/// Creates a ticket (and its first message and contact) in one transaction.
pub async fn create(
    db: &Db,
    actor: &User,
    input: NewTicket,
    default_channel: &str,
) -> Result<Ticket, AppError> {
    require_worker(actor)?;
    // Two concurrent creates on PostgreSQL can both insert the same new
    // contact email; the loser retries and then finds the contact. A
    // reference that vanished after it was looked up (see `create_once`)
    // is looked up again, and then reported as missing.
    let mut attempt = 0;
    loop {
        match create_once(db, actor, &input, default_channel).await {
            Err(AppError::Conflict(_)) if attempt < 5 => attempt += 1,
            Err(AppError::Invalid { field, .. }) if field == "reference" && attempt < 5 => {
                attempt += 1
            }
            Ok(ticket) => {
                let mut conn = db.pool().acquire().await?;
                return fetch_on(&mut conn, ticket.id, ticket.sla_configured).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn create_once(
    db: &Db,
    actor: &User,
    input: &NewTicket,
    default_channel: &str,
) -> Result<InsertedTicket, AppError> {
    let subject = required_text("subject", "Subject", &input.subject, MAX_SUBJECT_CHARS)?;
    let body = input
        .body
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty());
    if let Some(b) = body {
        validate_body(b)?;
    }
    let channel = input
        .channel
        .as_deref()
        .unwrap_or(default_channel)
        .trim()
        .to_lowercase();
    if !CHANNELS.contains(&channel.as_str()) {
        return Err(AppError::invalid(
            "channel",
            format!("Channel must be one of: {}.", CHANNELS.join(", ")),
        ));
    }
    let category = validate_category(input.category.as_deref())?;
    let priority = input.priority.unwrap_or(Priority::Medium);
    let now = now_ms();

    // What the ticket refers to is looked up before the write turn, on a
    // reading connection: on SQLite every statement inside the
    // transaction is a round trip to the one writer while all other
    // writers wait. Nothing removes pipelines, statuses or contacts
    // today; should something come to, one removed in between fails the
    // insert's foreign key, and `create` looks it up again.
    let (status, known_contact) = {
        let mut reader = db.pool().acquire().await?;
        if let Some(id) = input.pipeline_id {
            sqlx::query("SELECT id FROM pipelines WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *reader)
                .await?
                .ok_or_else(|| AppError::invalid("pipeline_id", "That pipeline does not exist."))?;
        }
        let status = resolve_status(
            &mut reader,
            input.pipeline_id,
            input.status_id,
            input.status.as_deref(),
        )
        .await?;
        let contact = match &input.contact {
            Some(c) => contacts::service::find(&mut reader, c).await?,
            None => None,
        };
        (status, contact)
    };

    let mut tx = db.begin_write().await?;
    // Whether the owner is active and may own tickets is a rule, not a
    // foreign key: checked under the write turn.
    if let Some(owner) = input.owner_id {
        check_owner(tx.conn(), owner).await?;
    }
    if let Some(team) = input.team_id {
        check_team(tx.conn(), team).await?;
    }
    let contact_id = match (known_contact, &input.contact) {
        (Some(id), _) => Some(id),
        (None, Some(c)) => Some(contacts::service::find_or_create(tx.conn(), c).await?),
        (None, None) => None,
    };
    // The description a customer gave is their inbound message, which
    // starts the SLA clocks; without a contact it is the agent's own note,
    // and the clocks start here.
    let inbound_from = contact_id.filter(|_| body.is_some());
    let ticket = insert_ticket(
        &mut tx,
        TicketRow {
            subject: &subject,
            status: &status,
            priority,
            category: category.as_deref(),
            owner_id: input.owner_id,
            team_id: input.team_id,
            channel: &channel,
            channel_id: None,
            contact_id,
            at: now,
            actor_id: Some(actor.id),
            first_inbound_at: inbound_from.map(|_| now),
        },
    )
    .await?;
    match (body, inbound_from) {
        (Some(body), Some(contact)) => {
            insert_first_inbound(
                &mut tx,
                &ticket,
                contact,
                body,
                &sanitize::text_to_html(body),
                now,
            )
            .await?;
        }
        (body, _) => {
            if ticket.sla_configured {
                crate::sla::service::start_new(&mut tx, ticket.id, now).await?;
            }
            if let Some(body) = body {
                insert_entry(
                    &mut tx,
                    ticket.id,
                    EntryKind::Note,
                    Some(actor.id),
                    None,
                    body,
                    &sanitize::text_to_html(body),
                    now,
                )
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(ticket)
}

/// A new ticket's columns, already checked by the caller.
pub struct TicketRow<'a> {
    pub subject: &'a str,
    /// Its pipeline is the ticket's pipeline.
    pub status: &'a Status,
    pub priority: Priority,
    pub category: Option<&'a str>,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    /// The channel kind (`email`, `chat`, ...).
    pub channel: &'a str,
    /// The connected channel it came through, whose replies go out by it.
    pub channel_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// Creation time (an imported email keeps its own date).
    pub at: i64,
    /// Who created it; `None` for an inbound channel.
    pub actor_id: Option<i64>,
    /// When the ticket starts with the customer's message (then written
    /// by `messages::service::insert_first_inbound`): its time, stored as
    /// the last inbound message and the start of the wait for our reply,
    /// so the entry need not update the row it was just inserted with.
    pub first_inbound_at: Option<i64>,
}

/// What inserting a ticket tells its caller.
#[derive(Debug, Clone, Copy)]
pub struct InsertedTicket {
    pub id: i64,
    /// Whether the help desk has any SLA policy, read by the INSERT
    /// itself: without one, a new ticket has no clocks to plan and its
    /// transaction skips that step.
    pub sla_configured: bool,
    /// As given in [`TicketRow::first_inbound_at`].
    pub first_inbound_at: Option<i64>,
}

/// Numbers and inserts a ticket and records its `ticket.created` event,
/// inside the caller's transaction. Every way a ticket is made goes
/// through here (agents, the API, inbound channels).
///
/// It does not start the SLA clocks: the caller's first entry does (an
/// inbound message or a reply through `insert_entry`), or the caller
/// calls `sla::service::start_new` itself. Starting them here too would
/// read and plan them twice in every new ticket's transaction.
pub async fn insert_ticket(
    tx: &mut WriteTx,
    row: TicketRow<'_>,
) -> Result<InsertedTicket, AppError> {
    let number: i64 = sqlx::query(
        "UPDATE counters SET value = value + 1 WHERE name = 'ticket_number' RETURNING value",
    )
    .fetch_one(tx.conn())
    .await?
    .try_get("value")?;
    let inserted = sqlx::query(
        &format!(
            "INSERT INTO tickets (number, subject, pipeline_id, status_id, status_category, priority, category, \
             owner_id, team_id, channel, channel_id, contact_id, created_at, updated_at, closed_at, routing_pending, \
             last_inbound_at, awaiting_reply_since) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, {}, $15, $15) \
             RETURNING id, CASE WHEN EXISTS (SELECT 1 FROM sla_policies) THEN 1 ELSE 0 END AS sla_configured",
            crate::routing::service::pending_when_inserted("$8", "$5", "$10")
        ),
    )
    .bind(number)
    .bind(row.subject)
    .bind(row.status.pipeline_id)
    .bind(row.status.id)
    .bind(row.status.category.as_str())
    .bind(row.priority.rank())
    .bind(row.category)
    .bind(row.owner_id)
    .bind(row.team_id)
    .bind(row.channel)
    .bind(row.channel_id)
    .bind(row.contact_id)
    .bind(row.at)
    .bind((row.status.category == StatusCategory::Closed).then_some(row.at))
    .bind(row.first_inbound_at)
    .fetch_one(tx.conn())
    .await?;
    let id: i64 = inserted.try_get("id")?;
    let sla_configured = inserted.try_get::<i64, _>("sla_configured")? == 1;
    tx.event(
        PendingEvent::ticket(
            events::TICKET_CREATED,
            id,
            row.actor_id,
            json!({"number": number, "subject": row.subject, "status": row.status.name,
                   "owner_id": row.owner_id, "channel": row.channel}),
        )
        .at(row.at),
    );
    Ok(InsertedTicket {
        id,
        sla_configured,
        first_inbound_at: row.first_inbound_at,
    })
}

/// A ticket the caller may see; any other id is "not found", whether it
/// exists or not.
/// A merged ticket answers its primary, with `merged_from` set.
pub async fn get(db: &Db, actor: &User, id: i64) -> Result<Ticket, AppError> {
    // One connection for the three reads: on SQLite each checkout and
    // return of a pooled connection is a round trip of its own.
    let mut conn = db.pool().acquire().await?;
    let primary = resolve_merged(&mut conn, id).await?;
    let mut ticket = visible(actor, fetch_on(&mut conn, primary, true).await?)?;
    if primary != id {
        ticket.merged_from = Some(id);
    }
    Ok(ticket)
}

/// By the human-facing number; a merged ticket's number answers its
/// primary, like its id.
pub async fn get_by_number(db: &Db, actor: &User, number: i64) -> Result<Ticket, AppError> {
    let row = sqlx::query("SELECT id FROM tickets WHERE number = $1")
        .bind(number)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| AppError::not_found("Ticket"))?;
    get(db, actor, row.try_get("id")?).await
}

pub(crate) fn visible(actor: &User, ticket: Ticket) -> Result<Ticket, AppError> {
    if can_see(actor, ticket.owner_id, ticket.team_id) {
        Ok(ticket)
    } else {
        Err(AppError::not_found("Ticket"))
    }
}

/// A ticket by id with its SLA goals, without an access check: for
/// returning what the caller just created or changed.
pub(crate) async fn fetch(db: &Db, id: i64) -> Result<Ticket, AppError> {
    fetch_on(&mut *db.pool().acquire().await?, id, true).await
}

/// [`fetch`] on a connection the caller holds. `with_sla` false leaves the
/// goals out, for a ticket known to have none (inserted when the help
/// desk had no SLA policy).
async fn fetch_on(conn: &mut AnyConnection, id: i64, with_sla: bool) -> Result<Ticket, AppError> {
    let row = sqlx::query(&format!("{SELECT} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::not_found("Ticket"))?;
    let mut ticket = from_row(&row)?;
    if with_sla {
        ticket.sla = crate::sla::service::for_ticket(conn, id).await?;
    }
    Ok(ticket)
}

/// Tickets by id (no access check: the caller found them under its own
/// access rules), with their SLA goals, in no particular order.
pub async fn fetch_many(db: &Db, ids: &[i64]) -> Result<Vec<Ticket>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = SqlBuilder::new(SELECT);
    sql.push(" WHERE t.id IN (");
    sql.bind_ints(ids);
    sql.push(")");
    let rows = sql.query().fetch_all(db.pool()).await?;
    let mut tickets: Vec<Ticket> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    let mut sla = crate::sla::service::for_tickets(db, ids).await?;
    for t in &mut tickets {
        t.sla = sla.remove(&t.id).unwrap_or_default();
    }
    Ok(tickets)
}

fn sort_column(key: SortKey) -> &'static str {
    match key {
        SortKey::Updated => "t.updated_at",
        SortKey::Created => "t.created_at",
        SortKey::Priority => "t.priority",
        SortKey::Number => "t.number",
        // No running goal sorts after every due time.
        SortKey::SlaDue => "COALESCE(t.sla_due_at, 9007199254740991)",
    }
}

fn sort_value(key: SortKey, t: &Ticket) -> i64 {
    match key {
        SortKey::Updated => t.updated_at,
        SortKey::Created => t.created_at,
        SortKey::Priority => t.priority.rank(),
        SortKey::Number => t.number,
        SortKey::SlaDue => t.sla_due_at.unwrap_or(crate::sla::NO_DUE_TIME),
    }
}

/// A keyset cursor: the sort value and id of the last row of a page.
pub fn encode_cursor(value: i64, id: i64) -> String {
    format!("{value}_{id}")
}

pub fn decode_cursor(cursor: &str) -> Result<(i64, i64), AppError> {
    let bad = || AppError::invalid("cursor", "Invalid cursor.");
    let (v, id) = cursor.split_once('_').ok_or_else(bad)?;
    Ok((
        v.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

/// Tickets per page unless the query asks for another size.
pub const DEFAULT_PAGE_SIZE: i64 = 25;

/// The validated page size of a list query (1..=100).
fn page_size(q: &TicketQuery) -> Result<i64, AppError> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if (1..=100).contains(&limit) {
        Ok(limit)
    } else {
        Err(AppError::invalid(
            "limit",
            "Limit must be between 1 and 100.",
        ))
    }
}

/// The statement behind [`list`], fetching `limit + 1` rows (the extra one
/// tells whether there is a next page). Public so that tests can check the
/// query plan of every view.
pub fn list_query(actor: &User, q: &TicketQuery) -> Result<SqlBuilder, AppError> {
    list_query_along(actor, q, false)
}

/// [`list_query`]; `along_sort_index`: see
/// [`views::service::push_filter_along`].
fn list_query_along(
    actor: &User,
    q: &TicketQuery,
    along_sort_index: bool,
) -> Result<SqlBuilder, AppError> {
    let limit = page_size(q)?;
    let mut sql = SqlBuilder::new(SELECT);
    sql.push(" WHERE 1 = 1");
    push_conditions(&mut sql, actor, q, along_sort_index)?;
    let col = match (q.view, q.sort) {
        // Every ticket in the SLA views has a due time (see
        // sla::service::summary), so they page along the SLA index.
        (Some(ViewId::SlaDueSoon | ViewId::SlaOverdue), SortKey::SlaDue) => "t.sla_due_at",
        _ => sort_column(q.sort),
    };
    let (cmp, dir) = if q.asc { (">", "ASC") } else { ("<", "DESC") };
    if let Some(cursor) = q.cursor.as_deref().filter(|c| !c.is_empty()) {
        let (value, id) = decode_cursor(cursor)?;
        sql.push(&format!(" AND ({col}, t.id) {cmp} ("));
        sql.bind_int(value).push(", ").bind_int(id).push(")");
    }
    sql.push(&format!(" ORDER BY {col} {dir}, t.id {dir} LIMIT "));
    sql.bind_int(limit + 1);
    Ok(sql)
}

/// Appends (each starting with " AND ") what a list query asks of ticket
/// alias `t`: its view or custom view, its filters, and the caller's
/// access. Lists and search share it, so a search within a view finds
/// exactly what the view lists.
pub fn push_conditions(
    sql: &mut SqlBuilder,
    actor: &User,
    q: &TicketQuery,
    along_sort_index: bool,
) -> Result<(), AppError> {
    if let Some(view) = q.view {
        if !view.available_to(actor.role) {
            return Err(AppError::not_found("View"));
        }
        views::service::push_filter_along(sql, view, actor, along_sort_index);
    }
    if let Some(definition) = &q.custom {
        views::service::push_definition(sql, definition, actor, q.sort)?;
    }
    // Default views say which tickets they list (the Trash view lists
    // the trashed ones); everything else lists the listed ones.
    if q.view.is_none() {
        sql.push(LISTED);
    }
    push_ticket_filter(sql, actor);
    if let Some(c) = q.status_category {
        sql.push(" AND t.status_category = ").bind_text(c.as_str());
    }
    if let Some(p) = q.priority {
        sql.push(" AND t.priority = ").bind_int(p.rank());
    }
    if let Some(o) = q.owner_id {
        sql.push(" AND t.owner_id = ").bind_int(o);
    }
    if let Some(team) = q.team_id {
        sql.push(" AND t.team_id = ").bind_int(team);
    }
    if let Some(c) = q.contact_id {
        sql.push(" AND t.contact_id = ").bind_int(c);
    }
    Ok(())
}

/// One page of tickets. Pages are keyset-paginated on `(sort key, id)`, so a
/// deep page costs the same as the first.
pub async fn list(db: &Db, actor: &User, q: &TicketQuery) -> Result<TicketPage, AppError> {
    let limit = page_size(q)?;
    let along = personal_list_is_long(db, actor, q, limit).await?;
    let sql = list_query_along(actor, q, along)?;
    let rows = sql.query().fetch_all(db.pool()).await?;
    let mut tickets: Vec<Ticket> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    let next_cursor = if tickets.len() as i64 > limit {
        tickets.truncate(limit as usize);
        tickets
            .last()
            .map(|t| encode_cursor(sort_value(q.sort, t), t.id))
    } else {
        None
    };
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
    let mut sla = crate::sla::service::for_tickets(db, &ids).await?;
    for t in &mut tickets {
        t.sla = sla.remove(&t.id).unwrap_or_default();
    }
    Ok(TicketPage {
        tickets,
        next_cursor,
    })
}

/// Should a page of My mentions or Followers walk the open tickets in page
/// order rather than start from the viewer's list (see
/// [`views::service::push_filter_along`])? Walking costs about
/// `page × all tickets / listed` steps, starting from the list about
/// `listed` lookups: walk once `listed² > page × all tickets`. Only on
/// SQLite, and along the open tickets' index by last activity (the default
/// sort); PostgreSQL's planner weighs the two itself.
async fn personal_list_is_long(
    db: &Db,
    actor: &User,
    q: &TicketQuery,
    limit: i64,
) -> Result<bool, AppError> {
    let table = match q.view {
        Some(ViewId::Mentions) => "mentions",
        Some(ViewId::Followers) => "followers",
        _ => return Ok(false),
    };
    if db.kind() != crate::db::DbKind::Sqlite || q.sort != SortKey::Updated || q.custom.is_some() {
        return Ok(false);
    }
    let row = sqlx::query(&format!(
        "SELECT (SELECT COUNT(*) FROM {table} WHERE user_id = $1) AS listed, \
         (SELECT COALESCE(MAX(id), 0) FROM tickets) AS tickets"
    ))
    .bind(actor.id)
    .fetch_one(db.pool())
    .await?;
    let listed: i64 = row.try_get("listed")?;
    let tickets: i64 = row.try_get("tickets")?;
    Ok(listed.saturating_mul(listed) > (limit + 1).saturating_mul(tickets))
}

/// Applies a patch in one transaction, records each change in the thread
/// (a system entry) and in the event log.
pub async fn update(
    db: &Db,
    actor: &User,
    id: i64,
    patch: TicketPatch,
) -> Result<Ticket, AppError> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    // A merged ticket's changes land on its primary, like its replies.
    let id = resolve_merged(tx.conn(), id).await?;
    let row = sqlx::query(&format!("{SELECT} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| AppError::not_found("Ticket"))?;
    // "Not found" before "forbidden": a collaborator learns nothing about
    // tickets outside their access either.
    let current = visible(actor, from_row(&row)?)?;
    require_worker(actor)?;
    if current.deleted_at.is_some() {
        return Err(AppError::Conflict(
            "This ticket is in the trash. Restore it to change it.".into(),
        ));
    }

    let mut set = SqlBuilder::new("UPDATE tickets SET updated_at = ");
    set.bind_int(now);
    // Human-readable descriptions of what changed, for the timeline.
    let mut changes: Vec<String> = Vec::new();
    let mut fields = serde_json::Map::new();

    if let Some(subject) = &patch.subject {
        let subject = required_text("subject", "Subject", subject, MAX_SUBJECT_CHARS)?;
        if subject != current.subject {
            set.push(", subject = ").bind_text(subject.clone());
            changes.push(format!("renamed the ticket to “{subject}”"));
            fields.insert("subject".into(), json!(subject));
        }
    }
    // Moving to another pipeline maps the status to the new pipeline's
    // first status of the same category, unless a status is given.
    let pipeline_id = patch.pipeline_id.unwrap_or(current.pipeline_id);
    let moving_pipeline = pipeline_id != current.pipeline_id;
    if moving_pipeline {
        let name: String = sqlx::query("SELECT name FROM pipelines WHERE id = $1")
            .bind(pipeline_id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or_else(|| AppError::invalid("pipeline_id", "That pipeline does not exist."))?
            .try_get("name")?;
        set.push(", pipeline_id = ").bind_int(pipeline_id);
        changes.push(format!("moved the ticket to the {name} pipeline"));
        fields.insert("pipeline_id".into(), json!(pipeline_id));
    }
    if patch.status_id.is_some() || patch.status.is_some() || moving_pipeline {
        let status = if moving_pipeline && patch.status_id.is_none() && patch.status.is_none() {
            same_category_status(tx.conn(), pipeline_id, current.status_category).await?
        } else {
            resolve_status(
                tx.conn(),
                Some(pipeline_id),
                patch.status_id,
                patch.status.as_deref(),
            )
            .await?
        };
        if status.id != current.status_id {
            set.push(", status_id = ").bind_int(status.id);
            set.push(", status_category = ")
                .bind_text(status.category.as_str());
            match (
                current.status_category == StatusCategory::Closed,
                status.category == StatusCategory::Closed,
            ) {
                (false, true) => {
                    set.push(", closed_at = ").bind_int(now);
                }
                (true, false) => {
                    set.push(", closed_at = NULL");
                }
                _ => {}
            }
            changes.push(format!(
                "changed the status from {} to {}",
                current.status, status.name
            ));
            fields.insert("status".into(), json!(status.name));
        }
    }
    if let Some(priority) = patch.priority {
        if priority != current.priority {
            set.push(", priority = ").bind_int(priority.rank());
            changes.push(format!(
                "changed the priority from {} to {}",
                current.priority.label(),
                priority.label()
            ));
            fields.insert("priority".into(), json!(priority));
        }
    }
    if let Some(category) = &patch.category {
        let category = validate_category(category.as_deref())?;
        if category != current.category {
            match &category {
                Some(c) => set.push(", category = ").bind_text(c.clone()),
                None => set.push(", category = NULL"),
            };
            changes.push(match &category {
                Some(c) => format!("set the category to {c}"),
                None => "cleared the category".to_string(),
            });
            fields.insert("category".into(), json!(category));
        }
    }
    if let Some(owner) = patch.owner_id {
        if owner != current.owner_id {
            match owner {
                Some(o) => {
                    let name = check_owner(tx.conn(), o).await?;
                    set.push(", owner_id = ").bind_int(o);
                    changes.push(format!("assigned the ticket to {name}"));
                }
                None => {
                    set.push(", owner_id = NULL");
                    changes.push("unassigned the ticket".to_string());
                }
            }
            fields.insert("owner_id".into(), json!(owner));
        }
    }
    if let Some(team) = patch.team_id {
        if team != current.team_id {
            match team {
                Some(t) => {
                    let name = check_team(tx.conn(), t).await?;
                    set.push(", team_id = ").bind_int(t);
                    changes.push(format!("moved the ticket to team {name}"));
                }
                None => {
                    set.push(", team_id = NULL");
                    changes.push("removed the team".to_string());
                }
            }
            fields.insert("team_id".into(), json!(team));
        }
    }
    if changes.is_empty() {
        // Nothing changed: no write, no event.
        drop(tx);
        return Ok(current);
    }
    set.push(" WHERE id = ").bind_int(id);
    set.query().execute(tx.conn()).await?;
    let text = format!("{} {}.", actor.name, changes.join(", "));
    insert_timeline_event(&mut tx, id, Some(actor.id), &text, now).await?;
    crate::sla::service::refresh(&mut tx, id, now).await?;
    let moved = fields.contains_key("owner_id") || fields.contains_key("team_id");
    let mut event = PendingEvent::ticket(
        events::TICKET_UPDATED,
        id,
        Some(actor.id),
        serde_json::Value::Object(fields),
    )
    .at(now);
    if moved {
        event = event.moved_from(current.owner_id, current.team_id);
    }
    tx.event(event);
    tx.commit().await?;
    fetch(db, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(
            decode_cursor(&encode_cursor(1_700_000, 42)).unwrap(),
            (1_700_000, 42)
        );
        assert_eq!(decode_cursor(&encode_cursor(-3, 1)).unwrap(), (-3, 1));
        for bad in ["", "12", "a_b", "1_", "_1", "1_2_3"] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn categories_are_canonicalised() {
        assert_eq!(
            validate_category(Some("billing ISSUE")).unwrap().as_deref(),
            Some("Billing issue")
        );
        assert_eq!(validate_category(Some("  ")).unwrap(), None);
        assert!(validate_category(Some("Gossip")).is_err());
    }

    #[test]
    fn long_bodies_are_refused() {
        assert!(validate_body(&"x".repeat(MAX_BODY_CHARS)).is_ok());
        assert!(validate_body(&"x".repeat(MAX_BODY_CHARS + 1)).is_err());
    }
}
