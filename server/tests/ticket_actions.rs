//! Ticket actions over the REST API, on SQLite and PostgreSQL: merge and
//! unmerge (a property test: any sequence of merges, unmerges and notes,
//! undone, gives every ticket back exactly), split, move between
//! pipelines, trash, restore and purge, and bulk actions.

mod common;

use app::access::AccessScope;
use app::messages::EntryKind;
use app::users::{NewUser, Role};
use common::{send, TestApp};
use proptest::prelude::*;
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::HashMap;

on_both_databases!(
    merge_and_unmerge_restore_every_ticket_exactly,
    merged_tickets_redirect_and_leave_lists_and_counts,
    merge_refuses_bad_input_and_writes_nothing,
    split_makes_a_linked_ticket_of_chosen_entries,
    move_maps_the_status_into_the_new_pipeline,
    trash_restore_and_purge,
    bulk_actions_apply_to_each_ticket_the_caller_may_change,
    links_and_unmerge_only_reach_tickets_the_caller_may_see,
);

async fn create(app: &TestApp, client: &reqwest::Client, body: Value) -> Value {
    let (status, t) = send(client.post(app.url("/api/v1/tickets")).json(&body)).await;
    assert_eq!(status, 201, "{t}");
    t
}

/// Adds a thread entry through the service layer, at a chosen time (the
/// API stamps "now", and only agents' replies and notes).
async fn entry(app: &TestApp, ticket: i64, kind: EntryKind, body: &str, at: i64) -> i64 {
    let mut tx = app.state.db.begin_write().await.unwrap();
    let (user, contact) = match kind {
        EntryKind::Inbound => (None, None),
        _ => (Some(1), None),
    };
    let id = app::messages::service::insert_entry(
        &mut tx,
        ticket,
        kind,
        user,
        contact,
        body,
        &app::messages::sanitize::text_to_html(body),
        at,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Every column of a ticket but its last-activity time, as text.
async fn row_of(app: &TestApp, id: i64) -> Vec<(String, String)> {
    let cols = [
        "number",
        "subject",
        "pipeline_id",
        "status_id",
        "status_category",
        "priority",
        "category",
        "owner_id",
        "team_id",
        "channel",
        "contact_id",
        "created_at",
        "first_reply_at",
        "closed_at",
        "last_inbound_at",
        "awaiting_reply_since",
        "sla_state",
        "sla_due_at",
        "routing_pending",
        "merged_into_id",
        "deleted_at",
        "split_from_id",
    ];
    let select = cols
        .iter()
        .map(|c| format!("CAST({c} AS TEXT) AS {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let row = sqlx::query(&format!("SELECT {select} FROM tickets WHERE id = $1"))
        .bind(id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    cols.iter()
        .map(|c| {
            let v: Option<String> = row.try_get(*c).unwrap();
            (c.to_string(), v.unwrap_or_else(|| "NULL".into()))
        })
        .collect()
}

/// A ticket's entries other than timeline records, as stored.
async fn entries_of(app: &TestApp, id: i64) -> Vec<(i64, String, String, i64, Option<i64>)> {
    sqlx::query(
        "SELECT id, kind, body, created_at, origin_ticket_id FROM messages \
         WHERE ticket_id = $1 AND kind <> 'event' ORDER BY id",
    )
    .bind(id)
    .fetch_all(app.state.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.try_get("id").unwrap(),
            r.try_get("kind").unwrap(),
            r.try_get("body").unwrap(),
            r.try_get("created_at").unwrap(),
            r.try_get("origin_ticket_id").unwrap(),
        )
    })
    .collect()
}

/// The maintained counts equal a fresh count of the tickets: the default
/// views' buckets (the triggers of migration 0010) and each owner's open
/// tickets by channel and status (migration 0015), after every kind of
/// change the tests here make (create, assign, status, merge, unmerge,
/// split, move, trash, restore, purge, bulk).
async fn assert_counts_exact(app: &TestApp) {
    let kept: Vec<(i64, i64, i64, i64)> = sorted_rows(
        app,
        "SELECT owner_key, team_key, CAST(closed AS BIGINT), n FROM ticket_counts WHERE n <> 0",
    )
    .await;
    let fresh = sorted_rows(
        app,
        "SELECT COALESCE(owner_id, 0), COALESCE(team_id, 0), \
         CAST(CASE WHEN status_category = 'closed' THEN 1 ELSE 0 END AS BIGINT), COUNT(*) \
         FROM tickets WHERE merged_into_id IS NULL AND deleted_at IS NULL GROUP BY 1, 2, 3",
    )
    .await;
    assert_eq!(kept, fresh, "maintained counts drifted");

    let kept: Vec<(i64, String, i64, i64)> = sorted_rows(
        app,
        "SELECT owner_id, channel, status_id, n FROM owner_loads WHERE n <> 0",
    )
    .await;
    let fresh = sorted_rows(
        app,
        "SELECT owner_id, channel, status_id, COUNT(*) FROM tickets \
         WHERE owner_id IS NOT NULL AND status_category <> 'closed' \
         AND merged_into_id IS NULL AND deleted_at IS NULL GROUP BY 1, 2, 3",
    )
    .await;
    assert_eq!(kept, fresh, "maintained owner loads drifted");
}

/// Every row of `sql` as a tuple, sorted, to compare two readings of the
/// same counts whatever order the database returns them in.
async fn sorted_rows<T>(app: &TestApp, sql: &'static str) -> Vec<T>
where
    T: Ord + Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
{
    let mut rows: Vec<T> = sqlx::query_as(sql)
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    rows.sort();
    rows
}

// ---------------------------------------------------------------------------
// Merge and unmerge: the property test

#[derive(Debug, Clone)]
struct TicketSpec {
    /// Entry kinds (0 inbound, 1 reply, 2 note) with time offsets.
    entries: Vec<(u8, i64)>,
    priority: u8,
    created_offset: i64,
    owned: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Merge(usize, Vec<usize>),
    Unmerge(usize),
    Note(usize),
}

fn spec() -> impl Strategy<Value = (Vec<TicketSpec>, Vec<Op>)> {
    let ticket = (
        prop::collection::vec((0u8..3, 0i64..1_000_000), 1..5),
        0u8..4,
        0i64..10_000_000,
        any::<bool>(),
    )
        .prop_map(|(mut entries, priority, created_offset, owned)| {
            entries.sort_by_key(|e| e.1);
            TicketSpec {
                entries,
                priority,
                created_offset,
                owned,
            }
        });
    let op = prop_oneof![
        3 => (0usize..5, prop::collection::vec(0usize..5, 1..3)).prop_map(|(p, s)| Op::Merge(p, s)),
        2 => (0usize..5).prop_map(Op::Unmerge),
        1 => (0usize..5).prop_map(Op::Note),
    ];
    (
        prop::collection::vec(ticket, 2..6),
        prop::collection::vec(op, 1..8),
    )
}

/// The model: which ticket each is merged into.
fn root(merged: &HashMap<usize, usize>, mut i: usize) -> usize {
    while let Some(p) = merged.get(&i) {
        i = *p;
    }
    i
}

async fn merge_case(app: &TestApp, admin: &reqwest::Client, specs: Vec<TicketSpec>, ops: Vec<Op>) {
    let priorities = ["low", "medium", "high", "urgent"];
    let base = 1_700_000_000_000_i64;
    let mut ids = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let mut body = json!({
            "subject": format!("Case ticket {i}"),
            "priority": priorities[s.priority as usize],
            "contact": {"email": format!("c{i}@case.example"), "name": format!("Contact {i}")},
        });
        if s.owned {
            body["owner_id"] = json!(1);
        }
        let t = create(app, admin, body).await;
        let id = t["id"].as_i64().unwrap();
        sqlx::query("UPDATE tickets SET created_at = $1 WHERE id = $2")
            .bind(base + s.created_offset)
            .bind(id)
            .execute(app.state.db.pool())
            .await
            .unwrap();
        for (k, (kind, at)) in s.entries.iter().enumerate() {
            let kind = [EntryKind::Inbound, EntryKind::Reply, EntryKind::Note][*kind as usize];
            entry(app, id, kind, &format!("t{i} e{k}"), base + 20_000_000 + at).await;
        }
        ids.push(id);
    }
    let mut before = Vec::new();
    for id in &ids {
        before.push((row_of(app, *id).await, entries_of(app, *id).await));
    }
    let n = ids.len();
    let mut merged: HashMap<usize, usize> = HashMap::new();
    // Notes written while merged: they belong to where they landed.
    let mut notes: HashMap<usize, Vec<String>> = HashMap::new();
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Merge(p, ss) => {
                let p = root(&merged, p % n);
                let mut secondaries: Vec<usize> = ss
                    .iter()
                    .map(|s| root(&merged, s % n))
                    .filter(|s| *s != p)
                    .collect();
                secondaries.sort();
                secondaries.dedup();
                if secondaries.is_empty() {
                    continue;
                }
                let body =
                    json!({"ticket_ids": secondaries.iter().map(|s| ids[*s]).collect::<Vec<_>>()});
                let (status, t) = send(
                    admin
                        .post(app.url(&format!("/api/v1/tickets/{}/merge", ids[p])))
                        .json(&body),
                )
                .await;
                assert_eq!(status, 200, "merge: {t}");
                for s in secondaries {
                    merged.insert(s, p);
                }
            }
            Op::Unmerge(x) => {
                let x = x % n;
                let Some(p) = merged.get(&x).copied() else {
                    continue;
                };
                let (status, t) = send(
                    admin
                        .post(app.url(&format!("/api/v1/tickets/{}/unmerge", ids[p])))
                        .json(&json!({"ticket_id": ids[x]})),
                )
                .await;
                if merged.contains_key(&p) {
                    // Its primary is merged in turn: undo one level at a time.
                    assert_eq!(status, 409, "nested unmerge: {t}");
                    continue;
                }
                assert_eq!(status, 200, "unmerge: {t}");
                merged.remove(&x);
            }
            Op::Note(x) => {
                let x = x % n;
                let text = format!("note {step}");
                let (status, e) = send(
                    admin
                        .post(app.url(&format!("/api/v1/tickets/{}/messages", ids[x])))
                        .json(&json!({"kind": "note", "body": text})),
                )
                .await;
                assert_eq!(status, 201, "{e}");
                let r = root(&merged, x);
                assert_eq!(
                    e["ticket_id"].as_i64(),
                    Some(ids[r]),
                    "a note lands on the primary"
                );
                notes.entry(r).or_default().push(text);
            }
        }
    }
    // While merged: a secondary answers its primary, and the primary's
    // thread holds every entry of what was merged into it, in time order.
    for x in 0..n {
        let r = root(&merged, x);
        let (status, t) = send(admin.get(app.url(&format!("/api/v1/tickets/{}", ids[x])))).await;
        assert_eq!(status, 200);
        assert_eq!(t["id"].as_i64(), Some(ids[r]));
        if r != x {
            assert_eq!(t["merged_from"].as_i64(), Some(ids[x]));
        }
        if r == x {
            let (_, thread) =
                send(admin.get(app.url(&format!("/api/v1/tickets/{}/messages", ids[x])))).await;
            let entries = thread["messages"].as_array().unwrap();
            let times: Vec<i64> = entries
                .iter()
                .map(|e| e["created_at"].as_i64().unwrap())
                .collect();
            let mut sorted = times.clone();
            sorted.sort();
            assert_eq!(times, sorted, "thread in time order");
            let bodies: Vec<&str> = entries
                .iter()
                .map(|e| e["body"].as_str().unwrap())
                .collect();
            for y in (0..n).filter(|y| root(&merged, *y) == x) {
                for (_, _, body, _, _) in &before[y].1 {
                    assert!(
                        bodies.contains(&body.as_str()),
                        "{body} is on #{x}'s thread"
                    );
                }
            }
            // The create date is the oldest of the merged tickets'.
            let oldest = (0..n)
                .filter(|y| root(&merged, *y) == x)
                .map(|y| specs[y].created_offset)
                .min()
                .unwrap();
            assert_eq!(t["created_at"].as_i64(), Some(base + oldest));
        }
    }
    assert_counts_exact(app).await;
    // Undo everything, from the top of each merge tree down, in whatever
    // order within a level.
    while let Some((&x, &p)) = merged
        .iter()
        .filter(|(_, p)| !merged.contains_key(p))
        .max_by_key(|(x, _)| **x)
    {
        let (status, t) = send(
            admin
                .post(app.url(&format!("/api/v1/tickets/{}/unmerge", ids[p])))
                .json(&json!({"ticket_id": ids[x]})),
        )
        .await;
        assert_eq!(status, 200, "unmerge: {t}");
        merged.remove(&x);
    }
    for (i, id) in ids.iter().enumerate() {
        let (row, entries) = (row_of(app, *id).await, entries_of(app, *id).await);
        assert_eq!(row, before[i].0, "ticket {i}'s properties are restored");
        let mut expected: Vec<String> = before[i].1.iter().map(|e| e.2.clone()).collect();
        expected.extend(notes.get(&i).cloned().unwrap_or_default());
        let got: Vec<String> = entries.iter().map(|e| e.2.clone()).collect();
        assert_eq!(got, expected, "ticket {i}'s entries are exactly its own");
        assert!(
            entries.iter().all(|e| e.4.is_none()),
            "no entry is marked as merged in"
        );
        // Its own entries are the very same rows.
        for (a, b) in entries.iter().zip(&before[i].1) {
            assert_eq!(a, b);
        }
    }
    assert_counts_exact(app).await;
}

async fn merge_and_unmerge_restore_every_ticket_exactly(app: TestApp) {
    let admin = app.admin().await;
    let handle = tokio::runtime::Handle::current();
    let config = ProptestConfig {
        cases: match app.backend {
            common::Backend::Sqlite => 24,
            common::Backend::Postgres => 12,
        },
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = tokio::task::block_in_place(|| {
        runner.run(&spec(), |(specs, ops)| {
            handle.block_on(merge_case(&app, &admin, specs, ops));
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------

async fn merged_tickets_redirect_and_leave_lists_and_counts(app: TestApp) {
    let admin = app.admin().await;
    let a = create(&app, &admin, json!({"subject": "Printer on fire", "body": "It smokes", "contact": {"email": "p@x.example"}})).await;
    let b = create(&app, &admin, json!({"subject": "Printer still on fire", "body": "More smoke", "contact": {"email": "p@x.example"}})).await;
    let (a_id, b_id) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    let before = common::view_count(&app, &admin, "open").await;
    // An agent follows only the secondary.
    let follower = app.user("Merge Follower", app::users::Role::Agent).await;
    let follower_client = app.signed_in_as(&follower).await;
    let (status, _) =
        send(follower_client.post(app.url(&format!("/api/v1/tickets/{b_id}/follow")))).await;
    assert!((200..300).contains(&status), "follow: {status}");
    let (status, primary) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{a_id}/merge")))
            .json(&json!({"ticket_ids": [b_id]})),
    )
    .await;
    assert_eq!(status, 200, "{primary}");
    assert_eq!(primary["number"], a["number"]);
    assert_eq!(common::view_count(&app, &admin, "open").await, before - 1);
    // The secondary's follower now follows the primary too.
    let followed: Vec<i64> =
        sqlx::query("SELECT ticket_id FROM followers WHERE user_id = $1 ORDER BY ticket_id")
            .bind(follower.id)
            .fetch_all(app.state.db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get("ticket_id").unwrap())
            .collect();
    assert_eq!(followed, vec![a_id, b_id]);
    // The secondary, by id and by number, answers the primary.
    let (_, t) = send(admin.get(app.url(&format!("/api/v1/tickets/{b_id}")))).await;
    assert_eq!(t["id"].as_i64(), Some(a_id));
    assert_eq!(t["merged_from"].as_i64(), Some(b_id));
    // It is in no list.
    let (_, page) = send(admin.get(app.url("/api/v1/tickets?limit=100"))).await;
    let listed: Vec<i64> = page["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert!(listed.contains(&a_id) && !listed.contains(&b_id));
    // Its entries (its message and the follow event) are marked with where
    // they came from.
    let (_, thread) = send(admin.get(app.url(&format!("/api/v1/tickets/{a_id}/messages")))).await;
    let from: Vec<i64> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["merged_from"]["number"].as_i64())
        .collect();
    let b_number = b["number"].as_i64().unwrap();
    assert_eq!(from, vec![b_number, b_number]);
    // A reply to the secondary lands on the primary.
    let (status, e) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{b_id}/messages")))
            .json(&json!({"kind": "note", "body": "late"})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(e["ticket_id"].as_i64(), Some(a_id));
    // Search finds the secondary's words on the primary.
    let (_, found) = send(admin.get(app.url("/api/v1/search?q=smoke"))).await;
    let hits: Vec<i64> = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["ticket"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(hits, vec![a_id], "{found}");
    // Live: both tickets' events went out.
    let kinds: Vec<String> = sqlx::query(
        "SELECT kind FROM events WHERE ticket_id IN ($1, $2) AND kind = 'ticket.merged'",
    )
    .bind(a_id)
    .bind(b_id)
    .fetch_all(app.state.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| r.try_get("kind").unwrap())
    .collect();
    assert_eq!(kinds.len(), 2);
    // Unmerge brings it back into the lists and the count.
    let (status, _) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{a_id}/unmerge")))
            .json(&json!({"ticket_id": b_id})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(common::view_count(&app, &admin, "open").await, before);
    let (_, t) = send(admin.get(app.url(&format!("/api/v1/tickets/{b_id}")))).await;
    assert_eq!(t["id"].as_i64(), Some(b_id));
    assert!(t.get("merged_from").is_none());
    assert_counts_exact(&app).await;
}

async fn merge_refuses_bad_input_and_writes_nothing(app: TestApp) {
    let admin = app.admin().await;
    let a = create(&app, &admin, json!({"subject": "A"})).await["id"]
        .as_i64()
        .unwrap();
    let b = create(&app, &admin, json!({"subject": "B"})).await["id"]
        .as_i64()
        .unwrap();
    let events = app.count("events").await;
    for (body, status, code) in [
        (json!({"ticket_ids": []}), 422, "invalid"),
        (json!({"ticket_ids": [a]}), 422, "invalid"),
        (json!({"ticket_ids": [b, 999_999]}), 422, "invalid"),
        (json!({"ticket_ids": "x"}), 422, "invalid"),
    ] {
        let (s, e) = send(
            admin
                .post(app.url(&format!("/api/v1/tickets/{a}/merge")))
                .json(&body),
        )
        .await;
        assert_eq!(s, status, "{body}: {e}");
        assert_eq!(e["error"]["code"], code);
    }
    // Nothing happened, not even to b.
    assert_eq!(app.count("events").await, events);
    assert_eq!(app.count("ticket_merges").await, 0);
    // A restricted agent cannot merge a ticket they do not see into one
    // they do, nor learn that it exists.
    let team = app::users::service::create_team_unchecked(&app.state.db, "Hidden")
        .await
        .unwrap();
    let agent = app::users::service::create_unchecked(
        &app.state.db,
        NewUser {
            email: "narrow@test.example".into(),
            name: "Narrow".into(),
            password: Some("password-123".into()),
            role: Role::Agent,
            access: app::access::AccessScope::Owned,
            include_unassigned: true,
            teams: Vec::new(),
            team_ids: Vec::new(),
        },
    )
    .await
    .unwrap();
    let hidden = create(
        &app,
        &admin,
        json!({"subject": "Secret", "owner_id": 1, "team_id": team.id}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let narrow = app.signed_in_as(&agent).await;
    let (s, e) = send(
        narrow
            .post(app.url(&format!("/api/v1/tickets/{a}/merge")))
            .json(&json!({"ticket_ids": [hidden]})),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not found"));
    // Collaborators may not merge.
    let collab = app.user("Cole", Role::Collaborator).await;
    let collab = app.signed_in_as(&collab).await;
    let (s, _) = send(
        collab
            .post(app.url(&format!("/api/v1/tickets/{a}/merge")))
            .json(&json!({"ticket_ids": [b]})),
    )
    .await;
    assert_eq!(s, 403);
    // Unmerging something that is not merged.
    let (s, _) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{a}/unmerge")))
            .json(&json!({"ticket_id": b})),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(app.count("ticket_merges").await, 0);
}

async fn split_makes_a_linked_ticket_of_chosen_entries(app: TestApp) {
    let admin = app.admin().await;
    let t = create(&app, &admin, json!({"subject": "Two questions", "body": "Q1 about billing", "contact": {"email": "q@x.example"}})).await;
    let id = t["id"].as_i64().unwrap();
    let second = entry(
        &app,
        id,
        EntryKind::Inbound,
        "Q2 about login",
        app::db::now_ms(),
    )
    .await;
    let reply = entry(
        &app,
        id,
        EntryKind::Reply,
        "About login: reset it",
        app::db::now_ms() + 1,
    )
    .await;
    let (_, thread) = send(admin.get(app.url(&format!("/api/v1/tickets/{id}/messages")))).await;
    let first = thread["messages"][0]["id"].as_i64().unwrap();
    // Refused, and nothing written: unknown entries, timeline records,
    // every message of the ticket.
    let events = app.count("events").await;
    let timeline: i64 = sqlx::query("SELECT id FROM messages WHERE kind = 'event' LIMIT 1")
        .fetch_optional(app.state.db.pool())
        .await
        .unwrap()
        .map(|r| r.try_get("id").unwrap())
        .unwrap_or(-1);
    for ids in [
        json!([]),
        json!([999_999]),
        json!([first, second, reply]),
        json!([timeline]),
    ] {
        let (s, e) = send(
            admin
                .post(app.url(&format!("/api/v1/tickets/{id}/split")))
                .json(&json!({"message_ids": ids})),
        )
        .await;
        assert_eq!(s, 422, "{ids}: {e}");
    }
    assert_eq!(app.count("events").await, events);
    let (s, new) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{id}/split")))
            .json(&json!({"message_ids": [second, reply]})),
    )
    .await;
    assert_eq!(s, 201, "{new}");
    let new_id = new["id"].as_i64().unwrap();
    assert_eq!(new["split_from_id"].as_i64(), Some(id));
    assert_eq!(new["contact_id"], t["contact_id"]);
    let bodies = |tid: i64| {
        let admin = admin.clone();
        let url = app.url(&format!("/api/v1/tickets/{tid}/messages"));
        async move {
            let (_, th) = send(admin.get(url)).await;
            th["messages"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] != "event")
                .map(|e| e["body"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        bodies(new_id).await,
        vec!["Q2 about login", "About login: reset it"]
    );
    assert_eq!(bodies(id).await, vec!["Q1 about billing"]);
    // Both timelines say so.
    let (_, th) = send(admin.get(app.url(&format!("/api/v1/tickets/{id}/messages")))).await;
    assert!(th.to_string().contains(&format!("into #{}", new["number"])));
    // The new ticket starts in an open status of the same pipeline.
    assert_eq!(new["status_category"], "open");
}

/// A ticket's links (split off, merged into it) name only tickets the
/// caller may see, and only those can be unmerged by them.
async fn links_and_unmerge_only_reach_tickets_the_caller_may_see(app: TestApp) {
    let admin = app.admin().await;
    let olga = app
        .user_with_access("Olga", Role::Agent, AccessScope::Owned, false)
        .await;
    let hers = create(
        &app,
        &admin,
        json!({"subject": "Hers", "body": "first question"}),
    )
    .await;
    let id = hers["id"].as_i64().unwrap();
    common::patch_ticket(&app, &admin, &hers["id"], json!({"owner_id": olga.id})).await;
    let second = entry(
        &app,
        id,
        EntryKind::Inbound,
        "second question",
        app::db::now_ms(),
    )
    .await;
    // Split off, then taken from her: she may not see it any more.
    let (s, split) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{id}/split")))
            .json(&json!({"message_ids": [second]})),
    )
    .await;
    assert_eq!(s, 201, "{split}");
    common::patch_ticket(&app, &admin, &split["id"], json!({"owner_id": null})).await;
    // Someone else's ticket, merged into hers.
    let other = create(&app, &admin, json!({"subject": "Not hers", "body": "x"})).await;
    let (s, merged) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{id}/merge")))
            .json(&json!({"ticket_ids": [other["id"]]})),
    )
    .await;
    assert_eq!(s, 200, "{merged}");

    let open = |client: reqwest::Client| {
        let url = app.url("/rpc/open_ticket");
        let number = hers["number"].to_string();
        async move { send(client.post(url).form(&[("number", number.as_str())])).await }
    };
    let (s, seen) = open(admin.clone()).await;
    assert_eq!(s, 200, "{seen}");
    assert_eq!(seen["split_into"][0]["id"], split["id"], "{seen}");
    assert_eq!(seen["merged"][0]["id"], other["id"], "{seen}");
    let olga_client = app.signed_in_as(&olga).await;
    let (s, seen) = open(olga_client.clone()).await;
    assert_eq!(s, 200, "{seen}");
    assert_eq!(seen["split_into"], json!([]), "{seen}");
    assert_eq!(seen["merged"], json!([]), "{seen}");

    let unmerge = |client: reqwest::Client| {
        let url = app.url(&format!("/api/v1/tickets/{id}/unmerge"));
        let body = json!({"ticket_id": other["id"]});
        async move { send(client.post(url).json(&body)).await }
    };
    let (s, e) = unmerge(olga_client).await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = unmerge(admin).await;
    assert_eq!(s, 200, "{e}");
}

async fn move_maps_the_status_into_the_new_pipeline(app: TestApp) {
    let admin = app.admin().await;
    let db = &app.state.db;
    let pipeline: i64 =
        sqlx::query("INSERT INTO pipelines (name, position) VALUES ('Sales', 1) RETURNING id")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .try_get("id")
            .unwrap();
    for (name, category, pos) in [
        ("Lead", "open", 0),
        ("Talking", "waiting", 1),
        ("Won", "closed", 2),
    ] {
        sqlx::query("INSERT INTO pipeline_statuses (pipeline_id, name, category, position) VALUES ($1, $2, $3, $4)")
            .bind(pipeline)
            .bind(name)
            .bind(category)
            .bind(pos)
            .execute(db.pool())
            .await
            .unwrap();
    }
    let t = create(
        &app,
        &admin,
        json!({"subject": "Move me", "status": "Waiting on contact"}),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    let team = app::users::service::create_team_unchecked(db, "Sales team")
        .await
        .unwrap();
    let (s, moved) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{id}/move")))
            .json(&json!({"pipeline_id": pipeline, "team_id": team.id, "owner_id": 1})),
    )
    .await;
    assert_eq!(s, 200, "{moved}");
    assert_eq!(moved["pipeline_id"].as_i64(), Some(pipeline));
    assert_eq!(moved["status"], "Talking", "waiting maps to waiting");
    assert_eq!(moved["team_id"].as_i64(), Some(team.id));
    assert_eq!(moved["owner_id"].as_i64(), Some(1));
    // A status named for the target pipeline; one from another pipeline is
    // refused, and nothing changes.
    let (s, e) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{id}/move")))
            .json(&json!({"pipeline_id": 1, "status": "Won"})),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    let (_, t) = send(admin.get(app.url(&format!("/api/v1/tickets/{id}")))).await;
    assert_eq!(t["pipeline_id"].as_i64(), Some(pipeline));
    let (s, back) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{id}/move")))
            .json(&json!({"pipeline_id": 1, "status": "Closed"})),
    )
    .await;
    assert_eq!(s, 200, "{back}");
    assert_eq!(back["status"], "Closed");
    assert!(back["closed_at"].is_i64());
    let (s, _) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{id}/move")))
            .json(&json!({"pipeline_id": 424242})),
    )
    .await;
    assert_eq!(s, 422);
}

async fn trash_restore_and_purge(app: TestApp) {
    let admin = app.admin().await;
    let t = create(
        &app,
        &admin,
        json!({"subject": "Spam", "body": "buy now", "contact": {"email": "s@x.example"}}),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    let (s, trashed) = send(admin.delete(app.url(&format!("/api/v1/tickets/{id}")))).await;
    assert_eq!(s, 200, "{trashed}");
    assert!(trashed["deleted_at"].is_i64());
    // Out of every list and search, in the Trash view.
    let (_, page) = send(admin.get(app.url("/api/v1/tickets"))).await;
    assert!(page["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["id"].as_i64() != Some(id)));
    let (_, trash) = send(admin.get(app.url("/api/v1/views/trash/tickets"))).await;
    assert_eq!(trash["tickets"][0]["id"].as_i64(), Some(id), "{trash}");
    let (_, found) = send(admin.get(app.url("/api/v1/search?q=buy"))).await;
    assert_eq!(found["total"], 0);
    // Closed to changes until restored; twice to the trash is a conflict.
    let (s, _) = send(
        admin
            .patch(app.url(&format!("/api/v1/tickets/{id}")))
            .json(&json!({"priority": "high"})),
    )
    .await;
    assert_eq!(s, 409);
    let (s, _) = send(admin.delete(app.url(&format!("/api/v1/tickets/{id}")))).await;
    assert_eq!(s, 409);
    assert_counts_exact(&app).await;
    let (s, back) = send(admin.post(app.url(&format!("/api/v1/tickets/{id}/restore")))).await;
    assert_eq!(s, 200);
    assert!(back["deleted_at"].is_null());
    let (s, _) = send(admin.post(app.url(&format!("/api/v1/tickets/{id}/restore")))).await;
    assert_eq!(s, 409);
    // The timeline records both.
    let (_, th) = send(admin.get(app.url(&format!("/api/v1/tickets/{id}/messages")))).await;
    let text = th.to_string();
    assert!(text.contains("moved the ticket to the trash") && text.contains("restored the ticket"));
    // Purged after 30 days, with its thread; a fresher one stays.
    let fresh = create(&app, &admin, json!({"subject": "Recent"})).await["id"]
        .as_i64()
        .unwrap();
    send(admin.delete(app.url(&format!("/api/v1/tickets/{id}")))).await;
    send(admin.delete(app.url(&format!("/api/v1/tickets/{fresh}")))).await;
    let now = app::db::now_ms();
    sqlx::query("UPDATE tickets SET deleted_at = $1 WHERE id = $2")
        .bind(now - 31 * 86_400_000)
        .bind(id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let purged = app::tickets::actions::service::purge_expired(&app.state.db, now)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let (s, _) = send(admin.get(app.url(&format!("/api/v1/tickets/{id}")))).await;
    assert_eq!(s, 404);
    let left: i64 = sqlx::query("SELECT COUNT(*) AS n FROM messages WHERE ticket_id = $1")
        .bind(id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(left, 0);
    let (s, _) = send(admin.get(app.url(&format!("/api/v1/tickets/{fresh}")))).await;
    assert_eq!(s, 200);
    assert_counts_exact(&app).await;
}

async fn bulk_actions_apply_to_each_ticket_the_caller_may_change(app: TestApp) {
    let admin = app.admin().await;
    let agent = app.user("Olga", Role::Agent).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            create(&app, &admin, json!({"subject": format!("Bulk {i}")})).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let (s, out) = send(admin.post(app.url("/api/v1/tickets/bulk")).json(&json!({
        "ticket_ids": ids, "action": "update", "patch": {"priority": "urgent", "owner_id": agent.id}
    })))
    .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["done"].as_array().unwrap().len(), 3);
    for id in &ids {
        let (_, t) = send(admin.get(app.url(&format!("/api/v1/tickets/{id}")))).await;
        assert_eq!(t["priority"], "urgent");
        assert_eq!(t["owner_id"].as_i64(), Some(agent.id));
    }
    // One ticket refused (already in the trash), the others done. A ticket
    // chosen twice is changed and reported once.
    send(admin.delete(app.url(&format!("/api/v1/tickets/{}", ids[2])))).await;
    let (s, out) = send(admin.post(app.url("/api/v1/tickets/bulk")).json(&json!({
        "ticket_ids": [ids[0], ids[1], ids[2], ids[0], ids[2]],
        "action": "update", "patch": {"priority": "low"}
    })))
    .await;
    assert_eq!(s, 200);
    assert_eq!(out["done"], json!([ids[0], ids[1]]), "{out}");
    assert_eq!(out["failed"].as_array().unwrap().len(), 1, "{out}");
    assert_eq!(out["failed"][0]["id"].as_i64(), Some(ids[2]));
    // Bulk merge, bulk delete and restore.
    let (s, out) = send(admin.post(app.url("/api/v1/tickets/bulk")).json(&json!({
        "ticket_ids": [ids[0], ids[1]], "action": "merge", "primary_id": ids[0]
    })))
    .await;
    assert_eq!(s, 200, "{out}");
    let (_, t) = send(admin.get(app.url(&format!("/api/v1/tickets/{}", ids[1])))).await;
    assert_eq!(t["id"].as_i64(), Some(ids[0]));
    let (s, out) = send(admin.post(app.url("/api/v1/tickets/bulk")).json(&json!({
        "ticket_ids": [ids[2]], "action": "restore"
    })))
    .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["done"].as_array().unwrap().len(), 1);
    // Bad input.
    for body in [
        json!({"ticket_ids": [], "action": "delete"}),
        json!({"ticket_ids": (0..101).collect::<Vec<i64>>(), "action": "delete"}),
    ] {
        let (s, _) = send(admin.post(app.url("/api/v1/tickets/bulk")).json(&body)).await;
        assert_eq!(s, 422);
    }
    let (s, _) = send(
        admin
            .post(app.url("/api/v1/tickets/bulk"))
            .json(&json!({"ticket_ids": [1], "action": "explode"})),
    )
    .await;
    assert_eq!(s, 422);
    assert_counts_exact(&app).await;
}
