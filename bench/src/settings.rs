//! Help desk settings at scale (issue 7): how long an SLA policy change
//! takes to recalculate every open ticket's clocks, and how long one
//! routing decision takes (pick, assign, record why, commit).
//!
//! The policy changes go through the REST API, which answers once the
//! recalculation is done, so the figure is what an admin waits for. The
//! routing decisions are timed in this process on the same database: the
//! tickets are inserted waiting for routing without the event that would
//! wake the server's worker, and each is routed here, one at a time.

use super::{percentile, Report};
use app::db::Db;
use serde_json::{json, Value};
use sqlx::Row;
use std::time::Instant;

/// Routing decisions timed.
const DECISIONS: usize = 300;

async fn open_tickets(db: &Db) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM tickets WHERE status_category <> 'closed'")
        .fetch_one(db.pool())
        .await
        .and_then(|r| r.try_get("n"))
        .unwrap_or(0)
}

/// Sends a JSON request and returns (status, body, milliseconds).
async fn timed(req: reqwest::RequestBuilder) -> (u16, Value, f64) {
    let t = Instant::now();
    let Ok(res) = req.send().await else {
        return (0, Value::Null, f64::NAN);
    };
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body, t.elapsed().as_secs_f64() * 1000.0)
}

pub async fn measure(admin: &reqwest::Client, base: &str, db: &Db, r: &mut Report) {
    let open = open_tickets(db).await;
    println!("({open} open tickets)");
    let policy = json!({"name": "Bench standard", "first_reply_minutes": 240, "next_reply_minutes": 480,
        "close_minutes": 7200, "due_soon_minutes": 60});
    let (status, created, create_ms) = timed(
        admin
            .post(format!("{base}/api/v1/sla-policies"))
            .json(&policy),
    )
    .await;
    if status != 201 {
        eprintln!("cannot create an SLA policy ({status}): {created}");
        return;
    }
    let id = created["id"].as_i64().unwrap_or(0);
    let mut changed = policy.clone();
    changed["first_reply_minutes"] = json!(120);
    let (_, _, change_ms) = timed(
        admin
            .put(format!("{base}/api/v1/sla-policies/{id}"))
            .json(&changed),
    )
    .await;
    let (_, _, delete_ms) = timed(admin.delete(format!("{base}/api/v1/sla-policies/{id}"))).await;
    let per_100k = |ms: f64| ms / (open.max(1) as f64) * 100_000.0;
    r.add(
        "SLA recalculation: new policy (all open tickets)",
        create_ms,
        "ms",
        None,
        None,
    );
    r.add(
        "SLA recalculation: changed policy",
        change_ms,
        "ms",
        None,
        None,
    );
    r.add(
        "SLA recalculation: deleted policy",
        delete_ms,
        "ms",
        None,
        None,
    );
    r.add(
        "SLA recalculation per 100k open tickets",
        per_100k(change_ms),
        "ms",
        None,
        None,
    );

    // Routing: a round robin over the largest team's main members.
    let team: Option<i64> = sqlx::query(
        "SELECT team_id FROM team_members WHERE is_main = 1 GROUP BY team_id ORDER BY COUNT(*) DESC LIMIT 1",
    )
    .fetch_optional(db.pool())
    .await
    .ok()
    .flatten()
    .and_then(|row| row.try_get("team_id").ok());
    let Some(team) = team else {
        eprintln!("no team to route to");
        return;
    };
    let (status, rule, _) = timed(admin.post(format!("{base}/api/v1/routing-rules")).json(&json!({
        "name": "Bench routing", "channel": "email", "target": {"team_id": team}, "method": "round_robin"
    })))
    .await;
    if status != 201 {
        eprintln!("cannot create a routing rule ({status}): {rule}");
        return;
    }
    let status_id: i64 = sqlx::query(
        "SELECT id FROM pipeline_statuses WHERE category = 'open' ORDER BY position, id LIMIT 1",
    )
    .fetch_one(db.pool())
    .await
    .and_then(|r| r.try_get("id"))
    .unwrap_or(1);
    let mut samples = Vec::with_capacity(DECISIONS);
    for i in 0..DECISIONS {
        let Some(id) = waiting_ticket(db, status_id, i).await else {
            continue;
        };
        let t = Instant::now();
        match app::routing::service::route(db, id).await {
            Ok(app::routing::service::Routed::Assigned(_)) => {
                samples.push(t.elapsed().as_secs_f64() * 1000.0)
            }
            // The server's periodic sweep took it first: not a sample.
            Ok(_) => {}
            Err(e) => eprintln!("routing failed: {e}"),
        }
    }
    let rule_id = rule["id"].as_i64().unwrap_or(0);
    let _ = admin
        .delete(format!("{base}/api/v1/routing-rules/{rule_id}"))
        .send()
        .await;
    samples.sort_by(|a, b| a.total_cmp(b));
    println!("({} routing decisions timed)", samples.len());
    r.add(
        "routing decision p50 (round robin, largest team)",
        percentile(&samples, 0.5),
        "ms",
        None,
        None,
    );
    r.add(
        "routing decision p99",
        percentile(&samples, 0.99),
        "ms",
        None,
        None,
    );
}

/// Inserts an unassigned email ticket waiting for routing, without the
/// `ticket.created` event (the server's worker is not woken for it).
async fn waiting_ticket(db: &Db, status_id: i64, i: usize) -> Option<i64> {
    let mut tx = db.begin_write().await.ok()?;
    let number: i64 = sqlx::query(
        "UPDATE counters SET value = value + 1 WHERE name = 'ticket_number' RETURNING value",
    )
    .fetch_one(tx.conn())
    .await
    .ok()?
    .try_get("value")
    .ok()?;
    let now = app::db::now_ms();
    let id: i64 = sqlx::query(
        "INSERT INTO tickets (number, subject, pipeline_id, status_id, status_category, priority, channel, \
         created_at, updated_at, routing_pending) \
         VALUES ($1, $2, (SELECT pipeline_id FROM pipeline_statuses WHERE id = $3), $3, 'open', 1, 'email', $4, $4, 1) \
         RETURNING id",
    )
    .bind(number)
    .bind(format!("Bench routing {i}"))
    .bind(status_id)
    .bind(now)
    .fetch_one(tx.conn())
    .await
    .ok()?
    .try_get("id")
    .ok()?;
    tx.commit().await.ok()?;
    Some(id)
}
