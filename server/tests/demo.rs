//! The demo workspace `make run` seeds on an empty database.

mod common;

use common::{send, TestApp};

on_both_databases!(demo_workspace_is_seeded_once_and_usable);

async fn demo_workspace_is_seeded_once_and_usable(app: TestApp) {
    assert!(app::demo::seed(&app.state.db).await.unwrap());
    assert_eq!(app.count("tickets").await, 200);
    assert_eq!(app.count("contacts").await, 40);
    assert_eq!(app.count("teams").await, 2);
    assert_eq!(app.count("users").await, 6, "the admin and five demo users");
    assert!(
        !app::demo::seed(&app.state.db).await.unwrap(),
        "seeding twice adds nothing"
    );
    assert_eq!(app.count("tickets").await, 200);

    let ana = app
        .signed_in("ana@ayuda.example", app::demo::DEMO_PASSWORD)
        .await;
    let (status, counts) = send(ana.post(app.url("/rpc/list_views"))).await;
    assert_eq!(status, 200);
    let total: i64 = counts
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "open" || c["id"] == "closed")
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 200, "every ticket is open or closed");
    let (_, t) = send(
        ana.post(app.url("/api/v1/tickets"))
            .json(&serde_json::json!({"subject": "After the demo"})),
    )
    .await;
    assert_eq!(t["number"], 201);
}
