//! Test harness: every test starts the real server on an ephemeral port
//! against a fresh, migrated database — a new SQLite file, or a new
//! database on the PostgreSQL server named by `AYUDA_TEST_PG_URL`
//! (`make test` starts a throwaway one).

#![allow(dead_code)]

pub mod live;
pub mod mail;

use app::access::AccessScope;
use app::db::Db;
use app::state::{AppState, Config};
use app::users::{NewUser, Role, User};
use reqwest::header::{HeaderMap, HeaderValue, ORIGIN};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const ADMIN_EMAIL: &str = "admin@test.example";
pub const ADMIN_PASSWORD: &str = "admin-password";

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    /// The SMTP listener, when the test asked for one.
    pub smtp: Option<std::net::SocketAddr>,
    pub state: AppState,
    pub backend: Backend,
    _dir: tempfile::TempDir,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub async fn database_url(backend: Backend, dir: &tempfile::TempDir) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}/ayuda.db", dir.path().display()),
        Backend::Postgres => {
            let admin_url = std::env::var("AYUDA_TEST_PG_URL").expect(
                "PostgreSQL tests need AYUDA_TEST_PG_URL (postgres://user@host:port/db); `make test` starts a server and sets it",
            );
            let name = format!(
                "ayuda_test_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_micros()
            );
            let admin = Db::connect(&admin_url)
                .await
                .expect("connect to AYUDA_TEST_PG_URL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(admin.pool())
                .await
                .expect("create test database");
            admin.close().await;
            let (base, query) = match admin_url.split_once('?') {
                Some((b, q)) => (b.to_string(), format!("?{q}")),
                None => (admin_url.clone(), String::new()),
            };
            let (server, _) = base.rsplit_once('/').expect("database URL has a path");
            format!("{server}/{name}{query}")
        }
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, Config::default()).await
    }

    pub async fn spawn_with(backend: Backend, config: Config) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = database_url(backend, &dir).await;
        let state = server::prepare(&url, config, server::leptos_options())
            .await
            .expect("prepare app");
        app::demo::ensure_admin(&state.db, ADMIN_EMAIL, Some(ADMIN_PASSWORD))
            .await
            .expect("admin");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let running = server::spawn(listener, state.clone()).await;
        TestApp {
            base: format!("http://{}", running.addr),
            smtp: running.smtp_addr,
            state,
            backend,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A client with a cookie jar that sends our own Origin, like a browser
    /// on the workspace page.
    pub fn browser(&self) -> reqwest::Client {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(&self.base).unwrap());
        reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// A browser-like client signed in over the REST API.
    pub async fn signed_in(&self, email: &str, password: &str) -> reqwest::Client {
        let client = self.browser();
        let res = client
            .post(self.url("/api/v1/session"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            200,
            "sign in as {email}: {}",
            res.text().await.unwrap()
        );
        client
    }

    pub async fn admin(&self) -> reqwest::Client {
        self.signed_in(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates a user directly through the service layer.
    pub async fn user(&self, name: &str, role: Role) -> User {
        self.user_with_access(name, role, AccessScope::All, true)
            .await
    }

    /// A user whose ticket access is `access` (plus unassigned tickets when
    /// `include_unassigned`), with password `password-123`.
    pub async fn user_with_access(
        &self,
        name: &str,
        role: Role,
        access: AccessScope,
        include_unassigned: bool,
    ) -> User {
        let email = format!("{}@test.example", name.to_lowercase().replace(' ', "."));
        app::users::service::create_unchecked(
            &self.state.db,
            NewUser {
                email,
                name: name.into(),
                password: Some("password-123".into()),
                role,
                team_ids: vec![],
                access,
                include_unassigned,
                teams: Vec::new(),
            },
        )
        .await
        .unwrap()
    }

    pub async fn signed_in_as(&self, user: &User) -> reqwest::Client {
        self.signed_in(&user.email, "password-123").await
    }

    pub async fn count(&self, table: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(self.state.db.pool())
            .await
            .unwrap()
            .try_get("n")
            .unwrap()
    }
}

/// A view's count as `client` sees it in the views list (`GET /api/v1/views`).
pub async fn view_count(app: &TestApp, client: &reqwest::Client, view: &str) -> i64 {
    let (status, list) = send(client.get(app.url("/api/v1/views"))).await;
    assert_eq!(status, 200, "{list}");
    list["views"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == view)
        .unwrap_or_else(|| panic!("no view {view} in {list}"))["count"]
        .as_i64()
        .unwrap()
}

/// Changes a ticket through `PATCH /api/v1/tickets/{id}` and returns it;
/// the change must succeed.
pub async fn patch_ticket(
    app: &TestApp,
    client: &reqwest::Client,
    id: &Value,
    patch: Value,
) -> Value {
    let (status, ticket) = send(
        client
            .patch(app.url(&format!("/api/v1/tickets/{id}")))
            .json(&patch),
    )
    .await;
    assert_eq!(status, 200, "{patch}: {ticket}");
    ticket
}

/// Sends a JSON request and returns (status, body).
pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// Polls `f` until it gives a value (20 s at most): for work the server
/// does in the background (routing, inbound mail, SLA timers).
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Runs one async test body against SQLite and against PostgreSQL, each in
/// a module named after it (`cargo test <name>` runs both). The app is
/// `TestApp::spawn`'s, or with `spawned_by <f>:` the one the test file's
/// own `async fn f(Backend) -> TestApp` makes (a listener, a setting).
#[macro_export]
macro_rules! on_both_databases {
    (spawned_by $spawn:ident: $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(super::$spawn($crate::common::Backend::Sqlite).await).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(super::$spawn($crate::common::Backend::Postgres).await).await;
                }
            }
        )*
    };
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::TestApp::spawn($crate::common::Backend::Sqlite).await).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::common::TestApp::spawn($crate::common::Backend::Postgres).await).await;
                }
            }
        )*
    };
}
