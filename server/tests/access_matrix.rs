//! The authorization matrix, generated from one policy table: every role x
//! access scope x unassigned flag x team membership, against tickets of
//! every kind (their own, a teammate's, another team's, unassigned in a
//! team, unassigned without a team), for every action, over every path
//! (REST, server functions, websocket events), on both databases. Views
//! shared with a team the user is in and with one they are not complete it.
//!
//! The expected answer never comes from the code under test: it comes from
//! [`sees`], a table written out by hand, and [`expect`], which states who
//! may act.

mod common;

use common::live::{token, LiveClient};
use common::{send, TestApp};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};

on_both_databases!(every_role_scope_and_membership_on_every_path);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Admin,
    Agent,
    Collaborator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    All,
    Teams,
    Owned,
}

/// A ticket as one user sees its relation to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// They own it (no team).
    Own,
    /// A teammate (of team 1) owns it, in team 1.
    OtherTeam1,
    /// Someone owns it in team 2, which no test user is in.
    OtherTeam2,
    /// Someone owns it without a team.
    OtherNoTeam,
    UnassignedTeam1,
    UnassignedNoTeam,
}

#[derive(Debug, Clone, Copy)]
struct Person {
    role: Role,
    scope: Scope,
    unassigned: bool,
    in_team1: bool,
}

/// THE POLICY: may this person see a ticket of this kind?
///
/// | kind             | admin | all | teams, member | teams, not member | owned |
/// |------------------|-------|-----|---------------|-------------------|-------|
/// | own              | yes   | yes | yes           | yes               | yes   |
/// | other, team 1    | yes   | yes | yes           | no                | no    |
/// | other, team 2    | yes   | yes | no            | no                | no    |
/// | other, no team   | yes   | yes | no            | no                | no    |
/// | unassigned, t1   | yes   | yes | yes           | +unassigned       | +unassigned |
/// | unassigned, none | yes   | yes | +unassigned   | +unassigned       | +unassigned |
fn sees(p: Person, kind: Kind) -> bool {
    if p.role == Role::Admin || p.scope == Scope::All {
        return true;
    }
    let member = p.scope == Scope::Teams && p.in_team1;
    match kind {
        Kind::Own => true,
        Kind::OtherTeam1 => member,
        Kind::OtherTeam2 | Kind::OtherNoTeam => false,
        Kind::UnassignedTeam1 => member || p.unassigned,
        Kind::UnassignedNoTeam => p.unassigned,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Read,
    Update,
    Note,
    Assign,
    Reply,
}

/// The status an action must answer: 404 for what one may not see (never
/// revealing it exists), 403 for what one sees but may not change
/// (collaborators view and comment only), success otherwise.
fn expect(p: Person, kind: Kind, action: Action, created: u16) -> u16 {
    if !sees(p, kind) {
        return 404;
    }
    let seat = p.role != Role::Collaborator;
    match action {
        Action::Read => 200,
        Action::Note => created,
        Action::Update | Action::Assign => {
            if seat {
                200
            } else {
                403
            }
        }
        Action::Reply => {
            if seat {
                created
            } else {
                403
            }
        }
    }
}

struct Subject {
    person: Person,
    id: i64,
    email: String,
    /// Ticket id -> its kind for this person.
    tickets: Vec<(i64, i64, Kind)>,
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Admin => "super_admin",
        Role::Agent => "agent",
        Role::Collaborator => "collaborator",
    }
}

fn scope_name(s: Scope) -> &'static str {
    match s {
        Scope::All => "all",
        Scope::Teams => "teams",
        Scope::Owned => "owned",
    }
}

async fn every_role_scope_and_membership_on_every_path(app: TestApp) {
    let admin = app.admin().await;
    let mk_team = |name: &'static str| {
        let admin = admin.clone();
        let url = app.url("/api/v1/teams");
        async move {
            let (s, t) = send(admin.post(url).json(&json!({"name": name}))).await;
            assert_eq!(s, 201);
            t["id"].as_i64().unwrap()
        }
    };
    let team1 = mk_team("Team one").await;
    let team2 = mk_team("Team two").await;
    // The owner of other people's tickets: an agent in both teams.
    let (s, zed) = send(admin.post(app.url("/api/v1/users")).json(&json!({
        "email": "zed@test.example", "name": "Zed Owner", "password": "password-123",
        "role": "agent", "teams": [{"id": team1, "main": true}, {"id": team2, "main": false}]
    })))
    .await;
    assert_eq!(s, 201, "{zed}");
    let zed = zed["id"].as_i64().unwrap();

    // Views shared with team 1 and with team 2, made by an admin.
    let mut shared = HashMap::new();
    for team in [team1, team2] {
        let (s, v) = send(admin.post(app.url("/api/v1/views")).json(&json!({
            "name": format!("Shared with {team}"), "sharing": "teams", "team_ids": [team]
        })))
        .await;
        assert_eq!(s, 201, "{v}");
        shared.insert(team, v["id"].as_i64().unwrap());
    }

    // Every combination, each person with their own five or six tickets.
    let mut subjects = Vec::new();
    let mut n = 0;
    for role in [Role::Admin, Role::Agent, Role::Collaborator] {
        for scope in [Scope::All, Scope::Teams, Scope::Owned] {
            for unassigned in [false, true] {
                for in_team1 in [false, true] {
                    n += 1;
                    let person = Person {
                        role,
                        scope,
                        unassigned,
                        in_team1,
                    };
                    let email = format!("p{n}@test.example");
                    let teams = if in_team1 {
                        json!([{"id": team1, "main": true}])
                    } else {
                        json!([])
                    };
                    let (s, u) = send(admin.post(app.url("/api/v1/users")).json(&json!({
                        "email": email, "name": format!("Person {n}"), "password": "password-123",
                        "role": role_name(role), "access": scope_name(scope),
                        "include_unassigned": unassigned, "teams": teams
                    })))
                    .await;
                    assert_eq!(s, 201, "{u}");
                    let id = u["id"].as_i64().unwrap();
                    let mut kinds = vec![
                        (Kind::OtherTeam1, Some(zed), Some(team1)),
                        (Kind::OtherTeam2, Some(zed), Some(team2)),
                        (Kind::OtherNoTeam, Some(zed), None),
                        (Kind::UnassignedTeam1, None, Some(team1)),
                        (Kind::UnassignedNoTeam, None, None),
                    ];
                    // Collaborators cannot own tickets.
                    if role != Role::Collaborator {
                        kinds.push((Kind::Own, Some(id), None));
                    }
                    let mut tickets = Vec::new();
                    for (kind, owner, team) in kinds {
                        let (s, t) = send(admin.post(app.url("/api/v1/tickets")).json(&json!({
                            "subject": format!("{kind:?} of person {n}"),
                            "owner_id": owner, "team_id": team,
                            "contact": {"email": format!("customer{n}@x.example")}
                        })))
                        .await;
                        assert_eq!(s, 201, "{t}");
                        tickets.push((
                            t["id"].as_i64().unwrap(),
                            t["number"].as_i64().unwrap(),
                            kind,
                        ));
                    }
                    subjects.push(Subject {
                        person,
                        id,
                        email,
                        tickets,
                    });
                }
            }
        }
    }
    // Every ticket's kind as each person sees it: for the websocket check,
    // where everyone receives (or not) the events of every ticket.
    let kind_for = |s: &Subject, owner: Option<i64>, team: Option<i64>| -> Kind {
        match (owner, team) {
            (Some(o), _) if o == s.id => Kind::Own,
            (Some(_), Some(t)) if t == team1 => Kind::OtherTeam1,
            (Some(_), Some(_)) => Kind::OtherTeam2,
            (Some(_), None) => Kind::OtherNoTeam,
            (None, Some(t)) if t == team1 => Kind::UnassignedTeam1,
            (None, Some(_)) => unreachable!("no unassigned team-2 tickets"),
            (None, None) => Kind::UnassignedNoTeam,
        }
    };
    let mut all_tickets: Vec<(i64, Option<i64>, Option<i64>)> = Vec::new();
    for s in &subjects {
        for (id, _, kind) in &s.tickets {
            let (owner, team) = match kind {
                Kind::Own => (Some(s.id), None),
                Kind::OtherTeam1 => (Some(zed), Some(team1)),
                Kind::OtherTeam2 => (Some(zed), Some(team2)),
                Kind::OtherNoTeam => (Some(zed), None),
                Kind::UnassignedTeam1 => (None, Some(team1)),
                Kind::UnassignedNoTeam => (None, None),
            };
            all_tickets.push((*id, owner, team));
        }
    }

    // Path 1: websocket events, before anything below moves a ticket.
    let mut sockets = Vec::new();
    for s in &subjects {
        let t = token(&app.base, &s.email, "password-123").await;
        let mut c = LiveClient::connect(&app.base, &t, None).await;
        c.until_ready().await;
        sockets.push(c);
    }
    for (id, _, _) in &all_tickets {
        let (s, _) = send(
            admin
                .patch(app.url(&format!("/api/v1/tickets/{id}")))
                .json(&json!({"subject": format!("Touched {id}")})),
        )
        .await;
        assert_eq!(s, 200);
    }
    // A global event everyone receives marks the end: events arrive in
    // order, so whatever was not received before it never will be.
    send(
        admin
            .put(app.url("/api/v1/me/availability"))
            .json(&json!({"availability": "away"})),
    )
    .await;
    for (s, socket) in subjects.iter().zip(sockets.iter_mut()) {
        let mut got = BTreeSet::new();
        loop {
            let m = socket.next().await;
            if m["type"] == "user.availability" {
                break;
            }
            if m["type"] == "ticket.updated" {
                got.insert(m["ticket_id"].as_i64().unwrap());
            }
        }
        let want: BTreeSet<i64> = all_tickets
            .iter()
            .filter(|(_, owner, team)| sees(s.person, kind_for(s, *owner, *team)))
            .map(|(id, _, _)| *id)
            .collect();
        assert_eq!(got, want, "websocket events for {:?}", s.person);
    }
    drop(sockets);

    // One attachment per ticket, on an entry the admin writes.
    let mut attachments = HashMap::new();
    for (id, _, _) in &all_tickets {
        let (st, entry) = send(
            admin
                .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
                .json(&json!({"kind": "note", "body": "See the file"})),
        )
        .await;
        assert_eq!(st, 201, "{entry}");
        let row = sqlx::query(
            "INSERT INTO attachments (entry_id, ticket_id, filename, content_type, size, data, created_at) \
             VALUES ($1, $2, 'invoice.pdf', 'application/pdf', 4, $3, 0) RETURNING id",
        )
        .bind(entry["id"].as_i64().unwrap())
        .bind(id)
        .bind(b"%PDF".to_vec())
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
        attachments.insert(*id, sqlx::Row::try_get::<i64, _>(&row, "id").unwrap());
    }

    let mut checked = 0;
    for s in &subjects {
        let p = s.person;
        let who = format!("{p:?}");
        let client = app.signed_in(&s.email, "password-123").await;

        // Listing, over REST (filtered to this person's tickets by their
        // contact) and over the list server function (every page of All
        // open).
        let (_, first) =
            send(admin.get(app.url(&format!("/api/v1/tickets/{}", s.tickets[0].0)))).await;
        let contact = first["contact_id"].as_i64().unwrap();
        let want: BTreeSet<i64> = s
            .tickets
            .iter()
            .filter(|(_, _, k)| sees(p, *k))
            .map(|(id, _, _)| *id)
            .collect();
        let (st, page) =
            send(client.get(app.url(&format!("/api/v1/tickets?contact_id={contact}&limit=100"))))
                .await;
        assert_eq!(st, 200, "{who}: {page}");
        let got: BTreeSet<i64> = page["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        assert_eq!(got, want, "REST list for {who}");
        let mut got = BTreeSet::new();
        let mut cursor = String::new();
        loop {
            let (st, page) = send(
                client
                    .post(app.url("/rpc/list_tickets"))
                    .form(&[("view", "open"), ("cursor", cursor.as_str())]),
            )
            .await;
            assert_eq!(st, 200, "{who}: {page}");
            for t in page["tickets"].as_array().unwrap() {
                let id = t["id"].as_i64().unwrap();
                if s.tickets.iter().any(|(tid, _, _)| *tid == id) {
                    got.insert(id);
                }
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = c.to_string(),
                None => break,
            }
        }
        assert_eq!(got, want, "server function list for {who}");

        for (id, number, kind) in &s.tickets {
            let (id, number, kind) = (*id, *number, *kind);
            let what = format!("{who} on {kind:?}");
            // Read.
            let (st, _) = send(client.get(app.url(&format!("/api/v1/tickets/{id}")))).await;
            assert_eq!(st, expect(p, kind, Action::Read, 201), "REST read, {what}");
            // Its attachment downloads like a read (404 when unseen).
            let st = client
                .get(app.url(&format!("/api/v1/attachments/{}", attachments[&id])))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            assert_eq!(st, expect(p, kind, Action::Read, 201), "attachment, {what}");
            let (st, _) = send(
                client
                    .post(app.url("/rpc/open_ticket"))
                    .form(&[("number", number.to_string())]),
            )
            .await;
            assert_eq!(
                st,
                expect(p, kind, Action::Read, 200),
                "server fn read, {what}"
            );
            // Update a property.
            let (st, _) = send(
                client
                    .patch(app.url(&format!("/api/v1/tickets/{id}")))
                    .json(&json!({"priority": "high"})),
            )
            .await;
            assert_eq!(
                st,
                expect(p, kind, Action::Update, 201),
                "REST update, {what}"
            );
            let (st, _) = send(client.post(app.url("/rpc/update_ticket")).form(&[
                ("id", id.to_string()),
                ("field", "priority".into()),
                ("value", "urgent".into()),
            ]))
            .await;
            assert_eq!(
                st,
                expect(p, kind, Action::Update, 200),
                "server fn update, {what}"
            );
            // Internal note.
            let (st, _) = send(
                client
                    .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
                    .json(&json!({"kind": "note", "body": "A note"})),
            )
            .await;
            assert_eq!(st, expect(p, kind, Action::Note, 201), "REST note, {what}");
            let (st, _) = send(client.post(app.url("/rpc/add_entry")).form(&[
                ("ticket_id", id.to_string()),
                ("kind", "note".into()),
                ("body", "A note".into()),
            ]))
            .await;
            assert_eq!(
                st,
                expect(p, kind, Action::Note, 200),
                "server fn note, {what}"
            );
            // Assign to themselves (keeps the ticket visible to them).
            let (st, _) = send(
                client
                    .patch(app.url(&format!("/api/v1/tickets/{id}")))
                    .json(&json!({"owner_id": s.id})),
            )
            .await;
            assert_eq!(
                st,
                expect(p, kind, Action::Assign, 201),
                "REST assign, {what}"
            );
            let (st, _) = send(client.post(app.url("/rpc/update_ticket")).form(&[
                ("id", id.to_string()),
                ("field", "owner_id".into()),
                ("value", s.id.to_string()),
            ]))
            .await;
            assert_eq!(
                st,
                expect(p, kind, Action::Assign, 200),
                "server fn assign, {what}"
            );
            // Reply (last: on an unassigned ticket it assigns the replier).
            let (st, _) = send(
                client
                    .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
                    .json(&json!({"kind": "reply", "body": "A reply"})),
            )
            .await;
            assert_eq!(
                st,
                expect(p, kind, Action::Reply, 201),
                "REST reply, {what}"
            );
            let (st, _) = send(client.post(app.url("/rpc/add_entry")).form(&[
                ("ticket_id", id.to_string()),
                ("kind", "reply".into()),
                ("body", "A reply".into()),
            ]))
            .await;
            assert_eq!(
                st,
                expect(p, kind, Action::Reply, 200),
                "server fn reply, {what}"
            );
            checked += 10;
        }

        // Views: create their own, read views shared with team 1 / team 2,
        // change and delete a shared view.
        let seat = p.role != Role::Collaborator;
        let (st, mine) = send(
            client
                .post(app.url("/api/v1/views"))
                .json(&json!({"name": "Own view"})),
        )
        .await;
        assert_eq!(st, if seat { 201 } else { 403 }, "create view, {who}");
        if seat {
            let id = mine["id"].as_i64().unwrap();
            let (st, _) = send(
                client
                    .patch(app.url(&format!("/api/v1/views/{id}")))
                    .json(&json!({"name": "Renamed"})),
            )
            .await;
            assert_eq!(st, 200, "update own view, {who}");
            assert_eq!(
                send(client.delete(app.url(&format!("/api/v1/views/{id}"))))
                    .await
                    .0,
                204,
                "delete own view, {who}"
            );
        }
        for (team, member) in [(team1, p.in_team1), (team2, false)] {
            let view = shared[&team];
            let visible = seat && (p.role == Role::Admin || member);
            let (st, _) = send(client.get(app.url(&format!("/api/v1/views/{view}/tickets")))).await;
            assert_eq!(
                st,
                if visible { 200 } else { 404 },
                "read view shared with {team}, {who}"
            );
            let (st, _) = send(
                client
                    .post(app.url("/rpc/list_tickets"))
                    .form(&[("view", view.to_string())]),
            )
            .await;
            assert_eq!(
                st,
                if visible { 200 } else { 404 },
                "server fn read view shared with {team}, {who}"
            );
            let (st, _) = send(
                client
                    .patch(app.url(&format!("/api/v1/views/{view}")))
                    .json(&json!({"name": format!("Shared with {team}")})),
            )
            .await;
            let want = match (visible, p.role == Role::Admin) {
                (false, _) => 404,
                (true, true) => 200,
                (true, false) => 403,
            };
            assert_eq!(st, want, "update view shared with {team}, {who}");
            let (st, _) = send(
                client
                    .post(app.url("/rpc/delete_view"))
                    .form(&[("id", view.to_string())]),
            )
            .await;
            assert_eq!(st, want, "delete view shared with {team}, {who}");
            if st == 200 {
                // Put it back for the people after this one.
                let (s2, v) = send(admin.post(app.url("/api/v1/views")).json(&json!({
                    "name": format!("Shared with {team}"), "sharing": "teams", "team_ids": [team]
                })))
                .await;
                assert_eq!(s2, 201);
                shared.insert(team, v["id"].as_i64().unwrap());
            }
        }
        checked += 8;
    }
    assert!(checked > 1500, "{checked} checks");
}
