//! Search over the REST API, on SQLite and PostgreSQL: what it finds
//! (subjects, entries, contacts, numbers, beginnings of words), ranking and
//! snippets, views, and access: no hit, count or snippet from a ticket the
//! caller may not see.

mod common;

use app::users::{NewUser, Role};
use common::{send, TestApp};
use serde_json::{json, Value};

on_both_databases!(
    search_finds_subjects_entries_contacts_and_numbers,
    search_respects_access_views_and_bad_input,
);

async fn create(app: &TestApp, client: &reqwest::Client, body: Value) -> Value {
    let (status, t) = send(client.post(app.url("/api/v1/tickets")).json(&body)).await;
    assert_eq!(status, 201, "{t}");
    t
}

async fn search(app: &TestApp, client: &reqwest::Client, q: &str) -> Value {
    let (status, r) = send(client.get(app.url("/api/v1/search")).query(&[("q", q)])).await;
    assert_eq!(status, 200, "{q}: {r}");
    r
}

fn numbers(r: &Value) -> Vec<i64> {
    r["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["ticket"]["number"].as_i64().unwrap())
        .collect()
}

async fn search_finds_subjects_entries_contacts_and_numbers(app: TestApp) {
    let admin = app.admin().await;
    let invoice = create(
        &app,
        &admin,
        json!({
            "subject": "Invoice is wrong",
            "body": "The <b>total</b> on my invoice is twice the price & I want a refund.",
            "contact": {"email": "marta.lopez@acme.example", "name": "Marta López"}
        }),
    )
    .await;
    let login = create(
        &app,
        &admin,
        json!({
            "subject": "Cannot sign in",
            "body": "The password reset email never arrives.",
            "contact": {"email": "bo@beta.example", "name": "Bo Berg"}
        }),
    )
    .await;
    let n_invoice = invoice["number"].as_i64().unwrap();
    let n_login = login["number"].as_i64().unwrap();
    // A thread entry; the snippet is escaped text with the word marked.
    let r = search(&app, &admin, "refund").await;
    assert_eq!(numbers(&r), vec![n_invoice]);
    assert_eq!(r["hits"][0]["matched_in"], "message");
    let snippet = r["hits"][0]["snippet_html"].as_str().unwrap();
    assert!(snippet.contains("<mark>refund</mark>"), "{snippet}");
    assert!(
        snippet.contains("&lt;b&gt;total&lt;/b&gt;") && snippet.contains("&amp;"),
        "{snippet}"
    );
    assert!(r["hits"][0]["message_id"].is_i64());
    // Beginnings of words, as one types; several words all must match.
    assert_eq!(numbers(&search(&app, &admin, "passw").await), vec![n_login]);
    assert_eq!(
        numbers(&search(&app, &admin, "reset email").await),
        vec![n_login]
    );
    assert!(numbers(&search(&app, &admin, "reset invoice").await).is_empty());
    // A subject match ranks above a mere mention in a thread.
    create(
        &app,
        &admin,
        json!({"subject": "Question", "body": "Is sign in with Google possible?"}),
    )
    .await;
    let r = search(&app, &admin, "sign").await;
    assert_eq!(numbers(&r)[0], n_login, "{r}");
    assert_eq!(r["hits"][0]["matched_in"], "subject");
    assert_eq!(r["total"], 2);
    // Contacts by name (accents folded), email and phone.
    let r = search(&app, &admin, "marta").await;
    assert_eq!(numbers(&r), vec![n_invoice]);
    assert_eq!(r["contacts"][0]["email"], "marta.lopez@acme.example");
    assert_eq!(
        numbers(&search(&app, &admin, "acme").await),
        vec![n_invoice]
    );
    if matches!(app.backend, common::Backend::Sqlite) {
        // unicode61 folds accents; PostgreSQL's simple configuration does
        // not, so this one is SQLite's.
        assert_eq!(
            numbers(&search(&app, &admin, "lopez").await),
            vec![n_invoice]
        );
    }
    // Ticket numbers, with or without '#'.
    assert_eq!(
        numbers(&search(&app, &admin, &format!("#{n_login}")).await)[0],
        n_login
    );
    assert_eq!(
        numbers(&search(&app, &admin, &n_invoice.to_string()).await)[0],
        n_invoice
    );
    // Replies and notes written later are found too; timeline records not.
    let id = invoice["id"].as_i64().unwrap();
    let (s, _) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "note", "body": "Escalated to finance"})),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(
        numbers(&search(&app, &admin, "finance").await),
        vec![n_invoice]
    );
    let (s, _) = send(
        admin
            .patch(app.url(&format!("/api/v1/tickets/{id}")))
            .json(&json!({"priority": "urgent"})),
    )
    .await;
    assert_eq!(s, 200);
    assert!(numbers(&search(&app, &admin, "priority").await).is_empty());
    // Renamed subjects are found by their new words.
    send(
        admin
            .patch(app.url(&format!("/api/v1/tickets/{id}")))
            .json(&json!({"subject": "Billing mistake"})),
    )
    .await;
    assert_eq!(
        numbers(&search(&app, &admin, "mistake").await),
        vec![n_invoice]
    );
}

async fn search_respects_access_views_and_bad_input(app: TestApp) {
    let admin = app.admin().await;
    let red = app::users::service::create_team_unchecked(&app.state.db, "Red")
        .await
        .unwrap();
    let blue = app::users::service::create_team_unchecked(&app.state.db, "Blue")
        .await
        .unwrap();
    let agent = app::users::service::create_unchecked(
        &app.state.db,
        NewUser {
            email: "redagent@test.example".into(),
            name: "Red Agent".into(),
            password: Some("password-123".into()),
            role: Role::Agent,
            access: app::access::AccessScope::Teams,
            include_unassigned: false,
            teams: Vec::new(),
            team_ids: vec![red.id],
        },
    )
    .await
    .unwrap();
    let theirs = create(&app, &admin, json!({"subject": "Red kettle", "body": "zebrafish in the kettle", "team_id": red.id, "owner_id": 1})).await;
    let secret = create(&app, &admin, json!({"subject": "Blue kettle", "body": "zebrafish secret plans", "team_id": blue.id, "owner_id": 1})).await;
    let client = app.signed_in_as(&agent).await;
    let r = search(&app, &client, "zebrafish").await;
    assert_eq!(numbers(&r), vec![theirs["number"].as_i64().unwrap()]);
    assert_eq!(r["total"], 1);
    assert!(!r.to_string().contains("secret"), "{r}");
    // Nothing of the other team's ticket, by word, subject or number.
    let r = search(&app, &client, "secret").await;
    assert_eq!(r["total"], 0);
    assert!(r["hits"].as_array().unwrap().is_empty());
    let r = search(
        &app,
        &client,
        &secret["number"].as_i64().unwrap().to_string(),
    )
    .await;
    assert_eq!(r["total"], 0);
    // The admin sees both.
    assert_eq!(search(&app, &admin, "zebrafish").await["total"], 2);
    // Within a view: Closed has neither.
    let (s, r) = send(
        admin
            .get(app.url("/api/v1/search"))
            .query(&[("q", "zebrafish"), ("view", "closed")]),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(r["total"], 0);
    let (s, r) = send(
        admin
            .get(app.url("/api/v1/search"))
            .query(&[("q", "zebrafish"), ("view", "open")]),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(r["total"], 2);
    // Bad input: a clear error, no crash.
    for (q, status) in [("", 422), ("   ", 422)] {
        let (s, e) = send(admin.get(app.url("/api/v1/search")).query(&[("q", q)])).await;
        assert_eq!(s, status, "{e}");
        assert_eq!(e["error"]["field"], "q");
    }
    let long = "x".repeat(201);
    let (s, _) = send(
        admin
            .get(app.url("/api/v1/search"))
            .query(&[("q", long.as_str())]),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = send(
        admin
            .get(app.url("/api/v1/search"))
            .query(&[("q", "a"), ("limit", "0")]),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = send(
        admin
            .get(app.url("/api/v1/search"))
            .query(&[("q", "a"), ("view", "nope")]),
    )
    .await;
    assert_eq!(s, 404);
    // FTS syntax in the query is just words.
    for q in [
        "\"unbalanced",
        "NEAR(a b)",
        "a OR b*",
        "-x",
        "col:val",
        "^start",
        "a & b | !c",
        "x:*",
    ] {
        let (s, e) = send(admin.get(app.url("/api/v1/search")).query(&[("q", q)])).await;
        assert_eq!(s, 200, "{q}: {e}");
    }
    // Unauthenticated: 401.
    let (s, _) = send(app.browser().get(app.url("/api/v1/search?q=zebrafish"))).await;
    assert_eq!(s, 401);
}

/// The rowids the SQLite index finds for `word` in thread entries.
async fn indexed_entries(db: &app::db::Db, word: &str) -> Vec<i64> {
    sqlx::query_scalar::<_, i64>(
        "SELECT rowid FROM messages_fts WHERE messages_fts MATCH $1 ORDER BY rowid",
    )
    .bind(word)
    .fetch_all(db.pool())
    .await
    .unwrap()
}

async fn insert_entry(tx: &mut app::db::WriteTx, ticket: i64, body: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(
        "INSERT INTO messages (ticket_id, kind, body, body_html, created_at) \
         VALUES ($1, 'note', $2, '', 0) RETURNING id",
    )
    .bind(ticket)
    .bind(body)
    .fetch_one(tx.conn())
    .await
    .unwrap()
}

/// On SQLite, new entries and tickets are indexed when their transaction
/// commits, with the rest of its commit group (migration 0013). Whatever a
/// transaction did to a row first (rewrote it, deleted it, was rolled
/// back), the index holds the committed text only, stays sound, and
/// nothing is left pending between transactions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_indexes_new_rows_when_they_commit() {
    let app = TestApp::spawn(common::Backend::Sqlite).await;
    let admin = app.admin().await;
    let db = &app.state.db;
    let t = create(
        &app,
        &admin,
        json!({"subject": "Quokka invoice", "body": "The quokka ate it",
               "contact": {"email": "quokka@zoo.example"}}),
    )
    .await;
    let ticket = t["id"].as_i64().unwrap();
    assert_eq!(indexed_entries(db, "quokka").await.len(), 1);

    // One transaction: an entry written then rewritten, one written then
    // deleted, and the ticket's subject changed.
    let mut tx = db.begin_write().await.unwrap();
    let rewritten = insert_entry(&mut tx, ticket, "wombat draft").await;
    sqlx::query("UPDATE messages SET body = 'wombat final' WHERE id = $1")
        .bind(rewritten)
        .execute(tx.conn())
        .await
        .unwrap();
    let deleted = insert_entry(&mut tx, ticket, "platypus").await;
    sqlx::query("DELETE FROM messages WHERE id = $1")
        .bind(deleted)
        .execute(tx.conn())
        .await
        .unwrap();
    sqlx::query("UPDATE tickets SET subject = 'Quokka invoice paid' WHERE id = $1")
        .bind(ticket)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // A transaction that is dropped before it commits.
    let mut tx = db.begin_write().await.unwrap();
    insert_entry(&mut tx, ticket, "echidna").await;
    drop(tx);
    // Creates that arrive together, so they share commit groups.
    let creates = (0..8).map(|i| {
        create(
            &app,
            &admin,
            json!({"subject": format!("Numbat {i}"), "body": format!("numbat burrow {i}"),
                   "contact": {"email": "numbat@zoo.example"}}),
        )
    });
    futures::future::join_all(creates).await;

    assert_eq!(indexed_entries(db, "wombat").await, vec![rewritten]);
    assert!(indexed_entries(db, "final").await.contains(&rewritten));
    assert!(indexed_entries(db, "draft").await.is_empty());
    assert!(indexed_entries(db, "platypus").await.is_empty());
    assert!(indexed_entries(db, "echidna").await.is_empty());
    assert_eq!(indexed_entries(db, "burrow").await.len(), 8);
    assert_eq!(
        numbers(&search(&app, &admin, "paid").await),
        vec![t["number"].as_i64().unwrap()]
    );
    assert_eq!(search(&app, &admin, "numbat").await["total"], 8);
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM search_pending")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(pending, 0, "nothing stays pending between transactions");
    // The indexes are sound: FTS5 checks its own structure, and the number
    // of rows each believes it holds is the number of rows it indexed. (An
    // external-content index told to forget text it was never given, say
    // a row deleted before it was indexed, counts one row fewer and ranks
    // every hit with that wrong count; no query shows it otherwise.)
    for index in ["messages_fts", "tickets_fts"] {
        sqlx::query(&format!(
            "INSERT INTO {index} ({index}, rank) VALUES ('integrity-check', 0)"
        ))
        .execute(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{index}: {e}"));
        assert_eq!(
            fts_row_total(db, index).await,
            sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {index}_docsize"))
                .fetch_one(db.pool())
                .await
                .unwrap(),
            "{index}: rows counted and rows indexed"
        );
    }
}

/// The row count an FTS5 index keeps for ranking: the first varint of its
/// "averages" record (id 1 of its `_data` table, in SQLite's varint form).
async fn fts_row_total(db: &app::db::Db, index: &str) -> i64 {
    let record: Vec<u8> =
        sqlx::query_scalar(&format!("SELECT block FROM {index}_data WHERE id = 1"))
            .fetch_one(db.pool())
            .await
            .unwrap();
    let mut total = 0_i64;
    for (i, byte) in record.iter().enumerate() {
        if i == 8 {
            return (total << 8) | i64::from(*byte);
        }
        total = (total << 7) | i64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            break;
        }
    }
    total
}
