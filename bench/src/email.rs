//! Email channel figures: durable inbound messages per second through the
//! SMTP listener and through IMAP polling, and the time to import a
//! 10,000-message mbox file. Run against a server started with its SMTP
//! listener on (`--smtp`) and, for IMAP, a Dovecot (`--imap HOST:PORT`,
//! any user, password `test-password`, as `scripts/mail-test-servers.sh`
//! starts it).

use crate::Report;
use lettre::address::Envelope;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use std::time::{Duration, Instant};

fn message(i: usize, to: &str, tag: &str) -> Vec<u8> {
    format!(
        "From: Customer {i} <c{i}@{tag}.bench>\r\nTo: {to}\r\nSubject: Bench {tag} {i}\r\n\
         Message-ID: <{tag}-{i}@bench.example>\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Hello, this is message {i}. My order arrived damaged and I would like a replacement.\r\n"
    )
    .into_bytes()
}

async fn connect_channel(
    client: &reqwest::Client,
    base: &str,
    address: &str,
    imap: Option<serde_json::Value>,
) -> i64 {
    let mut body = serde_json::json!({
        "kind": "email", "name": address, "address": address,
        "outbound": {"host": "127.0.0.1", "port": 9, "security": "none"}
    });
    if let Some(i) = imap {
        body["imap"] = i;
    }
    let res = client
        .post(format!("{base}/api/v1/channels"))
        .json(&body)
        .send()
        .await
        .expect("connect channel");
    let status = res.status();
    let v: serde_json::Value = res.json().await.unwrap_or_default();
    assert!(status.is_success(), "connect channel: {status} {v}");
    v["id"].as_i64().unwrap()
}

async fn ticket_count(db: &app::db::Db) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM tickets")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

/// One SMTP session to the listener, as a sending MTA opens it.
///
/// Not lettre's pooled transport: it writes a message's text and its final
/// `.` in two writes on a socket with Nagle's algorithm on, so every
/// message waited out the listener's delayed ACK (40 ms) before the `.`
/// left. The figure then measured that wait: 16 senders got 330 msg/s
/// while the machine sat three-quarters idle. Sending MTAs (Postfix, Exim)
/// write the end of the data with its last line; `TCP_NODELAY` gives the
/// same timing here.
async fn smtp_connection(addr: &str) -> AsyncSmtpConnection {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the SMTP listener");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    AsyncSmtpConnection::connect_with_transport(
        Box::new(stream),
        &ClientId::Domain("bench.example".into()),
    )
    .await
    .expect("SMTP greeting")
}

/// How often one message is retried after a transient (4xx) refusal
/// before the bench gives up on the run.
const SMTP_RETRIES: usize = 5;

pub async fn measure(
    admin: &reqwest::Client,
    base: &str,
    db: &app::db::Db,
    smtp: Option<String>,
    imap: Option<String>,
    r: &mut Report,
) {
    let run = std::process::id();
    if let Some(smtp) = smtp {
        let address = format!("smtp{run}@bench.example");
        connect_channel(admin, base, &address, None).await;
        let total = 4000usize;
        let senders = 16usize;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for s in 0..senders {
            let smtp = smtp.clone();
            let address = address.clone();
            tasks.push(tokio::spawn(async move {
                let mut deferred = 0usize;
                let mut connection = None;
                for i in (s..total).step_by(senders) {
                    let env = Envelope::new(
                        Some(format!("c{i}@smtp.bench").parse().unwrap()),
                        vec![address.parse().unwrap()],
                    )
                    .unwrap();
                    let raw = message(i, &address, &format!("smtp{run}"));
                    // A 4xx reply means "try again later": a sending MTA
                    // retries, so the bench does too, and counts it.
                    let mut attempt = 0;
                    loop {
                        let conn = match &mut connection {
                            Some(conn) => conn,
                            None => connection.insert(smtp_connection(&smtp).await),
                        };
                        match conn.send(&env, &raw).await {
                            Ok(_) => break,
                            Err(e) if e.is_transient() && attempt < SMTP_RETRIES => {
                                attempt += 1;
                                deferred += 1;
                                // The listener closes the session after a
                                // refusal; the retry comes on a new one.
                                connection = None;
                                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                            }
                            Err(e) => panic!("SMTP send: {e}"),
                        }
                    }
                }
                deferred
            }));
        }
        let mut deferred = 0;
        for t in tasks {
            deferred += t.await.unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        r.add(
            "email: durable inbound via SMTP (16 senders)",
            total as f64 / secs,
            "msg/s",
            None,
            None,
        );
        r.add(
            "email: SMTP deliveries deferred (4xx, retried)",
            deferred as f64,
            "replies",
            Some(("<=", 0.0)),
            None,
        );
    }
    if let Some(imap) = imap {
        let (host, port) = imap.rsplit_once(':').expect("--imap HOST:PORT");
        let port: u16 = port.parse().expect("port");
        let mailboxes = 4usize;
        let per_box = 500usize;
        let mut ids = Vec::new();
        let mut sessions = Vec::new();
        for m in 0..mailboxes {
            let user = format!("bench{run}x{m}");
            let address = format!("imap{run}x{m}@bench.example");
            ids.push(
                connect_channel(
                    admin,
                    base,
                    &address,
                    Some(serde_json::json!({"host": host, "port": port, "security": "none", "username": user, "password": "test-password"})),
                )
                .await,
            );
            let conn = app::channels::service::ServerConnection {
                host: host.to_string(),
                port,
                security: app::channels::Security::None,
                username: Some(user),
                password: Some("test-password".into()),
                folder: "INBOX".into(),
            };
            sessions.push((
                app::channels::email::imap::connect(&conn)
                    .await
                    .expect("IMAP"),
                address,
            ));
        }
        // Wait for every poller to be connected (existing mail is skipped).
        for id in &ids {
            loop {
                let v: serde_json::Value = admin
                    .get(format!("{base}/api/v1/channels/{id}"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if v["imap_status"] == "ok" {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let before = ticket_count(db).await;
        // Time from the first APPEND to the last ticket: the pollers fetch
        // all four mailboxes at once while they fill. The APPENDs are in
        // the time, so this is a lower bound of the intake rate.
        let start = Instant::now();
        for (m, (session, address)) in sessions.iter_mut().enumerate() {
            for i in 0..per_box {
                session
                    .append(
                        "INBOX",
                        None,
                        None,
                        message(m * per_box + i, address, &format!("imap{run}")),
                    )
                    .await
                    .expect("APPEND");
            }
        }
        let want = before + (mailboxes * per_box) as i64;
        while ticket_count(db).await < want {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let secs = start.elapsed().as_secs_f64();
        r.add(
            "email: durable inbound via IMAP (4 mailboxes, first APPEND to last ticket)",
            (mailboxes * per_box) as f64 / secs.max(0.001),
            "msg/s",
            None,
            None,
        );
    }
    // 10,000 messages: 5,000 threads of a question and our answer.
    let address = format!("mbox{run}@bench.example");
    let cid = connect_channel(admin, base, &address, None).await;
    let mut mbox = String::with_capacity(10_000 * 400);
    for t in 0..5000 {
        mbox.push_str(&format!(
            "From c{t}@mbox.bench Mon Nov  2 09:00:00 2026\nFrom: c{t}@mbox.bench\nTo: {address}\nSubject: Old thread {t}\n\
             Message-ID: <mq{run}-{t}@mbox.bench>\nDate: Mon, 2 Nov 2026 09:00:00 +0000\n\nMy question number {t}.\n\n"
        ));
        mbox.push_str(&format!(
            "From {address} Mon Nov  2 10:00:00 2026\nFrom: {address}\nTo: c{t}@mbox.bench\nSubject: Re: Old thread {t}\n\
             Message-ID: <ma{run}-{t}@bench.example>\nIn-Reply-To: <mq{run}-{t}@mbox.bench>\nDate: Mon, 2 Nov 2026 10:00:00 +0000\n\nOur answer {t}.\n\n"
        ));
    }
    let start = Instant::now();
    let res = admin
        .post(format!("{base}/api/v1/channels/{cid}/imports/mbox"))
        .header("content-type", "application/mbox")
        .body(mbox)
        .send()
        .await
        .expect("upload");
    let import: serde_json::Value = res.json().await.unwrap();
    loop {
        let v: serde_json::Value = admin
            .get(format!("{base}/api/v1/imports/{}", import["id"]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["state"] != "running" {
            assert_eq!(v["state"], "done", "{v}");
            assert_eq!(v["imported"], 10_000, "{v}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    r.add(
        "email: 10,000-message mbox import",
        start.elapsed().as_secs_f64(),
        "s",
        None,
        None,
    );
}
