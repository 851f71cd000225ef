//! Help desk settings against the real server: routing (round robin,
//! balance, capacity, waiting tickets, reasons, two processes on one
//! PostgreSQL), SLA clocks (targets, replies, pauses, the timer, policy
//! changes), working hours, sidebar layouts and who may change settings.

mod common;

use app::users::Role;
use common::{eventually, send, Backend, TestApp};
use serde_json::{json, Value};
use sqlx::Row;

async fn team(app: &TestApp, admin: &reqwest::Client, name: &str) -> i64 {
    let (status, team) = send(
        admin
            .post(app.url("/api/v1/teams"))
            .json(&json!({"name": name})),
    )
    .await;
    assert_eq!(status, 201, "{team}");
    team["id"].as_i64().unwrap()
}

async fn agent_in(
    app: &TestApp,
    admin: &reqwest::Client,
    name: &str,
    team: i64,
    main: bool,
) -> i64 {
    let user = app.user(name, Role::Agent).await;
    let (status, body) = send(
        admin
            .patch(app.url(&format!("/api/v1/users/{}", user.id)))
            .json(&json!({"teams": [{"id": team, "main": main}]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    user.id
}

async fn set_user(app: &TestApp, admin: &reqwest::Client, id: i64, patch: Value) -> Value {
    let (status, body) = send(
        admin
            .patch(app.url(&format!("/api/v1/users/{id}")))
            .json(&patch),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn new_ticket(app: &TestApp, client: &reqwest::Client, body: Value) -> Value {
    let (status, t) = send(client.post(app.url("/api/v1/tickets")).json(&body)).await;
    assert_eq!(status, 201, "{t}");
    t
}

async fn ticket(app: &TestApp, client: &reqwest::Client, id: i64) -> Value {
    let (status, t) = send(client.get(app.url(&format!("/api/v1/tickets/{id}")))).await;
    assert_eq!(status, 200, "{t}");
    t
}

async fn owner_of(app: &TestApp, client: &reqwest::Client, id: i64) -> i64 {
    eventually("routing to assign the ticket", || async {
        ticket(app, client, id).await["owner_id"].as_i64()
    })
    .await
}

/// The timeline lines of a ticket (system entries).
async fn timeline(app: &TestApp, client: &reqwest::Client, id: i64) -> Vec<String> {
    let (_, body) = send(client.get(app.url(&format!("/api/v1/tickets/{id}/messages")))).await;
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "event")
        .map(|m| m["body"].as_str().unwrap().to_string())
        .collect()
}

async fn routing_rule(app: &TestApp, admin: &reqwest::Client, rule: Value) -> Value {
    let (status, body) = send(admin.post(app.url("/api/v1/routing-rules")).json(&rule)).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn round_robin_skips_the_ineligible_and_says_why(app: TestApp) {
    let admin = app.admin().await;
    let support = team(&app, &admin, "Support").await;
    let ana = agent_in(&app, &admin, "Ana Ruiz", support, true).await;
    let bo = agent_in(&app, &admin, "Bo Chen", support, true).await;
    let cy = agent_in(&app, &admin, "Cy Diaz", support, true).await;
    // An additional member is never routed to.
    let dee = agent_in(&app, &admin, "Dee Ek", support, false).await;
    set_user(&app, &admin, cy, json!({"availability": "away"})).await;
    routing_rule(
        &app,
        &admin,
        json!({"name": "Email to Support", "channel": "email", "target": {"team_id": support},
               "method": "round_robin"}),
    )
    .await;

    let mut owners = Vec::new();
    let mut ids = Vec::new();
    for i in 0..4 {
        let t = new_ticket(
            &app,
            &admin,
            json!({"subject": format!("Routed {i}"), "channel": "email"}),
        )
        .await;
        let id = t["id"].as_i64().unwrap();
        // One at a time, so the order of creation is the order of routing.
        owners.push(owner_of(&app, &admin, id).await);
        ids.push(id);
    }
    assert_eq!(owners, vec![ana, bo, ana, bo]);
    assert!(!owners.contains(&dee));
    let reasons = timeline(&app, &admin, ids[1]).await;
    let reason = reasons
        .iter()
        .find(|l| l.starts_with("Assigned to Bo Chen by routing"))
        .expect("reason");
    assert!(
        reason.contains("round robin in Support: next after Ana Ruiz"),
        "{reason}"
    );
    assert!(reason.contains("Cy Diaz skipped: away"), "{reason}");

    // Another channel matches no rule: it stays unassigned.
    let chat = new_ticket(&app, &admin, json!({"subject": "Chat", "channel": "chat"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(ticket(&app, &admin, chat["id"].as_i64().unwrap()).await["owner_id"].is_null());

    // Cy comes back mid-cycle and is owed a ticket in it.
    set_user(&app, &admin, cy, json!({"availability": "available"})).await;
    let t = new_ticket(
        &app,
        &admin,
        json!({"subject": "Routed 5", "channel": "email"}),
    )
    .await;
    assert_eq!(owner_of(&app, &admin, t["id"].as_i64().unwrap()).await, cy);

    // The picker's loads: open tickets per user.
    let (status, loads) = send(admin.get(app.url("/api/v1/users/loads"))).await;
    assert_eq!(status, 200);
    let load = |id: i64| {
        loads["loads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["user_id"] == id)
            .unwrap()["open"]
            .as_i64()
            .unwrap()
    };
    assert_eq!((load(ana), load(bo), load(cy)), (2, 2, 1));
}

async fn at_capacity_tickets_wait_and_are_routed_when_room_opens(app: TestApp) {
    let admin = app.admin().await;
    let support = team(&app, &admin, "Support").await;
    let ana = agent_in(&app, &admin, "Ana Ruiz", support, true).await;
    set_user(&app, &admin, ana, json!({"capacity": {"max_open": 1}})).await;
    routing_rule(
        &app,
        &admin,
        json!({"name": "Ana takes all", "target": {"user_ids": [ana]}, "method": "balanced"}),
    )
    .await;
    let first = new_ticket(&app, &admin, json!({"subject": "First"})).await;
    let first = first["id"].as_i64().unwrap();
    assert_eq!(owner_of(&app, &admin, first).await, ana);
    let second = new_ticket(&app, &admin, json!({"subject": "Second"})).await;
    let second = second["id"].as_i64().unwrap();
    let waiting = eventually("the waiting note", || async {
        timeline(&app, &admin, second)
            .await
            .into_iter()
            .find(|l| l.starts_with("Waiting for routing"))
    })
    .await;
    assert!(
        waiting.contains("Ana Ruiz skipped: at capacity 1/1"),
        "{waiting}"
    );
    assert!(ticket(&app, &admin, second).await["owner_id"].is_null());

    // Closing the first frees room: the waiting ticket goes to Ana.
    let (status, body) = send(
        admin
            .patch(app.url(&format!("/api/v1/tickets/{first}")))
            .json(&json!({"status": "Closed"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(owner_of(&app, &admin, second).await, ana);
    // Routed once, noted once.
    let lines = timeline(&app, &admin, second).await;
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("Waiting for routing"))
            .count(),
        1
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("Assigned to Ana Ruiz by routing"))
            .count(),
        1
    );
}

async fn routing_waits_outside_business_hours(app: TestApp) {
    let admin = app.admin().await;
    let support = team(&app, &admin, "Support").await;
    let ana = agent_in(&app, &admin, "Ana Ruiz", support, true).await;
    // Open only on the weekday three days from today (UTC): closed now.
    let days = app::db::now_ms().div_euclid(86_400_000);
    let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let other_day = names[((days + 3 + 3) % 7) as usize];
    let (status, calendar) = send(admin.post(app.url("/api/v1/calendars")).json(&json!({
        "name": "Night shift", "timezone": "UTC",
        "weekly": [{"day": other_day, "start": "00:00", "end": "24:00"}]
    })))
    .await;
    assert_eq!(status, 201, "{calendar}");
    let calendar_id = calendar["id"].as_i64().unwrap();
    routing_rule(
        &app,
        &admin,
        json!({"name": "Nights", "target": {"team_id": support}, "calendar_id": calendar_id}),
    )
    .await;
    let t = new_ticket(&app, &admin, json!({"subject": "At the wrong hour"})).await;
    let id = t["id"].as_i64().unwrap();
    let note = eventually("the waiting note", || async {
        timeline(&app, &admin, id)
            .await
            .into_iter()
            .find(|l| l.starts_with("Waiting for routing"))
    })
    .await;
    assert!(note.contains("outside the hours of Night shift"), "{note}");
    // A calendar a rule uses cannot be deleted.
    let (status, _) =
        send(admin.delete(app.url(&format!("/api/v1/calendars/{calendar_id}")))).await;
    assert_eq!(status, 409);
    // The calendar opens (here: becomes 24/7): the ticket is routed.
    let (status, body) = send(
        admin
            .put(app.url(&format!("/api/v1/calendars/{calendar_id}")))
            .json(&json!({"name": "Night shift", "always_open": true})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(owner_of(&app, &admin, id).await, ana);
}

async fn bad_settings_are_refused_and_write_nothing(app: TestApp) {
    let admin = app.admin().await;
    let cases = [
        (
            "/api/v1/routing-rules",
            json!({"name": "", "method": "round_robin"}),
            "name",
        ),
        (
            "/api/v1/routing-rules",
            json!({"name": "x", "channel": "fax"}),
            "channel",
        ),
        (
            "/api/v1/routing-rules",
            json!({"name": "x", "target": {"team_id": 999}}),
            "target",
        ),
        (
            "/api/v1/routing-rules",
            json!({"name": "x", "conditions": [{"property": "created_at", "op": "in_last_days", "values": ["3"]}]}),
            "conditions",
        ),
        (
            "/api/v1/sla-policies",
            json!({"name": "x"}),
            "first_reply_minutes",
        ),
        (
            "/api/v1/sla-policies",
            json!({"name": "x", "first_reply_minutes": 0}),
            "first_reply_minutes",
        ),
        (
            "/api/v1/sla-policies",
            json!({"name": "x", "close_minutes": 60, "calendar_id": 999}),
            "calendar_id",
        ),
        (
            "/api/v1/sla-policies",
            json!({"name": "x", "close_minutes": 60, "pause_statuses": [999]}),
            "pause_statuses",
        ),
        (
            "/api/v1/calendars",
            json!({"name": "Office", "timezone": "Mars/Base"}),
            "timezone",
        ),
        (
            "/api/v1/calendars",
            json!({"name": "Office", "weekly": [{"day": "mon", "start": "17:00", "end": "09:00"}]}),
            "weekly",
        ),
        (
            "/api/v1/calendars",
            json!({"name": "Office", "weekly": []}),
            "weekly",
        ),
        (
            "/api/v1/calendars",
            json!({"name": "Office", "weekly": [{"day": "mon", "start": "09:00", "end": "17:00"}],
            "exceptions": [{"date": "2026-02-30"}]}),
            "exceptions",
        ),
    ];
    for (path, body, field) in cases {
        let (status, err) = send(admin.post(app.url(path)).json(&body)).await;
        assert_eq!(status, 422, "{path} {body}: {err}");
        assert_eq!(err["error"]["field"], field, "{path} {body}: {err}");
    }
    let (status, err) = send(
        admin
            .patch(app.url("/api/v1/users/1"))
            .json(&json!({"timezone": "Nowhere/Land", "capacity": {"max_open": 3}})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("timezone"))
    );
    let (status, err) = send(
        admin
            .patch(app.url("/api/v1/users/1"))
            .json(&json!({"capacity": {"max_open": -1}})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("capacity"))
    );
    let (status, err) = send(
        admin
            .put(app.url("/api/v1/sidebar-layouts"))
            .json(&json!({"cards": []})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("cards"))
    );
    assert_eq!(app.count("routing_rules").await, 0);
    assert_eq!(app.count("sla_policies").await, 0);
    assert_eq!(app.count("calendars").await, 1); // 24/7
    assert_eq!(app.count("sidebar_layouts").await, 0);
    let row = sqlx::query("SELECT timezone, capacity FROM users WHERE id = 1")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(row.try_get::<String, _>("timezone").unwrap(), "UTC");
    assert!(row
        .try_get::<Option<String>, _>("capacity")
        .unwrap()
        .is_none());
}

async fn settings_are_for_super_admins_only(app: TestApp) {
    let agent = app.user("Ana Ruiz", Role::Agent).await;
    let collaborator = app.user("Col Lab", Role::Collaborator).await;
    for user in [&agent, &collaborator] {
        let client = app.signed_in_as(user).await;
        for path in [
            "/api/v1/calendars",
            "/api/v1/routing-rules",
            "/api/v1/sla-policies",
            "/api/v1/sidebar-layouts",
            "/api/v1/sidebar-layouts/versions",
        ] {
            let (status, _) = send(client.get(app.url(path))).await;
            assert_eq!(status, 403, "{} GET {path}", user.name);
        }
        for (path, body) in [
            (
                "/api/v1/calendars",
                json!({"name": "x", "always_open": true}),
            ),
            ("/api/v1/routing-rules", json!({"name": "x"})),
            (
                "/api/v1/sla-policies",
                json!({"name": "x", "close_minutes": 5}),
            ),
            ("/api/v1/sidebar-layouts/rollback", json!({"version": 1})),
        ] {
            let (status, _) = send(client.post(app.url(path)).json(&body)).await;
            assert_eq!(status, 403, "{} POST {path}", user.name);
        }
        let (status, _) = send(
            client
                .put(app.url("/api/v1/sidebar-layouts"))
                .json(&json!({"cards": [{"kind": "contact"}]})),
        )
        .await;
        assert_eq!(status, 403);
        let (status, _) = send(
            client
                .patch(app.url(&format!("/api/v1/users/{}", user.id)))
                .json(&json!({"capacity": {"max_open": 100}})),
        )
        .await;
        assert_eq!(status, 403);
        // The settings pages are not there for them either.
        for page in ["/settings/help-desk", "/settings/sidebar"] {
            let res = client.get(app.url(page)).send().await.unwrap();
            let body = res.text().await.unwrap();
            assert!(
                !body.contains("data-testid=\"settings-page\""),
                "{} sees {page}",
                user.name
            );
        }
    }
    let (status, _) = send(
        app.signed_in_as(&collaborator)
            .await
            .get(app.url("/api/v1/users/loads")),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(app.count("calendars").await, 1);
    assert_eq!(app.count("routing_rules").await, 0);
}

/// Moves a ticket's creation back in time, as if it had waited.
async fn age_ticket(app: &TestApp, id: i64, by_ms: i64) {
    sqlx::query("UPDATE tickets SET created_at = created_at - $1 WHERE id = $2")
        .bind(by_ms)
        .bind(id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
}

fn goal<'a>(t: &'a Value, goal: &str) -> &'a Value {
    t["sla"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["goal"] == goal)
        .unwrap_or_else(|| panic!("no {goal} goal in {t}"))
}

async fn sla_clocks_follow_replies_pauses_and_policy_changes(app: TestApp) {
    let admin = app.admin().await;
    let (status, policy) = send(admin.post(app.url("/api/v1/sla-policies")).json(&json!({
        "name": "Urgent", "conditions": [{"property": "priority", "op": "is_any_of", "values": ["urgent"]}],
        "first_reply_minutes": 60, "next_reply_minutes": 120, "close_minutes": 480, "due_soon_minutes": 30,
        "pause_statuses": [2]
    }))).await;
    assert_eq!(status, 201, "{policy}");

    let t = new_ticket(
        &app,
        &admin,
        json!({"subject": "Down", "priority": "urgent",
        "contact": {"email": "c@customer.test", "name": "C"}, "body": "Help"}),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    let created = t["created_at"].as_i64().unwrap();
    let first = goal(&t, "first_reply");
    assert_eq!(
        (first["state"].as_str(), first["due_at"].as_i64()),
        (Some("on_track"), Some(created + 3_600_000))
    );
    assert_eq!(
        goal(&t, "close")["due_at"].as_i64(),
        Some(created + 8 * 3_600_000)
    );
    assert_eq!(t["sla_state"], "on_track");
    // Another priority matches no policy.
    let low = new_ticket(&app, &admin, json!({"subject": "Later", "priority": "low"})).await;
    assert_eq!(low["sla"], json!([]));

    // A reply meets the first reply goal.
    let (status, _) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "reply", "body": "On it"})),
    )
    .await;
    assert_eq!(status, 201);
    let t = ticket(&app, &admin, id).await;
    assert_eq!(goal(&t, "first_reply")["state"], "met");

    // Waiting on contact (status 2) pauses the close clock.
    let (status, body) = send(
        admin
            .patch(app.url(&format!("/api/v1/tickets/{id}")))
            .json(&json!({"status_id": 2})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let t = ticket(&app, &admin, id).await;
    let close = goal(&t, "close");
    assert_eq!(
        (close["paused"].as_bool(), close["due_at"].is_null()),
        (Some(true), true)
    );
    let (status, _) = send(
        admin
            .patch(app.url(&format!("/api/v1/tickets/{id}")))
            .json(&json!({"status_id": 1})),
    )
    .await;
    assert_eq!(status, 200);
    let t = ticket(&app, &admin, id).await;
    let due = goal(&t, "close")["due_at"].as_i64().unwrap();
    assert!(due >= created + 8 * 3_600_000, "the pause is added: {t}");

    // A policy change recalculates open tickets before it answers.
    let mut changed = policy.clone();
    changed["close_minutes"] = json!(24 * 60);
    let (status, body) = send(
        admin
            .put(app.url(&format!("/api/v1/sla-policies/{}", policy["id"])))
            .json(&changed),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let t = ticket(&app, &admin, id).await;
    assert!(goal(&t, "close")["due_at"].as_i64().unwrap() >= created + 24 * 3_600_000);
    assert_eq!(
        goal(&t, "first_reply")["state"],
        "met",
        "finished goals keep their result"
    );
    // The summary the views sort by follows: the one running goal's due.
    assert_eq!(t["sla_due_at"], goal(&t, "close")["due_at"]);
}

/// A recalculation goes through open tickets in batches and writes each
/// batch in multi-row statements: every open ticket gets its clocks and
/// its summary, closed ones none.
async fn a_policy_change_recalculates_every_open_ticket(app: TestApp) {
    let admin = app.admin().await;
    // Two days old: a one-hour target is long past.
    let two_days_ago = app::db::now_ms() - 2 * 24 * 3_600_000;
    {
        let mut tx = app.state.db.begin_write().await.unwrap();
        for n in 0..2_345_i64 {
            let (status, category) = if n % 5 == 0 {
                (4, "closed")
            } else {
                (1, "open")
            };
            sqlx::query(
                "INSERT INTO tickets (number, subject, pipeline_id, status_id, status_category, priority, channel, \
                 created_at, updated_at) VALUES ($1, 'Bulk', 1, $2, $3, 1, 'email', $4, $4)",
            )
            .bind(100_000 + n)
            .bind(status)
            .bind(category)
            .bind(two_days_ago + n * 1_000)
            .execute(tx.conn())
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let (status, policy) = send(admin.post(app.url("/api/v1/sla-policies")).json(&json!({
        "name": "Everything", "close_minutes": 60
    })))
    .await;
    assert_eq!(status, 201, "{policy}");
    let open = app.count("tickets WHERE status_category <> 'closed'").await;
    assert_eq!(open, 2_345 - 469);
    assert_eq!(app.count("ticket_sla WHERE goal = 'close'").await, open);
    let overdue = "tickets WHERE sla_state = 'overdue' AND sla_due_at < ".to_string()
        + &app::db::now_ms().to_string();
    assert_eq!(app.count(&overdue).await, open);
    // A year's target moves every due time into the future.
    let mut wider = policy.clone();
    wider["close_minutes"] = json!(60 * 24 * 365);
    let (status, _) = send(
        admin
            .put(app.url(&format!("/api/v1/sla-policies/{}", policy["id"])))
            .json(&wider),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.count("tickets WHERE sla_state = 'on_track'").await,
        open
    );
    // Deleting it removes every running clock and summary.
    let (status, _) =
        send(admin.delete(app.url(&format!("/api/v1/sla-policies/{}", policy["id"])))).await;
    assert_eq!(status, 204);
    assert_eq!(app.count("ticket_sla").await, 0);
    assert_eq!(app.count("tickets WHERE sla_state IS NOT NULL").await, 0);
}

/// A policy change whose recalculation never finished (the process
/// stopped after the change committed) is finished by the SLA timer.
async fn an_unfinished_recalculation_is_finished_by_the_timer(app: TestApp) {
    let admin = app.admin().await;
    let (status, policy) = send(admin.post(app.url("/api/v1/sla-policies")).json(&json!({
        "name": "All", "first_reply_minutes": 60
    })))
    .await;
    assert_eq!(status, 201, "{policy}");
    let t = new_ticket(&app, &admin, json!({"subject": "Clock"})).await;
    let id = t["id"].as_i64().unwrap();
    let due = ticket(&app, &admin, id).await["sla_due_at"]
        .as_i64()
        .unwrap();
    // The change as its transaction left it: the policy saved, the request
    // recorded two minutes ago, no recalculation done.
    let mut tx = app.state.db.begin_write().await.unwrap();
    sqlx::query("UPDATE sla_policies SET first_reply_minutes = 600 WHERE id = $1")
        .bind(policy["id"].as_i64().unwrap())
        .execute(tx.conn())
        .await
        .unwrap();
    sqlx::query(
        "UPDATE counters SET value = CASE name WHEN 'sla_recalculation_done' THEN 0 ELSE $1 END \
         WHERE name IN ('sla_recalculation_requested', 'sla_recalculation_done')",
    )
    .bind(app::db::now_ms() - 120_000)
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    eventually("the clock on the new target", || async {
        let now = ticket(&app, &admin, id).await["sla_due_at"].as_i64();
        (now == Some(due + 540 * 60_000)).then_some(())
    })
    .await;
    // Marked done in a transaction of its own, after the last batch of
    // clocks: it may land just after the clock above shows.
    eventually("the request marked done", || async {
        (app.count("counters WHERE name = 'sla_recalculation_done' AND value > 0")
            .await
            == 1)
            .then_some(())
    })
    .await;
}

async fn the_sla_timer_marks_due_soon_then_overdue_on_its_own(app: TestApp) {
    let admin = app.admin().await;
    let (status, _) = send(admin.post(app.url("/api/v1/sla-policies")).json(&json!({
        "name": "All", "first_reply_minutes": 60, "due_soon_minutes": 30
    })))
    .await;
    assert_eq!(status, 201);
    let t = new_ticket(&app, &admin, json!({"subject": "Tick"})).await;
    let id = t["id"].as_i64().unwrap();
    // As if created 59 min 57 s ago: due soon already, overdue in 3 s.
    age_ticket(&app, id, 3_600_000 - 3_000).await;
    sqlx::query("UPDATE ticket_sla SET next_change_at = 0 WHERE ticket_id = $1")
        .bind(id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    eventually("due soon", || async {
        (ticket(&app, &admin, id).await["sla_state"] == "due_soon").then_some(())
    })
    .await;
    eventually("overdue", || async {
        (ticket(&app, &admin, id).await["sla_state"] == "overdue").then_some(())
    })
    .await;
    // Both changes are events in the log, for live clients and replays.
    let states: Vec<String> = sqlx::query(
        "SELECT data FROM events WHERE kind = 'ticket.sla' AND ticket_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(app.state.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let data: Value = serde_json::from_str(&r.try_get::<String, _>("data").unwrap()).unwrap();
        data["sla"][0]["state"].as_str().unwrap().to_string()
    })
    .collect();
    assert!(
        states.ends_with(&["due_soon".to_string(), "overdue".to_string()]),
        "{states:?}"
    );
    // The default SLA views list it.
    let (_, page) = send(admin.get(app.url("/api/v1/views/sla_overdue/tickets"))).await;
    assert_eq!(page["tickets"][0]["id"].as_i64(), Some(id), "{page}");
}

/// The test drives the schedule with chosen instants, so the server's own
/// check (which uses the real time) is slowed out of its way.
async fn hours_app(backend: Backend) -> TestApp {
    let config = app::state::Config {
        working_hours_check_ms: 3_600_000,
        ..Default::default()
    };
    TestApp::spawn_with(backend, config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn working_hours_on_sqlite() {
    working_hours_set_away_and_an_override_holds(hours_app(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn working_hours_on_postgres() {
    working_hours_set_away_and_an_override_holds(hours_app(Backend::Postgres).await).await;
}

async fn working_hours_set_away_and_an_override_holds(app: TestApp) {
    let admin = app.admin().await;
    let ana = app.user("Ana Ruiz", Role::Agent).await;
    // Monday to Sunday 09:00–17:00 in Madrid.
    let hours: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "start": "09:00", "end": "17:00"}))
        .collect();
    let body = set_user(
        &app,
        &admin,
        ana.id,
        json!({"timezone": "Europe/Madrid", "working_hours": hours}),
    )
    .await;
    assert_eq!(body["timezone"], "Europe/Madrid");
    let availability = || async {
        sqlx::query("SELECT availability FROM users WHERE id = $1")
            .bind(ana.id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap()
            .try_get::<String, _>("availability")
            .unwrap()
    };
    // 2026-12-07 07:00 UTC is 08:00 in Madrid: before the hours.
    let before = 1_796_626_800_000;
    let db = &app.state.db;
    assert_eq!(app::users::schedule::check(db, before).await.unwrap(), 1);
    assert_eq!(availability().await, "away");
    // She makes herself available early: it holds while nothing flips.
    set_user(&app, &admin, ana.id, json!({"availability": "available"})).await;
    assert_eq!(
        app::users::schedule::check(db, before + 60_000)
            .await
            .unwrap(),
        0
    );
    assert_eq!(availability().await, "available");
    // 08:00 UTC = 09:00 Madrid: hours begin (still available); 16:00 UTC =
    // 17:00 Madrid: they end, and she is away.
    assert_eq!(
        app::users::schedule::check(db, before + 3_600_000)
            .await
            .unwrap(),
        1
    );
    assert_eq!(availability().await, "available");
    assert_eq!(
        app::users::schedule::check(db, before + 9 * 3_600_000)
            .await
            .unwrap(),
        1
    );
    assert_eq!(availability().await, "away");
    let events = app.count("events WHERE kind = 'user.availability'").await;
    assert!(events >= 3, "{events}");
}

async fn sidebar_layouts_are_versioned_per_team(app: TestApp) {
    let admin = app.admin().await;
    let billing = team(&app, &admin, "Billing").await;
    let bo = agent_in(&app, &admin, "Bo Chen", billing, true).await;
    let ana = app.user("Ana Ruiz", Role::Agent).await.id;
    let (status, list) = send(admin.get(app.url("/api/v1/sidebar-layouts"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        list["layouts"][0]["version"], 0,
        "the built-in default: {list}"
    );

    let save = |cards: Value, team: Option<i64>| {
        let admin = admin.clone();
        let url = app.url("/api/v1/sidebar-layouts");
        async move {
            let (status, body) = send(
                admin
                    .put(url)
                    .json(&json!({"team_id": team, "cards": cards})),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let v1 = save(json!([{"kind": "sla"}, {"kind": "contact"}]), None).await;
    assert_eq!(v1["version"], 1);
    let v2 = save(json!([{"kind": "contact"}]), None).await;
    assert_eq!(v2["version"], 2);
    let team_layout = save(
        json!([{"kind": "properties", "title": "Billing facts",
                "properties": [{"field": "priority", "editable": true}, {"field": "created", "editable": false}]}]),
        Some(billing),
    )
    .await;
    assert_eq!(
        (
            team_layout["version"].as_i64(),
            team_layout["team_id"].as_i64()
        ),
        (Some(1), Some(billing))
    );

    let db = &app.state.db;
    let seen = |id: i64| async move {
        let user = app::users::service::get(db, id).await.unwrap().unwrap();
        app::sidebar::service::for_user(db, &user, None)
            .await
            .unwrap()
    };
    assert_eq!(seen(bo).await.cards[0].heading(), "Billing facts");
    assert_eq!(seen(ana).await.cards.len(), 1);

    let (status, back) = send(
        admin
            .post(app.url("/api/v1/sidebar-layouts/rollback"))
            .json(&json!({"version": 1})),
    )
    .await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(
        (back["version"].as_i64(), &back["cards"]),
        (Some(3), &v1["cards"])
    );
    let (_, versions) = send(admin.get(app.url("/api/v1/sidebar-layouts/versions"))).await;
    assert_eq!(versions["versions"].as_array().unwrap().len(), 3);
    assert_eq!(seen(ana).await.cards.len(), 2);

    let (status, _) =
        send(admin.delete(app.url(&format!("/api/v1/sidebar-layouts/teams/{billing}")))).await;
    assert_eq!(status, 204);
    assert_eq!(seen(bo).await.cards.len(), 2);
    assert!(app.count("events WHERE kind = 'settings.changed'").await >= 5);
}

/// Routing reads a team's members in one go: active users only, in id
/// order, each with the teams `get` would give them.
async fn many_users_are_read_at_once_with_their_teams(app: TestApp) {
    let admin = app.admin().await;
    let support = team(&app, &admin, "Support").await;
    let billing = team(&app, &admin, "Billing").await;
    let ana = agent_in(&app, &admin, "Ana Ruiz", support, true).await;
    let bo = agent_in(&app, &admin, "Bo Chen", billing, false).await;
    let cy = agent_in(&app, &admin, "Cy Diaz", support, true).await;
    set_user(
        &app,
        &admin,
        ana,
        json!({"access": "teams", "teams": [{"id": support, "main": true}, {"id": billing, "main": false}]}),
    )
    .await;
    set_user(&app, &admin, cy, json!({"active": false})).await;
    let db = &app.state.db;
    let many = app::users::service::get_many(db, &[cy, bo, ana, 999_999])
        .await
        .unwrap();
    assert_eq!(many.iter().map(|u| u.id).collect::<Vec<_>>(), vec![ana, bo]);
    let one = app::users::service::get(db, ana).await.unwrap().unwrap();
    assert_eq!(many[0], one);
    let mut teams = vec![support, billing];
    teams.sort_unstable();
    assert_eq!(many[0].access.team_ids, teams);
    assert_eq!(many[1].access.team_ids, vec![billing]);
    assert!(app::users::service::get_many(db, &[])
        .await
        .unwrap()
        .is_empty());
}

on_both_databases!(
    many_users_are_read_at_once_with_their_teams,
    round_robin_skips_the_ineligible_and_says_why,
    at_capacity_tickets_wait_and_are_routed_when_room_opens,
    routing_waits_outside_business_hours,
    bad_settings_are_refused_and_write_nothing,
    settings_are_for_super_admins_only,
    sla_clocks_follow_replies_pauses_and_policy_changes,
    the_sla_timer_marks_due_soon_then_overdue_on_its_own,
    an_unfinished_recalculation_is_finished_by_the_timer,
    sidebar_layouts_are_versioned_per_team,
    a_policy_change_recalculates_every_open_ticket,
);

/// Two server processes on one PostgreSQL database route the same stream
/// of new tickets: each ticket is assigned exactly once, and the round
/// robin stays exact across both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_route_without_double_assignment() {
    let one = TestApp::spawn(Backend::Postgres).await;
    let url = one.state.db.url().to_string();
    let state = server::prepare(&url, Default::default(), server::leptos_options())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = server::spawn(listener, state).await;
    let two_base = format!("http://{}", running.addr);

    let admin = one.admin().await;
    let support = team(&one, &admin, "Support").await;
    let mut agents = Vec::new();
    for name in ["Ana Ruiz", "Bo Chen", "Cy Diaz", "Dee Ek"] {
        agents.push(agent_in(&one, &admin, name, support, true).await);
    }
    routing_rule(
        &one,
        &admin,
        json!({"name": "All to Support", "target": {"team_id": support}}),
    )
    .await;

    // 40 tickets, created concurrently through both processes.
    let admin_two = {
        let c = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let (status, _) = send(
            c.post(format!("{two_base}/api/v1/session"))
                .header("origin", &two_base)
                .json(&json!({"email": common::ADMIN_EMAIL, "password": common::ADMIN_PASSWORD})),
        )
        .await;
        assert_eq!(status, 200);
        c
    };
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (client, base) = if i % 2 == 0 {
            (admin.clone(), one.base.clone())
        } else {
            (admin_two.clone(), two_base.clone())
        };
        tasks.push(tokio::spawn(async move {
            let (status, t) = send(
                client
                    .post(format!("{base}/api/v1/tickets"))
                    .header("origin", &base)
                    .json(&json!({"subject": format!("Rush {i}")})),
            )
            .await;
            assert_eq!(status, 201, "{t}");
            t["id"].as_i64().unwrap()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    let mut per_agent = std::collections::HashMap::new();
    for id in &ids {
        *per_agent
            .entry(owner_of(&one, &admin, *id).await)
            .or_insert(0) += 1;
        let assigned = timeline(&one, &admin, *id)
            .await
            .iter()
            .filter(|l| l.contains("by routing"))
            .count();
        assert_eq!(assigned, 1, "ticket {id} assigned {assigned} times");
    }
    for a in &agents {
        assert_eq!(per_agent.get(a), Some(&10), "{per_agent:?}");
    }
    running.state.hub.shutdown();
}

/// The SLA timer keeps nothing in memory: a moment that passes while no
/// server runs is acted on by the next one to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_moments_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::database_url(Backend::Sqlite, &dir).await;
    // First life, without background tasks: a policy and a ticket.
    let ticket_id = {
        let state = server::prepare(&url, Default::default(), server::leptos_options())
            .await
            .unwrap();
        app::demo::ensure_admin(&state.db, common::ADMIN_EMAIL, Some(common::ADMIN_PASSWORD))
            .await
            .unwrap();
        let admin = app::users::service::get(&state.db, 1)
            .await
            .unwrap()
            .unwrap();
        let input = app::sla::SlaPolicyInput {
            name: "All".into(),
            first_reply_minutes: Some(60),
            due_soon_minutes: Some(10),
            ..Default::default()
        };
        app::sla::service::create(&state, &admin, input)
            .await
            .unwrap();
        let t = app::tickets::service::create(
            &state.db,
            &admin,
            app::tickets::NewTicket {
                subject: "While nobody watches".into(),
                ..Default::default()
            },
            "api",
        )
        .await
        .unwrap();
        assert_eq!(t.sla[0].state, app::sla::SlaState::OnTrack);
        state.hub.shutdown();
        state.db.close().await;
        t.id
    };
    // Two hours pass with the server down.
    {
        let db = app::db::Db::connect(&url).await.unwrap();
        for sql in [
            "UPDATE tickets SET created_at = created_at - 7200000 WHERE id = $1",
            "UPDATE ticket_sla SET next_change_at = next_change_at - 7200000, due_at = due_at - 7200000 WHERE ticket_id = $1",
        ] {
            sqlx::query(sql).bind(ticket_id).execute(db.pool()).await.unwrap();
        }
        db.close().await;
    }
    // Second life: the timer finds the passed moment at start.
    let state = server::prepare(&url, Default::default(), server::leptos_options())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = server::spawn(listener, state.clone()).await;
    let db = state.db.clone();
    eventually("the overdue state after the restart", || {
        let db = db.clone();
        async move {
            let state: Option<String> = sqlx::query("SELECT sla_state FROM tickets WHERE id = $1")
                .bind(ticket_id)
                .fetch_one(db.pool())
                .await
                .unwrap()
                .try_get("sla_state")
                .unwrap();
            (state.as_deref() == Some("overdue")).then_some(())
        }
    })
    .await;
    let events: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM events WHERE kind = 'ticket.sla' AND ticket_id = $1",
    )
    .bind(ticket_id)
    .fetch_one(db.pool())
    .await
    .unwrap()
    .try_get("n")
    .unwrap();
    assert!(events >= 1);
    running.state.hub.shutdown();
}
