//! The benchmark data generator writes a consistent workspace that the app
//! serves and keeps working on.

mod common;

use common::{send, TestApp};
use serde_json::json;
use server::datagen::{generate, Plan};

on_both_databases!(generated_workspace_is_consistent_and_usable);

async fn generated_workspace_is_consistent_and_usable(app: TestApp) {
    // The harness created one admin already; the generator needs no tickets.
    let plan = Plan::for_tickets(300);
    let stats = generate(&app.state.db, &plan, 1).await.expect("generate");
    assert_eq!(stats.tickets, 300);
    assert_eq!(app.count("tickets").await, 300);
    assert_eq!(app.count("messages").await, stats.messages);
    assert!(stats.messages >= 300, "every ticket has a first message");
    assert_eq!(app.count("contacts").await, plan.contacts);
    // My mentions and Followers have tickets to list.
    assert_eq!(app.count("mentions").await, stats.mentions);
    assert_eq!(app.count("followers").await, stats.follows);
    assert!(stats.follows > 0, "{stats:?}");

    // A second run refuses instead of duplicating.
    assert!(generate(&app.state.db, &plan, 1).await.is_err());

    // Generated agents can sign in, and the views page through the data.
    let agent = app
        .signed_in("agent1@bench.example", "bench-password")
        .await;
    let (status, page) = send(agent.get(app.url("/api/v1/tickets?view=open&limit=100"))).await;
    assert_eq!(status, 200);
    assert!(!page["tickets"].as_array().unwrap().is_empty());
    // The search indexes, merged at the end of generating, find the data.
    let subject = page["tickets"][0]["subject"].as_str().unwrap().to_string();
    let word = subject.split_whitespace().next().unwrap();
    let (status, found) = send(agent.get(app.url("/api/v1/search")).query(&[("q", word)])).await;
    assert_eq!(status, 200, "{found}");
    assert!(
        !found["hits"].as_array().unwrap().is_empty(),
        "{word}: {found}"
    );
    // New rows continue after the generated ids and numbers.
    let (status, t) = send(
        agent
            .post(app.url("/api/v1/tickets"))
            .json(&json!({"subject": "After the import", "contact": {"email": "new@x.example"}})),
    )
    .await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["number"], 301);
    let id = t["id"].as_i64().unwrap();
    let (status, _) = send(
        agent
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "reply", "body": "hi"})),
    )
    .await;
    assert_eq!(status, 201);
}

/// `make bench` generates a workspace once and serves copies of its file:
/// the generator must leave the whole database in that one file, not part
/// of it in the WAL beside it (a copy without the WAL is corrupt).
#[tokio::test]
async fn a_generated_sqlite_file_stands_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gen.db");
    let db = app::db::Db::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    generate(&db, &Plan::for_tickets(200), 7).await.unwrap();
    // The generator itself leaves the WAL empty...
    let wal = dir.path().join("gen.db-wal");
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
    // ...and folding it again has nothing left to wait for.
    assert!(db
        .checkpoint_all(std::time::Duration::from_secs(30))
        .await
        .unwrap());
    db.close().await;

    let copy = dir.path().join("copy.db");
    std::fs::copy(&file, &copy).unwrap();
    let copied = app::db::Db::connect(&format!("sqlite://{}", copy.display()))
        .await
        .unwrap();
    let (tickets, check): (i64, String) = (
        sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
            .fetch_one(copied.pool())
            .await
            .unwrap(),
        sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(copied.pool())
            .await
            .unwrap(),
    );
    assert_eq!((tickets, check.as_str()), (200, "ok"));
    copied.close().await;
}
