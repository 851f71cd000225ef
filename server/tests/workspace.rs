//! The workspace's server functions and server-rendered pages, against the
//! real server on SQLite and PostgreSQL.

mod common;

use app::users::Role;
use common::{send, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use serde_json::json;

on_both_databases!(
    sign_in_server_function_sets_an_httponly_cookie,
    pages_need_a_session,
    ticket_page_renders_the_thread_without_javascript,
    server_functions_list_update_and_reply,
    server_functions_enforce_roles,
    server_function_errors_are_safe_messages,
    workspace_directory_follows_every_change,
);

async fn sign_in_server_function_sets_an_httponly_cookie(app: TestApp) {
    let client = app.browser();
    let res = client
        .post(app.url("/rpc/sign_in"))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    let cookie = res
        .headers()
        .get("set-cookie")
        .expect("cookie")
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("ayuda_session="));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let (status, me) = send(client.get(app.url("/api/v1/me"))).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], ADMIN_EMAIL);

    let res = client
        .post(app.url("/rpc/sign_in"))
        .form(&[("email", ADMIN_EMAIL), ("password", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        422,
        "a wrong password is the caller's error, not the server's"
    );
    assert!(res.headers().get("set-cookie").is_none());
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Wrong email or password."));
}

async fn pages_need_a_session(app: TestApp) {
    let client = app.browser();
    let res = client
        .get(app.url("/views/unassigned"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/login");
    let res = client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Sign in"));
    assert!(html.contains("/pkg/ayuda.js"), "hydration script is linked");
}

async fn ticket_page_renders_the_thread_without_javascript(app: TestApp) {
    let client = app.admin().await;
    let (_, t) = send(client.post(app.url("/api/v1/tickets")).json(&json!({
        "subject": "Router keeps rebooting",
        "body": "Every night at 2am <b>exactly</b>.",
        "contact": {"email": "r@x.example", "name": "Rita Ora"}
    })))
    .await;
    let number = t["number"].as_i64().unwrap();
    let res = client
        .get(app.url("/"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection());
    assert_eq!(res.headers()["location"], "/views/unassigned");

    let html = client
        .get(app.url("/views/unassigned"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Router keeps rebooting"),
        "list is server-rendered"
    );
    assert!(
        html.contains("Unassigned") && html.contains("All open") && html.contains("Assigned to me")
    );

    let res = client
        .get(app.url(&format!("/views/unassigned/tickets/{number}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("data-testid=\"ticket-pane\""));
    assert!(
        html.contains("Every night at 2am &lt;b&gt;exactly&lt;/b&gt;."),
        "the thread is in the HTML, escaped"
    );
    assert!(html.contains("Rita Ora"));
    assert!(!html.contains("<b>exactly</b>"));
}

async fn server_functions_list_update_and_reply(app: TestApp) {
    let ana = app.user("Ana Ruiz", Role::Agent).await;
    let client = app.signed_in_as(&ana).await;
    let (_, t) = send(
        client
            .post(app.url("/api/v1/tickets"))
            .json(&json!({"subject": "From the API"})),
    )
    .await;
    let id = t["id"].as_i64().unwrap();

    let (status, page) = send(
        client
            .post(app.url("/rpc/list_tickets"))
            .form(&[("view", "unassigned")]),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["tickets"][0]["subject"], "From the API");

    let (status, counts) = send(client.post(app.url("/rpc/list_views"))).await;
    assert_eq!(status, 200);
    let unassigned = counts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "unassigned")
        .unwrap();
    assert_eq!(unassigned["count"], 1);

    let (status, updated) = send(client.post(app.url("/rpc/update_ticket")).form(&[
        ("id", id.to_string()),
        ("field", "priority".into()),
        ("value", "urgent".into()),
    ]))
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["priority"], "urgent");

    let (status, entry) = send(client.post(app.url("/rpc/add_entry")).form(&[
        ("ticket_id", id.to_string()),
        ("kind", "reply".into()),
        ("body", "Hello from the workspace".into()),
    ]))
    .await;
    assert_eq!(status, 200, "{entry}");
    assert_eq!(entry["Added"]["kind"], "reply");

    let (status, detail) = send(
        client
            .post(app.url("/rpc/open_ticket"))
            .form(&[("number", t["number"].to_string())]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(detail["ticket"]["owner_id"], ana.id);
    let kinds: Vec<&str> = detail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["event", "reply", "event"]);

    let (status, created) = send(client.post(app.url("/rpc/create_ticket")).form(&[
        ("form[subject]", "Made in the panel"),
        ("form[contact_email]", "panel@x.example"),
        ("form[priority]", "low"),
        ("form[owner_id]", ""),
        ("form[body]", "Details"),
    ]))
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["channel"], "agent");
    assert_eq!(created["priority"], "low");
}

async fn server_functions_enforce_roles(app: TestApp) {
    let eli = app.user("Eli Moreau", Role::Collaborator).await;
    let admin = app.admin().await;
    let (_, t) = send(
        admin
            .post(app.url("/api/v1/tickets"))
            .json(&json!({"subject": "Look only"})),
    )
    .await;
    let id = t["id"].as_i64().unwrap().to_string();
    let client = app.signed_in_as(&eli).await;
    let res = client
        .post(app.url("/rpc/add_entry"))
        .form(&[
            ("ticket_id", id.as_str()),
            ("kind", "reply"),
            ("body", "hi"),
        ])
        .send()
        .await
        .unwrap();
    assert!(!res.status().is_success());
    assert!(res.text().await.unwrap().contains("Collaborators"));
    let res = client
        .post(app.url("/rpc/update_ticket"))
        .form(&[("id", id.as_str()), ("field", "priority"), ("value", "low")])
        .send()
        .await
        .unwrap();
    assert!(!res.status().is_success());
    let res = client
        .post(app.url("/rpc/add_entry"))
        .form(&[
            ("ticket_id", id.as_str()),
            ("kind", "note"),
            ("body", "noted"),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    // Every page's list of users leaves their settings out; the settings
    // page's own list, with them, is for super admins.
    let (status, meta) = send(client.post(app.url("/rpc/load_workspace"))).await;
    assert_eq!(status, 200, "{meta}");
    let boss = meta["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "super_admin")
        .unwrap_or_else(|| panic!("no admin in {meta}"));
    for setting in ["email", "access", "timezone", "working_hours", "capacity"] {
        assert!(boss.get(setting).is_none(), "{setting} in {boss}");
    }
    assert_eq!(boss["availability"], "available", "{boss}");
    let (status, body) = send(client.post(app.url("/rpc/list_people"))).await;
    assert_eq!(status, 403, "{body}");
    let (status, people) = send(admin.post(app.url("/rpc/list_people"))).await;
    assert_eq!(status, 200, "{people}");
    let eli_entry = people
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "Eli Moreau")
        .unwrap_or_else(|| panic!("no Eli in {people}"));
    assert!(eli_entry.get("access").is_some(), "{eli_entry}");
    // Signed out: every server function refuses.
    let anon = app.browser();
    let res = anon
        .post(app.url("/rpc/list_tickets"))
        .form(&[("view", "open")])
        .send()
        .await
        .unwrap();
    assert!(!res.status().is_success());
    assert!(res.text().await.unwrap().contains("Please sign in."));
    assert_eq!(app.count("messages").await, 1);
}

async fn server_function_errors_are_safe_messages(app: TestApp) {
    let client = app.admin().await;
    let res = client
        .post(app.url("/rpc/create_ticket"))
        .form(&[("form[subject]", ""), ("form[contact_email]", "")])
        .send()
        .await
        .unwrap();
    assert!(!res.status().is_success());
    let text = res.text().await.unwrap();
    assert!(text.contains("Subject is required."), "{text}");
    let res = client
        .post(app.url("/rpc/open_ticket"))
        .form(&[("number", "99999")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("Ticket not found."));
    assert!(
        !text.to_lowercase().contains("sql"),
        "no database text: {text}"
    );
    // Arguments that cannot be read are the caller's mistake: 400, with
    // server_fn's own message, which the browser decodes.
    let res = client
        .post(app.url("/rpc/open_ticket"))
        .form(&[("numbr", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let text = res.text().await.unwrap();
    assert!(text.starts_with("Args|"), "{text}");
    let res = client
        .post(app.url("/rpc/open_ticket"))
        .form(&[("number", "not a number")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// The users, teams and pipelines a workspace page sends are cached per
/// server and re-read when the database's directory version moves: a new
/// user, a new team and even a hand-run SQL rename show on the next load.
async fn workspace_directory_follows_every_change(app: TestApp) {
    let ana = app.user("Ana Ruiz", Role::Agent).await;
    let client = app.signed_in_as(&ana).await;
    let load = || async {
        let (status, meta) = send(client.post(app.url("/rpc/load_workspace"))).await;
        assert_eq!(status, 200, "{meta}");
        meta
    };
    let names = |meta: &serde_json::Value, list: &str| -> Vec<String> {
        meta[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].as_str().unwrap().to_string())
            .collect()
    };
    let first = load().await;
    assert!(names(&first, "users").contains(&"Ana Ruiz".to_string()));
    // Cached now; each change below must still show.
    assert_eq!(load().await, first);

    app.user("Bea Lopez", Role::Agent).await;
    assert!(names(&load().await, "users").contains(&"Bea Lopez".to_string()));

    let admin = app.admin().await;
    let (status, team) = send(
        admin
            .post(app.url("/api/v1/teams"))
            .json(&json!({"name": "Billing"})),
    )
    .await;
    assert_eq!(status, 201, "{team}");
    assert!(names(&load().await, "teams").contains(&"Billing".to_string()));

    sqlx::query("UPDATE users SET name = 'Bea López' WHERE name = 'Bea Lopez'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let users = names(&load().await, "users");
    assert!(users.contains(&"Bea López".to_string()), "{users:?}");
    assert!(!users.contains(&"Bea Lopez".to_string()));

    sqlx::query("UPDATE pipeline_statuses SET name = 'Waiting on customer' WHERE id = (SELECT MIN(id) FROM pipeline_statuses)")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let meta = load().await;
    assert!(meta["pipelines"]
        .to_string()
        .contains("Waiting on customer"));
}
