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

/// The FTS5 query: every word, and with `prefix` the last also as a
/// beginning (typing "refu" finds "refund"). Words are letters and digits
/// only, so quoting them is all the escaping needed.
pub fn fts5_query(terms: &[String], prefix: bool) -> String {
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if prefix && i + 1 == terms.len() && t.chars().count() >= 2 {
                format!("\"{t}\"*")
            } else {
                format!("\"{t}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The PostgreSQL `to_tsquery('simple', ...)` text, same meaning.
pub fn tsquery(terms: &[String], prefix: bool) -> String {
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if prefix && i + 1 == terms.len() && t.chars().count() >= 2 {
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
        text_matches(db, &scope, &words, &mut found).await?;
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
    sql.append(scope);
    if sql.query().fetch_optional(db.pool()).await?.is_some() {
        found.offer(id, 1.0, MatchedIn::Number, None);
    }
    Ok(())
}

/// One full-text source: the SQL up to and including its `MATCH` / `@@`
/// operand (`$1`), the column holding the text it matched in, how it
/// orders newest first, and its window.
struct Source {
    matched_in: MatchedIn,
    head: &'static str,
    order: &'static str,
    window: i64,
    /// PostgreSQL only: the ids the full-text index alone finds (`$1`),
    /// and `head` with its match replaced by membership in those (`hits`),
    /// for words too rare to walk to (see [`walk_or_probe`]).
    probe: &'static str,
    by_hits: &'static str,
}

const SQLITE_SOURCES: [Source; 3] = [
    Source {
        matched_in: MatchedIn::Message,
        head: "SELECT m.ticket_id AS ticket_id, m.id AS message_id, m.body AS text \
               FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid \
               JOIN tickets t ON t.id = m.ticket_id WHERE messages_fts MATCH $1",
        order: " ORDER BY messages_fts.rowid DESC LIMIT ",
        window: MESSAGE_WINDOW,
        probe: "",
        by_hits: "",
    },
    Source {
        matched_in: MatchedIn::Subject,
        head: "SELECT t.id AS ticket_id, NULL AS message_id, t.subject AS text \
               FROM tickets_fts JOIN tickets t ON t.id = tickets_fts.rowid WHERE tickets_fts MATCH $1",
        order: " ORDER BY tickets_fts.rowid DESC LIMIT ",
        window: TICKET_WINDOW,
        probe: "",
        by_hits: "",
    },
    Source {
        matched_in: MatchedIn::Contact,
        head: "SELECT t.id AS ticket_id, NULL AS message_id, \
               c.name || ' ' || COALESCE(c.email, '') || ' ' || COALESCE(c.phone, '') AS text \
               FROM contacts_fts JOIN contacts c ON c.id = contacts_fts.rowid \
               JOIN tickets t ON t.contact_id = c.id WHERE contacts_fts MATCH $1",
        order: " ORDER BY t.id DESC LIMIT ",
        window: TICKET_WINDOW,
        probe: "",
        by_hits: "",
    },
];

/// The same sources on PostgreSQL; the expressions repeat the indexes of
/// migration 0011 word for word.
const POSTGRES_SOURCES: [Source; 3] = [
    Source {
        matched_in: MatchedIn::Message,
        head: "SELECT m.ticket_id AS ticket_id, m.id AS message_id, m.body AS text \
               FROM messages m JOIN tickets t ON t.id = m.ticket_id \
               WHERE m.search_vector @@ to_tsquery('simple', $1)",
        order: " ORDER BY m.id DESC LIMIT ",
        window: MESSAGE_WINDOW,
        probe: "SELECT id FROM messages WHERE search_vector @@ to_tsquery('simple', $1)",
        by_hits: "SELECT m.ticket_id AS ticket_id, m.id AS message_id, m.body AS text \
               FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.id IN (SELECT id FROM hits)",
    },
    Source {
        matched_in: MatchedIn::Subject,
        head: "SELECT t.id AS ticket_id, NULL::bigint AS message_id, t.subject AS text \
               FROM tickets t WHERE to_tsvector('simple', t.subject) @@ to_tsquery('simple', $1)",
        order: " ORDER BY t.id DESC LIMIT ",
        window: TICKET_WINDOW,
        probe: "SELECT id FROM tickets WHERE to_tsvector('simple', subject) @@ to_tsquery('simple', $1)",
        by_hits: "SELECT t.id AS ticket_id, NULL::bigint AS message_id, t.subject AS text \
               FROM tickets t WHERE t.id IN (SELECT id FROM hits)",
    },
    Source {
        matched_in: MatchedIn::Contact,
        head: "SELECT t.id AS ticket_id, NULL::bigint AS message_id, \
               c.name || ' ' || COALESCE(c.email, '') || ' ' || COALESCE(c.phone, '') AS text \
               FROM contacts c JOIN tickets t ON t.contact_id = c.id \
               WHERE to_tsvector('simple', c.name || ' ' || translate(COALESCE(c.email, ''), '@.+-_', '     ') || ' ' \
               || translate(COALESCE(c.phone, ''), '+-().', '     ')) @@ to_tsquery('simple', $1)",
        order: " ORDER BY t.id DESC LIMIT ",
        window: TICKET_WINDOW,
        probe: "SELECT id FROM contacts WHERE to_tsvector('simple', name || ' ' \
               || translate(COALESCE(email, ''), '@.+-_', '     ') || ' ' \
               || translate(COALESCE(phone, ''), '+-().', '     ')) @@ to_tsquery('simple', $1)",
        by_hits: "SELECT t.id AS ticket_id, NULL::bigint AS message_id, \
               c.name || ' ' || COALESCE(c.email, '') || ' ' || COALESCE(c.phone, '') AS text \
               FROM contacts c JOIN tickets t ON t.contact_id = c.id WHERE c.id IN (SELECT id FROM hits)",
    },
];

/// How long a walk along the primary key may take before it is given up
/// for the full-text index (ms): a walk that finds its window does so in a
/// few milliseconds; one that has not by then is looking for a rare word.
const WALK_MS: i64 = 60;

/// PostgreSQL: reads `sql` (a walk newest first) within [`WALK_MS`];
/// `None` when it ran out of time. The planner's guess of how common a
/// word is can be far off (a beginning of a word, a word it has no
/// statistics on), so the time limit, not the guess, has the last word.
async fn walk(db: &Db, sql: &SqlBuilder) -> Result<Option<Vec<sqlx::any::AnyRow>>, AppError> {
    let mut tx = db.pool().begin().await?;
    sqlx::query(&format!("SET LOCAL statement_timeout = {WALK_MS}"))
        .execute(&mut *tx)
        .await?;
    match sql.query().persistent(false).fetch_all(&mut *tx).await {
        Ok(rows) => {
            tx.rollback().await?;
            Ok(Some(rows))
        }
        // 57014: canceled by the statement timeout.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("57014") => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Matches PostgreSQL expects below this are read from the full-text
/// index first; above it, newest first along the primary key.
const PROBE_ROWS: f64 = 20_000.0;

/// PostgreSQL: how to read a source for this query. Newest first along
/// the primary key, testing each row, stops early for a common word but
/// reads the whole table for a rare one; the full-text index finds a rare
/// word's few rows at once but all of a common word's. The planner picks
/// the walk whenever a LIMIT is near, having no better guess than 0.5% for
/// a word it has no statistics on, which made a rare word take seconds.
/// So we ask it how many rows the index would give (`EXPLAIN`, a fraction
/// of a millisecond) and choose ourselves.
async fn walk_or_probe(db: &Db, source: &Source, query: &str) -> Result<bool, AppError> {
    // The top line of the plan: "Bitmap Heap Scan on ... (cost=... rows=N ...)".
    let row = sqlx::query(&format!("EXPLAIN {}", source.probe))
        .bind(query)
        .persistent(false)
        .fetch_one(db.pool())
        .await?;
    let top: String = row.try_get(0)?;
    let rows = top
        .split("rows=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or(f64::MAX);
    Ok(rows > PROBE_ROWS)
}

/// Reads each source's newest matches and offers them as candidates.
///
/// The words are first matched whole. Only when that leaves a window
/// unfilled is the last word also taken as a beginning ("refu" for
/// "refund"): a prefix of a common word has to merge the lists of every
/// word it begins, which costs more than the rest of the search, and a
/// window already full of whole-word matches would not change.
async fn text_matches(
    db: &Db,
    scope: &SqlBuilder,
    words: &[String],
    found: &mut Candidates,
) -> Result<(), AppError> {
    let (sources, whole, prefix) = match db.kind() {
        DbKind::Sqlite => (
            &SQLITE_SOURCES,
            fts5_query(words, false),
            fts5_query(words, true),
        ),
        DbKind::Postgres => (
            &POSTGRES_SOURCES,
            tsquery(words, false),
            tsquery(words, true),
        ),
    };
    for source in sources {
        let mut rows = read_source(db, scope, source, &whole).await?;
        let mut as_prefix = false;
        if (rows.len() as i64) < source.window && prefix != whole {
            rows = read_source(db, scope, source, &prefix).await?;
            as_prefix = true;
        }
        if rows.len() as i64 >= source.window {
            found.capped = true;
        }
        for (ticket_id, message_id, text) in rows {
            found.offer(
                ticket_id,
                relevance(&text, words, as_prefix),
                source.matched_in,
                message_id,
            );
        }
    }
    Ok(())
}

async fn read_source(
    db: &Db,
    scope: &SqlBuilder,
    source: &Source,
    query: &str,
) -> Result<Vec<(i64, Option<i64>, String)>, AppError> {
    let args = vec![crate::db::Arg::Text(query.to_string())];
    let finish = |mut sql: SqlBuilder| {
        sql.append(scope);
        sql.push(source.order).bind_int(source.window);
        sql
    };
    let rows = if source.probe.is_empty() {
        finish(SqlBuilder::with_args(source.head, args))
            .query()
            .fetch_all(db.pool())
            .await?
    } else {
        let walked = if walk_or_probe(db, source, query).await? {
            walk(
                db,
                &finish(SqlBuilder::with_args(source.head, args.clone())),
            )
            .await?
        } else {
            None
        };
        match walked {
            Some(rows) => rows,
            None => {
                let head = format!(
                    "WITH hits AS MATERIALIZED ({}) {}",
                    source.probe, source.by_hits
                );
                finish(SqlBuilder::with_args(&head, args))
                    .query()
                    .persistent(false)
                    .fetch_all(db.pool())
                    .await?
            }
        }
    };
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("ticket_id")?,
                r.try_get("message_id")?,
                r.try_get::<Option<String>, _>("text")?.unwrap_or_default(),
            ))
        })
        .collect()
}

/// How well `text` matches: BM25's saturating term frequency with its
/// length normalisation, summed over the words (every word weighs the
/// same: within one search the inverse document frequency would only scale
/// each word's share, and counting it costs a pass over a common word's
/// whole index). Computed here rather than by the database so that both
/// databases rank alike.
pub fn relevance(text: &str, terms: &[String], last_is_prefix: bool) -> f64 {
    const K1: f64 = 1.2;
    const B: f64 = 0.75;
    const AVERAGE_WORDS: f64 = 40.0;
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let norm = 1.0 - B + B * words.len() as f64 / AVERAGE_WORDS;
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let prefix = last_is_prefix && i + 1 == terms.len();
            let tf = words
                .iter()
                .filter(|w| {
                    if prefix {
                        w.starts_with(t.as_str())
                    } else {
                        *w == t
                    }
                })
                .count() as f64;
            tf * (K1 + 1.0) / (tf + K1 * norm)
        })
        .sum()
}

async fn bodies(db: &Db, ids: &[i64]) -> Result<HashMap<i64, String>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut sql = SqlBuilder::new("SELECT id, body FROM messages WHERE id IN (");
    sql.bind_ints(ids);
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
        assert_eq!(
            fts5_query(&t(&["refund", "now"]), true),
            "\"refund\" \"now\"*"
        );
        assert_eq!(
            fts5_query(&t(&["refund", "now"]), false),
            "\"refund\" \"now\""
        );
        assert_eq!(fts5_query(&t(&["refund", "n"]), true), "\"refund\" \"n\"");
        assert_eq!(tsquery(&t(&["refund", "inv"]), true), "refund & inv:*");
        assert_eq!(tsquery(&t(&["refund", "inv"]), false), "refund & inv");
        assert!(terms("  -- ** ").is_empty());
        assert_eq!(terms("Café Ünïcode"), t(&["café", "ünïcode"]));
        assert_eq!(as_number("#42"), Some(42));
        assert_eq!(as_number("42x"), None);
        assert_eq!(as_number("0"), None);
    }

    #[test]
    fn relevance_counts_words_and_prefers_short_texts() {
        let q = t(&["refund"]);
        assert_eq!(relevance("no match here", &q, false), 0.0);
        let once = relevance("I want a refund", &q, false);
        assert!(relevance("refund refund refund please", &q, false) > once);
        let long = format!("refund {}", "word ".repeat(200));
        assert!(relevance(&long, &q, false) < once);
        assert_eq!(relevance("refunded", &q, false), 0.0);
        assert!(relevance("refunded", &q, true) > 0.0);
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
