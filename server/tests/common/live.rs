//! Helpers for the live-event tests: a real websocket client, and the real
//! `ayuda` binary run as a separate process (for restarts and for several
//! instances sharing one PostgreSQL database).

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for an event that should come.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct LiveClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The close frame's code, once the server closed.
    pub closed_with: Option<u16>,
}

impl LiveClient {
    /// Connects to `base` (`http://host:port`) with a Bearer token.
    pub async fn connect(base: &str, token: &str, since: Option<i64>) -> LiveClient {
        Self::try_connect(base, Some(token), since)
            .await
            .expect("websocket upgrade")
    }

    pub async fn try_connect(
        base: &str,
        token: Option<&str>,
        since: Option<i64>,
    ) -> Result<LiveClient, tokio_tungstenite::tungstenite::Error> {
        let mut url = format!("{}/api/v1/events", base.replacen("http", "ws", 1));
        if let Some(s) = since {
            url.push_str(&format!("?since={s}"));
        }
        let mut request = url.into_client_request()?;
        if let Some(token) = token {
            request.headers_mut().insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(LiveClient {
            ws,
            closed_with: None,
        })
    }

    /// Connects with a tiny socket receive buffer, and then reads nothing
    /// until asked: a client on a bad network or a frozen tab.
    pub async fn connect_slow(base: &str, token: &str) -> LiveClient {
        let addr = base.trim_start_matches("http://").to_string();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(2048).unwrap();
        let stream = socket.connect(addr.parse().unwrap()).await.unwrap();
        let mut request = format!("ws://{addr}/api/v1/events")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        let (ws, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
            .await
            .expect("websocket upgrade");
        LiveClient {
            ws,
            closed_with: None,
        }
    }

    /// The next JSON message, or None when the server closed or nothing
    /// came within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(wait, self.ws.next()).await.ok()??;
            match frame {
                Ok(Message::Text(text)) => {
                    return Some(serde_json::from_str(&text).expect("JSON event"))
                }
                Ok(Message::Close(frame)) => {
                    self.closed_with = frame.map(|f| u16::from(f.code));
                    return None;
                }
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    pub async fn next(&mut self) -> Value {
        self.next_within(PATIENCE)
            .await
            .expect("an event within the time allowed")
    }

    /// Messages up to and including `ready`; returns the logged events
    /// among them (those with a seq) and the ready seq.
    pub async fn until_ready(&mut self) -> (Vec<Value>, i64) {
        let (events, ready) = self.until_ready_data().await;
        (events, ready["seq"].as_i64().unwrap())
    }

    /// As [`until_ready`](Self::until_ready), with the whole `data` of
    /// `ready` (its `seq` and `gap`).
    pub async fn until_ready_data(&mut self) -> (Vec<Value>, Value) {
        let mut events = Vec::new();
        loop {
            let m = self.next().await;
            if m["type"] == "ready" {
                return (events, m["data"].clone());
            }
            if !m["seq"].is_null() {
                events.push(m);
            }
        }
    }

    /// The next logged event (with a seq), skipping counts and presence.
    pub async fn next_event(&mut self) -> Value {
        loop {
            let m = self.next().await;
            if !m["seq"].is_null() {
                return m;
            }
        }
    }

    /// The next message of this type.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let m = self.next().await;
            if m["type"] == kind {
                return m;
            }
        }
    }

    /// The first presence message for `ticket_id` that `wanted` accepts.
    ///
    /// Presence messages are snapshots of a ticket's viewers, and a client
    /// only ever shows the latest, so a test waits for the state it expects
    /// rather than for "the next one": a refresh that restates the previous
    /// state may come first when the machine is loaded. Fails with every
    /// presence seen when the expected one does not come in time.
    pub async fn presence_where(
        &mut self,
        ticket_id: i64,
        wanted: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(m) = self.next_within(left).await else {
                panic!("no presence for ticket {ticket_id} as expected; saw {seen:?}");
            };
            if m["type"] != "presence" || m["ticket_id"] != ticket_id {
                continue;
            }
            if wanted(&m["data"]["viewers"]) {
                return m;
            }
            seen.push(m);
        }
    }

    /// Every logged event arriving within `wait` (for "nothing else comes").
    pub async fn events_within(&mut self, wait: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + wait;
        while let Some(m) = self
            .next_within(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            if !m["seq"].is_null() {
                out.push(m);
            }
        }
        out
    }

    pub async fn send_presence(&mut self, ticket_id: Option<i64>, typing: Option<&str>) {
        let text =
            json!({"type": "presence", "ticket_id": ticket_id, "typing": typing}).to_string();
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send presence");
    }
}

/// The `ayuda` binary running as its own process.
pub struct ServerProcess {
    child: Child,
    pub base: String,
}

impl ServerProcess {
    /// Starts the binary on a free port against `database_url` and waits
    /// until it answers.
    pub async fn start(database_url: &str) -> ServerProcess {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        // Waited for in `kill`, which `Drop` calls.
        #[allow(clippy::zombie_processes)]
        let child = Command::new(env!("CARGO_BIN_EXE_ayuda"))
            .env("DATABASE_URL", database_url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("AYUDA_ADMIN_EMAIL", super::ADMIN_EMAIL)
            .env("AYUDA_ADMIN_PASSWORD", super::ADMIN_PASSWORD)
            .env("AYUDA_DEMO", "0")
            // Instances of one install share the key that seals channel
            // passwords; each process takes its own free SMTP port.
            .env(
                "AYUDA_SECRET_KEY",
                "dGVzdC1vbmx5LWtleS10ZXN0LW9ubHkta2V5LXRlc3Q=",
            )
            .env("AYUDA_SMTP_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the ayuda binary");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(res) = client.get(format!("{base}/api/v1/me")).send().await {
                if res.status() == 401 {
                    return ServerProcess { child, base };
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut process = ServerProcess { child, base };
        process.kill();
        panic!("the ayuda binary did not start on port {port}");
    }

    /// Kills the process outright (a crash, not a clean stop).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Signs in as `email` on `base` and returns a personal API token.
pub async fn token(base: &str, email: &str, password: &str) -> String {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let res = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "sign in as {email}");
    let res = client
        .post(format!("{base}/api/v1/tokens"))
        .json(&json!({"name": "live test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    body["token"].as_str().unwrap().to_string()
}

/// A JSON API call with a Bearer token; returns (status, body).
pub async fn call(method: &str, url: String, token: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut req = client
        .request(method.parse().unwrap(), url)
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    super::send(req).await
}
