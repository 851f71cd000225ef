//! Contact rules and SQL.

use super::{Contact, ContactRef, NewContact};
use crate::db::{now_ms, Db, SqlBuilder};
use crate::error::AppError;
use crate::users::service::{normalize_email, required_text};
use crate::users::User;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

const SELECT: &str = "SELECT c.id, c.name, c.email, c.phone, c.created_at, co.name AS company \
                      FROM contacts c LEFT JOIN companies co ON co.id = c.company_id";

fn from_row(row: &AnyRow) -> Result<Contact, AppError> {
    Ok(Contact {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        company: row.try_get("company")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A display name from an address when none is given ("ana.ruiz@x" -> "ana.ruiz").
fn name_from_email(email: &str) -> String {
    email.split('@').next().unwrap_or(email).to_string()
}

fn validate_phone(phone: Option<&str>) -> Result<Option<String>, AppError> {
    match phone.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p)
            if p.len() <= 40
                && p.chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c)) =>
        {
            Ok(Some(p.to_string()))
        }
        Some(_) => Err(AppError::invalid("phone", "Enter a valid phone number.")),
    }
}

/// The id of the contact with this email, if there is one. A write that
/// needs the contact may look it up here before its write transaction
/// (on a reading connection) and call [`find_or_create`] inside it only
/// when it was missing.
pub async fn find(conn: &mut AnyConnection, contact: &ContactRef) -> Result<Option<i64>, AppError> {
    let email = normalize_email("contact.email", &contact.email)?;
    find_by_email(conn, &email).await
}

async fn find_by_email(conn: &mut AnyConnection, email: &str) -> Result<Option<i64>, AppError> {
    let row = sqlx::query("SELECT id FROM contacts WHERE email = $1")
        .bind(email)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// Finds the contact with this email, or creates it, inside the caller's
/// transaction. Returns the contact id.
pub async fn find_or_create(
    conn: &mut AnyConnection,
    contact: &ContactRef,
) -> Result<i64, AppError> {
    let email = normalize_email("contact.email", &contact.email)?;
    if let Some(id) = find_by_email(conn, &email).await? {
        return Ok(id);
    }
    let name = match contact
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(n) => required_text("contact.name", "Contact name", n, super::MAX_NAME_CHARS)?,
        None => name_from_email(&email),
    };
    let row = sqlx::query(
        "INSERT INTO contacts (name, email, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(name)
    .bind(&email)
    .bind(now_ms())
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("id")?)
}

/// A contact the caller may see (see [`push_contact_filter`]); others are
/// "not found", as tickets outside one's access are.
pub async fn get(db: &Db, actor: &User, id: i64) -> Result<Contact, AppError> {
    let mut sql = SqlBuilder::new(SELECT);
    sql.push(" WHERE c.id = ").bind_int(id);
    push_contact_filter(&mut sql, actor);
    let row = sql
        .query()
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| AppError::not_found("Contact"))?;
    from_row(&row)
}

/// Contacts by name, optionally filtered by a name/email prefix: those the
/// caller may see.
pub async fn list(
    db: &Db,
    actor: &User,
    query: Option<&str>,
    limit: i64,
) -> Result<Vec<Contact>, AppError> {
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "limit must be between 1 and 200.",
        ));
    }
    let mut sql = SqlBuilder::new(SELECT);
    sql.push(" WHERE 1 = 1");
    if let Some(q) = query.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("{}%", q.to_lowercase().replace(['%', '_'], ""));
        sql.push(" AND (lower(c.name) LIKE ")
            .bind_text(pattern.clone());
        sql.push(" OR c.email LIKE ").bind_text(pattern);
        sql.push(")");
    }
    push_contact_filter(&mut sql, actor);
    sql.push(" ORDER BY c.name, c.id LIMIT ").bind_int(limit);
    let rows = sql.query().fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// Appends " AND ..." keeping contact alias `c` to those `actor` may see:
/// everyone for those who see every ticket, otherwise the contacts of
/// tickets they may see (in any state, the trash included). A user limited
/// to their own or their teams' tickets does not browse the whole customer
/// list, as search already did not show it to them.
fn push_contact_filter(sql: &mut SqlBuilder, actor: &User) {
    if crate::access::sees_all(actor) {
        return;
    }
    sql.push(" AND EXISTS (SELECT 1 FROM tickets t WHERE t.contact_id = c.id");
    crate::access::push_ticket_filter(sql, actor);
    sql.push(")");
}

pub async fn create(db: &Db, actor: &User, input: NewContact) -> Result<Contact, AppError> {
    if !actor.can_work_tickets() {
        return Err(AppError::forbidden("Collaborators cannot add contacts."));
    }
    let name = required_text("name", "Name", &input.name, super::MAX_NAME_CHARS)?;
    let email = match input
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(e) => Some(normalize_email("email", e)?),
        None => None,
    };
    let phone = validate_phone(input.phone.as_deref())?;
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(
        "INSERT INTO contacts (name, email, phone, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(&name)
    .bind(&email)
    .bind(&phone)
    .bind(now_ms())
    .fetch_one(tx.conn())
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => AppError::Conflict("A contact with this email already exists.".into()),
        other => other,
    })?;
    tx.commit().await?;
    get(db, actor, row.try_get("id")?).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_validation() {
        assert_eq!(
            validate_phone(Some(" +34 (91) 123-45 "))
                .unwrap()
                .as_deref(),
            Some("+34 (91) 123-45")
        );
        assert_eq!(validate_phone(Some("")).unwrap(), None);
        assert!(validate_phone(Some("call me")).is_err());
    }

    #[test]
    fn names_from_addresses() {
        assert_eq!(name_from_email("ana.ruiz@example.com"), "ana.ruiz");
    }
}
