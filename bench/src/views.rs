//! Views at scale (issue 5): the first page and a deep keyset page of every
//! default view and of two custom views, and the whole left column (every
//! view with its count, `GET /api/v1/views`), for one signed-in agent.
//!
//! The custom views are created for the run and deleted after it, so the
//! dataset stays as the generator left it.

use super::{open_loop, open_loop_turns, percentile, MakeRequest, Report};
use serde_json::{json, Value};
use std::sync::Arc;

/// Count reloads timed right after a ticket change.
const COLD_SAMPLES: usize = 40;

/// Requests per second for the counts.
const COUNTS_RATE: u64 = 10;

/// How many pages deep the "deep page" is (25 tickets each).
const DEEP_PAGES: usize = 40;

/// The cursor `pages` pages into a view, or None when it has fewer.
async fn deep_cursor(
    client: &reqwest::Client,
    base: &str,
    view: &str,
    pages: usize,
) -> Option<String> {
    let mut cursor: Option<String> = None;
    for _ in 0..pages {
        let mut url = format!("{base}/api/v1/views/{view}/tickets?limit=25");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = client.get(url).send().await.ok()?.json().await.ok()?;
        cursor = Some(page["next_cursor"].as_str()?.to_string());
    }
    cursor
}

/// Changes `ticket`'s priority, lets the hub publish the change, then
/// times one load of every view with its count (ms; `None` if it failed).
async fn counts_after_change(
    client: &reqwest::Client,
    base: &str,
    ticket: i64,
    priority: &str,
) -> Option<f64> {
    let _ = client
        .patch(format!("{base}/api/v1/tickets/{ticket}"))
        .json(&json!({ "priority": priority }))
        .send()
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let start = std::time::Instant::now();
    let res = client
        .get(format!("{base}/api/v1/views"))
        .send()
        .await
        .ok()?;
    res.bytes().await.ok()?;
    Some(start.elapsed().as_secs_f64() * 1000.0)
}

pub async fn measure(
    client: &reqwest::Client,
    base: &str,
    rate: u64,
    seconds: u64,
    r: &mut Report,
) {
    let mut created = Vec::new();
    for body in [
        json!({"name": "Bench: urgent and high, waiting on us", "definition": {"groups": [[
            {"property": "priority", "op": "is_any_of", "values": ["urgent", "high"]},
            {"property": "status_category", "op": "is_any_of", "values": ["open"]}
        ]]}}),
        json!({"name": "Bench: email or chat, last 30 days, unassigned or mine", "definition": {"groups": [[
            {"property": "channel", "op": "is_any_of", "values": ["email", "chat"]},
            {"property": "created_at", "op": "in_last_days", "values": ["30"]},
            {"property": "owner", "op": "is_any_of", "values": ["none", "me"]}
        ]]}}),
    ] {
        match super::post_json(client, &format!("{base}/api/v1/views"), body).await {
            Some(v) if v["id"].is_i64() => created.push(v["id"].as_i64().unwrap_or(0)),
            other => eprintln!("cannot create a bench view: {other:?}"),
        }
    }
    let mut views: Vec<String> = [
        "unassigned",
        "mine",
        "open",
        "mentions",
        "followers",
        "closed",
    ]
    .map(String::from)
    .to_vec();
    views.extend(created.iter().map(|id| id.to_string()));

    // A ticket to change, for the counts right after a change.
    let target = client
        .get(format!("{base}/api/v1/views/open/tickets?limit=1"))
        .send()
        .await
        .ok();
    let target = match target {
        Some(res) => res
            .json::<Value>()
            .await
            .ok()
            .and_then(|p| p["tickets"][0]["id"].as_i64()),
        None => None,
    };
    // The new views are counted from the server's maintained tables once
    // its background scan of every ticket is done (seconds at 1M tickets);
    // until then their counts are counted in SQL, slowly after a change.
    // Wait for the scan before measuring anything (it takes a core while
    // it runs): the left column answering quickly right after a change,
    // three times in a row.
    let settle_started = std::time::Instant::now();
    if let Some(ticket) = target {
        let mut quick = 0;
        while quick < 3 && settle_started.elapsed() < std::time::Duration::from_secs(180) {
            let priority = ["low", "high"][quick % 2];
            let ms = counts_after_change(client, base, ticket, priority).await;
            quick = if ms.is_some_and(|ms| ms < 15.0) {
                quick + 1
            } else {
                0
            };
        }
    }
    eprintln!(
        "views: custom view counts maintained after {:.1} s",
        settle_started.elapsed().as_secs_f64()
    );

    // Warm up: one pass over every view's first pages, unmeasured, so the
    // first view measured does not pay for a cold cache (or for the scan
    // of every ticket the server starts with) alone.
    for view in &views {
        for _ in 0..20 {
            if let Ok(res) = client
                .get(format!("{base}/api/v1/views/{view}/tickets?limit=25"))
                .send()
                .await
            {
                let _ = res.bytes().await;
            }
        }
    }

    let rate = rate.min(100);
    let mut worst_first: f64 = 0.0;
    let mut worst_deep: f64 = 0.0;
    let mut worst_ratio: f64 = 0.0;
    for view in &views {
        let label = if view.parse::<i64>().is_ok() {
            format!("custom {view}")
        } else {
            view.clone()
        };
        let first: MakeRequest = {
            let url = format!("{base}/api/v1/views/{view}/tickets?limit=25");
            Arc::new(move |c| c.get(url.clone()))
        };
        let deep: Option<MakeRequest> =
            deep_cursor(client, base, view, DEEP_PAGES)
                .await
                .map(|cursor| {
                    let url =
                        format!("{base}/api/v1/views/{view}/tickets?limit=25&cursor={cursor}");
                    Arc::new(move |c: &reqwest::Client| c.get(url.clone())) as MakeRequest
                });
        // The first and the deep page take turns in one window, each at
        // `rate`: their p99s then compare under the same conditions.
        let pages: Vec<MakeRequest> = std::iter::once(first).chain(deep).collect();
        let turns = open_loop_turns(client, &pages, rate * pages.len() as u64, seconds).await;
        let (first_lat, fail) = &turns[0];
        let p99 = percentile(first_lat, 0.99);
        if *fail > 0 {
            eprintln!("warning: {fail} failed requests on view {view}");
        }
        r.add(
            &format!("view {label}: first page p50"),
            percentile(first_lat, 0.5),
            "ms",
            None,
            None,
        );
        r.add(
            &format!("view {label}: first page p99"),
            p99,
            "ms",
            Some(("<=", 20.0)),
            None,
        );
        worst_first = worst_first.max(p99);
        let Some((deep_lat, _)) = turns.get(1) else {
            eprintln!("view {view} has fewer than {DEEP_PAGES} pages; no deep page");
            continue;
        };
        let d99 = percentile(deep_lat, 0.99);
        r.add(
            &format!("view {label}: page {DEEP_PAGES} p50"),
            percentile(deep_lat, 0.5),
            "ms",
            None,
            None,
        );
        r.add(
            &format!("view {label}: page {DEEP_PAGES} p99"),
            d99,
            "ms",
            Some(("<=", 20.0)),
            None,
        );
        worst_deep = worst_deep.max(d99);
        worst_ratio = worst_ratio.max(d99 / p99.max(0.001));
    }
    r.add(
        "views: worst first page p99",
        worst_first,
        "ms",
        Some(("<=", 20.0)),
        None,
    );
    r.add(
        "views: worst deep page p99",
        worst_deep,
        "ms",
        Some(("<=", 20.0)),
        None,
    );
    r.add(
        "views: worst deep p99 / first p99 (taking turns)",
        worst_ratio,
        "x",
        Some(("<=", 1.5)),
        None,
    );

    let counts: MakeRequest = {
        let url = format!("{base}/api/v1/views");
        Arc::new(move |c| c.get(url.clone()))
    };
    // At 10 requests a second: one agent's left column reloads at most a
    // few times a second, and a rate above what the counts can sustain would
    // measure the queue instead of the counts.
    let (p50, p99, _) = open_loop(client, counts, COUNTS_RATE, seconds).await;
    r.add(
        "views: all counts, tickets unchanged p50",
        p50,
        "ms",
        None,
        None,
    );
    r.add(
        "views: all counts, tickets unchanged p99",
        p99,
        "ms",
        Some(("<=", 15.0)),
        None,
    );

    // Right after a ticket changed: what a workspace waits for when its
    // counts reload after a change (custom view counts are maintained as
    // the change is published).
    let mut cold = Vec::new();
    if let Some(ticket) = target {
        for i in 0..COLD_SAMPLES {
            let priority = ["low", "medium", "high", "urgent"][i % 4];
            if let Some(ms) = counts_after_change(client, base, ticket, priority).await {
                cold.push(ms);
            }
        }
        cold.sort_by(|a, b| a.total_cmp(b));
        r.add(
            "views: all counts right after a change p50",
            super::percentile(&cold, 0.5),
            "ms",
            None,
            None,
        );
        r.add(
            "views: all counts right after a change p99",
            super::percentile(&cold, 0.99),
            "ms",
            Some(("<=", 15.0)),
            None,
        );
    }

    for id in created {
        let _ = client
            .delete(format!("{base}/api/v1/views/{id}"))
            .send()
            .await;
    }
}
