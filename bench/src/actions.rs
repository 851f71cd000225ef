//! Search and merge at scale (issue 8).
//!
//! Search: `GET /api/v1/search` for a common word (in most thread entries),
//! a word of medium frequency, a rare one (an order number, in one or two
//! entries), a beginning of a word as typed, and a ticket number, each at
//! a fixed rate in an open loop, for an agent who sees everything.
//!
//! Merge: tickets with 1,000 thread entries each are made for the run
//! (entries inserted in this process, straight into the database), each
//! merged into another ticket through the API and timed, then unmerged
//! (also timed) and deleted, so the dataset stays as the generator left it.

use super::{open_loop, open_loop_times, percentile, MakeRequest, Report};
use app::db::{now_ms, Db, SqlBuilder};
use serde_json::{json, Value};
use sqlx::Row;
use std::sync::Arc;
use std::time::Instant;

/// Merges timed (each of a 1,000-entry ticket).
const MERGES: usize = 30;
/// Entries of each merged ticket.
const ENTRIES: usize = 1_000;

/// A word that is in one entry or two: an order number the generator wrote.
async fn rare_word(db: &Db) -> Option<String> {
    let row = sqlx::query(
        "SELECT body FROM messages WHERE kind = 'inbound' AND body LIKE '%Order 1%' \
         ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(db.pool())
    .await
    .ok()??;
    let body: String = row.try_get("body").ok()?;
    let at = body.rfind("Order ")?;
    let number: String = body[at + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!number.is_empty()).then_some(number)
}

pub async fn measure_search(
    client: &reqwest::Client,
    base: &str,
    db: &Db,
    rate: u64,
    seconds: u64,
    r: &mut Report,
) {
    let rare = rare_word(db).await.unwrap_or_else(|| "zyxwvut".into());
    let number: i64 = sqlx::query("SELECT MAX(number) / 2 AS n FROM tickets")
        .fetch_one(db.pool())
        .await
        .and_then(|row| row.try_get("n"))
        .unwrap_or(1);
    let queries = [
        ("common word", "working".to_string()),
        ("two common words", "browser version".to_string()),
        ("medium word", "screenshots".to_string()),
        ("rare word", rare),
        ("word being typed", "refu".to_string()),
        ("ticket number", number.to_string()),
    ];
    for (label, q) in queries {
        // How many it finds, once, for the report.
        let found = client
            .get(format!("{base}/api/v1/search"))
            .query(&[("q", q.as_str())])
            .send()
            .await
            .ok();
        let total = match found {
            Some(res) => res.json::<Value>().await.ok(),
            None => None,
        };
        let total = total
            .map(|v| {
                let n = v["total"].as_i64().unwrap_or(-1);
                if v["total_capped"].as_bool() == Some(true) {
                    format!("{n}+")
                } else {
                    n.to_string()
                }
            })
            .unwrap_or_else(|| "error".into());
        println!("search {label} {q:?}: {total} tickets");
        let make: MakeRequest = {
            let base = base.to_string();
            Arc::new(move |c| {
                c.get(format!("{base}/api/v1/search"))
                    .query(&[("q", q.as_str())])
            })
        };
        // Warm the caches once, as an agent's second search would.
        let _ = open_loop(client, make.clone(), 10, 1).await;
        let (times, failures) = open_loop_times(client, make, rate.min(20), seconds).await;
        if failures > 0 {
            eprintln!("search {label}: {failures} requests failed");
        }
        let (p50, p95) = (percentile(&times, 0.5), percentile(&times, 0.95));
        r.add(&format!("search, {label}: p50"), p50, "ms", None, None);
        r.add(
            &format!("search, {label}: p95"),
            p95,
            "ms",
            Some(("<=", 150.0)),
            None,
        );
    }
}

/// Makes a ticket with `ENTRIES` thread entries (through the API, then the
/// entries straight into the database, in a few statements).
async fn long_ticket(client: &reqwest::Client, base: &str, db: &Db, i: usize) -> Option<i64> {
    let t = super::post_json(
        client,
        &format!("{base}/api/v1/tickets"),
        json!({"subject": format!("Bench merge {i}"), "body": "Bench thread",
               "contact": {"email": format!("bench-merge-{i}@bench.example")}}),
    )
    .await?;
    let id = t["id"].as_i64()?;
    let now = now_ms();
    let mut tx = db.begin_write().await.ok()?;
    for chunk in (0..ENTRIES - 1).collect::<Vec<_>>().chunks(100) {
        let mut sql = SqlBuilder::new(
            "INSERT INTO messages (ticket_id, kind, author_contact_id, body, body_html, created_at) VALUES ",
        );
        for (k, n) in chunk.iter().enumerate() {
            if k > 0 {
                sql.push(", ");
            }
            let body = format!("Bench entry {n} of ticket {i}");
            sql.push("(")
                .bind_int(id)
                .push(", 'inbound', NULL, ")
                .bind_text(body.clone())
                .push(", ")
                .bind_text(format!("<p>{body}</p>"))
                .push(", ")
                .bind_int(now - 1_000_000 + *n as i64)
                .push(")");
        }
        sql.query().execute(tx.conn()).await.ok()?;
    }
    tx.commit().await.ok()?;
    Some(id)
}

pub async fn measure_merge(client: &reqwest::Client, base: &str, db: &Db, r: &mut Report) {
    let mut pairs = Vec::new();
    for i in 0..MERGES {
        let primary = super::post_json(
            client,
            &format!("{base}/api/v1/tickets"),
            json!({"subject": format!("Bench merge primary {i}"), "body": "Primary"}),
        )
        .await
        .and_then(|v| v["id"].as_i64());
        let secondary = long_ticket(client, base, db, i).await;
        match (primary, secondary) {
            (Some(p), Some(s)) => pairs.push((p, s)),
            _ => eprintln!("cannot make the merge bench's tickets"),
        }
    }
    let mut merges = Vec::new();
    let mut unmerges = Vec::new();
    for (p, s) in &pairs {
        let t = Instant::now();
        let res = client
            .post(format!("{base}/api/v1/tickets/{p}/merge"))
            .json(&json!({"ticket_ids": [s]}))
            .send()
            .await;
        let ok = matches!(&res, Ok(r) if r.status().is_success());
        if let Ok(res) = res {
            let _ = res.bytes().await;
        }
        if ok {
            merges.push(t.elapsed().as_secs_f64() * 1000.0);
        } else {
            eprintln!("merge of {s} into {p} failed");
            continue;
        }
        let t = Instant::now();
        let res = client
            .post(format!("{base}/api/v1/tickets/{p}/unmerge"))
            .json(&json!({"ticket_id": s}))
            .send()
            .await;
        if matches!(&res, Ok(r) if r.status().is_success()) {
            unmerges.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    merges.sort_by(f64::total_cmp);
    unmerges.sort_by(f64::total_cmp);
    r.add(
        "merge of a 1,000-entry ticket p50",
        percentile(&merges, 0.5),
        "ms",
        None,
        None,
    );
    r.add(
        "merge of a 1,000-entry ticket p99",
        percentile(&merges, 0.99),
        "ms",
        Some(("<=", 100.0)),
        None,
    );
    r.add(
        "unmerge of a 1,000-entry ticket p99",
        percentile(&unmerges, 0.99),
        "ms",
        None,
        None,
    );
    // Leave the dataset as it was.
    for (p, s) in pairs {
        for id in [p, s] {
            let _ = sqlx::query("DELETE FROM tickets WHERE id = $1")
                .bind(id)
                .execute(db.pool())
                .await;
        }
    }
}
