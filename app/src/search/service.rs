//! Search queries: SQLite FTS5 or PostgreSQL full-text search, under the
//! same view filters and access rules as the ticket lists.
//!
//! Why "the newest matches": a common word is in hundreds of thousands of
//! entries, and ranking all of them would take seconds. Each source
//! (entries, subjects, contacts) therefore reads its matches newest first,
//! along the full-text index, and stops after a window ([`MESSAGE_WINDOW`],
//! [`TICKET_WINDOW`]); only those are ranked. A rare word has fewer matches
//! than the window, so its results are complete and fully ranked. Each
//! window is read with the view's and the caller's filters joined in, so a
//! restricted agent's window holds only tickets they may see, and no hit,
//! count or snippet ever comes from any other.

use super::{ContactHit, MatchedIn, SearchHit, SearchQuery, SearchResults};
use crate::db::{Db, DbKind, SqlBuilder};
use crate::error::AppError;
use crate::tickets::{Ticket, TicketQuery};
use crate::users::User;
use crate::views::ViewKey;
use sqlx::Row;
use std::collections::HashMap;

/// Newest matching entries ranked per search.
pub const MESSAGE_WINDOW: i64 = 1_000;
/// Newest matching subjects, and tickets of matching contacts.
pub const TICKET_WINDOW: i64 = 200;
const MAX_QUERY_CHARS: usize = 200;
const MAX_TERMS: usize = 8;

/// The words of a query: runs of letters and digits, lower-cased.
pub fn terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .take(MAX_TERMS)
        .collect()
}

/// The FTS5 query: every word, the last also as a beginning (typing "refu"
/// finds "refund"). Words are letters and digits only, so quoting them is
/// all the escaping needed.
pub fn fts5_query(terms: &[String]) -> String {
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i + 1 == terms.len() && t.chars().count() >= 2 {
                format!("\"{t}\"*")
            } else {
                format!("\"{t}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The PostgreSQL `to_tsquery('simple', ...)` text, same meaning.
pub fn tsquery(terms: &[String]) -> String {
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i + 1 == terms.len() && t.chars().count() >= 2 {
                format!("{t}:*")
            } else {
                t.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// A ticket number typed as "1234" or "#1234".
fn as_number(q: &str) -> Option<i64> {
    q.trim()
        .trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
}

/// The best match found so far for one ticket.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    score: f64,
    matched_in: MatchedIn,
    message_id: Option<i64>,
}

/// How much a match counts by where it is: a subject or a contact says
/// more about a ticket than one word in a long thread.
fn weight(matched_in: MatchedIn) -> f64 {
    match matched_in {
        MatchedIn::Number => 1_000_000.0,
        MatchedIn::Subject => 3.0,
        MatchedIn::Contact => 2.0,
        MatchedIn::Message => 1.0,
    }
}

#[derive(Default)]
struct Candidates {
    by_ticket: HashMap<i64, Candidate>,
    /// A window filled up: there may be more matches than counted.
    capped: bool,
}

impl Candidates {
    fn offer(
        &mut self,
        ticket_id: i64,
        relevance: f64,
        matched_in: MatchedIn,
        message_id: Option<i64>,
    ) {
        let score = weight(matched_in) * relevance.max(0.000_001);
        let entry = self.by_ticket.entry(ticket_id).or_insert(Candidate {
            score: f64::MIN,
            matched_in,
            message_id,
        });
        if score > entry.score {
            *entry = Candidate {
                score,
                matched_in,
                message_id,
            };
        }
    }
}

/// The tickets `actor` may search, as SQL conditions on alias `t`: a view's
/// (or all listed tickets) and their access.
async fn scope(db: &Db, actor: &User, view: Option<&str>) -> Result<SqlBuilder, AppError> {
    let q = match view.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => {
            let key = ViewKey::parse(v).ok_or_else(|| AppError::not_found("View"))?;
            crate::views::service::ticket_query(db, actor, key, None).await?
        }
        None => TicketQuery::default(),
    };
    let mut sql = SqlBuilder::default();
    crate::tickets::service::push_conditions(&mut sql, actor, &q, false)?;
    Ok(sql)
}

/// Appends `scope`'s conditions (renumbering its placeholders after those
/// already in `sql`).
fn push_scope(sql: &mut SqlBuilder, scope: &SqlBuilder) {
    sql.append(scope);
}

/// Searches. See the module comment for what is ranked.
pub async fn search(db: &Db, actor: &User, query: &SearchQuery) -> Result<SearchResults, AppError> {
    let q = query.q.trim();
    if q.is_empty() {
        return Err(AppError::invalid("q", "Type something to search for."));
    }
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::invalid(
            "q",
            format!("Search for at most {MAX_QUERY_CHARS} characters."),
        ));
    }
    let limit = query.limit.unwrap_or(20);
    if !(1..=50).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "Limit must be between 1 and 50.",
        ));
    }
    let scope = scope(db, actor, query.view.as_deref()).await?;
    let words = terms(q);
    let mut found = Candidates::default();

    if let Some(number) = as_number(q) {
        number_match(db, &scope, number, &mut found).await?;
    }
    if !words.is_empty() {
        match db.kind() {
            DbKind::Sqlite => sqlite_matches(db, &scope, &words, &mut found).await?,
            DbKind::Postgres => postgres_matches(db, &scope, &words, &mut found).await?,
        }
    }

    let mut ranked: Vec<(i64, Candidate)> = found.by_ticket.into_iter().collect();
    ranked.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(b.0.cmp(&a.0)));
    let total = ranked.len() as i64;
    ranked.truncate(limit as usize);
    let ids: Vec<i64> = ranked.iter().map(|(id, _)| *id).collect();
    let mut tickets: HashMap<i64, Ticket> = crate::tickets::service::fetch_many(db, &ids)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let message_ids: Vec<i64> = ranked.iter().filter_map(|(_, c)| c.message_id).collect();
    let bodies = bodies(db, &message_ids).await?;

    let mut hits = Vec::new();
    let mut contacts: Vec<ContactHit> = Vec::new();
    for (id, c) in ranked {
        let Some(ticket) = tickets.remove(&id) else {
            continue;
        };
        let snippet_html = match c.matched_in {
            MatchedIn::Message => c
                .message_id
                .and_then(|m| bodies.get(&m))
                .map(|body| highlight(body, &words))
                .unwrap_or_default(),
            MatchedIn::Contact => highlight(
                &format!(
                    "{} {}",
                    ticket.contact_name.as_deref().unwrap_or(""),
                    ticket.contact_email.as_deref().unwrap_or("")
                ),
                &words,
            ),
            MatchedIn::Subject | MatchedIn::Number => highlight(&ticket.subject, &words),
        };
        if c.matched_in == MatchedIn::Contact {
            if let (Some(cid), Some(name)) = (ticket.contact_id, ticket.contact_name.clone()) {
                if !contacts.iter().any(|k| k.id == cid) {
                    contacts.push(ContactHit {
                        id: cid,
                        name,
                        email: ticket.contact_email.clone(),
                    });
                }
            }
        }
        hits.push(SearchHit {
            ticket,
            matched_in: c.matched_in,
            snippet_html,
            message_id: c.message_id.filter(|_| c.matched_in == MatchedIn::Message),
        });
    }
    Ok(SearchResults {
        hits,
        total,
        total_capped: found.capped,
        contacts,
    })
}

async fn number_match(
    db: &Db,
    scope: &SqlBuilder,
    number: i64,
    found: &mut Candidates,
) -> Result<(), AppError> {
    let Some(row) = sqlx::query("SELECT id FROM tickets WHERE number = $1")
        .bind(number)
        .fetch_optional(db.pool())
        .await?
    else {
        return Ok(());
    };
    // A merged ticket's number finds the ticket it was merged into.
    let id = crate::tickets::service::resolve_merged(
        &mut *db.pool().acquire().await?,
        row.try_get("id")?,
    )
    .await?;
    let mut sql = SqlBuilder::new("SELECT t.id FROM tickets t WHERE t.id = ");
    sql.bind_int(id);
    push_scope(&mut sql, scope);
    if sql.query().fetch_optional(db.pool()).await?.is_some() {
        found.offer(id, 1.0, MatchedIn::Number, None);
    }
    Ok(())
}

async fn sqlite_matches(
    db: &Db,
    scope: &SqlBuilder,
    words: &[String],
    found: &mut Candidates,
) -> Result<(), AppError> {
    let fts = fts5_query(words);
    // bm25() is lower for better matches; its negation ranks.
    let sources: [(MatchedIn, String, i64); 3] = [
        (
            MatchedIn::Message,
            "SELECT m.ticket_id AS ticket_id, m.id AS message_id, -bm25(messages_fts) AS relevance \
             FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid JOIN tickets t ON t.id = m.ticket_id \
             WHERE messages_fts MATCH "
                .to_string(),
            MESSAGE_WINDOW,
        ),
        (
            MatchedIn::Subject,
            "SELECT t.id AS ticket_id, NULL AS message_id, -bm25(tickets_fts) AS relevance \
             FROM tickets_fts JOIN tickets t ON t.id = tickets_fts.rowid WHERE tickets_fts MATCH "
                .to_string(),
            TICKET_WINDOW,
        ),
        (
            MatchedIn::Contact,
            "SELECT t.id AS ticket_id, NULL AS message_id, -bm25(contacts_fts) AS relevance \
             FROM contacts_fts JOIN tickets t ON t.contact_id = contacts_fts.rowid WHERE contacts_fts MATCH "
                .to_string(),
            TICKET_WINDOW,
        ),
    ];
    for (matched_in, head, window) in sources {
        let mut sql = SqlBuilder::new(&head);
        sql.bind_text(fts.clone());
        push_scope(&mut sql, scope);
        // Newest first along the index (the FTS rowid is the entry's or
        // ticket's id), stopping after the window.
        let order = match matched_in {
            MatchedIn::Message => " ORDER BY messages_fts.rowid DESC LIMIT ",
            MatchedIn::Subject => " ORDER BY tickets_fts.rowid DESC LIMIT ",
            _ => " ORDER BY t.id DESC LIMIT ",
        };
        sql.push(order).bind_int(window);
        collect(db, &sql, matched_in, window, found).await?;
    }
    Ok(())
}

async fn postgres_matches(
    db: &Db,
    scope: &SqlBuilder,
    words: &[String],
    found: &mut Candidates,
) -> Result<(), AppError> {
    let tsq = tsquery(words);
    let sources: [(MatchedIn, &str, &str, i64); 3] = [
        (
            MatchedIn::Message,
            "SELECT m.ticket_id AS ticket_id, m.id AS message_id, \
             ts_rank(m.search_vector, to_tsquery('simple', $1))::float8 AS relevance \
             FROM messages m JOIN tickets t ON t.id = m.ticket_id \
             WHERE m.search_vector @@ to_tsquery('simple', $1)",
            " ORDER BY m.id DESC LIMIT ",
            MESSAGE_WINDOW,
        ),
        (
            MatchedIn::Subject,
            "SELECT t.id AS ticket_id, NULL::bigint AS message_id, \
             ts_rank(to_tsvector('simple', t.subject), to_tsquery('simple', $1))::float8 AS relevance \
             FROM tickets t WHERE to_tsvector('simple', t.subject) @@ to_tsquery('simple', $1)",
            " ORDER BY t.id DESC LIMIT ",
            TICKET_WINDOW,
        ),
        (
            MatchedIn::Contact,
            "SELECT t.id AS ticket_id, NULL::bigint AS message_id, \
             ts_rank(to_tsvector('simple', c.name || ' ' || translate(COALESCE(c.email, ''), '@.+-_', '     ') || ' ' \
               || translate(COALESCE(c.phone, ''), '+-().', '     ')), to_tsquery('simple', $1))::float8 AS relevance \
             FROM contacts c JOIN tickets t ON t.contact_id = c.id \
             WHERE to_tsvector('simple', c.name || ' ' || translate(COALESCE(c.email, ''), '@.+-_', '     ') || ' ' \
               || translate(COALESCE(c.phone, ''), '+-().', '     ')) @@ to_tsquery('simple', $1)",
            " ORDER BY t.id DESC LIMIT ",
            TICKET_WINDOW,
        ),
    ];
    for (matched_in, head, order, window) in sources {
        // $1 is the query, written twice above; bound once here.
        let mut sql = SqlBuilder::with_args(head, vec![crate::db::Arg::Text(tsq.clone())]);
        push_scope(&mut sql, scope);
        sql.push(order).bind_int(window);
        collect(db, &sql, matched_in, window, found).await?;
    }
    Ok(())
}

async fn collect(
    db: &Db,
    sql: &SqlBuilder,
    matched_in: MatchedIn,
    window: i64,
    found: &mut Candidates,
) -> Result<(), AppError> {
    let rows = sql.query().fetch_all(db.pool()).await?;
    if rows.len() as i64 >= window {
        found.capped = true;
    }
    for r in &rows {
        found.offer(
            r.try_get("ticket_id")?,
            r.try_get::<f64, _>("relevance")?,
            matched_in,
            r.try_get("message_id")?,
        );
    }
    Ok(())
}

async fn bodies(db: &Db, ids: &[i64]) -> Result<HashMap<i64, String>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut sql = SqlBuilder::new("SELECT id, body FROM messages WHERE id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_int(*id);
    }
    sql.push(")");
    sql.query()
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("body")?)))
        .collect()
}

/// Characters of context shown before the first match.
const LEAD: usize = 60;
/// Longest snippet, in characters.
const SNIPPET: usize = 220;

fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// A passage of `text` around the first word that starts with one of
/// `terms`, HTML-escaped, with every such word in `<mark>`.
pub fn highlight(text: &str, terms: &[String]) -> String {
    let chars: Vec<char> = text.chars().collect();
    // Words as (start, end) char ranges, and whether each matches.
    let mut words: Vec<(usize, usize, bool)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphanumeric() {
            let start = i;
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect::<String>().to_lowercase();
            let hit = terms.iter().any(|t| word.starts_with(t.as_str()));
            words.push((start, i, hit));
        } else {
            i += 1;
        }
    }
    let first = words.iter().find(|w| w.2).map(|w| w.0).unwrap_or(0);
    let mut from = first.saturating_sub(LEAD);
    // Start after a space, so no word or tag is cut in half.
    if from > 0 {
        from = (from..first)
            .find(|i| chars[*i].is_whitespace())
            .map_or(first, |i| i + 1);
    }
    let to = (from + SNIPPET).min(chars.len());
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut pos = from;
    for &(start, end, hit) in words.iter().filter(|w| w.2 && w.0 >= from && w.1 <= to) {
        let _ = hit;
        escape(&mut out, &chars[pos..start].iter().collect::<String>());
        out.push_str("<mark>");
        escape(&mut out, &chars[start..end].iter().collect::<String>());
        out.push_str("</mark>");
        pos = end;
    }
    escape(&mut out, &chars[pos..to].iter().collect::<String>());
    if to < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn queries_are_words_only() {
        assert_eq!(
            terms("Refund: \"now\" OR x*"),
            t(&["refund", "now", "or", "x"])
        );
        assert_eq!(fts5_query(&t(&["refund", "now"])), "\"refund\" \"now\"*");
        assert_eq!(fts5_query(&t(&["refund", "n"])), "\"refund\" \"n\"");
        assert_eq!(tsquery(&t(&["refund", "inv"])), "refund & inv:*");
        assert!(terms("  -- ** ").is_empty());
        assert_eq!(terms("Café Ünïcode"), t(&["café", "ünïcode"]));
        assert_eq!(as_number("#42"), Some(42));
        assert_eq!(as_number("42x"), None);
        assert_eq!(as_number("0"), None);
    }

    #[test]
    fn snippets_escape_and_mark() {
        let html = highlight(
            "Hi <b>team</b>, the refund & invoice",
            &t(&["refun", "team"]),
        );
        assert_eq!(
            html,
            "Hi &lt;b&gt;<mark>team</mark>&lt;/b&gt;, the <mark>refund</mark> &amp; invoice"
        );
        // Words that only contain the term are not marked.
        assert_eq!(highlight("prerefund", &t(&["refund"])), "prerefund");
    }

    #[test]
    fn long_texts_are_cut_around_the_first_match() {
        let text = format!("{} needle {}", "word ".repeat(100), "tail ".repeat(100));
        let html = highlight(&text, &t(&["needle"]));
        assert!(html.starts_with('…') && html.ends_with('…'), "{html}");
        assert!(html.contains("<mark>needle</mark>"));
        assert!(html.chars().count() < SNIPPET + 40);
    }
}
