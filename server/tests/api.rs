//! REST API v1 end to end, against the real server on SQLite and PostgreSQL.

mod common;

use app::access::AccessScope;
use app::users::Role;
use common::{send, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use serde_json::{json, Value};

on_both_databases!(
    session_sign_in_me_and_sign_out,
    unauthenticated_requests_get_401,
    api_tokens_authenticate,
    create_ticket_with_contact_and_read_it_back,
    invalid_tickets_are_refused_and_nothing_is_written,
    oversized_bodies_get_413,
    reply_assigns_unassigned_ticket_and_notes_mention,
    outside_html_is_sanitised,
    patch_changes_properties_and_records_them,
    collaborators_view_and_comment_only,
    admin_endpoints_are_for_super_admins,
    contacts_follow_ticket_access,
    keyset_pagination_walks_every_ticket_once,
    cross_site_posts_are_refused,
    openapi_document_describes_the_api,
    concurrent_creates_get_distinct_numbers,
    every_change_is_in_the_event_log,
);

async fn session_sign_in_me_and_sign_out(app: TestApp) {
    let client = app.browser();
    let (status, body) = send(
        client
            .post(app.url("/api/v1/session"))
            .json(&json!({"email": ADMIN_EMAIL, "password": "wrong"})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["message"], "Wrong email or password.");

    let (status, _) = send(
        client
            .post(app.url("/api/v1/session"))
            .json(&json!({"email": "nobody@x.example", "password": "wrong"})),
    )
    .await;
    assert_eq!(status, 422, "unknown email answers like a wrong password");

    let client = app.admin().await;
    let (status, me) = send(client.get(app.url("/api/v1/me"))).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["role"], "super_admin");

    let (status, _) = send(client.delete(app.url("/api/v1/session"))).await;
    assert_eq!(status, 204);
    let (status, _) = send(client.get(app.url("/api/v1/me"))).await;
    assert_eq!(status, 401);
    assert_eq!(app.count("sessions").await, 0, "the session row is gone");
}

async fn unauthenticated_requests_get_401(app: TestApp) {
    let client = reqwest::Client::new();
    for path in [
        "/api/v1/me",
        "/api/v1/tickets",
        "/api/v1/tickets/1",
        "/api/v1/contacts",
        "/api/v1/users",
    ] {
        let (status, body) = send(client.get(app.url(path))).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(body["error"]["code"], "unauthenticated", "{path}");
    }
    let (status, _) = send(
        client
            .post(app.url("/api/v1/tickets"))
            .json(&json!({"subject": "x"})),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(app.count("tickets").await, 0);
    let (status, _) = send(client.get(app.url("/api/v1/nope"))).await;
    assert_eq!(status, 404);
}

async fn api_tokens_authenticate(app: TestApp) {
    let client = app.admin().await;
    let (status, token) = send(
        client
            .post(app.url("/api/v1/tokens"))
            .json(&json!({"name": "ci"})),
    )
    .await;
    assert_eq!(status, 201);
    let secret = token["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("ayuda_"));

    let api = reqwest::Client::new();
    let (status, me) = send(api.get(app.url("/api/v1/me")).bearer_auth(&secret)).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], ADMIN_EMAIL);
    let (status, _) = send(
        api.post(app.url("/api/v1/tickets"))
            .bearer_auth(&secret)
            .json(&json!({"subject": "Via token"})),
    )
    .await;
    assert_eq!(status, 201);

    let (status, _) = send(api.get(app.url("/api/v1/me")).bearer_auth("ayuda_wrong")).await;
    assert_eq!(status, 401);
    let (status, _) = send(
        api.get(app.url("/api/v1/me"))
            .bearer_auth(format!("{secret}x")),
    )
    .await;
    assert_eq!(status, 401);
    // Only the digest is stored.
    use sqlx::Row;
    let stored: String = sqlx::query("SELECT token_hash FROM api_tokens")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
        .try_get("token_hash")
        .unwrap();
    assert_ne!(stored, secret);
}

async fn create_ticket_with_contact_and_read_it_back(app: TestApp) {
    let client = app.admin().await;
    let (status, t) = send(client.post(app.url("/api/v1/tickets")).json(&json!({
        "subject": "  Printer on fire  ",
        "body": "It started smoking\nafter the update.",
        "contact": {"email": "Maria@Example.com", "name": "Maria Garcia"},
        "priority": "urgent",
    })))
    .await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["subject"], "Printer on fire");
    assert_eq!(t["status"], "New");
    assert_eq!(t["status_category"], "open");
    assert_eq!(t["priority"], "urgent");
    assert_eq!(t["channel"], "api");
    assert_eq!(t["owner_id"], Value::Null);
    assert_eq!(t["contact_email"], "maria@example.com");
    assert!(t["number"].as_i64().unwrap() >= 1);
    for field in [
        "id",
        "number",
        "subject",
        "status",
        "priority",
        "owner_id",
        "team_id",
        "created_at",
        "updated_at",
    ] {
        assert!(t.get(field).is_some(), "missing {field}");
    }
    let id = t["id"].as_i64().unwrap();

    let (status, again) = send(client.get(app.url(&format!("/api/v1/tickets/{id}")))).await;
    assert_eq!(status, 200);
    assert_eq!(again, t);

    let (status, thread) =
        send(client.get(app.url(&format!("/api/v1/tickets/{id}/messages")))).await;
    assert_eq!(status, 200);
    let messages = thread["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["kind"], "inbound");
    assert_eq!(messages[0]["author"]["type"], "contact");
    assert_eq!(messages[0]["author"]["name"], "Maria Garcia");
    assert_eq!(
        messages[0]["body_html"],
        "<p>It started smoking<br>after the update.</p>"
    );

    // The same email reuses the contact.
    let (_, t2) = send(client.post(app.url("/api/v1/tickets")).json(&json!({
        "subject": "Follow-up", "contact": {"email": "maria@example.com"}, "status": "waiting on contact"
    })))
    .await;
    assert_eq!(t2["contact_id"], t["contact_id"]);
    assert_eq!(t2["status"], "Waiting on contact");
    assert_eq!(t2["status_category"], "waiting");
    assert_eq!(app.count("contacts").await, 1);

    // The customer's description is their inbound message: the ticket
    // awaits our reply from its creation. Without a description, or
    // written by an agent alone, nothing is awaited.
    let (_, note_only) = send(
        client
            .post(app.url("/api/v1/tickets"))
            .json(&json!({"subject": "Internal", "body": "Reminder for us"})),
    )
    .await;
    let created = t["created_at"].as_i64().unwrap();
    for (ticket, expected) in [(&t, Some(created)), (&t2, None), (&note_only, None)] {
        let row =
            sqlx::query("SELECT last_inbound_at, awaiting_reply_since FROM tickets WHERE id = $1")
                .bind(ticket["id"].as_i64().unwrap())
                .fetch_one(app.state.db.pool())
                .await
                .unwrap();
        use sqlx::Row;
        let inbound: Option<i64> = row.try_get("last_inbound_at").unwrap();
        let awaiting: Option<i64> = row.try_get("awaiting_reply_since").unwrap();
        assert_eq!((inbound, awaiting), (expected, expected), "{ticket}");
    }

    // It shows in Unassigned and All open.
    let (_, page) = send(client.get(app.url("/api/v1/tickets?view=unassigned"))).await;
    assert_eq!(page["tickets"].as_array().unwrap().len(), 3);
    let (_, page) = send(client.get(app.url("/api/v1/tickets?view=closed"))).await;
    assert_eq!(page["tickets"].as_array().unwrap().len(), 0);

    let (status, _) = send(client.get(app.url("/api/v1/tickets/999999"))).await;
    assert_eq!(status, 404);
    let (status, _) = send(client.get(app.url("/api/v1/tickets/abc"))).await;
    assert_eq!(status, 404);
}

async fn invalid_tickets_are_refused_and_nothing_is_written(app: TestApp) {
    let client = app.admin().await;
    let cases = [
        (json!({"subject": "   "}), "subject"),
        (json!({"subject": "x".repeat(251)}), "subject"),
        (json!({"subject": "ok", "status": "Nope"}), "status"),
        (json!({"subject": "ok", "owner_id": 987654}), "owner_id"),
        (json!({"subject": "ok", "team_id": 987654}), "team_id"),
        (json!({"subject": "ok", "channel": "pigeon"}), "channel"),
        (json!({"subject": "ok", "category": "Gossip"}), "category"),
        (
            json!({"subject": "ok", "contact": {"email": "not-an-email"}}),
            "contact.email",
        ),
        (json!({"subject": "ok", "pipeline_id": 42}), "pipeline_id"),
    ];
    for (input, field) in cases {
        let (status, body) = send(client.post(app.url("/api/v1/tickets")).json(&input)).await;
        assert_eq!(status, 422, "{input}: {body}");
        assert_eq!(body["error"]["code"], "invalid");
        assert_eq!(body["error"]["field"], field, "{input}");
    }
    // Wrong JSON types and broken JSON.
    let (status, body) = send(
        client
            .post(app.url("/api/v1/tickets"))
            .json(&json!({"subject": 5})),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["error"]["message"].is_string());
    let (status, _) = send(
        client
            .post(app.url("/api/v1/tickets"))
            .json(&json!({"subject": "x", "priority": "asap"})),
    )
    .await;
    assert_eq!(status, 422);
    let (status, body) = send(
        client
            .post(app.url("/api/v1/tickets"))
            .header("content-type", "application/json")
            .body("{\"subject\": "),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_request");
    let (status, _) = send(client.post(app.url("/api/v1/tickets")).body("subject=x")).await;
    assert_eq!(status, 415);
    // A failed contact creation rolls back the whole ticket.
    assert_eq!(app.count("tickets").await, 0);
    assert_eq!(app.count("contacts").await, 0);
    assert_eq!(app.count("events").await, 0);
}

async fn oversized_bodies_get_413(app: TestApp) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let client = app.admin().await;
    // The headers announce 2 MiB; the server must refuse before reading the
    // body. (Sending the body too would race the server closing the socket.)
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "POST /api/v1/tickets HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        2 * 1024 * 1024
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains(r#""code":"payload_too_large""#),
        "{response}"
    );
    assert_eq!(app.count("tickets").await, 0);
    // Within the request limit but over the message limit: a clear 422.
    let long = "y".repeat(100_001);
    let (status, body) = send(
        client
            .post(app.url("/api/v1/tickets"))
            .json(&json!({"subject": "long", "body": long})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "body");
    assert_eq!(app.count("tickets").await, 0);
}

async fn reply_assigns_unassigned_ticket_and_notes_mention(app: TestApp) {
    let ana = app.user("Ana Ruiz", Role::Agent).await;
    let bo = app.user("Bo Chen", Role::Agent).await;
    let client = app.signed_in_as(&ana).await;
    let (_, t) = send(
        client
            .post(app.url("/api/v1/tickets"))
            .json(&json!({"subject": "Help", "contact": {"email": "c@x.example"}})),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    assert_eq!(t["first_reply_at"], Value::Null);

    let (status, note) = send(
        client
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "note", "body": "@bo can you check? cc ana@test.example"})),
    )
    .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(note["kind"], "note");
    assert_eq!(note["author"]["name"], "Ana Ruiz");
    use sqlx::Row;
    let mentioned: Vec<i64> = sqlx::query("SELECT user_id FROM mentions ORDER BY user_id")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("user_id").unwrap())
        .collect();
    assert_eq!(
        mentioned,
        vec![bo.id],
        "only @bo is a mention, not the email address"
    );
    let (_, after_note) = send(client.get(app.url(&format!("/api/v1/tickets/{id}")))).await;
    assert_eq!(
        after_note["owner_id"],
        Value::Null,
        "a note does not assign"
    );

    let (status, reply) = send(
        client
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "reply", "body": "On it!"})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(reply["kind"], "reply");
    let (_, t) = send(client.get(app.url(&format!("/api/v1/tickets/{id}")))).await;
    assert_eq!(
        t["owner_id"], ana.id,
        "replying to an unassigned ticket assigns it to the replier"
    );
    assert!(t["first_reply_at"].is_i64());

    // A second reply by someone else does not steal the ticket.
    let bo_client = app.signed_in_as(&bo).await;
    send(
        bo_client
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "reply", "body": "Me too"})),
    )
    .await;
    let (_, t) = send(client.get(app.url(&format!("/api/v1/tickets/{id}")))).await;
    assert_eq!(t["owner_id"], ana.id);

    let (status, body) = send(
        client
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "reply", "body": "  "})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "body");
    let (status, _) = send(
        client
            .post(app.url("/api/v1/tickets/424242/messages"))
            .json(&json!({"kind": "note", "body": "x"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(
        client
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "shout", "body": "x"})),
    )
    .await;
    assert_eq!(status, 422);
}

async fn outside_html_is_sanitised(app: TestApp) {
    let client = app.admin().await;
    let (_, t) = send(
        client
            .post(app.url("/api/v1/tickets"))
            .json(&json!({"subject": "XSS"})),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    let html = r#"<p onmouseover="steal()">Hello <b>there</b></p><script>alert(1)</script><a href="javascript:alert(1)">click</a><img src="https://tracker.example/pixel.gif"><style>body{display:none}</style>"#;
    let (status, entry) = send(
        client
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "note", "body_html": html})),
    )
    .await;
    assert_eq!(status, 201);
    let clean = entry["body_html"].as_str().unwrap();
    for bad in [
        "script",
        "onmouseover",
        "javascript:",
        "tracker.example",
        "<style",
        "alert",
    ] {
        assert!(!clean.contains(bad), "{bad} survived in {clean}");
    }
    assert!(clean.contains("<b>there</b>"));
    assert_eq!(entry["body"], "Hello there\n\nclick");
    // The plain text sent beside the HTML is stored too, and has the same
    // limit as a plain-text message.
    let long = "x".repeat(app::tickets::service::MAX_BODY_CHARS + 1);
    let before = app.count("messages").await;
    let (status, err) = send(
        client
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "note", "body_html": "<p>short</p>", "body": long})),
    )
    .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(app.count("messages").await, before);
}

async fn patch_changes_properties_and_records_them(app: TestApp) {
    let ana = app.user("Ana Ruiz", Role::Agent).await;
    let eli = app.user("Eli Moreau", Role::Collaborator).await;
    let client = app.admin().await;
    let (_, team) = send(
        client
            .post(app.url("/api/v1/teams"))
            .json(&json!({"name": "Billing"})),
    )
    .await;
    let (_, t) = send(
        client
            .post(app.url("/api/v1/tickets"))
            .json(&json!({"subject": "Refund"})),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    let url = app.url(&format!("/api/v1/tickets/{id}"));

    let (status, t) = send(client.patch(&url).json(&json!({
        "status": "Closed", "priority": "high", "owner_id": ana.id, "team_id": team["id"], "category": "billing issue"
    })))
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["status"], "Closed");
    assert_eq!(t["status_category"], "closed");
    assert!(t["closed_at"].is_i64());
    assert_eq!(t["priority"], "high");
    assert_eq!(t["owner_id"], ana.id);
    assert_eq!(t["owner_name"], "Ana Ruiz");
    assert_eq!(t["team_name"], "Billing");
    assert_eq!(t["category"], "Billing issue");

    let (_, thread) = send(client.get(app.url(&format!("/api/v1/tickets/{id}/messages")))).await;
    let event = thread["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(event["kind"], "event");
    let text = event["body"].as_str().unwrap();
    assert!(
        text.contains("changed the status from New to Closed"),
        "{text}"
    );
    assert!(text.contains("assigned the ticket to Ana Ruiz"), "{text}");

    // null clears; absent keeps; reopening clears closed_at.
    let (_, t) = send(
        client
            .patch(&url)
            .json(&json!({"owner_id": null, "status": "Waiting on us"})),
    )
    .await;
    assert_eq!(t["owner_id"], Value::Null);
    assert_eq!(t["priority"], "high");
    assert_eq!(t["closed_at"], Value::Null);

    // An unchanged patch writes nothing.
    let events = app.count("events").await;
    let (status, _) = send(client.patch(&url).json(&json!({"priority": "high"}))).await;
    assert_eq!(status, 200);
    assert_eq!(app.count("events").await, events);

    for (input, field) in [
        (json!({"owner_id": eli.id}), "owner_id"),
        (json!({"status": "Archived"}), "status"),
        (json!({"subject": ""}), "subject"),
    ] {
        let (status, body) = send(client.patch(&url).json(&input)).await;
        assert_eq!(status, 422, "{input}");
        assert_eq!(body["error"]["field"], field);
    }
    let (status, _) = send(
        client
            .patch(app.url("/api/v1/tickets/31337"))
            .json(&json!({"priority": "low"})),
    )
    .await;
    assert_eq!(status, 404);
}

async fn collaborators_view_and_comment_only(app: TestApp) {
    let eli = app.user("Eli Moreau", Role::Collaborator).await;
    let admin = app.admin().await;
    let (_, t) = send(
        admin
            .post(app.url("/api/v1/tickets"))
            .json(&json!({"subject": "Shared"})),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    let client = app.signed_in_as(&eli).await;

    let (status, _) = send(client.get(app.url(&format!("/api/v1/tickets/{id}")))).await;
    assert_eq!(status, 200);
    let (status, body) = send(
        client
            .post(app.url("/api/v1/tickets"))
            .json(&json!({"subject": "Mine"})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, _) = send(
        client
            .patch(app.url(&format!("/api/v1/tickets/{id}")))
            .json(&json!({"priority": "low"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = send(
        client
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "reply", "body": "Hi customer"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = send(
        client
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "note", "body": "Internal thought"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = send(
        client
            .post(app.url("/api/v1/contacts"))
            .json(&json!({"name": "X"})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(app.count("tickets").await, 1);
}

/// Someone who sees only their own tickets sees only those tickets'
/// contacts: the directory and a contact by id alike.
async fn contacts_follow_ticket_access(app: TestApp) {
    let admin = app.admin().await;
    let olga = app
        .user_with_access("Olga", Role::Agent, AccessScope::Owned, false)
        .await;
    let mut contact_of = Vec::new();
    for (who, owner) in [
        ("mine@customer.example", Some(olga.id)),
        ("theirs@customer.example", None),
    ] {
        let (s, t) = send(
            admin
                .post(app.url("/api/v1/tickets"))
                .json(&json!({"subject": "Question", "contact": {"email": who, "name": "Cust"}})),
        )
        .await;
        assert_eq!(s, 201, "{t}");
        common::patch_ticket(&app, &admin, &t["id"], json!({"owner_id": owner})).await;
        contact_of.push(t["contact_id"].as_i64().unwrap());
    }
    let emails = |list: &Value| -> Vec<String> {
        list["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["email"].as_str().unwrap().to_string())
            .collect()
    };
    let agent = app.signed_in_as(&olga).await;
    let (s, list) = send(agent.get(app.url("/api/v1/contacts?q=Cust"))).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(emails(&list), ["mine@customer.example"]);
    let (s, _) = send(agent.get(app.url(&format!("/api/v1/contacts/{}", contact_of[0])))).await;
    assert_eq!(s, 200);
    let (s, _) = send(agent.get(app.url(&format!("/api/v1/contacts/{}", contact_of[1])))).await;
    assert_eq!(s, 404);
    let (s, list) = send(admin.get(app.url("/api/v1/contacts?q=Cust"))).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(emails(&list).len(), 2, "{list}");
    // Limits outside their range are refused, not quietly changed.
    for (path, bad) in [
        ("/api/v1/contacts", "0"),
        ("/api/v1/contacts", "201"),
        ("/api/v1/contacts", "-5"),
        ("/api/v1/email-quarantine", "0"),
        ("/api/v1/email-quarantine", "501"),
    ] {
        let (s, e) = send(admin.get(app.url(&format!("{path}?limit={bad}")))).await;
        assert_eq!(s, 422, "{path}?limit={bad}: {e}");
    }
}

async fn admin_endpoints_are_for_super_admins(app: TestApp) {
    let ana = app.user("Ana Ruiz", Role::Agent).await;
    let agent = app.signed_in_as(&ana).await;
    for path in ["/api/v1/users", "/api/v1/teams"] {
        let (status, _) = send(agent.get(app.url(path))).await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, _) = send(
        agent
            .post(app.url("/api/v1/teams"))
            .json(&json!({"name": "Rogue"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = send(
        agent
            .post(app.url("/api/v1/users"))
            .json(&json!({"email": "x@y.example", "name": "X", "role": "super_admin"})),
    )
    .await;
    assert_eq!(status, 403);

    let admin = app.admin().await;
    let (status, team) = send(
        admin
            .post(app.url("/api/v1/teams"))
            .json(&json!({"name": "Support"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = send(
        admin
            .post(app.url("/api/v1/teams"))
            .json(&json!({"name": "Support"})),
    )
    .await;
    assert_eq!(status, 409);
    let (status, user) = send(admin.post(app.url("/api/v1/users")).json(&json!({
        "email": "New.Agent@Test.example", "name": "New Agent", "password": "long-enough", "role": "agent", "team_ids": [team["id"]]
    })))
    .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["email"], "new.agent@test.example");
    let (status, body) = send(admin.post(app.url("/api/v1/users")).json(&json!({
        "email": "new.agent@test.example", "name": "Again", "role": "agent"
    })))
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = send(admin.post(app.url("/api/v1/users")).json(
        &json!({"email": "s@test.example", "name": "S", "password": "short", "role": "agent"}),
    ))
    .await;
    assert_eq!(status, 422);
    let (_, teams) = send(admin.get(app.url("/api/v1/teams"))).await;
    assert_eq!(teams["teams"][0]["member_ids"], json!([user["id"]]));
    app.signed_in("new.agent@test.example", "long-enough").await;
}

async fn keyset_pagination_walks_every_ticket_once(app: TestApp) {
    let client = app.admin().await;
    let mut created = Vec::new();
    for i in 0..7 {
        let prio = ["low", "medium", "high", "urgent"][i % 4];
        let (_, t) = send(
            client
                .post(app.url("/api/v1/tickets"))
                .json(&json!({"subject": format!("T{i}"), "priority": prio})),
        )
        .await;
        created.push(t["id"].as_i64().unwrap());
    }
    for (sort, asc) in [
        ("updated", false),
        ("created", true),
        ("priority", false),
        ("number", true),
    ] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut url = format!("/api/v1/tickets?view=open&limit=3&sort={sort}&asc={asc}");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let (status, page) = send(client.get(app.url(&url))).await;
            assert_eq!(status, 200, "{page}");
            pages += 1;
            for t in page["tickets"].as_array().unwrap() {
                seen.push((
                    t["id"].as_i64().unwrap(),
                    t["priority"].as_str().unwrap().to_string(),
                    t["number"].as_i64().unwrap(),
                ));
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(pages, 3, "{sort}");
        let mut ids: Vec<i64> = seen.iter().map(|s| s.0).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 7, "{sort}: every ticket exactly once");
        if sort == "number" {
            let numbers: Vec<i64> = seen.iter().map(|s| s.2).collect();
            assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
        }
        if sort == "priority" {
            let rank = |p: &str| {
                ["low", "medium", "high", "urgent"]
                    .iter()
                    .position(|x| *x == p)
                    .unwrap()
            };
            assert!(seen.windows(2).all(|w| rank(&w[0].1) >= rank(&w[1].1)));
        }
    }
    let (status, body) = send(client.get(app.url("/api/v1/tickets?cursor=garbage"))).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "cursor");
    let (status, _) = send(client.get(app.url("/api/v1/tickets?limit=1000"))).await;
    assert_eq!(status, 422);
    let (status, _) = send(client.get(app.url("/api/v1/tickets?view=nonsense"))).await;
    assert_eq!(status, 400);
}

async fn cross_site_posts_are_refused(app: TestApp) {
    let client = app.admin().await;
    let (status, body) = send(
        client
            .post(app.url("/api/v1/tickets"))
            .header("origin", "https://evil.example")
            .json(&json!({"subject": "Forged"})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = send(
        client
            .post(app.url("/rpc/add_entry"))
            .header("origin", "https://evil.example")
            .form(&[("ticket_id", "1"), ("kind", "note"), ("body", "x")]),
    )
    .await;
    assert_eq!(status, 403);
    // An Authorization header that is not a Bearer token does not exempt a
    // request that the cookie authenticates.
    let (status, _) = send(
        client
            .post(app.url("/api/v1/tickets"))
            .header("origin", "https://evil.example")
            .header("authorization", "Basic YWRtaW46eA==")
            .json(&json!({"subject": "Forged"})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(app.count("tickets").await, 0);
    assert_eq!(app.count("messages").await, 0);
}

async fn openapi_document_describes_the_api(app: TestApp) {
    let (status, doc) = send(reqwest::Client::new().get(app.url("/api/v1/openapi.json"))).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/tickets",
        "/api/v1/tickets/{id}",
        "/api/v1/tickets/{id}/messages",
        "/api/v1/session",
        "/api/v1/tokens",
        "/api/v1/contacts",
        "/api/v1/users",
        "/api/v1/teams",
        "/api/v1/me",
        "/api/v1/channels",
        "/api/v1/channels/{id}/imports/mbox",
        "/api/v1/email-quarantine",
        "/api/v1/attachments/{id}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc["components"]["schemas"].get("Ticket").is_some());
    assert!(doc["components"]["schemas"].get("NewChannel").is_some());
    assert!(doc["components"]["securitySchemes"].get("bearer").is_some());
}

async fn concurrent_creates_get_distinct_numbers(app: TestApp) {
    let client = app.admin().await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let client = client.clone();
        let url = app.url("/api/v1/tickets");
        tasks.push(tokio::spawn(async move {
            send(client.post(url).json(
                &json!({"subject": format!("Race {i}"), "contact": {"email": "same@x.example"}}),
            ))
            .await
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 201, "{body}");
        numbers.push(body["number"].as_i64().unwrap());
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 16);
    assert_eq!(app.count("contacts").await, 1);
}

async fn every_change_is_in_the_event_log(app: TestApp) {
    let client = app.admin().await;
    let (_, t) =
        send(client.post(app.url("/api/v1/tickets")).json(
            &json!({"subject": "Log me", "body": "hi", "contact": {"email": "l@x.example"}}),
        ))
        .await;
    let id = t["id"].as_i64().unwrap();
    send(
        client
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "reply", "body": "hello"})),
    )
    .await;
    send(
        client
            .patch(app.url(&format!("/api/v1/tickets/{id}")))
            .json(&json!({"status": "Closed"})),
    )
    .await;
    use sqlx::Row;
    let rows = sqlx::query("SELECT seq, kind, ticket_id FROM events ORDER BY seq")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    let kinds: Vec<String> = rows.iter().map(|r| r.try_get("kind").unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ticket.created",
            "message.created",
            "message.created",
            "message.created",
            "ticket.assigned",
            "message.created",
            "ticket.updated"
        ]
    );
    let seqs: Vec<i64> = rows.iter().map(|r| r.try_get("seq").unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert!(rows
        .iter()
        .all(|r| r.try_get::<Option<i64>, _>("ticket_id").unwrap() == Some(id)));
    let _ = ADMIN_PASSWORD;
}
