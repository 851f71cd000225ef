//! The email channel against real mail servers: a real SMTP client
//! delivering to Ayuda's listener, aiosmtpd receiving the replies, Dovecot
//! for IMAP polling and import. Threading, guards, attachments, the
//! outbound queue and channel management, on SQLite and PostgreSQL.

mod common;

use common::mail::{deliver, email, free_port, header, imap_server, SmtpSink, IMAP_PASSWORD};
use common::{eventually, send, Backend, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

const SUPPORT: &str = "support@help.test";

async fn spawn(backend: Backend, tweak: impl FnOnce(&mut app::state::Config)) -> TestApp {
    let mut config = app::state::Config {
        smtp_addr: Some("127.0.0.1:0".into()),
        outbox_poll_ms: 50,
        imap_poll_ms: 2_000,
        ..Default::default()
    };
    tweak(&mut config);
    TestApp::spawn_with(backend, config).await
}

/// The app most tests here use: [`spawn`] with nothing changed.
async fn email_app(backend: Backend) -> TestApp {
    spawn(backend, |_| {}).await
}

/// A sender may send three messages a minute, of at most 200 KB: the
/// guards trip soon.
async fn app_with_tight_guards(backend: Backend) -> TestApp {
    spawn(backend, |c| {
        c.sender_rate_per_minute = 3;
        c.max_email_bytes = 200_000;
    })
    .await
}

/// Failed sends are retried after 0.3 s, not minutes.
async fn app_with_fast_retry(backend: Backend) -> TestApp {
    spawn(backend, |c| {
        c.outbox_retry_base_ms = 300;
    })
    .await
}

/// Attachments over 1,000 bytes are too large.
async fn app_with_small_attachments(backend: Backend) -> TestApp {
    spawn(backend, |config| {
        config.max_attachment_bytes = 1_000;
    })
    .await
}

on_both_databases!(
    spawned_by email_app:
    replies_follow_a_merge,
    email_round_trip,
    mime_corpus,
    queue_is_shared_and_durable,
    channel_management,
    imap_polling_and_import,
    interrupted_imports_are_swept,
    connecting_with_history,
    mbox_import,
    concurrent_channel_edits,
    reused_message_ids,
);
on_both_databases!(spawned_by app_with_tight_guards: guards);
on_both_databases!(spawned_by app_with_fast_retry: outbound_queue);
on_both_databases!(spawned_by app_with_small_attachments: oversized_attachments);

async fn connect(
    app: &TestApp,
    admin: &reqwest::Client,
    smtp_port: u16,
    imap: Option<Value>,
) -> Value {
    let mut body = json!({
        "kind": "email", "name": "Support", "address": SUPPORT, "from_name": "Help Team",
        "signature": "The Help Team\nhelp.test",
        "outbound": {"host": "127.0.0.1", "port": smtp_port, "security": "none"}
    });
    if let Some(i) = imap {
        body["imap"] = i;
    }
    let (status, channel) = send(admin.post(app.url("/api/v1/channels")).json(&body)).await;
    assert_eq!(status, 201, "{channel}");
    channel
}

/// A mailbox of its own on the test Dovecot (a new user), and an IMAP
/// session on it to put mail there before a channel connects: (host, port,
/// user, session).
async fn new_mailbox() -> (String, u16, String, app::channels::email::imap::ImapSession) {
    let (host, port) = imap_server();
    let user = format!("box{}", free_port());
    let conn = app::channels::service::ServerConnection {
        host: host.clone(),
        port,
        security: app::channels::Security::None,
        username: Some(user.clone()),
        password: Some(IMAP_PASSWORD.into()),
        folder: "INBOX".into(),
    };
    let session = app::channels::email::imap::connect(&conn).await.unwrap();
    (host, port, user, session)
}

async fn tickets(app: &TestApp, admin: &reqwest::Client) -> Vec<Value> {
    let (_, page) = send(admin.get(app.url("/api/v1/tickets?limit=100"))).await;
    page["tickets"].as_array().cloned().unwrap_or_default()
}

async fn thread(app: &TestApp, admin: &reqwest::Client, ticket: i64) -> Vec<Value> {
    let (status, body) =
        send(admin.get(app.url(&format!("/api/v1/tickets/{ticket}/messages")))).await;
    assert_eq!(status, 200, "{body}");
    body["messages"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| body.as_array().cloned().unwrap_or_default())
}

async fn ticket_by_subject(app: &TestApp, admin: &reqwest::Client, subject: &str) -> Value {
    eventually(&format!("a ticket '{subject}'"), || async {
        tickets(app, admin)
            .await
            .into_iter()
            .find(|t| t["subject"] == subject)
    })
    .await
}

async fn quarantined(app: &TestApp, admin: &reqwest::Client) -> Vec<Value> {
    let (status, body) = send(admin.get(app.url("/api/v1/email-quarantine"))).await;
    assert_eq!(status, 200, "{body}");
    body["emails"].as_array().cloned().unwrap()
}

/// The whole loop: an email arrives by SMTP and becomes a ticket, the
/// agent's reply leaves through the relay with threading headers, and the
/// customer's answer to it lands on the same ticket.
async fn email_round_trip(app: TestApp) {
    let sink = SmtpSink::start();
    let admin = app.admin().await;
    connect(&app, &admin, sink.port, None).await;
    let smtp = app.smtp.unwrap();
    let first = email(
        &[
            ("From", "=?utf-8?q?Zo=C3=AB_Customer?= <zoe@customer.test>"),
            ("To", SUPPORT),
            ("Subject", "=?utf-8?b?T3JkZXIgNDU2NyBicm9rZW4g4pyU?="),
            ("Message-ID", "<first-1@customer.test>"),
            ("Date", "Tue, 24 Nov 2026 10:00:00 +0000"),
        ],
        "Hello, my order #4567 arrived broken.\n\nZoë",
    );
    assert_eq!(
        deliver(smtp, "zoe@customer.test", &[SUPPORT], &first).await,
        Ok(250)
    );
    let ticket = ticket_by_subject(&app, &admin, "Order 4567 broken ✔").await;
    assert_eq!(ticket["channel"], "email");
    assert_eq!(ticket["contact_email"], "zoe@customer.test");
    assert_eq!(ticket["contact_name"], "Zoë Customer");
    let id = ticket["id"].as_i64().unwrap();
    let number = ticket["number"].as_i64().unwrap();
    let entries = thread(&app, &admin, id).await;
    assert_eq!(entries[0]["kind"], "inbound");
    assert!(entries[0]["body"]
        .as_str()
        .unwrap()
        .contains("arrived broken"));
    assert!(
        entries[0]["origin"]
            .as_str()
            .unwrap()
            .starts_with("New ticket"),
        "{}",
        entries[0]
    );

    // A second delivery of the same message changes nothing.
    assert_eq!(
        deliver(smtp, "zoe@customer.test", &[SUPPORT], &first).await,
        Ok(250)
    );

    let (status, reply) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "reply", "body": "Sorry! A new one is on its way."})),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["delivery_state"], "queued");
    let out = sink.wait_for(1).await;
    let out = &out[0];
    assert_eq!(
        header(out, "From").unwrap(),
        format!("\"Help Team\" <{SUPPORT}>")
    );
    assert!(header(out, "To").unwrap().contains("zoe@customer.test"));
    // "Re: <subject> [#number]"; the ✔ travels as an encoded word.
    let subject = header(out, "Subject").unwrap();
    assert!(subject.starts_with("Re: Order 4567 broken "), "{subject}");
    assert!(subject.ends_with(&format!(" [#{number}]")), "{subject}");
    assert_eq!(
        header(out, "In-Reply-To").unwrap(),
        "<first-1@customer.test>"
    );
    assert!(header(out, "References")
        .unwrap()
        .contains("<first-1@customer.test>"));
    let our_id = header(out, "Message-ID").unwrap();
    assert!(our_id.ends_with("@help.test>"), "{our_id}");
    let reply_to = header(out, "Reply-To").unwrap();
    assert!(
        reply_to.contains(&format!("support+t{number}-")),
        "{reply_to}"
    );
    assert!(out.contains("The Help Team"), "signature in the body");
    assert!(
        out.contains("> Hello, my order #4567 arrived broken."),
        "quoted thread"
    );
    eventually("the reply marked sent", || async {
        let entries = thread(&app, &admin, id).await;
        (entries
            .iter()
            .any(|e| e["kind"] == "reply" && e["delivery_state"] == "sent"))
        .then_some(())
    })
    .await;

    // The customer answers our reply: In-Reply-To joins it.
    let answer = email(
        &[
            ("From", "Zoë Customer <zoe@customer.test>"),
            ("To", SUPPORT),
            ("Subject", "Re: something else entirely"),
            ("Message-ID", "<answer-2@customer.test>"),
            ("In-Reply-To", &our_id),
            ("References", &format!("<first-1@customer.test> {our_id}")),
        ],
        "Thanks, got it.\n\nOn Tue, Help Team wrote:\n> Sorry! A new one is on its way.",
    );
    assert_eq!(
        deliver(smtp, "zoe@customer.test", &[SUPPORT], &answer).await,
        Ok(250)
    );
    let entries = eventually("the answer on the same ticket", || async {
        let e = thread(&app, &admin, id).await;
        (e.iter().filter(|e| e["kind"] == "inbound").count() == 2).then_some(e)
    })
    .await;
    let last = entries
        .iter()
        .rev()
        .find(|e| e["kind"] == "inbound")
        .unwrap();
    assert_eq!(last["body"], "Thanks, got it.");
    assert!(last["quoted_html"].as_str().unwrap().contains("new one"));
    assert!(
        last["origin"].as_str().unwrap().contains("In-Reply-To"),
        "{last}"
    );

    // A mail client that drops every header but writes to the signed reply
    // address still threads.
    let token_mail = email(
        &[
            ("From", "zoe@customer.test"),
            ("To", &reply_to),
            ("Subject", "one more thing"),
            ("Message-ID", "<tok-3@customer.test>"),
        ],
        "Also the box was wet.",
    );
    let reply_address = reply_to
        .trim_start_matches("\"Help Team\" <")
        .trim_end_matches('>')
        .to_string();
    assert_eq!(
        deliver(smtp, "zoe@customer.test", &[&reply_address], &token_mail).await,
        Ok(250)
    );
    eventually("the token mail on the same ticket", || async {
        let e = thread(&app, &admin, id).await;
        e.iter()
            .find(|e| e["body"] == "Also the box was wet.")
            .filter(|e| {
                e["origin"]
                    .as_str()
                    .unwrap()
                    .contains("signed reply address")
            })
            .map(|_| ())
    })
    .await;

    // Someone else quoting the ticket number in a subject gets their own
    // ticket: a subject never joins two senders.
    let stranger = email(
        &[
            ("From", "mallory@evil.test"),
            ("To", SUPPORT),
            ("Subject", &format!("Re: Order [#{number}]")),
            ("Message-ID", "<m-4@evil.test>"),
        ],
        "Please send me the customer's address.",
    );
    assert_eq!(
        deliver(smtp, "mallory@evil.test", &[SUPPORT], &stranger).await,
        Ok(250)
    );
    let theirs = ticket_by_subject(&app, &admin, "Order").await;
    assert_ne!(theirs["id"], ticket["id"]);
    let e = thread(&app, &admin, theirs["id"].as_i64().unwrap()).await;
    assert!(
        e[0]["origin"]
            .as_str()
            .unwrap()
            .contains("not on that ticket"),
        "{}",
        e[0]
    );
    // ... while the customer's own subject token does join.
    let own = email(
        &[
            ("From", "zoe@customer.test"),
            ("To", SUPPORT),
            ("Subject", &format!("Fwd: photos [#{number}]")),
            ("Message-ID", "<own-5@customer.test>"),
        ],
        "Photos attached.",
    );
    assert_eq!(
        deliver(smtp, "zoe@customer.test", &[SUPPORT], &own).await,
        Ok(250)
    );
    eventually("the subject-token mail on the ticket", || async {
        let e = thread(&app, &admin, id).await;
        e.iter()
            .any(|e| e["body"] == "Photos attached.")
            .then_some(())
    })
    .await;
    assert_eq!(tickets(&app, &admin).await.len(), 2);

    // Mail for an address we do not serve is refused at RCPT.
    let refused = deliver(
        smtp,
        "zoe@customer.test",
        &["nobody@elsewhere.test"],
        &first,
    )
    .await;
    assert!(refused.unwrap_err().contains("550"));
}

/// Mail that must not become tickets: auto-replies, loops, floods,
/// garbage, oversized messages; and bounces land on the reply they concern.
async fn guards(app: TestApp) {
    let sink = SmtpSink::start();
    let admin = app.admin().await;
    connect(&app, &admin, sink.port, None).await;
    let smtp = app.smtp.unwrap();
    let msg = |from: &str, id: &str, extra: &[(&str, &str)]| {
        let mut h = vec![
            ("From", from),
            ("To", SUPPORT),
            ("Subject", "hello"),
            ("Message-ID", id),
        ];
        h.extend_from_slice(extra);
        email(&h, "body")
    };
    let ooo = msg(
        "a@c.test",
        "<ooo@c.test>",
        &[("Auto-Submitted", "auto-replied")],
    );
    assert_eq!(deliver(smtp, "a@c.test", &[SUPPORT], &ooo).await, Ok(250));
    let bulk = msg("b@c.test", "<bulk@c.test>", &[("Precedence", "bulk")]);
    assert_eq!(deliver(smtp, "b@c.test", &[SUPPORT], &bulk).await, Ok(250));
    let looped = msg(SUPPORT, "<loop@help.test>", &[]);
    assert_eq!(deliver(smtp, SUPPORT, &[SUPPORT], &looped).await, Ok(250));
    let garbage = b"\x00\x01\x02 not an email \xff\xfe".to_vec();
    assert_eq!(
        deliver(smtp, "g@c.test", &[SUPPORT], &garbage).await,
        Ok(250)
    );
    for i in 0..4 {
        let m = msg("flood@c.test", &format!("<flood-{i}@c.test>"), &[]);
        assert_eq!(deliver(smtp, "flood@c.test", &[SUPPORT], &m).await, Ok(250));
    }
    let huge = email(
        &[("From", "big@c.test"), ("To", SUPPORT), ("Subject", "big")],
        &"x".repeat(300_000),
    );
    let refused = deliver(smtp, "big@c.test", &[SUPPORT], &huge).await;
    assert!(refused.unwrap_err().contains("552"));

    let q = quarantined(&app, &admin).await;
    let categories: Vec<&str> = q.iter().map(|e| e["category"].as_str().unwrap()).collect();
    for c in [
        "auto_reply",
        "loop",
        "malformed",
        "rate_limited",
        "too_large",
    ] {
        assert!(categories.contains(&c), "{c} in {categories:?}");
    }
    assert_eq!(categories.iter().filter(|c| **c == "auto_reply").count(), 2);
    // 3 flood messages became tickets (the limit), the 4th did not.
    assert_eq!(tickets(&app, &admin).await.len(), 3);
    let raw_id = q.iter().find(|e| e["category"] == "loop").unwrap()["id"]
        .as_i64()
        .unwrap();
    let res = admin
        .get(app.url(&format!("/api/v1/email-quarantine/{raw_id}/raw")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.text().await.unwrap().contains("<loop@help.test>"));

    // A bounce for one of our replies marks that reply failed.
    let ticket = tickets(&app, &admin).await[0].clone();
    let id = ticket["id"].as_i64().unwrap();
    send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "reply", "body": "Hi"})),
    )
    .await;
    let out = sink.wait_for(1).await;
    let our_id = header(&out[0], "Message-ID").unwrap();
    let dsn = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.c.test>\r\nTo: {SUPPORT}\r\nSubject: Undelivered Mail\r\n\
         Message-ID: <dsn-1@mx.c.test>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.c.test\r\n\r\n\
         Final-Recipient: rfc822; flood@c.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n\
         --b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {our_id}\r\nSubject: Re: hello\r\n\r\n--b1--\r\n"
    );
    assert_eq!(
        deliver(smtp, "mailer-daemon@mx.c.test", &[SUPPORT], dsn.as_bytes()).await,
        Ok(250)
    );
    let entries = eventually("the reply marked bounced", || async {
        let e = thread(&app, &admin, id).await;
        e.iter()
            .any(|e| e["kind"] == "reply" && e["delivery_state"] == "failed")
            .then_some(e)
    })
    .await;
    let reply = entries.iter().find(|e| e["kind"] == "reply").unwrap();
    assert!(
        reply["delivery_error"]
            .as_str()
            .unwrap()
            .contains("user unknown"),
        "{reply}"
    );
    assert_eq!(
        tickets(&app, &admin).await.len(),
        3,
        "a bounce is no ticket"
    );
}

/// MIME corpus: charsets, nested multiparts with inline images and
/// attachments, hostile HTML, spoofed names, header injection.
async fn mime_corpus(app: TestApp) {
    let sink = SmtpSink::start();
    let admin = app.admin().await;
    connect(&app, &admin, sink.port, None).await;
    let smtp = app.smtp.unwrap();
    let latin1 = b"From: =?iso-8859-1?q?Jos=E9_P=E9rez?= <jose@c.test>\r\nTo: support@help.test\r\nSubject: =?iso-8859-1?q?Caf=E9_fr=EDo?=\r\nMessage-ID: <l1@c.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nEl caf=E9 lleg=F3 fr=EDo.\r\n".to_vec();
    assert_eq!(
        deliver(smtp, "jose@c.test", &[SUPPORT], &latin1).await,
        Ok(250)
    );
    let t = ticket_by_subject(&app, &admin, "Café frío").await;
    assert_eq!(t["contact_name"], "José Pérez");
    let e = thread(&app, &admin, t["id"].as_i64().unwrap()).await;
    assert_eq!(e[0]["body"], "El café llegó frío.");
    // Its text is in the search index as soon as it is stored.
    let (status, found) = send(
        admin
            .get(app.url("/api/v1/search"))
            .query(&[("q", "llegó")]),
    )
    .await;
    assert_eq!(status, 200, "{found}");
    assert!(
        found["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["ticket"]["number"] == t["number"]),
        "{found}"
    );

    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==";
    let nested = format!(
        "From: \"support@help.test\" <attacker@evil.test>\r\nTo: {SUPPORT}\r\nSubject: Invoice\r\nMessage-ID: <n1@evil.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
         --outer\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
         --alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the logo.\r\n\
         --alt\r\nContent-Type: multipart/related; boundary=\"rel\"\r\n\r\n\
         --rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p onclick=\"x()\">See the <b>logo</b><script>steal()</script></p><img src=\"cid:logo@x\"><img src=\"https://tracker.evil.test/p.gif\"><a href=\"javascript:alert(1)\">x</a>\r\n\
         --rel\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}\r\n--rel--\r\n\
         --alt--\r\n\
         --outer\r\nContent-Type: application/pdf; name=\"=?utf-8?q?factura_n=C2=BA1.pdf?=\"\r\nContent-Disposition: attachment; filename=\"=?utf-8?q?factura_n=C2=BA1.pdf?=\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--outer--\r\n"
    );
    assert_eq!(
        deliver(smtp, "attacker@evil.test", &[SUPPORT], nested.as_bytes()).await,
        Ok(250)
    );
    let t = ticket_by_subject(&app, &admin, "Invoice").await;
    // The display name pretending to be us does not make it our mail.
    assert_eq!(t["contact_email"], "attacker@evil.test");
    let e = thread(&app, &admin, t["id"].as_i64().unwrap()).await;
    let html = e[0]["body_html"].as_str().unwrap();
    assert!(
        !html.contains("script") && !html.contains("onclick") && !html.contains("javascript"),
        "{html}"
    );
    assert!(
        html.contains("data-remote-src=\"https://tracker.evil.test/p.gif\""),
        "{html}"
    );
    assert!(!html.contains(" src=\"https://tracker"), "{html}");
    assert_eq!(e[0]["remote_images"], true);
    let files = e[0]["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
    let pdf = files
        .iter()
        .find(|f| f["content_type"] == "application/pdf")
        .unwrap();
    assert_eq!(pdf["filename"], "factura nº1.pdf");
    let logo = files.iter().find(|f| f["inline"] == true).unwrap();
    assert!(
        html.contains(&format!("src=\"/api/v1/attachments/{}\"", logo["id"])),
        "{html}"
    );
    let res = admin
        .get(app.url(&format!("/api/v1/attachments/{}", pdf["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"%PDF-1.4\n");
    // Someone who cannot see the ticket cannot fetch its files.
    let outsider = app::users::service::create_unchecked(
        &app.state.db,
        app::users::NewUser {
            email: "outsider@test.example".into(),
            name: "Out Sider".into(),
            password: Some("password-123".into()),
            role: app::users::Role::Agent,
            team_ids: vec![],
            access: app::access::AccessScope::Owned,
            include_unassigned: false,
            teams: Vec::new(),
        },
    )
    .await
    .unwrap();
    let client = app.signed_in_as(&outsider).await;
    let res = client
        .get(app.url(&format!("/api/v1/attachments/{}", pdf["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = reqwest::get(app.url(&format!("/api/v1/attachments/{}", pdf["id"])))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Header injection through the subject and the name goes nowhere: the
    // reply's headers carry no injected Bcc.
    let injected = b"From: =?utf-8?q?Eve=0D=0ABcc=3A_victim=40c.test?= <eve@c.test>\r\nTo: support@help.test\r\nSubject: =?utf-8?q?Hi=0D=0ABcc=3A_victim2=40c.test?=\r\nMessage-ID: <inj@c.test>\r\n\r\nhello\r\n".to_vec();
    assert_eq!(
        deliver(smtp, "eve@c.test", &[SUPPORT], &injected).await,
        Ok(250)
    );
    let t = eventually("the injected mail's ticket", || async {
        tickets(&app, &admin)
            .await
            .into_iter()
            .find(|t| t["contact_email"] == "eve@c.test")
    })
    .await;
    assert!(!t["subject"].as_str().unwrap().contains('\n'));
    send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{}/messages", t["id"])))
            .json(&json!({"kind": "reply", "body": "ok"})),
    )
    .await;
    let out = sink.wait_for(1).await;
    assert!(header(&out[0], "Bcc").is_none(), "{}", out[0]);
    assert!(!out[0].to_lowercase().contains("\r\nbcc:"), "{}", out[0]);
}

/// The queue retries while the relay is down, sends once it is up, and
/// fails with the relay's reason when it refuses for good.
async fn outbound_queue(app: TestApp) {
    let port = free_port();
    let admin = app.admin().await;
    connect(&app, &admin, port, None).await;
    let smtp = app.smtp.unwrap();
    let m = email(
        &[
            ("From", "c@c.test"),
            ("To", SUPPORT),
            ("Subject", "retry"),
            ("Message-ID", "<r1@c.test>"),
        ],
        "hi",
    );
    assert_eq!(deliver(smtp, "c@c.test", &[SUPPORT], &m).await, Ok(250));
    let t = ticket_by_subject(&app, &admin, "retry").await;
    let id = t["id"].as_i64().unwrap();
    send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "reply", "body": "first try"})),
    )
    .await;
    let failed_once = eventually("a failed first attempt", || async {
        let e = thread(&app, &admin, id).await;
        e.into_iter()
            .find(|e| e["kind"] == "reply" && e["delivery_error"].is_string())
    })
    .await;
    assert_eq!(failed_once["delivery_state"], "queued");
    assert!(failed_once["delivery_error"]
        .as_str()
        .unwrap()
        .contains("retrying"));
    let sink = SmtpSink::start_on(port);
    let out = sink.wait_for(1).await;
    assert!(out[0].contains("first try"));
    eventually("the reply marked sent", || async {
        let e = thread(&app, &admin, id).await;
        e.iter()
            .any(|e| e["kind"] == "reply" && e["delivery_state"] == "sent")
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 1, "sent exactly once");

    // A relay that refuses the recipient for good (our own listener knows
    // no such mailbox): failed at once, with its answer.
    let (status, _) = send(admin.patch(app.url("/api/v1/channels/1")).json(
        &json!({"outbound": {"host": "127.0.0.1", "port": smtp.port(), "security": "none"}}),
    ))
    .await;
    assert_eq!(status, 200);
    send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
            .json(&json!({"kind": "reply", "body": "second"})),
    )
    .await;
    let failed = eventually("a permanent failure", || async {
        let e = thread(&app, &admin, id).await;
        e.into_iter()
            .find(|e| e["body"] == "second" && e["delivery_state"] == "failed")
    })
    .await;
    assert!(
        failed["delivery_error"].as_str().unwrap().contains("550"),
        "{failed}"
    );
}

/// Two senders share the queue: each message is sent exactly once. On
/// PostgreSQL the second is another instance on the same database (as
/// after a restart, or in a multi-instance install); SQLite is one process
/// by design, so there it is a second sender task in the same process.
async fn queue_is_shared_and_durable(app: TestApp) {
    let sink = SmtpSink::start();
    let admin = app.admin().await;
    connect(&app, &admin, sink.port, None).await;
    let smtp = app.smtp.unwrap();
    let m = email(
        &[
            ("From", "c@c.test"),
            ("To", SUPPORT),
            ("Subject", "shared"),
            ("Message-ID", "<s1@c.test>"),
        ],
        "hi",
    );
    assert_eq!(deliver(smtp, "c@c.test", &[SUPPORT], &m).await, Ok(250));
    let t = ticket_by_subject(&app, &admin, "shared").await;
    let id = t["id"].as_i64().unwrap();
    let config = app::state::Config {
        outbox_poll_ms: 10,
        secret_key: app.state.config.secret_key.clone(),
        ..Default::default()
    };
    let second = match app.backend {
        Backend::Postgres => server::prepare(app.state.db.url(), config, server::leptos_options())
            .await
            .unwrap(),
        Backend::Sqlite => app::state::AppState {
            config: std::sync::Arc::new(config),
            ..app.state.clone()
        },
    };
    app::channels::email::start(&second).unwrap();
    for i in 0..10 {
        let (status, body) = send(
            admin
                .post(app.url(&format!("/api/v1/tickets/{id}/messages")))
                .json(&json!({"kind": "reply", "body": format!("reply {i}")})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let out = sink.wait_for(10).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let out2 = sink.messages();
    assert_eq!(
        out2.len(),
        10,
        "each reply sent exactly once ({} then {})",
        out.len(),
        out2.len()
    );
    let mut ids: Vec<String> = out2
        .iter()
        .map(|m| header(m, "Message-ID").unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 10, "ten different replies");
}

/// Channel management: admins only, validation, secrets sealed and never
/// returned, a blank password keeps the stored one.
async fn channel_management(app: TestApp) {
    let admin = app.admin().await;
    let agent = app.user("Agent Ana", app::users::Role::Agent).await;
    let agent = app.signed_in_as(&agent).await;
    let (status, _) = send(agent.get(app.url("/api/v1/channels"))).await;
    assert_eq!(status, 403);
    let (status, _) = send(
        agent
            .post(app.url("/api/v1/channels"))
            .json(&json!({"kind": "email"})),
    )
    .await;
    assert!(status == 403 || status == 422, "{status}");
    for (bad, field) in [
        (
            json!({"kind": "email", "name": "S", "address": "not-an-address", "outbound": {"host": "smtp.x.test", "port": 25}}),
            "address",
        ),
        (
            json!({"kind": "email", "name": "S", "address": "a@x.test", "outbound": {"host": "bad host", "port": 25}}),
            "outbound.host",
        ),
        (
            json!({"kind": "email", "name": "S", "address": "a@x.test", "outbound": {"host": "smtp.x.test", "port": 0}}),
            "outbound.port",
        ),
        (
            json!({"kind": "email", "name": "S", "address": "a@x.test", "outbound": {"host": "smtp.x.test", "port": 25}, "imap": {"host": "imap.x.test", "port": 993, "username": "u"}}),
            "imap.password",
        ),
        (
            json!({"kind": "sms", "name": "S", "address": "a@x.test", "outbound": {"host": "smtp.x.test", "port": 25}}),
            "kind",
        ),
    ] {
        let (status, body) = send(admin.post(app.url("/api/v1/channels")).json(&bad)).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    }
    assert_eq!(
        app.count("channels").await,
        0,
        "nothing written by bad input"
    );
    let (status, channel) = send(admin.post(app.url("/api/v1/channels")).json(&json!({
        "kind": "email", "name": "Support", "address": SUPPORT,
        "outbound": {"host": "smtp.help.test", "port": 587, "security": "starttls", "username": "relay-user", "password": "relay-s3cret"}
    }))).await;
    assert_eq!(status, 201, "{channel}");
    let text = channel.to_string();
    assert!(!text.contains("relay-s3cret"), "{text}");
    assert_eq!(channel["outbound"]["has_password"], true);
    let stored: String = sqlx::Row::try_get(
        &sqlx::query("SELECT secrets FROM channels")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap(),
        "secrets",
    )
    .unwrap();
    assert!(!stored.contains("relay-s3cret"), "sealed at rest");
    let (status, dup) = send(admin.post(app.url("/api/v1/channels")).json(&json!({
        "kind": "email", "name": "Again", "address": "SUPPORT@help.test", "outbound": {"host": "smtp.x.test", "port": 25}
    }))).await;
    assert_eq!(status, 409, "{dup}");
    let (status, changed) = send(admin.patch(app.url("/api/v1/channels/1")).json(&json!({
        "name": "Support desk", "outbound": {"host": "smtp.help.test", "port": 587, "security": "starttls", "username": "relay-user"}
    }))).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        changed["outbound"]["has_password"], true,
        "blank password kept"
    );
    assert_eq!(changed["name"], "Support desk");
    let (status, list) = send(admin.get(app.url("/api/v1/channels"))).await;
    assert_eq!(status, 200);
    assert!(!list.to_string().contains("relay-s3cret"));
    let (status, _) = send(admin.delete(app.url("/api/v1/channels/1"))).await;
    assert_eq!(status, 204);
    let (status, _) = send(admin.get(app.url("/api/v1/channels/1"))).await;
    assert_eq!(status, 404);
}

/// IMAP: a connected mailbox is polled (IDLE) and new mail becomes
/// tickets; the folder's history imports as closed tickets, once.
async fn imap_polling_and_import(app: TestApp) {
    let sink = SmtpSink::start();
    let admin = app.admin().await;
    let (host, port, user, mut session) = new_mailbox().await;
    // History already in the mailbox: a thread of two and a single.
    let old = [
        email(
            &[
                ("From", "old@c.test"),
                ("To", SUPPORT),
                ("Subject", "Old question"),
                ("Message-ID", "<o1@c.test>"),
                ("Date", "Mon, 2 Nov 2026 09:00:00 +0000"),
            ],
            "Old question body",
        ),
        email(
            &[
                ("From", SUPPORT),
                ("To", "old@c.test"),
                ("Subject", "Re: Old question"),
                ("Message-ID", "<o2@help.test>"),
                ("In-Reply-To", "<o1@c.test>"),
                ("Date", "Mon, 2 Nov 2026 10:00:00 +0000"),
            ],
            "Our old answer",
        ),
        email(
            &[
                ("From", "other@c.test"),
                ("To", SUPPORT),
                ("Subject", "Another old one"),
                ("Message-ID", "<o3@c.test>"),
                ("Date", "Tue, 3 Nov 2026 09:00:00 +0000"),
            ],
            "Another",
        ),
    ];
    for m in &old {
        session.append("INBOX", None, None, m).await.unwrap();
    }
    let channel = connect(
        &app,
        &admin,
        sink.port,
        Some(json!({"host": host, "port": port, "security": "none", "username": user, "password": IMAP_PASSWORD})),
    )
    .await;
    let cid = channel["id"].as_i64().unwrap();
    eventually("the IMAP poller connected", || async {
        let (_, c) = send(admin.get(app.url(&format!("/api/v1/channels/{cid}")))).await;
        (c["imap_status"] == "ok").then_some(())
    })
    .await;
    assert!(
        tickets(&app, &admin).await.is_empty(),
        "existing mail is the import's, not the poller's"
    );
    let new = email(
        &[
            ("From", "new@c.test"),
            ("To", SUPPORT),
            ("Subject", "Fresh by IMAP"),
            ("Message-ID", "<n1@c.test>"),
        ],
        "New mail",
    );
    session.append("INBOX", None, None, &new).await.unwrap();
    let t = ticket_by_subject(&app, &admin, "Fresh by IMAP").await;
    assert_eq!(t["status_category"], "open");

    let (status, import) = send(
        admin
            .post(app.url(&format!("/api/v1/channels/{cid}/imports")))
            .json(&json!({"days": 3650})),
    )
    .await;
    assert_eq!(status, 202, "{import}");
    let done = eventually("the import done", || async {
        let (_, i) = send(admin.get(app.url(&format!("/api/v1/imports/{}", import["id"])))).await;
        (i["state"] != "running").then_some(i)
    })
    .await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["total"], 4);
    assert_eq!(done["skipped"], 1, "the polled message is already there");
    let all = tickets(&app, &admin).await;
    let old_q = all.iter().find(|t| t["subject"] == "Old question").unwrap();
    assert_eq!(old_q["status_category"], "closed");
    let e = thread(&app, &admin, old_q["id"].as_i64().unwrap()).await;
    let kinds: Vec<&str> = e.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["inbound", "reply"], "{e:?}");
    assert_eq!(all.len(), 3);
    // Running it again adds nothing.
    let (_, again) = send(
        admin
            .post(app.url(&format!("/api/v1/channels/{cid}/imports")))
            .json(&json!({"days": 3650})),
    )
    .await;
    let done = eventually("the second import done", || async {
        let (_, i) = send(admin.get(app.url(&format!("/api/v1/imports/{}", again["id"])))).await;
        (i["state"] != "running").then_some(i)
    })
    .await;
    assert_eq!(
        (done["imported"].as_i64(), done["skipped"].as_i64()),
        (Some(0), Some(4)),
        "{done}"
    );
    assert_eq!(tickets(&app, &admin).await.len(), 3);
}

/// An mbox upload imports threads as closed tickets with a progress row;
/// a second upload of the same file adds nothing.
async fn mbox_import(app: TestApp) {
    let admin = app.admin().await;
    let channel = connect(&app, &admin, 2525, None).await;
    let cid = channel["id"].as_i64().unwrap();
    let mut mbox = String::new();
    for i in 0..30 {
        mbox.push_str(&format!(
            "From c{i}@c.test Mon Nov  2 09:00:00 2026\nFrom: c{i}@c.test\nTo: {SUPPORT}\nSubject: Thread {i}\nMessage-ID: <t{i}@c.test>\nDate: Mon, 2 Nov 2026 09:00:00 +0000\n\nQuestion {i}\n>From the start\n\n"
        ));
        mbox.push_str(&format!(
            "From {SUPPORT} Mon Nov  2 10:00:00 2026\nFrom: {SUPPORT}\nTo: c{i}@c.test\nSubject: Re: Thread {i}\nMessage-ID: <a{i}@help.test>\nIn-Reply-To: <t{i}@c.test>\nDate: Mon, 2 Nov 2026 10:00:00 +0000\n\nAnswer {i}\n\n"
        ));
    }
    for round in 0..2 {
        let res = admin
            .post(app.url(&format!("/api/v1/channels/{cid}/imports/mbox")))
            .header("content-type", "application/mbox")
            .body(mbox.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        let import: Value = res.json().await.unwrap();
        let done = eventually("the mbox import done", || async {
            let (_, i) =
                send(admin.get(app.url(&format!("/api/v1/imports/{}", import["id"])))).await;
            (i["state"] != "running").then_some(i)
        })
        .await;
        assert_eq!(done["state"], "done", "{done}");
        assert_eq!(done["total"], 60);
        if round == 0 {
            assert_eq!(done["imported"], 60, "{done}");
        } else {
            assert_eq!(done["skipped"], 60, "{done}");
        }
    }
    let all = tickets(&app, &admin).await;
    assert_eq!(all.len(), 30);
    assert!(all.iter().all(|t| t["status_category"] == "closed"));
    let (status, body) = send(
        admin
            .post(app.url(&format!("/api/v1/channels/{cid}/imports/mbox")))
            .header("content-type", "application/mbox")
            .body("not an mbox"),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let failed = eventually("the bad import finished", || async {
        let (_, i) = send(admin.get(app.url(&format!("/api/v1/imports/{}", body["id"])))).await;
        (i["state"] != "running").then_some(i)
    })
    .await;
    assert_eq!(failed["state"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("no messages"));
}

/// A customer's reply to a ticket that was merged into another lands on
/// the primary; after an unmerge, on the ticket it answers again.
async fn replies_follow_a_merge(app: TestApp) {
    let sink = SmtpSink::start();
    let admin = app.admin().await;
    connect(&app, &admin, sink.port, None).await;
    let smtp = app.smtp.unwrap();
    let first = email(
        &[
            ("From", "ray@customer.test"),
            ("To", SUPPORT),
            ("Subject", "Broken hinge"),
            ("Message-ID", "<hinge-1@customer.test>"),
        ],
        "The hinge broke.",
    );
    assert_eq!(
        deliver(smtp, "ray@customer.test", &[SUPPORT], &first).await,
        Ok(250)
    );
    let secondary = ticket_by_subject(&app, &admin, "Broken hinge").await["id"]
        .as_i64()
        .unwrap();
    let (_, primary) =
        send(admin.post(app.url("/api/v1/tickets")).json(
            &json!({"subject": "Hinge and door", "contact": {"email": "ray@customer.test"}}),
        ))
        .await;
    let primary = primary["id"].as_i64().unwrap();
    let (status, merged) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{primary}/merge")))
            .json(&json!({"ticket_ids": [secondary]})),
    )
    .await;
    assert_eq!(status, 200, "{merged}");
    let answer = |id: &str, body: &str| {
        email(
            &[
                ("From", "ray@customer.test"),
                ("To", SUPPORT),
                ("Subject", "Re: Broken hinge"),
                ("Message-ID", id),
                ("In-Reply-To", "<hinge-1@customer.test>"),
            ],
            body,
        )
    };
    let reply = answer("<hinge-2@customer.test>", "Any news on the hinge?");
    assert_eq!(
        deliver(smtp, "ray@customer.test", &[SUPPORT], &reply).await,
        Ok(250)
    );
    eventually("the reply on the primary", || async {
        thread(&app, &admin, primary)
            .await
            .iter()
            .any(|e| e["body"].as_str().unwrap_or("").contains("Any news"))
            .then_some(())
    })
    .await;
    let (status, _) = send(
        admin
            .post(app.url(&format!("/api/v1/tickets/{primary}/unmerge")))
            .json(&json!({"ticket_id": secondary})),
    )
    .await;
    assert_eq!(status, 200);
    let reply = answer("<hinge-3@customer.test>", "Hello again about the hinge");
    assert_eq!(
        deliver(smtp, "ray@customer.test", &[SUPPORT], &reply).await,
        Ok(250)
    );
    eventually("the next reply on the unmerged ticket", || async {
        thread(&app, &admin, secondary)
            .await
            .iter()
            .any(|e| e["body"].as_str().unwrap_or("").contains("Hello again"))
            .then_some(())
    })
    .await;
}

/// Connecting a channel with `import_history` imports its mailbox's
/// history as closed tickets. A connect that fails on the way records
/// neither the channel nor its import, so it can simply be tried again.
async fn connecting_with_history(app: TestApp) {
    let admin = app.admin().await;
    let (host, port, user, mut session) = new_mailbox().await;
    let old = email(
        &[
            ("From", "old@c.test"),
            ("To", SUPPORT),
            ("Subject", "History question"),
            ("Message-ID", "<h1@c.test>"),
            ("Date", "Mon, 2 Nov 2026 09:00:00 +0000"),
        ],
        "Asked before the channel was connected",
    );
    session.append("INBOX", None, None, &old).await.unwrap();
    let body = json!({
        "kind": "email", "name": "Support", "address": SUPPORT,
        "outbound": {"host": "127.0.0.1", "port": 2525, "security": "none"},
        "imap": {"host": host, "port": port, "security": "none", "username": user, "password": IMAP_PASSWORD},
        "import_history": true, "import_days": 3650
    });

    // The import's row cannot be written, after the channel's was.
    let (block, unblock): (&[&str], &[&str]) = match app.backend {
        Backend::Sqlite => (
            &["CREATE TRIGGER no_imports BEFORE INSERT ON email_imports \
               BEGIN SELECT RAISE(ABORT, 'no imports here'); END"],
            &["DROP TRIGGER no_imports"],
        ),
        Backend::Postgres => (
            &[
                "CREATE FUNCTION no_imports() RETURNS trigger LANGUAGE plpgsql \
                 AS $$ BEGIN RAISE EXCEPTION 'no imports here'; END $$",
                "CREATE TRIGGER no_imports BEFORE INSERT ON email_imports \
                 FOR EACH ROW EXECUTE FUNCTION no_imports()",
            ],
            &[
                "DROP TRIGGER no_imports ON email_imports",
                "DROP FUNCTION no_imports()",
            ],
        ),
    };
    for sql in block {
        sqlx::query(sql).execute(app.state.db.pool()).await.unwrap();
    }
    let (status, err) = send(admin.post(app.url("/api/v1/channels")).json(&body)).await;
    assert_eq!(status, 500, "{err}");
    assert!(!err.to_string().contains("no imports"), "{err}");
    assert_eq!(
        app.count("channels").await,
        0,
        "no channel without its import"
    );
    for sql in unblock {
        sqlx::query(sql).execute(app.state.db.pool()).await.unwrap();
    }

    // Connecting again works, and brings the history in.
    let (status, channel) = send(admin.post(app.url("/api/v1/channels")).json(&body)).await;
    assert_eq!(status, 201, "{channel}");
    let cid = channel["id"].as_i64().unwrap();
    let done = eventually("the import done", || async {
        let (_, list) = send(admin.get(app.url(&format!("/api/v1/channels/{cid}/imports")))).await;
        let import = list["imports"].get(0).cloned()?;
        (import["state"] != "running").then_some(import)
    })
    .await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["imported"], 1, "{done}");
    let t = ticket_by_subject(&app, &admin, "History question").await;
    assert_eq!(t["status_category"], "closed");
}

/// An import whose process stopped (its heartbeat is old) is marked
/// failed, saying why; one whose process is alive is left running.
async fn interrupted_imports_are_swept(app: TestApp) {
    let sink = SmtpSink::start();
    let admin = app.admin().await;
    let channel = connect(&app, &admin, sink.port, None).await;
    let cid = channel["id"].as_i64().unwrap();
    let now = app::db::now_ms();
    // Last heard of three minutes ago, and ten seconds ago.
    for heartbeat in [now - 180_000, now - 10_000] {
        sqlx::query(
            "INSERT INTO email_imports (channel_id, source, state, created_at, heartbeat_at) \
             VALUES ($1, 'mbox', 'running', $2, $2)",
        )
        .bind(cid)
        .bind(heartbeat)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    }
    app::channels::email::import::sweep_interrupted(&app.state.db, now)
        .await
        .unwrap();
    let (status, list) = send(admin.get(app.url(&format!("/api/v1/channels/{cid}/imports")))).await;
    assert_eq!(status, 200, "{list}");
    let imports = list["imports"].as_array().unwrap();
    let states: Vec<_> = imports.iter().map(|i| i["state"].clone()).collect();
    assert_eq!(states.len(), 2, "{list}");
    let stopped = imports
        .iter()
        .find(|i| i["state"] == "failed")
        .expect("one swept");
    assert_eq!(stopped["error"], app::channels::email::import::INTERRUPTED);
    assert_eq!(
        states.iter().filter(|s| **s == "running").count(),
        1,
        "{list}"
    );
}

/// Two different messages under one Message-ID (some mailers reuse one)
/// both become tickets; delivering either again, even through another
/// relay, adds nothing.
async fn reused_message_ids(app: TestApp) {
    let sink = SmtpSink::start();
    let admin = app.admin().await;
    connect(&app, &admin, sink.port, None).await;
    let smtp = app.smtp.unwrap();
    let msg = |subject: &str, body: &str, relay: &str| {
        email(
            &[
                ("Received", relay),
                ("From", "ida@c.test"),
                ("To", SUPPORT),
                ("Subject", subject),
                ("Message-ID", "<reused@c.test>"),
            ],
            body,
        )
    };
    let first = msg("Printer on fire", "Smoke everywhere", "from relay-a");
    let second = msg("Invoice question", "Why two invoices?", "from relay-a");
    for raw in [&first, &second] {
        assert_eq!(deliver(smtp, "ida@c.test", &[SUPPORT], raw).await, Ok(250));
    }
    // Again, one through another relay.
    let second_again = msg("Invoice question", "Why two invoices?", "from relay-b");
    for raw in [&second_again, &first] {
        assert_eq!(deliver(smtp, "ida@c.test", &[SUPPORT], raw).await, Ok(250));
    }

    let all = tickets(&app, &admin).await;
    assert_eq!(all.len(), 2, "{all:?}");
    for subject in ["Printer on fire", "Invoice question"] {
        let ticket = ticket_by_subject(&app, &admin, subject).await;
        let entries = thread(&app, &admin, ticket["id"].as_i64().unwrap()).await;
        let inbound = entries.iter().filter(|e| e["kind"] == "inbound").count();
        assert_eq!(inbound, 1, "{subject}: {entries:?}");
    }
    assert!(quarantined(&app, &admin).await.is_empty());
}

/// An attachment over the size limit is left off the ticket, and the whole
/// email, that attachment included, is in the quarantine (written with the
/// entry, in one transaction).
async fn oversized_attachments(app: TestApp) {
    let sink = SmtpSink::start();
    let admin = app.admin().await;
    connect(&app, &admin, sink.port, None).await;
    let smtp = app.smtp.unwrap();
    let big = "QUJD".repeat(1_000); // 3,000 bytes decoded
    let raw = format!(
        "From: ida@c.test\r\nTo: {SUPPORT}\r\nSubject: Logs attached\r\nMessage-ID: <logs@c.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nHere are the logs.\r\n\
         --b\r\nContent-Type: text/plain; name=\"small.txt\"\r\nContent-Disposition: attachment; filename=\"small.txt\"\r\n\r\nsmall\r\n\
         --b\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{big}\r\n--b--\r\n"
    );
    assert_eq!(
        deliver(smtp, "ida@c.test", &[SUPPORT], raw.as_bytes()).await,
        Ok(250)
    );
    let t = ticket_by_subject(&app, &admin, "Logs attached").await;
    let entries = thread(&app, &admin, t["id"].as_i64().unwrap()).await;
    let inbound = entries.iter().find(|e| e["kind"] == "inbound").unwrap();
    let names: Vec<&str> = inbound["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["small.txt"], "{inbound}");

    let q = quarantined(&app, &admin).await;
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0]["category"], "attachment_too_large");
    assert!(
        q[0]["reason"].as_str().unwrap().contains("big.bin"),
        "{}",
        q[0]
    );
    let res = admin
        .get(app.url(&format!("/api/v1/email-quarantine/{}/raw", q[0]["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains(&big));
}

/// Two admins saving different fields of one channel at the same time:
/// both changes are kept.
async fn concurrent_channel_edits(app: TestApp) {
    let sink = SmtpSink::start();
    let admin = app.admin().await;
    let channel = connect(&app, &admin, sink.port, None).await;
    let url = app.url(&format!("/api/v1/channels/{}", channel["id"]));
    for round in 0..15 {
        let name = format!("Support {round}");
        let signature = format!("Signature {round}");
        let (a, b) = tokio::join!(
            send(admin.patch(&url).json(&json!({ "name": name }))),
            send(admin.patch(&url).json(&json!({ "signature": signature }))),
        );
        assert_eq!((a.0, b.0), (200, 200), "{} {}", a.1, b.1);
        let (_, now) = send(admin.get(&url)).await;
        assert_eq!(
            (now["name"].as_str(), now["signature"].as_str()),
            (Some(name.as_str()), Some(signature.as_str())),
            "round {round}"
        );
    }
}

/// A certificate and key for `localhost`, made with the openssl command.
fn self_signed_certificate(dir: &std::path::Path) -> (String, String) {
    let cert = dir.join("cert.pem").display().to_string();
    let key = dir.join("key.pem").display().to_string();
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .args(["-keyout", &key, "-out", &cert])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run openssl");
    assert!(made.success(), "openssl could not make a certificate");
    (cert, key)
}

/// With a certificate configured the listener offers STARTTLS, a client
/// that insists on it delivers over TLS, and the mail becomes a ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_delivery() {
    use lettre::transport::smtp::client::{Tls, TlsParameters};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let certs = tempfile::tempdir().unwrap();
    let tls_files = self_signed_certificate(certs.path());
    let app = spawn(Backend::Sqlite, |c| c.smtp_tls = Some(tls_files)).await;
    let admin = app.admin().await;
    connect(&app, &admin, free_port(), None).await;
    let smtp = app.smtp.unwrap();
    let tls = TlsParameters::builder("localhost".into())
        .dangerous_accept_invalid_certs(true)
        .build_rustls()
        .unwrap();
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(smtp.port())
        .tls(Tls::Required(tls))
        .timeout(Some(Duration::from_secs(20)))
        .build();
    let envelope = lettre::address::Envelope::new(
        Some("tls@c.test".parse().unwrap()),
        vec![SUPPORT.parse().unwrap()],
    )
    .unwrap();
    let m = email(
        &[
            ("From", "tls@c.test"),
            ("To", SUPPORT),
            ("Subject", "over TLS"),
            ("Message-ID", "<tls1@c.test>"),
        ],
        "sent encrypted",
    );
    let answer = transport
        .send_raw(&envelope, &m)
        .await
        .expect("STARTTLS delivery");
    assert_eq!(u16::from(answer.code()), 250);
    let ticket = ticket_by_subject(&app, &admin, "over TLS").await;
    assert_eq!(ticket["contact_email"], "tls@c.test");
}
