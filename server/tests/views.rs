//! Views over the REST API, on SQLite and PostgreSQL: every filter property
//! and operator against an independent evaluation of the same rule, sharing
//! and who may change what, history and rollback, preferences, follows and
//! mentions, and what collaborators get.

mod common;

use app::users::Role;
use common::{send, TestApp};
use serde_json::{json, Value};
use sqlx::Row;

on_both_databases!(
    every_filter_property_and_operator_selects_the_right_tickets,
    groups_or_and_conditions_and,
    sharing_decides_who_sees_and_who_changes_a_view,
    history_keeps_every_save_and_rollback_restores_one,
    preferences_order_and_hide_views,
    followers_and_mentions_views,
    collaborators_get_three_views_and_no_custom_ones,
    bad_view_input_is_refused_whole,
    custom_view_counts_follow_ticket_changes,
    maintained_counts_agree_with_sql_for_every_filter_and_viewer,
    default_view_counts_include_the_callers_own_write_at_once,
    view_list_follows_every_change_to_views_teams_and_preferences,
);

const DAY: i64 = 86_400_000;

/// One ticket of the filter fixture, with the properties the filters test.
#[derive(Debug, Clone)]
struct Fixture {
    id: i64,
    status_id: i64,
    status_category: &'static str,
    priority: &'static str,
    category: Option<&'static str>,
    owner: Option<i64>,
    team: Option<i64>,
    channel: &'static str,
    contact: Option<i64>,
    company: Option<i64>,
    pipeline: i64,
    created: i64,
    updated: i64,
    inbound: Option<i64>,
}

struct World {
    admin: reqwest::Client,
    admin_id: i64,
    ana_id: i64,
    team1: i64,
    team2: i64,
    company: i64,
    tickets: Vec<Fixture>,
}

async fn id_of(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

async fn team(admin: &reqwest::Client, app: &TestApp, name: &str) -> i64 {
    let (status, t) = send(
        admin
            .post(app.url("/api/v1/teams"))
            .json(&json!({"name": name})),
    )
    .await;
    assert_eq!(status, 201, "{t}");
    t["id"].as_i64().unwrap()
}

/// Four tickets that differ in every property.
async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let (_, me) = send(admin.get(app.url("/api/v1/me"))).await;
    let admin_id = me["id"].as_i64().unwrap();
    let ana = app.user("Ana Ruiz", Role::Agent).await;
    let team1 = team(&admin, app, "Billing").await;
    let team2 = team(&admin, app, "Support").await;
    let now = app::db::now_ms();
    sqlx::query(
        "INSERT INTO companies (name, domain, created_at) VALUES ('Acme', 'acme.example', $1)",
    )
    .bind(now)
    .execute(app.state.db.pool())
    .await
    .unwrap();
    let company = id_of(app, "SELECT MAX(id) FROM companies").await;
    let status = |name: &str| {
        let name = name.to_string();
        async move {
            sqlx::query("SELECT id FROM pipeline_statuses WHERE name = $1")
                .bind(name)
                .fetch_one(app.state.db.pool())
                .await
                .unwrap()
                .try_get::<i64, _>(0)
                .unwrap()
        }
    };
    // (status, category of status, priority, category, owner, team, channel,
    //  contact email, created / updated / inbound days ago)
    #[allow(clippy::type_complexity)]
    let specs: [(
        &str,
        &str,
        &str,
        Option<&str>,
        Option<i64>,
        Option<i64>,
        &str,
        Option<&str>,
        i64,
        i64,
        Option<i64>,
    ); 4] = [
        (
            "New",
            "open",
            "high",
            Some("Billing issue"),
            Some(admin_id),
            Some(team1),
            "email",
            Some("a@acme.example"),
            30,
            1,
            Some(1),
        ),
        (
            "Waiting on contact",
            "waiting",
            "low",
            None,
            Some(ana.id),
            Some(team2),
            "chat",
            Some("b@else.example"),
            10,
            10,
            None,
        ),
        (
            "Closed",
            "closed",
            "urgent",
            Some("Product issue"),
            None,
            None,
            "phone",
            None,
            100,
            50,
            Some(60),
        ),
        (
            "Waiting on us",
            "open",
            "medium",
            Some("General inquiry"),
            None,
            Some(team1),
            "whatsapp",
            Some("c@acme.example"),
            2,
            2,
            Some(2),
        ),
    ];
    let mut tickets = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let mut body = json!({
            "subject": format!("Fixture {i}"),
            "status": s.0,
            "priority": s.2,
            "category": s.3,
            "owner_id": s.4,
            "team_id": s.5,
            "channel": s.6,
        });
        if let Some(email) = s.7 {
            body["contact"] = json!({"email": email});
        }
        let (code, t) = send(admin.post(app.url("/api/v1/tickets")).json(&body)).await;
        assert_eq!(code, 201, "{t}");
        let id = t["id"].as_i64().unwrap();
        let contact = t["contact_id"].as_i64();
        let in_acme = s.7.is_some_and(|e| e.ends_with("acme.example"));
        if in_acme {
            sqlx::query("UPDATE contacts SET company_id = $1 WHERE id = $2")
                .bind(company)
                .bind(contact.unwrap())
                .execute(app.state.db.pool())
                .await
                .unwrap();
        }
        let (created, updated, inbound) = (
            now - s.8 * DAY,
            now - s.9 * DAY,
            s.10.map(|d| now - d * DAY),
        );
        sqlx::query("UPDATE tickets SET created_at = $1, updated_at = $2, last_inbound_at = $3 WHERE id = $4")
            .bind(created)
            .bind(updated)
            .bind(inbound)
            .bind(id)
            .execute(app.state.db.pool())
            .await
            .unwrap();
        tickets.push(Fixture {
            id,
            status_id: status(s.0).await,
            status_category: s.1,
            priority: s.2,
            category: s.3,
            owner: s.4,
            team: s.5,
            channel: s.6,
            contact,
            company: in_acme.then_some(company),
            pipeline: 1,
            created,
            updated,
            inbound,
        });
    }
    World {
        admin,
        admin_id,
        ana_id: ana.id,
        team1,
        team2,
        company,
        tickets,
    }
}

/// The rule a condition states, evaluated in plain Rust over the fixture:
/// the independent answer the SQL must agree with.
fn expected(t: &Fixture, property: &str, op: &str, values: &[String], me: i64, now: i64) -> bool {
    enum V {
        Int(Option<i64>),
        Text(Option<String>),
    }
    let v = match property {
        "status" => V::Int(Some(t.status_id)),
        "status_category" => V::Text(Some(t.status_category.into())),
        "priority" => V::Text(Some(t.priority.into())),
        "category" => V::Text(t.category.map(|c| c.to_lowercase())),
        "owner" => V::Int(t.owner),
        "team" => V::Int(t.team),
        "channel" => V::Text(Some(t.channel.into())),
        "contact" => V::Int(t.contact),
        "company" => V::Int(t.company),
        "pipeline" => V::Int(Some(t.pipeline)),
        "created_at" => V::Int(Some(t.created)),
        "updated_at" => V::Int(Some(t.updated)),
        "last_customer_message_at" => V::Int(t.inbound),
        _ => unreachable!(),
    };
    let known = match &v {
        V::Int(x) => x.is_some(),
        V::Text(x) => x.is_some(),
    };
    let matches_value = |want: &str| match &v {
        V::Int(x) => match want {
            "none" => x.is_none(),
            "me" => *x == Some(me),
            w => *x == w.parse().ok(),
        },
        V::Text(x) => x.as_deref() == Some(want.to_lowercase().as_str()),
    };
    let at = match &v {
        V::Int(x) => *x,
        V::Text(_) => None,
    };
    let day_bound = |days: &str| now - days.parse::<i64>().unwrap() * DAY;
    match op {
        "is_known" => known,
        "is_unknown" => !known,
        "is_any_of" => values.iter().any(|w| matches_value(w)),
        "is_none_of" => !values.iter().any(|w| matches_value(w)),
        "in_last_days" => at.is_some_and(|a| a >= day_bound(&values[0])),
        "more_than_days_ago" => at.is_some_and(|a| a < day_bound(&values[0])),
        "after" => at.is_some_and(|a| a >= values[0].parse::<i64>().unwrap()),
        "before" => at.is_some_and(|a| a < values[0].parse::<i64>().unwrap()),
        _ => unreachable!(),
    }
}

async fn view_ids(app: &TestApp, client: &reqwest::Client, view: &str) -> Vec<i64> {
    let (status, page) =
        send(client.get(app.url(&format!("/api/v1/views/{view}/tickets?limit=100")))).await;
    assert_eq!(status, 200, "{page}");
    let mut ids: Vec<i64> = page["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

async fn create_view(app: &TestApp, client: &reqwest::Client, body: Value) -> (u16, Value) {
    send(client.post(app.url("/api/v1/views")).json(&body)).await
}

/// Values per property for the filter tests: enough to hit some tickets of
/// the fixture and miss others.
fn filter_cases(w: &World, now: i64) -> Vec<(&'static str, Vec<Vec<String>>)> {
    let t = &w.tickets;
    let s = |v: i64| v.to_string();
    vec![
        (
            "status",
            vec![
                vec![s(t[0].status_id)],
                vec![s(t[1].status_id), s(t[2].status_id)],
            ],
        ),
        (
            "status_category",
            vec![vec!["open".into()], vec!["waiting".into(), "closed".into()]],
        ),
        (
            "priority",
            vec![vec!["high".into(), "urgent".into()], vec!["low".into()]],
        ),
        (
            "category",
            vec![
                vec!["Billing issue".into()],
                vec!["product issue".into(), "General inquiry".into()],
            ],
        ),
        (
            "owner",
            vec![
                vec!["me".into()],
                vec!["none".into()],
                vec![s(w.ana_id), "none".into()],
                vec![s(w.admin_id)],
            ],
        ),
        (
            "team",
            vec![
                vec![s(w.team1)],
                vec!["none".into()],
                vec![s(w.team2), "none".into()],
            ],
        ),
        (
            "channel",
            vec![vec!["email".into(), "chat".into()], vec!["phone".into()]],
        ),
        (
            "contact",
            vec![
                vec![s(t[0].contact.unwrap())],
                vec![s(t[1].contact.unwrap()), s(t[3].contact.unwrap())],
            ],
        ),
        ("company", vec![vec![s(w.company)]]),
        ("pipeline", vec![vec!["1".into()]]),
        (
            "created_at",
            vec![vec!["7".into()], vec!["50".into()], vec![s(now - 20 * DAY)]],
        ),
        (
            "updated_at",
            vec![vec!["3".into()], vec!["20".into()], vec![s(now - 5 * DAY)]],
        ),
        (
            "last_customer_message_at",
            vec![vec!["3".into()], vec!["30".into()], vec![s(now - 5 * DAY)]],
        ),
    ]
}

/// Every (property, operator, values) the filter tests try.
fn filter_conditions(w: &World, now: i64) -> Vec<(&'static str, &'static str, Vec<String>)> {
    let mut out = Vec::new();
    for (property, value_sets) in filter_cases(w, now) {
        let p = app::views::Property::parse(property).unwrap();
        for op in p.operators() {
            if !op.takes_values() {
                out.push((property, op.as_str(), Vec::new()));
                continue;
            }
            for values in &value_sets {
                // Day counts for the relative operators, instants for the
                // absolute ones.
                let instant = values[0].len() > 6;
                let fits = match op.as_str() {
                    "in_last_days" | "more_than_days_ago" => !instant,
                    "after" | "before" => instant,
                    _ => true,
                };
                if fits {
                    out.push((property, op.as_str(), values.clone()));
                }
            }
        }
    }
    out
}

async fn every_filter_property_and_operator_selects_the_right_tickets(app: TestApp) {
    let w = world(&app).await;
    let now = app::db::now_ms();
    let t = &w.tickets;
    let mut checked = 0;
    for (property, op, values) in filter_conditions(&w, now) {
        let (status, view) = create_view(
            &app,
            &w.admin,
            json!({"name": format!("{property} {op}"), "definition": {"groups": [[
                {"property": property, "op": op, "values": values}
            ]]}}),
        )
        .await;
        assert_eq!(status, 201, "{property} {op} {values:?}: {view}");
        let got = view_ids(&app, &w.admin, &view["id"].to_string()).await;
        let mut want: Vec<i64> = t
            .iter()
            .filter(|f| expected(f, property, op, &values, w.admin_id, now))
            .map(|f| f.id)
            .collect();
        want.sort_unstable();
        assert_eq!(got, want, "{property} {op} {values:?}");
        checked += 1;
    }
    assert!(checked > 50, "only {checked} conditions checked");
}

async fn groups_or_and_conditions_and(app: TestApp) {
    let w = world(&app).await;
    let t = &w.tickets;
    // (priority high AND team Billing) OR (channel phone)
    let (status, view) = create_view(
        &app,
        &w.admin,
        json!({"name": "Mixed", "definition": {"groups": [
            [{"property": "priority", "op": "is_any_of", "values": ["high", "medium"]},
             {"property": "owner", "op": "is_unknown"}],
            [{"property": "channel", "op": "is_any_of", "values": ["phone"]}]
        ]}}),
    )
    .await;
    assert_eq!(status, 201, "{view}");
    let got = view_ids(&app, &w.admin, &view["id"].to_string()).await;
    let mut want = vec![t[2].id, t[3].id];
    want.sort_unstable();
    assert_eq!(got, want);
    // The count beside the view agrees with its list.
    let (_, list) = send(w.admin.get(app.url("/api/v1/views"))).await;
    let summary = list["views"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"].as_str() == Some(view["id"].to_string().as_str()))
        .unwrap()
        .clone();
    assert_eq!(summary["count"], 2);
    assert_eq!(summary["kind"], "custom");
}

async fn sharing_decides_who_sees_and_who_changes_a_view(app: TestApp) {
    let w = world(&app).await;
    let bo = app.user("Bo Li", Role::Agent).await;
    let cy = app.user("Cy Tan", Role::Agent).await;
    let ana = app.signed_in("ana.ruiz@test.example", "password-123").await;
    for (user, team) in [(w.ana_id, w.team1), (bo.id, w.team1), (cy.id, w.team2)] {
        let (s, b) = send(
            w.admin
                .patch(app.url(&format!("/api/v1/users/{user}")))
                .json(&json!({"teams": [{"id": team, "main": true}]})),
        )
        .await;
        assert_eq!(s, 200, "{b}");
    }
    let bo_c = app.signed_in_as(&bo).await;
    let cy_c = app.signed_in_as(&cy).await;

    // Private: only Ana.
    let (s, private) = create_view(&app, &ana, json!({"name": "Mine only"})).await;
    assert_eq!(s, 201, "{private}");
    let pid = private["id"].to_string();
    assert_eq!(
        send(bo_c.get(app.url(&format!("/api/v1/views/{pid}"))))
            .await
            .0,
        404
    );
    assert_eq!(
        send(
            w.admin
                .get(app.url(&format!("/api/v1/views/{pid}/tickets")))
        )
        .await
        .0,
        404
    );

    // Agents share with their own teams only, never with everyone.
    let (s, _) = create_view(
        &app,
        &ana,
        json!({"name": "Team2", "sharing": "teams", "team_ids": [w.team2]}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = create_view(&app, &ana, json!({"name": "All", "sharing": "everyone"})).await;
    assert_eq!(s, 403);
    let (s, shared) = create_view(
        &app,
        &ana,
        json!({"name": "Billing queue", "sharing": "teams", "team_ids": [w.team1]}),
    )
    .await;
    assert_eq!(s, 201, "{shared}");
    let sid = shared["id"].to_string();
    // Bo (Billing) sees it but cannot change it; Cy (Support) does not see it.
    let (s, seen) = send(bo_c.get(app.url(&format!("/api/v1/views/{sid}")))).await;
    assert_eq!(s, 200);
    assert_eq!(seen["editable"], false);
    let (s, _) = send(
        bo_c.patch(app.url(&format!("/api/v1/views/{sid}")))
            .json(&json!({"name": "Mine now"})),
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(
        send(bo_c.delete(app.url(&format!("/api/v1/views/{sid}"))))
            .await
            .0,
        403
    );
    assert_eq!(
        send(cy_c.get(app.url(&format!("/api/v1/views/{sid}/tickets"))))
            .await
            .0,
        404
    );
    assert_eq!(
        send(
            cy_c.patch(app.url(&format!("/api/v1/views/{sid}")))
                .json(&json!({"name": "x"}))
        )
        .await
        .0,
        404
    );
    let (_, cy_views) = send(cy_c.get(app.url("/api/v1/views"))).await;
    assert!(!cy_views.to_string().contains("Billing queue"));
    // An admin maintains shared views, and shares with everyone.
    let (s, edited) = send(
        w.admin
            .patch(app.url(&format!("/api/v1/views/{sid}")))
            .json(&json!({"name": "Billing (all)", "sharing": "everyone"})),
    )
    .await;
    assert_eq!(s, 200, "{edited}");
    assert_eq!(
        send(cy_c.get(app.url(&format!("/api/v1/views/{sid}/tickets"))))
            .await
            .0,
        200
    );
    // Default views cannot be edited or deleted.
    assert_eq!(
        send(w.admin.delete(app.url("/api/v1/views/unassigned")))
            .await
            .0,
        403
    );
    // Deleting takes the view away from everyone.
    assert_eq!(
        send(w.admin.delete(app.url(&format!("/api/v1/views/{sid}"))))
            .await
            .0,
        204
    );
    assert_eq!(
        send(cy_c.get(app.url(&format!("/api/v1/views/{sid}/tickets"))))
            .await
            .0,
        404
    );
}

async fn history_keeps_every_save_and_rollback_restores_one(app: TestApp) {
    let w = world(&app).await;
    let v1 = json!({"groups": [[{"property": "priority", "op": "is_any_of", "values": ["high"]}]], "columns": ["number", "subject"]});
    let (_, view) = create_view(
        &app,
        &w.admin,
        json!({"name": "Hot", "sharing": "everyone", "definition": v1}),
    )
    .await;
    let id = view["id"].to_string();
    let v2 = json!({"groups": [[{"property": "priority", "op": "is_any_of", "values": ["low"]}]], "layout": "board"});
    let (s, _) = send(
        w.admin
            .patch(app.url(&format!("/api/v1/views/{id}")))
            .json(&json!({"name": "Cold", "definition": v2})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(view_ids(&app, &w.admin, &id).await, vec![w.tickets[1].id]);
    let (_, versions) = send(
        w.admin
            .get(app.url(&format!("/api/v1/views/{id}/versions"))),
    )
    .await;
    let versions = versions["versions"].as_array().unwrap().clone();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], 2);
    assert_eq!(versions[1]["name"], "Hot");
    let (s, back) = send(
        w.admin
            .post(app.url(&format!("/api/v1/views/{id}/rollback")))
            .json(&json!({"version": 1})),
    )
    .await;
    assert_eq!(s, 200, "{back}");
    assert_eq!(back["name"], "Hot");
    assert_eq!(back["version"], 3);
    assert_eq!(back["definition"]["columns"], json!(["number", "subject"]));
    assert_eq!(back["definition"]["layout"], "split");
    assert_eq!(view_ids(&app, &w.admin, &id).await, vec![w.tickets[0].id]);
    let (s, _) = send(
        w.admin
            .post(app.url(&format!("/api/v1/views/{id}/rollback")))
            .json(&json!({"version": 99})),
    )
    .await;
    assert_eq!(s, 422);
}

async fn preferences_order_and_hide_views(app: TestApp) {
    let w = world(&app).await;
    let (_, view) = create_view(&app, &w.admin, json!({"name": "Zed"})).await;
    let id = view["id"].to_string();
    let (s, list) = send(
        w.admin
            .put(app.url("/api/v1/me/views"))
            .json(&json!({"order": [id, "closed", "mine"], "hidden": ["unassigned"]})),
    )
    .await;
    assert_eq!(s, 200, "{list}");
    let order: Vec<(String, bool)> = list["views"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_string(),
                v["hidden"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(order[0], (id.clone(), false));
    assert_eq!(order[1].0, "closed");
    assert_eq!(order[2].0, "mine");
    assert!(order.contains(&("unassigned".to_string(), true)));
    // The nine default views (Trash included) and the custom one.
    assert_eq!(order.len(), 10);
    let (_, prefs) = send(w.admin.get(app.url("/api/v1/me/views"))).await;
    assert_eq!(prefs["hidden"], json!(["unassigned"]));
    // Unknown views are refused and nothing is changed.
    let (s, _) = send(
        w.admin
            .put(app.url("/api/v1/me/views"))
            .json(&json!({"order": ["99999"]})),
    )
    .await;
    assert_eq!(s, 422);
    let (_, again) = send(w.admin.get(app.url("/api/v1/me/views"))).await;
    assert_eq!(again, prefs);

    // The workspace's server functions read the views once per request;
    // the one that changes the order answers with the new order, not the
    // one its request started from.
    let (s, before) = send(w.admin.post(app.url("/rpc/list_views"))).await;
    assert_eq!(s, 200, "{before}");
    assert_eq!(before[0]["id"], json!(id));
    let (s, after) = send(
        w.admin
            .post(app.url("/rpc/set_view_preferences"))
            .json(&json!({"preferences": {"order": ["mine", id], "hidden": []}})),
    )
    .await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(after[0]["id"], "mine");
    assert_eq!(after[1]["id"], json!(id));
    assert!(after
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["hidden"] == json!(false)));
    let (_, listed) = send(w.admin.post(app.url("/rpc/list_views"))).await;
    assert_eq!(listed, after);
}

/// Each server keeps every custom view and everyone's order of views with
/// the workspace directory. A change to any of the tables involved shows on
/// the caller's next list, even one made by hand in SQL, which is also how
/// another server process's change looks to this one.
async fn view_list_follows_every_change_to_views_teams_and_preferences(app: TestApp) {
    let w = world(&app).await;
    let bo = app.user("Bo Li", Role::Agent).await;
    let (s, b) = send(
        w.admin
            .patch(app.url(&format!("/api/v1/users/{}", bo.id)))
            .json(&json!({"teams": [{"id": w.team1, "main": true}]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let bo_c = app.signed_in_as(&bo).await;
    // Bo's custom views as his list shows them: (name, hidden), in order.
    let custom = || async {
        let (s, list) = send(bo_c.get(app.url("/api/v1/views"))).await;
        assert_eq!(s, 200, "{list}");
        list["views"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["kind"] == "custom")
            .map(|v| {
                (
                    v["name"].as_str().unwrap().to_string(),
                    v["hidden"].as_bool().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let sql = |statement: &'static str, a: i64, b: i64| {
        let db = app.state.db.pool().clone();
        async move {
            sqlx::query(statement)
                .bind(a)
                .bind(b)
                .execute(&db)
                .await
                .unwrap();
        }
    };
    assert_eq!(custom().await, vec![]);
    let (s, view) = create_view(
        &app,
        &w.admin,
        json!({"name": "Refunds", "sharing": "teams", "team_ids": [w.team1]}),
    )
    .await;
    assert_eq!(s, 201, "{view}");
    let id = view["id"].as_i64().unwrap();
    assert_eq!(custom().await, vec![("Refunds".to_string(), false)]);

    // The view itself changes.
    sql(
        "UPDATE views SET name = 'Refund requests' WHERE id = $1 AND $2 = $2",
        id,
        0,
    )
    .await;
    assert_eq!(custom().await, vec![("Refund requests".to_string(), false)]);
    // Whom it is shared with changes: away from Bo's team, then to another.
    sql(
        "DELETE FROM view_teams WHERE view_id = $1 AND team_id = $2",
        id,
        w.team1,
    )
    .await;
    assert_eq!(custom().await, vec![]);
    sql(
        "INSERT INTO view_teams (view_id, team_id) VALUES ($1, $2)",
        id,
        w.team2,
    )
    .await;
    assert_eq!(custom().await, vec![]);
    // Bo moves to that team.
    sql(
        "UPDATE team_members SET team_id = $1 WHERE user_id = $2",
        w.team2,
        bo.id,
    )
    .await;
    assert_eq!(custom().await, vec![("Refund requests".to_string(), false)]);
    // His own choice of views changes.
    sql(
        "INSERT INTO view_preferences (user_id, view_key, position, hidden) VALUES ($1, CAST($2 AS TEXT), 0, 1)",
        bo.id,
        id,
    )
    .await;
    assert_eq!(custom().await, vec![("Refund requests".to_string(), true)]);
    sql(
        "UPDATE view_preferences SET hidden = 0 WHERE user_id = $1 AND $2 = $2",
        bo.id,
        0,
    )
    .await;
    assert_eq!(custom().await, vec![("Refund requests".to_string(), false)]);
    // And the view goes.
    sql("DELETE FROM views WHERE id = $1 AND $2 = $2", id, 0).await;
    assert_eq!(custom().await, vec![]);
}

async fn followers_and_mentions_views(app: TestApp) {
    let w = world(&app).await;
    let ana = app.signed_in("ana.ruiz@test.example", "password-123").await;
    let [a, b, c, _] = [0, 1, 2, 3].map(|i| w.tickets[i].id);
    for id in [a, c] {
        let (s, f) = send(ana.post(app.url(&format!("/api/v1/tickets/{id}/follow")))).await;
        assert_eq!(s, 200, "{f}");
        assert_eq!(f["following"], true);
    }
    // Closed tickets (c) leave the Followers queue.
    assert_eq!(view_ids(&app, &ana, "followers").await, vec![a]);
    send(ana.delete(app.url(&format!("/api/v1/tickets/{a}/follow")))).await;
    assert!(view_ids(&app, &ana, "followers").await.is_empty());
    // A note that @mentions Ana puts the ticket in her My mentions.
    let (s, _) = send(
        w.admin
            .post(app.url(&format!("/api/v1/tickets/{b}/messages")))
            .json(&json!({"kind": "note", "body": "@ana can you look?"})),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(view_ids(&app, &ana, "mentions").await, vec![b]);
    // The count follows once the hub has published the note (counts are
    // maintained from the events).
    common::eventually("the My mentions count", || async {
        (common::view_count(&app, &ana, "mentions").await == 1).then_some(())
    })
    .await;
    assert!(view_ids(&app, &w.admin, "mentions").await.is_empty());
    // Following a ticket one cannot see says it does not exist.
    assert_eq!(
        send(ana.post(app.url("/api/v1/tickets/999999/follow")))
            .await
            .0,
        404
    );
}

async fn collaborators_get_three_views_and_no_custom_ones(app: TestApp) {
    let w = world(&app).await;
    let eli = app.user("Eli Moreau", Role::Collaborator).await;
    let eli_c = app.signed_in_as(&eli).await;
    let (_, everyone) = create_view(
        &app,
        &w.admin,
        json!({"name": "For all", "sharing": "everyone"}),
    )
    .await;
    let (_, list) = send(eli_c.get(app.url("/api/v1/views"))).await;
    let ids: Vec<&str> = list["views"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["open", "mentions", "followers"]);
    for view in ["unassigned", "mine", "closed", &everyone["id"].to_string()] {
        let (s, _) = send(eli_c.get(app.url(&format!("/api/v1/views/{view}/tickets")))).await;
        assert_eq!(s, 404, "{view}");
    }
    let (s, _) = send(eli_c.get(app.url("/api/v1/tickets?view=unassigned"))).await;
    assert_eq!(s, 404);
    let (s, _) = create_view(&app, &eli_c, json!({"name": "Mine"})).await;
    assert_eq!(s, 403);
    // They can follow what they can see.
    let (s, _) =
        send(eli_c.post(app.url(&format!("/api/v1/tickets/{}/follow", w.tickets[0].id)))).await;
    assert_eq!(s, 200);
}

async fn bad_view_input_is_refused_whole(app: TestApp) {
    let w = world(&app).await;
    let before = app.count("views").await;
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (
            json!({"name": "x", "definition": {"groups": [[{"property": "priority", "op": "is_any_of", "values": ["extreme"]}]]}}),
            "definition",
        ),
        (
            json!({"name": "x", "definition": {"groups": [[]]}}),
            "definition",
        ),
        (
            json!({"name": "x", "definition": {"columns": []}}),
            "definition",
        ),
        (
            json!({"name": "x", "sharing": "teams", "team_ids": []}),
            "team_ids",
        ),
        (
            json!({"name": "x", "sharing": "teams", "team_ids": [424242]}),
            "team_ids",
        ),
    ] {
        let (s, e) = create_view(&app, &w.admin, body.clone()).await;
        assert_eq!(s, 422, "{body}: {e}");
        assert_eq!(e["error"]["field"], field, "{body}");
    }
    // Unknown properties are a 422 from the JSON decoder.
    let (s, e) = create_view(
        &app,
        &w.admin,
        json!({"name": "x", "definition": {"groups": [[{"property": "mood", "op": "is_any_of"}]]}}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(app.count("views").await, before, "nothing was written");
    assert_eq!(app.count("view_versions").await, 0);
    let _ = (w.team1, w.team2);
}

/// Between writes the default views' counts come from the event hub's
/// copy, not SQL; right after a write they still include it, whether or
/// not the hub has published it yet (it then counts in SQL).
async fn default_view_counts_include_the_callers_own_write_at_once(app: TestApp) {
    let admin = app.admin().await;
    let open_count = || common::view_count(&app, &admin, "open");
    let start = open_count().await;
    for i in 1..=5 {
        let (status, ticket) = send(
            admin
                .post(app.url("/api/v1/tickets"))
                .json(&json!({"subject": format!("Counted {i}")})),
        )
        .await;
        assert_eq!(status, 201, "{ticket}");
        assert_eq!(open_count().await, start + i, "after ticket {i}");
    }
    // Once the hub has caught up, its copy is what pages read, and it
    // agrees with SQL.
    let hub = common::eventually("the hub's counts to catch up", || async {
        app.state.hub.current_buckets()
    })
    .await;
    let sql = app::views::service::count_buckets(&app.state.db)
        .await
        .unwrap();
    assert_eq!(*hub, sql);
    assert_eq!(open_count().await, start + 5);
}

/// The count of a custom view (kept between changes, see
/// `views::service::CountCache`) moves as soon as a ticket change is
/// published.
async fn custom_view_counts_follow_ticket_changes(app: TestApp) {
    let w = world(&app).await;
    let (_, view) = create_view(
        &app,
        &w.admin,
        json!({"name": "High", "definition": {"groups": [[{"property": "priority", "op": "is_any_of", "values": ["high"]}]]}}),
    )
    .await;
    let id = view["id"].to_string();
    let count = || async {
        let (_, list) = send(w.admin.get(app.url("/api/v1/views"))).await;
        list["views"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"].as_str() == Some(id.as_str()))
            .unwrap()["count"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(count().await, 1);
    assert_eq!(count().await, 1, "served again, unchanged");
    let (s, _) = send(
        w.admin
            .patch(app.url(&format!("/api/v1/tickets/{}", w.tickets[1].id)))
            .json(&json!({"priority": "high"})),
    )
    .await;
    assert_eq!(s, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if count().await == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the count never moved"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The count of one view for one viewer, counted in SQL: the view's filter
/// and the viewer's access, as a page of the view applies them.
async fn sql_count(
    app: &TestApp,
    definition: &app::views::ViewDefinition,
    viewer: &app::users::User,
) -> i64 {
    let mut sql = app::db::SqlBuilder::new("SELECT COUNT(*) AS n FROM tickets t WHERE 1 = 1");
    app::views::service::push_definition(&mut sql, definition, viewer, definition.sort).unwrap();
    app::access::push_ticket_filter(&mut sql, viewer);
    sql.query()
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

/// The maintained custom view counts (`views::counter`) agree with SQL for
/// every filter of the filter test and a few OR-ed groups, for viewers of
/// every access scope (one of them with "me" and restricted access), first
/// after the scan and then as tickets change through the API: reassigned,
/// re-prioritised, closed, created.
async fn maintained_counts_agree_with_sql_for_every_filter_and_viewer(app: TestApp) {
    use app::access::{Access, AccessScope};
    use app::views::ViewDefinition;
    let w = world(&app).await;
    let now = app::db::now_ms();
    let mut views: Vec<(i64, ViewDefinition)> = Vec::new();
    let mut definitions: Vec<Value> = filter_conditions(&w, now)
        .into_iter()
        .map(|(property, op, values)| {
            json!({"groups": [[{"property": property, "op": op, "values": values}]]})
        })
        .collect();
    definitions.push(json!({"groups": [
        [{"property": "priority", "op": "is_any_of", "values": ["high"]},
         {"property": "team", "op": "is_any_of", "values": [w.team1.to_string()]}],
        [{"property": "channel", "op": "is_any_of", "values": ["phone"]}],
        [{"property": "owner", "op": "is_none_of", "values": ["me", "none"]},
         {"property": "created_at", "op": "in_last_days", "values": ["20"]}]
    ]}));
    definitions.push(json!({"groups": []}));
    for (i, definition) in definitions.into_iter().enumerate() {
        let (status, view) = create_view(
            &app,
            &w.admin,
            json!({"name": format!("View {i}"), "sharing": "everyone", "definition": definition}),
        )
        .await;
        assert_eq!(status, 201, "{view}");
        views.push((
            view["id"].as_i64().unwrap(),
            serde_json::from_value(view["definition"].clone()).unwrap(),
        ));
    }
    // Viewers: the admin; Ana with each scope; the admin's id with only
    // team 2 (so that "me" meets restricted access).
    let user = |id: i64, role: Role, scope: AccessScope, unassigned: bool, teams: Vec<i64>| {
        app::users::User {
            id,
            email: format!("{id}@test.example"),
            name: format!("Viewer {id}"),
            role,
            access: Access {
                scope,
                include_unassigned: unassigned,
                team_ids: teams,
            },
            availability: Default::default(),
            timezone: "UTC".into(),
            working_hours: None,
            capacity: Default::default(),
        }
    };
    let viewers = [
        user(w.admin_id, Role::SuperAdmin, AccessScope::All, true, vec![]),
        user(w.ana_id, Role::Agent, AccessScope::All, false, vec![]),
        user(
            w.ana_id,
            Role::Agent,
            AccessScope::Teams,
            false,
            vec![w.team1],
        ),
        user(
            w.ana_id,
            Role::Agent,
            AccessScope::Teams,
            true,
            vec![w.team2],
        ),
        user(w.ana_id, Role::Agent, AccessScope::Owned, false, vec![]),
        user(w.ana_id, Role::Agent, AccessScope::Owned, true, vec![]),
        user(
            w.admin_id,
            Role::Agent,
            AccessScope::Teams,
            false,
            vec![w.team2],
        ),
    ];
    let counter = app.state.hub.view_counter();
    let compare = || async {
        let mut differences = Vec::new();
        for (view, list) in [
            (
                app::views::ViewId::Mentions,
                app::views::counter::Personal::Mentions,
            ),
            (
                app::views::ViewId::Followers,
                app::views::counter::Personal::Follows,
            ),
        ] {
            for viewer in &viewers {
                let maintained = counter.personal_count(list, viewer).await;
                let mut sql =
                    app::db::SqlBuilder::new("SELECT COUNT(*) AS n FROM tickets t WHERE 1 = 1");
                app::views::service::push_filter(&mut sql, view, viewer);
                app::access::push_ticket_filter(&mut sql, viewer);
                let n: i64 = sql
                    .query()
                    .fetch_one(app.state.db.pool())
                    .await
                    .unwrap()
                    .try_get("n")
                    .unwrap();
                if maintained != Some(n) {
                    differences.push(format!(
                        "{view:?} for {} {:?}: maintained {maintained:?}, SQL {n}",
                        viewer.id, viewer.access
                    ));
                }
            }
        }
        for (id, definition) in &views {
            for viewer in &viewers {
                let maintained = counter.count(*id, 1, viewer).await;
                let sql = sql_count(&app, definition, viewer).await;
                if maintained != Some(sql) {
                    differences.push(format!(
                        "view {id} {:?} for {:?} {:?}: maintained {maintained:?}, SQL {sql}",
                        definition.groups, viewer.id, viewer.access
                    ));
                }
            }
        }
        differences
    };
    let settle = |what: &'static str| async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let differences = compare().await;
            if differences.is_empty() {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: {} differences, first: {}",
                differences.len(),
                differences[0]
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    settle("after the scan").await;
    assert!(views.len() > 50);
    // The REST count is the maintained one (exact, never capped).
    let (_, list) = send(w.admin.get(app.url("/api/v1/views"))).await;
    let last = views.last().unwrap().0.to_string();
    let listed = list["views"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"].as_str() == Some(last.as_str()))
        .unwrap()
        .clone();
    assert_eq!(listed["count"].as_i64(), Some(4), "{listed}");
    // Changes through the API, each followed by a comparison.
    let t = &w.tickets;
    let patch = |id: i64, body: Value| {
        let admin = w.admin.clone();
        let url = app.url(&format!("/api/v1/tickets/{id}"));
        async move {
            let (status, body) = send(admin.patch(url).json(&body)).await;
            assert_eq!(status, 200, "{body}");
        }
    };
    // Follows and mentions: the admin follows every ticket, Ana is asked
    // about two.
    for f in t {
        let (st, _) = send(
            w.admin
                .post(app.url(&format!("/api/v1/tickets/{}/follow", f.id))),
        )
        .await;
        assert_eq!(st, 200);
    }
    for f in &t[..2] {
        let (st, _) = send(
            w.admin
                .post(app.url(&format!("/api/v1/tickets/{}/messages", f.id)))
                .json(&json!({"kind": "note", "body": "@ana can you look?"})),
        )
        .await;
        assert_eq!(st, 201);
    }
    settle("after follows and mentions").await;
    // A list that long for so few tickets pages along the sort index
    // (`personal_list_is_long`): the same tickets, in the same order, as
    // the whole list read at once.
    let followed = |limit: usize| {
        let admin = w.admin.clone();
        let app = &app;
        async move {
            let mut ids = Vec::new();
            let mut cursor = String::new();
            loop {
                let (st, page) = send(admin.get(app.url(&format!(
                    "/api/v1/views/followers/tickets?limit={limit}&cursor={cursor}"
                ))))
                .await;
                assert_eq!(st, 200, "{page}");
                ids.extend(
                    page["tickets"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t["id"].as_i64().unwrap()),
                );
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = c.to_string(),
                    None => return ids,
                }
            }
        }
    };
    let whole = followed(100).await;
    assert_eq!(whole.len(), 3, "the open ones: {whole:?}");
    assert_eq!(followed(1).await, whole);
    patch(t[1].id, json!({"priority": "high", "owner_id": w.admin_id})).await;
    settle("after a reassignment").await;
    patch(t[0].id, json!({"status": "Closed", "team_id": w.team2})).await;
    settle("after a close and a team move").await;
    patch(
        t[3].id,
        json!({"owner_id": w.ana_id, "category": "Billing issue"}),
    )
    .await;
    settle("after an assignment").await;
    let (status, created) = send(w.admin.post(app.url("/api/v1/tickets")).json(&json!({
        "subject": "New one", "priority": "urgent", "channel": "chat", "team_id": w.team1
    })))
    .await;
    assert_eq!(status, 201, "{created}");
    settle("after a new ticket").await;
}
