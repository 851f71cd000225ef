//! Live push measurements: the loopback websocket round trip of this
//! machine (a bare echo server, the floor for any push), and Ayuda's
//! commit-to-delivery latency with many connected clients.
//!
//! Commit-to-delivery is timed from the moment the mutating API request is
//! sent to the moment each client has the event, so it includes the request
//! itself: an upper bound on the time from commit to delivery.

use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// p50 and p99 (ms) of a websocket echo round trip on loopback.
pub async fn loopback_round_trip() -> (f64, f64) {
    use axum::extract::ws::{Message as AxumMessage, WebSocketUpgrade};
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(|ws: WebSocketUpgrade| async move {
            ws.on_upgrade(|mut socket| async move {
                while let Some(Ok(m)) = socket.recv().await {
                    if let AxumMessage::Text(t) = m {
                        if socket.send(AxumMessage::Text(t)).await.is_err() {
                            break;
                        }
                    }
                }
            })
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .expect("connect echo");
    let mut samples = Vec::with_capacity(2000);
    for i in 0..2000 {
        let t = Instant::now();
        ws.send(Message::Text(format!("{{\"n\":{i}}}").into()))
            .await
            .expect("send");
        let _ = ws.next().await;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    (
        crate::percentile(&samples, 0.5),
        crate::percentile(&samples, 0.99),
    )
}

/// What one round of pushes measured.
pub struct PushRound {
    pub connected: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    /// Expected deliveries that never came.
    pub lost: usize,
    /// Deliveries of the same mutation twice to one client.
    pub duplicated: usize,
    /// Server RSS growth per connected client, in KiB.
    pub rss_per_client_kib: Option<f64>,
    /// p99 of the mutating requests themselves (send to response), in ms:
    /// the write and its durable commit, before any push.
    pub request_p99: f64,
    /// p50 and p99 from the moment the mutating request was sent, in ms:
    /// the write's own time (its fsync) plus the push.
    pub from_send: (f64, f64),
}

/// One client's arrivals: (mutation number, when it arrived).
type Arrivals = Arc<Mutex<Vec<(usize, Instant)>>>;

/// Connects `clients` websocket clients, makes `mutations` changes to
/// `ticket_id` through the API at `rate` per second, and times each
/// change's `ticket.updated` at every client.
#[allow(clippy::too_many_arguments)]
pub async fn push_round(
    base: &str,
    token: &str,
    http: &reqwest::Client,
    ticket_id: i64,
    clients: usize,
    mutations: usize,
    rate: f64,
    pid: Option<u32>,
) -> PushRound {
    let rss_before = pid.and_then(crate::rss_kib);
    // Per client: (mutation, arrival). One list each, not one shared list:
    // a lock taken by a thousand readers at the same instant would be
    // measured as push latency.
    let arrivals: Vec<Arrivals> = (0..clients)
        .map(|_| Arc::new(Mutex::new(Vec::with_capacity(mutations))))
        .collect();
    let mut readers = Vec::with_capacity(clients);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<bool>(clients.max(1));
    let ws_base = base.replacen("http", "ws", 1);
    for c in 0..clients {
        let url = format!("{ws_base}/api/v1/events");
        let token = token.to_string();
        let arrivals = arrivals[c].clone();
        let ready = ready_tx.clone();
        readers.push(tokio::spawn(async move {
            let mut req = url.into_client_request().expect("request");
            req.headers_mut().insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
            );
            let config = WebSocketConfig::default()
                .read_buffer_size(4096)
                .write_buffer_size(0);
            let ws = tokio_tungstenite::connect_async_with_config(req, Some(config), false).await;
            let Ok((mut ws, _)) = ws else {
                let _ = ready.send(false).await;
                return;
            };
            let mut announced = false;
            while let Some(Ok(m)) = ws.next().await {
                let Message::Text(text) = m else { continue };
                if !announced && text.contains("\"ready\"") {
                    announced = true;
                    let _ = ready.send(true).await;
                    continue;
                }
                // Only this round's changes: "subject":"push <k>".
                if !text.contains("ticket.updated") {
                    continue;
                }
                let at = Instant::now();
                if let Some(k) = text
                    .split("\"push ")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .and_then(|k| k.parse::<usize>().ok())
                {
                    if k == usize::MAX {
                        break;
                    }
                    arrivals.lock().expect("lock").push((k, at));
                }
            }
        }));
        // Pace the connection storm a little so the accept queue keeps up.
        if c % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    drop(ready_tx);
    let mut connected = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while connected < clients {
        match tokio::time::timeout_at(deadline.into(), ready_rx.recv()).await {
            Ok(Some(true)) => connected += 1,
            Ok(Some(false)) => {}
            _ => break,
        }
        if ready_rx.is_closed() && ready_rx.is_empty() {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = pid.and_then(crate::rss_kib);

    let mut sent_at = Vec::with_capacity(mutations);
    // When each mutation's response arrived. The server answers after its
    // commit (and after reading the ticket back), so this is within a few
    // hundred microseconds after the commit: the start of the push.
    let mut answered_at = Vec::with_capacity(mutations);
    let mut request_ms = Vec::with_capacity(mutations);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    for k in 0..mutations {
        tokio::time::sleep_until((start + interval * k as u32).into()).await;
        let t = Instant::now();
        sent_at.push(t);
        let _ = http
            .patch(format!("{base}/api/v1/tickets/{ticket_id}"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "subject": format!("push {k}") }))
            .send()
            .await;
        answered_at.push(Instant::now());
        request_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    // Let the last ones arrive, then stop the readers.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for r in &readers {
        r.abort();
    }
    let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
    let mut lat = Vec::with_capacity(clients * mutations);
    let mut lat_from_send = Vec::with_capacity(clients * mutations);
    for (c, list) in arrivals.iter().enumerate() {
        for &(k, at) in list.lock().expect("lock").iter() {
            *seen.entry((c, k)).or_default() += 1;
            if let (Some(sent), Some(answered)) = (sent_at.get(k), answered_at.get(k)) {
                lat_from_send.push(at.duration_since(*sent).as_secs_f64() * 1000.0);
                // A delivery that beat the response counts as 0: it came
                // after the commit, which is all that is known.
                lat.push(at.saturating_duration_since(*answered).as_secs_f64() * 1000.0);
            }
        }
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    lat_from_send.sort_by(|a, b| a.total_cmp(b));
    request_ms.sort_by(|a, b| a.total_cmp(b));
    if std::env::var_os("AYUDA_BENCH_DEBUG").is_some() {
        // The slowest mutations, by their slowest delivery.
        let mut worst: Vec<(f64, usize)> = vec![(0.0, 0); mutations];
        for list in &arrivals {
            for &(k, at) in list.lock().expect("lock").iter() {
                if let (Some(t0), Some(w)) = (sent_at.get(k), worst.get_mut(k)) {
                    let ms = at.duration_since(*t0).as_secs_f64() * 1000.0;
                    if ms > w.0 {
                        *w = (ms, k);
                    }
                }
            }
        }
        worst.sort_by(|a, b| b.0.total_cmp(&a.0));
        eprintln!(
            "slowest mutations (last delivery ms, k): {:?}",
            &worst[..worst.len().min(8)]
        );
        eprintln!(
            "request ms p50 {:.2} p99 {:.2} max {:.2}",
            crate::percentile(&request_ms, 0.5),
            crate::percentile(&request_ms, 0.99),
            request_ms.last().copied().unwrap_or(0.0)
        );
    }
    let duplicated = seen.values().filter(|n| **n > 1).count();
    let lost = (connected * mutations).saturating_sub(seen.len());
    PushRound {
        connected,
        p50: crate::percentile(&lat, 0.5),
        p95: crate::percentile(&lat, 0.95),
        p99: crate::percentile(&lat, 0.99),
        lost,
        duplicated,
        rss_per_client_kib: match (rss_before, rss_after) {
            (Some(b), Some(a)) if connected > 0 => Some((a - b) / connected as f64),
            _ => None,
        },
        request_p99: crate::percentile(&request_ms, 0.99),
        from_send: (
            crate::percentile(&lat_from_send, 0.5),
            crate::percentile(&lat_from_send, 0.99),
        ),
    }
}
