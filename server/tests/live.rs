//! The live event stream with real websocket clients: ordered delivery,
//! resume with `since`, access filtering, presence, slow consumers, server
//! restarts, and two server processes sharing one PostgreSQL database.

mod common;

use app::events::log::PendingEvent;
use common::live::{call, token, LiveClient, ServerProcess};
use common::{Backend, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use serde_json::{json, Value};
use std::time::Duration;

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn strictly_increasing(s: &[i64]) -> bool {
    s.windows(2).all(|w| w[0] < w[1])
}

async fn admin_token(app: &TestApp) -> String {
    token(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await
}

async fn events_arrive_in_order_after_commit(app: TestApp) {
    let admin = admin_token(&app).await;
    let mut live = LiveClient::connect(&app.base, &admin, None).await;
    let (replayed, _) = live.until_ready().await;
    assert!(replayed.is_empty(), "no since, no replay");
    let counts = live.next_of("view.counts").await;
    assert_eq!(counts["data"]["counts"][0]["view"], "unassigned");

    let (status, t) = call(
        "POST",
        app.url("/api/v1/tickets"),
        &admin,
        Some(json!({"subject": "Live one", "body": "First words",
            "contact": {"email": "live@x.example"}})),
    )
    .await;
    assert_eq!(status, 201);
    let id = t["id"].as_i64().unwrap();
    let (status, _) = call(
        "PATCH",
        app.url(&format!("/api/v1/tickets/{id}")),
        &admin,
        Some(json!({"priority": "high"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        "POST",
        app.url(&format!("/api/v1/tickets/{id}/messages")),
        &admin,
        Some(json!({"kind": "reply", "body": "On it"})),
    )
    .await;
    assert_eq!(status, 201);

    let mut got = Vec::new();
    for _ in 0..7 {
        got.push(live.next_event().await);
    }
    // Each change also adds its timeline entry to the thread.
    assert_eq!(
        kinds(&got),
        [
            "ticket.created",
            "message.created",
            "message.created",
            "ticket.updated",
            "message.created",
            "message.created",
            "ticket.assigned"
        ]
    );
    assert!(strictly_increasing(&seqs(&got)));
    assert!(got.iter().all(|e| e["ticket_id"] == id));
    assert_eq!(got[1]["data"]["kind"], "inbound");
    assert_eq!(got[2]["data"]["kind"], "event");
    assert_eq!(got[3]["data"]["priority"], "high");
    assert_eq!(got[4]["data"]["kind"], "reply");
    // The counts followed: the ticket was unassigned, then assigned.
    let mut unassigned = Vec::new();
    while let Some(m) = live.next_within(Duration::from_millis(500)).await {
        if m["type"] == "view.counts" {
            unassigned.push(m["data"]["counts"][0]["count"].as_i64().unwrap());
        }
    }
    assert_eq!(unassigned.last(), Some(&0), "{unassigned:?}");
}

/// Creates a ticket with a first message; the API's answer.
async fn create(app: &TestApp, token: &str, subject: &str) -> (u16, Value) {
    call(
        "POST",
        app.url("/api/v1/tickets"),
        token,
        Some(json!({"subject": subject, "body": "text"})),
    )
    .await
}

async fn resume_with_since_loses_and_repeats_nothing(app: TestApp) {
    let admin = admin_token(&app).await;
    let mut live = LiveClient::connect(&app.base, &admin, None).await;
    live.until_ready().await;
    let (_, t1) = create(&app, &admin, "Before the drop").await;
    let first = vec![live.next_event().await, live.next_event().await];
    let last_seen = seqs(&first)[1];
    drop(live);

    // Missed while disconnected.
    let (_, t2) = create(&app, &admin, "While away").await;
    let (status, _) = call(
        "PATCH",
        app.url(&format!("/api/v1/tickets/{}", t1["id"])),
        &admin,
        Some(json!({"priority": "urgent"})),
    )
    .await;
    assert_eq!(status, 200);

    let mut live = LiveClient::connect(&app.base, &admin, Some(last_seen)).await;
    let (replayed, ready_seq) = live.until_ready().await;
    assert_eq!(
        kinds(&replayed),
        [
            "ticket.created",
            "message.created",
            "message.created",
            "ticket.updated"
        ]
    );
    assert_eq!(replayed[0]["ticket_id"], t2["id"]);
    assert_eq!(replayed[3]["ticket_id"], t1["id"]);
    let replayed_seqs = seqs(&replayed);
    assert!(replayed_seqs[0] > last_seen && strictly_increasing(&replayed_seqs));
    assert_eq!(ready_seq, *replayed_seqs.last().unwrap());

    // Then live ones, without repeating the replay.
    create(&app, &admin, "After the return").await;
    let live_events = vec![live.next_event().await, live.next_event().await];
    assert!(seqs(&live_events)[0] > ready_seq);
    assert!(live
        .events_within(Duration::from_millis(500))
        .await
        .is_empty());
}

/// Resuming is for a dropped connection coming back, not for reading the
/// log: events older than the replay window (which carry each ticket's
/// owner and team as they were then) are not sent, and `ready` says so
/// with the seq to resume from.
async fn resume_skips_events_older_than_the_window(app: TestApp) {
    let admin = admin_token(&app).await;
    let (_, old) = create(&app, &admin, "Long ago").await;
    // Everything so far happened before the window.
    sqlx::query("UPDATE events SET created_at = created_at - $1")
        .bind(app.state.config.replay_window_ms + 60_000)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let mut live = LiveClient::connect(&app.base, &admin, Some(0)).await;
    let (replayed, ready) = live.until_ready_data().await;
    assert!(replayed.is_empty(), "nothing old replayed: {replayed:?}");
    assert_eq!(ready["gap"], true);
    let newest_old = ready["seq"].as_i64().unwrap();
    assert!(newest_old > 0);
    drop(live);

    let (_, recent) = create(&app, &admin, "Just now").await;
    // From far back: only the recent events, and the gap is reported.
    let mut live = LiveClient::connect(&app.base, &admin, Some(0)).await;
    let (replayed, ready) = live.until_ready_data().await;
    assert_eq!(kinds(&replayed), ["ticket.created", "message.created"]);
    assert!(replayed.iter().all(|e| e["ticket_id"] == recent["id"]));
    assert_ne!(replayed[0]["ticket_id"], old["id"]);
    assert_eq!(ready["gap"], true);
    assert_eq!(ready["seq"], replayed[1]["seq"]);
    drop(live);
    // From the seq `ready` gave: the same events, and no gap.
    let mut live = LiveClient::connect(&app.base, &admin, Some(newest_old)).await;
    let (again, ready) = live.until_ready_data().await;
    assert_eq!(seqs(&again), seqs(&replayed));
    assert_eq!(ready["gap"], false);
}

async fn agents_only_receive_what_they_may_see(app: TestApp) {
    let admin = admin_token(&app).await;
    let (_, a) = call(
        "POST",
        app.url("/api/v1/teams"),
        &admin,
        Some(json!({"name": "Alpha"})),
    )
    .await;
    let (_, b) = call(
        "POST",
        app.url("/api/v1/teams"),
        &admin,
        Some(json!({"name": "Beta"})),
    )
    .await;
    let (status, tea) = call(
        "POST",
        app.url("/api/v1/users"),
        &admin,
        Some(
            json!({"email": "tea@test.example", "name": "Tea Alpha", "password": "password-123",
            "role": "agent", "access": "teams", "include_unassigned": false,
            "teams": [{"id": a["id"], "main": true}]}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{tea}");
    assert_eq!(tea["access"]["scope"], "teams");
    let tea_token = token(&app.base, "tea@test.example", "password-123").await;
    let mut tea_live = LiveClient::connect(&app.base, &tea_token, None).await;
    tea_live.until_ready().await;
    let mut admin_live = LiveClient::connect(&app.base, &admin, None).await;
    admin_live.until_ready().await;

    let create = |subject: &'static str, team: &Value| {
        call(
            "POST",
            app.url("/api/v1/tickets"),
            &admin,
            Some(json!({"subject": subject, "team_id": team["id"]})),
        )
    };
    let (status, in_beta) = create("Beta business", &b).await;
    assert_eq!(status, 201, "{in_beta}");
    let (status, in_alpha) = create("Alpha business", &a).await;
    assert_eq!(status, 201, "{in_alpha}");
    // Tea hears of the Alpha ticket only.
    let e = tea_live.next_event().await;
    assert_eq!(
        (e["type"].as_str(), &e["ticket_id"]),
        (Some("ticket.created"), &in_alpha["id"])
    );
    // Nor may Tea open the Beta ticket, or see its presence.
    let (status, _) = call(
        "GET",
        app.url(&format!("/api/v1/tickets/{}", in_beta["id"])),
        &tea_token,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, page) = call("GET", app.url("/api/v1/tickets"), &tea_token, None).await;
    let ids: Vec<&Value> = page["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["id"])
        .collect();
    assert_eq!(ids, [&in_alpha["id"]]);
    let counts = tea_live.next_of("view.counts").await;
    assert_eq!(
        counts["data"]["counts"][2]["count"], 1,
        "All open counts only Alpha"
    );
    admin_live.send_presence(in_beta["id"].as_i64(), None).await;

    // Moving the Alpha ticket to Beta: Tea hears that it left, then nothing.
    let (status, moved) = call(
        "PATCH",
        app.url(&format!("/api/v1/tickets/{}", in_alpha["id"])),
        &admin,
        Some(json!({"team_id": b["id"]})),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    let e = tea_live.next_event().await;
    assert_eq!(
        (e["type"].as_str(), &e["ticket_id"]),
        (Some("ticket.updated"), &in_alpha["id"])
    );
    call(
        "PATCH",
        app.url(&format!("/api/v1/tickets/{}", in_alpha["id"])),
        &admin,
        Some(json!({"priority": "low"})),
    )
    .await;
    let leaked: Vec<Value> = tea_live.events_within(Duration::from_millis(800)).await;
    assert!(leaked.is_empty(), "Tea saw {leaked:?}");

    // Widening Tea's access applies to the open connection at once.
    let (status, _) = call(
        "PATCH",
        app.url(&format!("/api/v1/users/{}", tea["id"])),
        &admin,
        Some(json!({"access": "all"})),
    )
    .await;
    assert_eq!(status, 200);
    call(
        "PATCH",
        app.url(&format!("/api/v1/tickets/{}", in_beta["id"])),
        &admin,
        Some(json!({"priority": "urgent"})),
    )
    .await;
    let e = tea_live.next_event().await;
    assert_eq!(e["type"], "user.updated");
    // The change's timeline entry, then the change.
    let e = tea_live.next_event().await;
    assert_eq!(
        (e["type"].as_str(), &e["ticket_id"]),
        (Some("message.created"), &in_beta["id"])
    );
    let e = tea_live.next_event().await;
    assert_eq!(
        (e["type"].as_str(), &e["ticket_id"]),
        (Some("ticket.updated"), &in_beta["id"])
    );
    // And deactivating Tea ends the connection.
    call(
        "PATCH",
        app.url(&format!("/api/v1/users/{}", tea["id"])),
        &admin,
        Some(json!({"active": false})),
    )
    .await;
    while tea_live.next_within(Duration::from_secs(5)).await.is_some() {}
    assert_eq!(tea_live.closed_with, Some(4001));
}

/// A new unassigned ticket, and the admin's and `user`'s live connections,
/// both caught up: the start of a presence test.
async fn ticket_watched_by(
    app: &TestApp,
    admin: &str,
    user: &app::users::User,
    subject: &str,
) -> (i64, LiveClient, LiveClient) {
    let user_token = token(&app.base, &user.email, "password-123").await;
    let (_, t) = call(
        "POST",
        app.url("/api/v1/tickets"),
        admin,
        Some(json!({ "subject": subject })),
    )
    .await;
    let mut admin_live = LiveClient::connect(&app.base, admin, None).await;
    admin_live.until_ready().await;
    let mut user_live = LiveClient::connect(&app.base, &user_token, None).await;
    user_live.until_ready().await;
    (t["id"].as_i64().unwrap(), admin_live, user_live)
}

async fn presence_shows_viewers_and_typing(app: TestApp) {
    let admin = admin_token(&app).await;
    let ana = app.user("Ana Live", app::users::Role::Agent).await;
    let (id, mut admin_live, mut ana_live) = ticket_watched_by(&app, &admin, &ana, "Watched").await;

    ana_live.send_presence(Some(id), None).await;
    let ana_viewing = json!([{"user_id": ana.id, "name": "Ana Live", "typing": null}]);
    admin_live.presence_where(id, |v| *v == ana_viewing).await;
    ana_live.send_presence(Some(id), Some("reply")).await;
    admin_live
        .presence_where(id, |v| v[0]["typing"] == "reply")
        .await;
    // A ticket that does not exist carries no presence.
    ana_live.send_presence(Some(id + 1000), None).await;
    admin_live.presence_where(id, |v| *v == json!([])).await;
    // A newcomer gets the current presence on connecting.
    ana_live.send_presence(Some(id), Some("note")).await;
    admin_live
        .presence_where(id, |v| v[0]["typing"] == "note")
        .await;
    let mut late = LiveClient::connect(&app.base, &admin, None).await;
    late.until_ready().await;
    let p = late.next_of("presence").await;
    assert_eq!(p["data"]["viewers"][0]["typing"], "note");
    // Leaving (closing the socket) clears it.
    drop(ana_live);
    admin_live.presence_where(id, |v| *v == json!([])).await;
}

/// Presence is checked again on every heartbeat: a viewer who may no longer
/// see the ticket stops showing on it.
async fn presence_is_checked_again_on_each_heartbeat(app: TestApp) {
    let admin = admin_token(&app).await;
    let ana = app
        .user_with_access(
            "Ana Scoped",
            app::users::Role::Agent,
            app::access::AccessScope::Owned,
            true,
        )
        .await;
    let (id, mut admin_live, mut ana_live) =
        ticket_watched_by(&app, &admin, &ana, "Unassigned for now").await;
    ana_live.send_presence(Some(id), None).await;
    admin_live
        .presence_where(id, |v| v[0]["user_id"] == ana.id)
        .await;
    // The admin takes the ticket: it is out of Ana's access.
    let me = call("GET", app.url("/api/v1/me"), &admin, None).await.1;
    let (status, _) = call(
        "PATCH",
        app.url(&format!("/api/v1/tickets/{id}")),
        &admin,
        Some(json!({"owner_id": me["id"]})),
    )
    .await;
    assert_eq!(status, 200);
    // Her next heartbeat no longer shows her on it.
    ana_live.send_presence(Some(id), None).await;
    admin_live.presence_where(id, |v| *v == json!([])).await;
}

async fn stale_replies_need_confirmation(app: TestApp) {
    let admin = admin_token(&app).await;
    let bo = app.user("Bo Second", app::users::Role::Agent).await;
    let bo_token = token(&app.base, &bo.email, "password-123").await;
    let (_, t) = call(
        "POST",
        app.url("/api/v1/tickets"),
        &admin,
        Some(
            json!({"subject": "Two writers", "body": "Help!", "contact": {"email": "c@x.example"}}),
        ),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    let (_, thread) = call(
        "GET",
        app.url(&format!("/api/v1/tickets/{id}/messages")),
        &admin,
        None,
    )
    .await;
    let seen = thread["messages"].as_array().unwrap().last().unwrap()["id"]
        .as_i64()
        .unwrap();
    // Bo answers while the admin is still typing.
    let (status, _) = call(
        "POST",
        app.url(&format!("/api/v1/tickets/{id}/messages")),
        &bo_token,
        Some(json!({"kind": "reply", "body": "Bo here"})),
    )
    .await;
    assert_eq!(status, 201);
    let reply = json!({"kind": "reply", "body": "Admin here", "seen_message_id": seen});
    let (status, body) = call(
        "POST",
        app.url(&format!("/api/v1/tickets/{id}/messages")),
        &admin,
        Some(reply.clone()),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "stale_reply");
    // Nothing was written by the refused attempt.
    let (_, after) = call(
        "GET",
        app.url(&format!("/api/v1/tickets/{id}/messages")),
        &admin,
        None,
    )
    .await;
    assert!(!after.to_string().contains("Admin here"));
    // A note is never stale; a confirmed reply goes through.
    let (status, _) = call(
        "POST",
        app.url(&format!("/api/v1/tickets/{id}/messages")),
        &admin,
        Some(json!({"kind": "note", "body": "fyi", "seen_message_id": seen})),
    )
    .await;
    assert_eq!(status, 201);
    let mut confirmed = reply;
    confirmed["confirm_stale"] = json!(true);
    let (status, _) = call(
        "POST",
        app.url(&format!("/api/v1/tickets/{id}/messages")),
        &admin,
        Some(confirmed),
    )
    .await;
    assert_eq!(status, 201);
}

async fn the_stream_needs_credentials(app: TestApp) {
    use tokio_tungstenite::tungstenite::Error;
    match LiveClient::try_connect(&app.base, None, None).await {
        Err(Error::Http(res)) => assert_eq!(res.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    match LiveClient::try_connect(&app.base, Some("ayuda_not-a-token"), None).await {
        Err(Error::Http(res)) => assert_eq!(res.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    // A cookie-authenticated upgrade from another site is refused.
    let browser = app.admin().await;
    let res = browser
        .get(app.url("/api/v1/events"))
        .header("origin", "https://evil.example")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

/// The events one transaction queues are stored in one statement, in the
/// order they were queued, each with its ticket's scope as the transaction
/// leaves it; an event about no ticket has none.
async fn one_transactions_events_keep_their_order_and_scope(app: TestApp) {
    let admin = app.user("Order Admin", app::users::Role::SuperAdmin).await;
    let agent = app.user("Order Agent", app::users::Role::Agent).await;
    let ticket = app::tickets::service::create(
        &app.state.db,
        &admin,
        app::tickets::NewTicket {
            subject: "Scope at commit".into(),
            ..Default::default()
        },
        "agent",
    )
    .await
    .unwrap();
    let before = app::events::log::last_seq(app.state.db.pool())
        .await
        .unwrap();

    let mut tx = app.state.db.begin_write().await.unwrap();
    tx.event(PendingEvent::ticket(
        "test.first",
        ticket.id,
        Some(admin.id),
        json!({"n": 1}),
    ));
    sqlx::query("UPDATE tickets SET owner_id = $1 WHERE id = $2")
        .bind(agent.id)
        .bind(ticket.id)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.event(
        PendingEvent::ticket("test.moved", ticket.id, Some(admin.id), json!({"n": 2}))
            .moved_from(None, None),
    );
    tx.event(PendingEvent::global("test.global", None, json!({"n": 3})));
    tx.event(PendingEvent::ticket(
        "test.last",
        ticket.id,
        None,
        json!({"n": 4}),
    ));
    tx.commit().await.unwrap();

    let stored = app::events::log::read_after(app.state.db.pool(), before, 100)
        .await
        .unwrap();
    let kinds: Vec<&str> = stored.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["test.first", "test.moved", "test.global", "test.last"]
    );
    assert!(strictly_increasing(
        &stored.iter().map(|e| e.seq).collect::<Vec<_>>()
    ));
    let numbers: Vec<i64> = stored
        .iter()
        .map(|e| e.data["n"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    for e in [&stored[0], &stored[1], &stored[3]] {
        // Every ticket event carries the scope at commit, even the one
        // queued before the owner changed.
        assert_eq!(
            (e.ticket_id, e.owner_id, e.team_id),
            (Some(ticket.id), Some(agent.id), None)
        );
    }
    assert_eq!(
        (stored[1].prev_owner_id, stored[1].prev_team_id),
        (Some(0), Some(0))
    );
    assert_eq!(
        (stored[0].prev_owner_id, stored[3].prev_owner_id),
        (None, None)
    );
    assert_eq!(stored[0].actor_id, Some(admin.id));
    assert_eq!(stored[3].actor_id, None);
    let global = &stored[2];
    assert_eq!(
        (global.ticket_id, global.owner_id, global.team_id),
        (None, None, None)
    );
}

on_both_databases!(
    events_arrive_in_order_after_commit,
    resume_with_since_loses_and_repeats_nothing,
    resume_skips_events_older_than_the_window,
    agents_only_receive_what_they_may_see,
    presence_shows_viewers_and_typing,
    presence_is_checked_again_on_each_heartbeat,
    stale_replies_need_confirmation,
    the_stream_needs_credentials,
    one_transactions_events_keep_their_order_and_scope,
);

/// A client that stops reading falls behind and is told to resync; it
/// loses nothing by reconnecting with `since`, and a client that keeps up
/// is not held back meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_told_to_resync_and_loses_nothing() {
    let config = app::state::Config {
        live_buffer: 256,
        ..Default::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    let admin = admin_token(&app).await;
    let mut fast = LiveClient::connect(&app.base, &admin, None).await;
    let (_, start) = fast.until_ready().await;
    let mut slow = LiveClient::connect_slow(&app.base, &admin).await;

    // 1,000 events of 16 KB, ten per transaction: far more than the slow
    // client's socket buffers (a few MB at most) and the hub's 256-message
    // window.
    let pad = "x".repeat(16_000);
    for batch in 0..100 {
        let mut tx = app.state.db.begin_write().await.unwrap();
        for i in 0..10 {
            tx.event(PendingEvent::global(
                "test.burst",
                None,
                json!({"i": batch * 10 + i, "pad": pad}),
            ));
        }
        tx.commit().await.unwrap();
    }
    // The reading client gets everything in order. In a fast build the
    // pump can outrun even it; then it too is told to resync and catches up
    // from the log, losing nothing.
    let mut fast_seqs: Vec<i64> = Vec::new();
    while fast_seqs.len() < 1000 {
        match fast.next_within(Duration::from_secs(10)).await {
            Some(m) if m["type"] == "test.burst" => fast_seqs.push(m["seq"].as_i64().unwrap()),
            Some(_) => {}
            None => {
                assert_eq!(fast.closed_with, Some(4000), "closed only to resync");
                let since = fast_seqs.last().copied().unwrap_or(start);
                fast = LiveClient::connect(&app.base, &admin, Some(since)).await;
            }
        }
    }
    assert!(strictly_increasing(&fast_seqs) && fast_seqs[0] > start);

    let mut seen = Vec::new();
    let mut resync_since = None;
    while let Some(m) = slow.next_within(Duration::from_secs(10)).await {
        if m["type"] == "resync" {
            resync_since = m["data"]["since"].as_i64();
        } else if m["type"] == "test.burst" {
            seen.push(m["seq"].as_i64().unwrap());
        }
    }
    let since = resync_since.expect("the slow client was told to resync");
    assert_eq!(slow.closed_with, Some(4000));
    assert_eq!(Some(&since), seen.last().or(Some(&start)));
    let mut again = LiveClient::connect(&app.base, &admin, Some(since)).await;
    let (rest, _) = again.until_ready().await;
    seen.extend(seqs(&rest));
    assert_eq!(seen, fast_seqs, "every event exactly once, in order");
}

/// The server is killed and started again on the same database; the client
/// reconnects with `since` and gets what it missed meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/ayuda.db", dir.path().display());
    let mut server = ServerProcess::start(&url).await;
    let admin = token(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let mut live = LiveClient::connect(&server.base, &admin, None).await;
    live.until_ready().await;
    call(
        "POST",
        format!("{}/api/v1/tickets", server.base),
        &admin,
        Some(json!({"subject": "Before"})),
    )
    .await;
    let before = live.next_event().await;
    server.kill();
    // Whatever was in flight (counts), then the end of the stream.
    let mut left = 0;
    while live.next_within(Duration::from_secs(5)).await.is_some() {
        left += 1;
        assert!(left < 10, "the socket should have dropped");
    }

    let server = ServerProcess::start(&url).await;
    let (status, _) = call(
        "POST",
        format!("{}/api/v1/tickets", server.base),
        &admin,
        Some(json!({"subject": "After the restart"})),
    )
    .await;
    assert_eq!(status, 201);
    let mut live = LiveClient::connect(&server.base, &admin, before["seq"].as_i64()).await;
    let (missed, _) = live.until_ready().await;
    assert_eq!(kinds(&missed), ["ticket.created"]);
    assert_eq!(missed[0]["data"]["subject"], "After the restart");
}

/// Two server processes on one PostgreSQL database: an event committed
/// through either reaches clients connected to both, and so does presence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::database_url(Backend::Postgres, &dir).await;
    let one = ServerProcess::start(&url).await;
    let two = ServerProcess::start(&url).await;
    let admin = token(&one.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let mut on_one = LiveClient::connect(&one.base, &admin, None).await;
    on_one.until_ready().await;
    let mut on_two = LiveClient::connect(&two.base, &admin, None).await;
    on_two.until_ready().await;

    let (_, t) = call(
        "POST",
        format!("{}/api/v1/tickets", one.base),
        &admin,
        Some(json!({"subject": "Via one"})),
    )
    .await;
    let e = on_two.next_event().await;
    assert_eq!(
        (e["type"].as_str(), &e["ticket_id"]),
        (Some("ticket.created"), &t["id"])
    );
    assert_eq!(on_one.next_event().await["seq"], e["seq"]);

    call(
        "PATCH",
        format!("{}/api/v1/tickets/{}", two.base, t["id"]),
        &admin,
        Some(json!({"priority": "high"})),
    )
    .await;
    let e = on_one.next_of("ticket.updated").await;
    assert_eq!(on_two.next_of("ticket.updated").await["seq"], e["seq"]);

    let id = t["id"].as_i64().unwrap();
    on_one.send_presence(Some(id), Some("note")).await;
    on_two
        .presence_where(id, |v| v[0]["typing"] == "note")
        .await;
}
