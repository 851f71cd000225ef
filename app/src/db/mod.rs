//! Database access shared by every service: the pool, migrations, write
//! transactions and a small builder for dynamic SQL.
//!
//! Ayuda runs on an embedded SQLite file by default and on PostgreSQL for
//! larger installs. Both go through sqlx's `Any` driver with one set of SQL
//! statements: placeholders are written `$1, $2, ...` (SQLite accepts them
//! too), integers are 64-bit and timestamps are epoch milliseconds.

mod group_commit;

use crate::error::AppError;
use crate::events::log::PendingEvent;
pub use group_commit::WriteTurn;
use group_commit::{GroupWriter, Member};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row, Transaction};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// A connection pool plus what the services need to know about it.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    kind: DbKind,
    /// Where write transactions run on SQLite (`None` on PostgreSQL, where
    /// they run on the pool): one connection, whose transactions queue
    /// for it in-process and share their commits (see [`group_commit`]).
    ///
    /// On a SQLite file it is a pool of its own of one connection with a
    /// large page cache: SQLite drops a connection's whole cache when it
    /// sees that another connection committed, so writes spread over the
    /// read pool re-read every index page they touch (about a hundred
    /// reads per new ticket at a million tickets). One connection that
    /// does all the writing keeps them cached. In memory it comes from the
    /// read pool. SQLite allows one writer at a time anyway (it is
    /// single-process by design), and queueing in-process costs no
    /// concurrency.
    sqlite_writer: Option<GroupWriter>,
    /// Held only by `Db` clones: the WAL checkpointer stops once the last
    /// clone is gone.
    _alive: Arc<()>,
    /// Signalled after every commit that wrote events, so this process's
    /// event hub reads them at once instead of at its next poll.
    committed: Arc<Notify>,
    /// How many transactions that wrote events this process has committed.
    /// The event hub notes how far it has read, so a reader can tell
    /// whether the hub's copy of the counts already includes its own
    /// writes (see `EventHub::current_buckets`).
    commits: Arc<AtomicU64>,
    /// The URL it was opened with: the event hub opens its own PostgreSQL
    /// LISTEN connection from it. Never logged (it may hold a password).
    url: Arc<str>,
}

/// A write transaction. On SQLite it holds the write turn until it
/// commits or is dropped.
pub struct WriteTx {
    body: TxBody,
    /// Events to write just before commit (see [`crate::events::log`]).
    events: Vec<PendingEvent>,
    committed: Arc<Notify>,
    commits: Arc<AtomicU64>,
    kind: DbKind,
}

/// Where a write transaction's statements go.
enum TxBody {
    /// PostgreSQL: a transaction of its own on a pool connection.
    Own(Transaction<'static, Any>),
    /// SQLite: a member of the writer's open group (see [`group_commit`]).
    Member(Member),
}

impl WriteTx {
    pub fn conn(&mut self) -> &mut AnyConnection {
        match &mut self.body {
            TxBody::Own(tx) => tx,
            TxBody::Member(member) => member.conn(),
        }
    }

    /// Which database this transaction runs on (for the few statements
    /// that differ, such as row locks).
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// What ends a `SELECT` of rows this transaction reads to change
    /// (" FOR UPDATE" on PostgreSQL): a concurrent transaction then waits
    /// instead of changing them under it. Nothing on SQLite, where a write
    /// transaction already holds the only write turn.
    pub fn row_lock(&self) -> &'static str {
        match self.kind {
            DbKind::Postgres => " FOR UPDATE",
            DbKind::Sqlite => "",
        }
    }

    /// Records an event; it is written with the transaction's last
    /// statements and published only once the transaction has committed.
    pub fn event(&mut self, event: PendingEvent) {
        self.events.push(event);
    }

    /// Returns once the transaction is durable (on SQLite, with the group
    /// it committed with).
    pub async fn commit(mut self) -> Result<(), AppError> {
        let events = std::mem::take(&mut self.events);
        let wrote_events = !events.is_empty();
        if wrote_events {
            crate::events::log::write_pending(self.conn(), &events).await?;
        }
        match self.body {
            TxBody::Own(tx) => {
                tx.commit().await?;
                if wrote_events {
                    self.commits.fetch_add(1, Ordering::AcqRel);
                    self.committed.notify_one();
                }
                Ok(())
            }
            // The group counts and signals its members' events.
            TxBody::Member(member) => member.commit(wrote_events).await,
        }
    }
}

impl Db {
    /// Connects to `url` (`sqlite://path` or `postgres://...`). A SQLite file
    /// and its folder are created when missing.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let kind = if url.starts_with("sqlite:") {
            DbKind::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            DbKind::Postgres
        } else {
            return Err(sqlx::Error::Configuration(
                "DATABASE_URL must start with sqlite:// or postgres://".into(),
            ));
        };
        let mut url = url.to_string();
        if kind == DbKind::Sqlite {
            if let Some(path) = sqlite_path(&url) {
                if let Some(dir) = std::path::Path::new(&path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
                    }
                }
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
        }
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = pool_options(kind, if kind == DbKind::Sqlite { 8 } else { 16 }, "")
            .connect_with(options.clone())
            .await?;
        let alive = Arc::new(());
        let committed = Arc::new(Notify::new());
        let commits = Arc::new(AtomicU64::new(0));
        let sqlite_writer = match kind {
            DbKind::Sqlite if sqlite_path(&url).is_some() => {
                let writer_pool = pool_options(kind, 1, WRITER_PRAGMAS)
                    .connect_with(options)
                    .await?;
                let writer = GroupWriter::new(writer_pool, committed.clone(), commits.clone());
                tokio::spawn(checkpoint_wal(
                    pool.clone(),
                    writer.clone(),
                    Arc::downgrade(&alive),
                ));
                Some(writer)
            }
            DbKind::Sqlite => Some(GroupWriter::new(
                pool.clone(),
                committed.clone(),
                commits.clone(),
            )),
            DbKind::Postgres => None,
        };
        if let Some(writer) = &sqlite_writer {
            // An already migrated file; a new one is told by `migrate`.
            let indexes_at_commit = sqlx::query(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_pending'",
            )
            .fetch_optional(&pool)
            .await?
            .is_some();
            writer.set_index_at_commit(indexes_at_commit);
        }
        Ok(Db {
            pool,
            sqlite_writer,
            kind,
            _alive: alive,
            committed,
            commits,
            url: url.into(),
        })
    }

    /// Applies the migrations of this database's dialect.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self.kind {
            DbKind::Sqlite => {
                sqlx::migrate!("../migrations/sqlite")
                    .run(&self.pool)
                    .await?;
                if let Some(writer) = &self.sqlite_writer {
                    writer.set_index_at_commit(true);
                }
                Ok(())
            }
            DbKind::Postgres => {
                sqlx::migrate!("../migrations/postgres")
                    .run(&self.pool)
                    .await
            }
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Starts a transaction that will write.
    pub async fn begin_write(&self) -> Result<WriteTx, AppError> {
        let body = match &self.sqlite_writer {
            Some(writer) => TxBody::Member(writer.begin().await?),
            None => TxBody::Own(self.pool.begin().await?),
        };
        Ok(WriteTx {
            body,
            events: Vec::new(),
            committed: self.committed.clone(),
            commits: self.commits.clone(),
            kind: self.kind,
        })
    }

    /// Waits for this process's turn to write (SQLite only; `None` on
    /// PostgreSQL), with the writer's open transactions committed. A
    /// single statement that writes outside [`Self::begin_write`] must
    /// hold it: SQLite's write lock is the writer's while its group is
    /// open, and the statement would wait for it (or fail) meanwhile.
    pub async fn write_turn(&self) -> Option<WriteTurn> {
        match &self.sqlite_writer {
            Some(writer) => Some(writer.turn().await),
            None => None,
        }
    }

    /// Notified after each commit that wrote events (one stored permit, so
    /// a commit between two waits is not missed).
    pub fn committed(&self) -> &Notify {
        &self.committed
    }

    /// How many transactions that wrote events this process has committed
    /// so far: read it before reading the log to know which of them the
    /// read includes.
    pub fn commit_count(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    /// SQLite: how many durable commits (fsyncs) this process's write
    /// transactions have shared so far; `None` on PostgreSQL.
    pub fn durable_commits(&self) -> Option<u64> {
        self.sqlite_writer
            .as_ref()
            .map(GroupWriter::groups_committed)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Copies every page of the SQLite WAL back into the database file and
    /// empties the WAL, so the file alone holds the whole database (a copy
    /// of it, or of a generated workspace, is then complete). Returns
    /// whether it got through the whole WAL within `patience`. Nothing to
    /// do on PostgreSQL or in memory.
    pub async fn checkpoint_all(&self, patience: Duration) -> Result<bool, sqlx::Error> {
        if self.kind != DbKind::Sqlite || sqlite_path(&self.url).is_none() {
            return Ok(true);
        }
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            // With the writers' open group committed, else it holds the
            // last frames back.
            let turn = self.write_turn().await;
            // One row: (busy, WAL frames, frames copied); busy = 1 when it
            // could not finish: `checkpoint_wal`'s passive checkpoint is
            // still copying (after a bulk load, gigabytes of WAL), or a
            // reader holds pages back beyond busy_timeout.
            let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.pool)
                .await?;
            drop(turn);
            if row.try_get::<i64, _>(0)? == 0 {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Folds the WAL into the file (see [`Self::checkpoint_all`]), then
    /// closes every connection. SQLite's own checkpoint on closing the
    /// last connection is not enough: connections closing at the same
    /// moment can each see another still open, and then none of them
    /// folds the WAL back.
    pub async fn close(&self) {
        match self.checkpoint_all(CLOSE_CHECKPOINT_PATIENCE).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("closing with part of the WAL still to copy back"),
            Err(e) => tracing::warn!(error = %e, "cannot copy the WAL back on closing"),
        }
        if let Some(writer) = &self.sqlite_writer {
            writer.close().await;
        }
        self.pool.close().await;
    }
}

/// The dedicated writer's page cache, in KiB (SQLite's negative
/// `cache_size`): enough for the interior and hot leaf pages of every
/// index a new ticket and its message touch at a million tickets.
///
/// When the WAL starts over, the writer trims its file to 64 MiB
/// (`journal_size_limit`), so a burst does not leave it large.
///
/// `temp_store = MEMORY` keeps the savepoint journals of group commit
/// (the pages a member changed, to undo it alone) in memory: otherwise
/// SQLite spills each past 64 KiB to a temporary file, and a new ticket
/// changes about 20 pages.
const WRITER_PRAGMAS: &str = "PRAGMA cache_size = -65536; PRAGMA journal_size_limit = 67108864; \
                              PRAGMA temp_store = MEMORY;";

/// How long closing waits to fold the WAL back: normally it holds a
/// quarter second of commits (see `checkpoint_wal`).
const CLOSE_CHECKPOINT_PATIENCE: Duration = Duration::from_secs(10);

/// WAL frames (pages of 4 KiB) beyond which `checkpoint_wal` holds the
/// writers for a moment to let the WAL start over: about 16 MiB, half a
/// second of steady ingest at a million tickets.
const RESTART_AFTER_FRAMES: i64 = 4096;

/// How long a SQLite statement waits for a lock another connection holds.
const BUSY_TIMEOUT_MS: u64 = 5000;

/// How long `restart_wal` waits for readers, writers held meanwhile.
const RESTART_PATIENCE_MS: u64 = 100;

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Pool settings shared by the read pool and the SQLite writer; `extra`
/// are further pragmas for the connections of this pool.
fn pool_options(kind: DbKind, connections: u32, extra: &'static str) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(10))
        // A ping before every use finds a PostgreSQL connection the server
        // dropped. A SQLite file cannot drop one, and there the ping is one
        // more round trip to the connection's worker thread per request.
        .test_before_acquire(kind == DbKind::Postgres)
        // sqlx also pings each connection given back, to drain what a
        // cancelled query left on a PostgreSQL socket. A SQLite worker runs
        // commands in order and has nothing to drain: there the ping only
        // cost a round trip per query (vendor/sqlx-core/AYUDA-PATCH.md).
        .test_on_release(kind == DbKind::Postgres)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if kind == DbKind::Sqlite {
                    // WAL lets readers proceed while one writer commits;
                    // foreign keys are off by default in SQLite. No
                    // connection checkpoints on commit (see
                    // `checkpoint_wal`); commits stay durable
                    // (synchronous = FULL, sqlx's default).
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                         PRAGMA wal_autocheckpoint = 0;",
                    )
                    .await?;
                    conn.execute(format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}").as_str())
                        .await?;
                    if !extra.is_empty() {
                        conn.execute(extra).await?;
                    }
                }
                Ok(())
            })
        })
}

/// Copies committed pages from the WAL back into the SQLite file, off the
/// write path, and keeps the WAL from growing without end. It stops when
/// the last `Db` clone is dropped.
///
/// SQLite's own automatic checkpoint runs inside the commit that crosses
/// 1,000 WAL pages, under the write lock: at a million tickets that is
/// tens of milliseconds of random writes and a second fsync every few
/// dozen new tickets, which every queued writer waits for. A passive
/// checkpoint here never blocks readers or the writer.
///
/// But SQLite starts writing the WAL from its beginning again only after
/// a checkpoint has copied *all* of it, and under a steady stream of
/// writes a passive pass never catches up with the frames appended while
/// it copies. The WAL then grew by every commit (gigabytes during a bulk
/// load), and each commit paid for extending the file: the kernel zeroes
/// the new blocks and every fsync also writes the file's new size. So
/// once the WAL holds [`RESTART_AFTER_FRAMES`], the next pass takes the
/// write turn and copies the rest (the frames of the last quarter second)
/// with writers held; the next commit then reuses the file from its
/// start, and `journal_size_limit` trims what a burst left behind.
async fn checkpoint_wal(pool: AnyPool, writer: GroupWriter, alive: std::sync::Weak<()>) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The WAL's length when it was last made ready to start over: it
    // keeps that length until the next commit starts it over, and an idle
    // server need not hold its writers every pass to be told so again.
    let mut ready_at = None;
    loop {
        tick.tick().await;
        if alive.strong_count() == 0 || pool.is_closed() {
            return;
        }
        // The pass copies every frame it saw, yet the writer has added
        // more meanwhile: only the WAL's size says whether to start over.
        match passive_checkpoint(&pool).await {
            Ok(frames) if frames >= RESTART_AFTER_FRAMES && ready_at != Some(frames) => {
                let _writers_held = writer.turn().await;
                match restart_wal(&pool).await {
                    Ok(true) => ready_at = Some(frames),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "WAL restart failed; retrying"),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; retrying"),
        }
    }
}

/// Runs a passive checkpoint; returns the WAL's length in frames.
async fn passive_checkpoint(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    // One row: (busy, WAL frames, frames now in the database file).
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await?
        .try_get(1)
}

/// Copies the rest of the WAL and waits for the readers still using it,
/// so that the next commit starts the WAL over; returns whether it got
/// that far. The caller holds the write turn. A reader may take long (a
/// full scan at start-up takes seconds), and writers wait meanwhile; after
/// [`RESTART_PATIENCE_MS`] this gives up and the next pass tries again.
async fn restart_wal(pool: &AnyPool) -> Result<bool, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    conn.execute(format!("PRAGMA busy_timeout = {RESTART_PATIENCE_MS}").as_str())
        .await?;
    // Its first column is 1 ("busy") when readers held on past the wait.
    let restarted = sqlx::query("PRAGMA wal_checkpoint(RESTART)")
        .fetch_one(&mut *conn)
        .await
        .and_then(|row| row.try_get::<i64, _>(0));
    if conn
        .execute(format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}").as_str())
        .await
        .is_err()
    {
        // Not returned to the pool with the short wait.
        drop(conn.detach());
    }
    Ok(restarted? == 0)
}

/// The file of a `sqlite:` URL; `None` for in-memory and other databases.
pub fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path.to_string())
    }
}

/// Now, in Unix epoch milliseconds.
/// The JSON text stored in a JSON column. The values are plain data
/// structures (no maps with non-string keys), which always serialise.
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises to JSON")
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A value bound into a dynamically built statement.
#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    Text(String),
    /// NULL in an integer column (PostgreSQL wants the parameter typed).
    NullInt,
    /// NULL in a text column.
    NullText,
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Arg::NullInt, Arg::Int)
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_string())
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Arg::NullText, |s| Arg::Text(s.to_string()))
    }
}

/// Builds SQL with numbered `$N` placeholders for filters chosen at run
/// time (views, list filters, patches), keeping every value a bound
/// parameter.
#[derive(Debug, Default)]
pub struct SqlBuilder {
    sql: String,
    args: Vec<Arg>,
}

impl SqlBuilder {
    pub fn new(sql: &str) -> Self {
        SqlBuilder {
            sql: sql.to_string(),
            args: Vec::new(),
        }
    }

    /// A statement whose placeholders `$1..$n` are already written in
    /// `sql` (one may appear several times), with their values.
    pub fn with_args(sql: &str, args: Vec<Arg>) -> Self {
        SqlBuilder {
            sql: sql.to_string(),
            args,
        }
    }

    /// Appends another builder's SQL and values, renumbering its
    /// placeholders to follow this one's.
    pub fn append(&mut self, other: &SqlBuilder) -> &mut Self {
        let offset = self.args.len();
        let mut chars = other.sql.chars().peekable();
        while let Some(c) = chars.next() {
            self.sql.push(c);
            if c != '$' {
                continue;
            }
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            match digits.parse::<usize>() {
                Ok(n) => self.sql.push_str(&(n + offset).to_string()),
                Err(_) => self.sql.push_str(&digits),
            }
        }
        self.args.extend(other.args.iter().cloned());
        self
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends the next placeholder and remembers its value.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.sql.push_str(&format!("${}", self.args.len()));
        self
    }

    pub fn bind_int(&mut self, v: i64) -> &mut Self {
        self.bind(Arg::Int(v))
    }

    /// Binds each value, comma-separated: the inside of an `IN (...)`.
    pub fn bind_ints(&mut self, values: &[i64]) -> &mut Self {
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind_int(*v);
        }
        self
    }

    pub fn bind_text(&mut self, v: impl Into<String>) -> &mut Self {
        self.bind(Arg::Text(v.into()))
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// How many values are bound so far: the number of the last placeholder.
    pub fn arg_count(&self) -> usize {
        self.args.len()
    }

    /// The same statement and values behind `prefix` (e.g. `EXPLAIN QUERY
    /// PLAN `, to check which indexes a query uses).
    pub fn with_prefix(&self, prefix: &str) -> SqlBuilder {
        SqlBuilder {
            sql: format!("{prefix}{}", self.sql),
            args: self.args.clone(),
        }
    }

    pub fn query(&self) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments<'_>> {
        let mut q = sqlx::query(&self.sql);
        for arg in &self.args {
            q = match arg {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
                Arg::NullInt => q.bind(None::<i64>),
                Arg::NullText => q.bind(None::<String>),
            };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_numbers_placeholders_in_order() {
        let mut b = SqlBuilder::new("SELECT 1 WHERE a = ");
        b.bind_int(1).push(" AND b = ").bind_text("x");
        assert_eq!(b.sql(), "SELECT 1 WHERE a = $1 AND b = $2");
    }

    #[test]
    fn int_lists_are_comma_separated_placeholders() {
        let mut b = SqlBuilder::new("x IN (");
        b.bind_ints(&[7, 8, 9])
            .push(") AND y IN (")
            .bind_ints(&[])
            .push(")");
        assert_eq!(b.sql(), "x IN ($1, $2, $3) AND y IN ()");
    }

    #[test]
    fn appended_builders_are_renumbered() {
        let mut a = SqlBuilder::with_args("x @@ q($1) AND y = q($1)", vec![Arg::Text("w".into())]);
        let mut b = SqlBuilder::default();
        b.push(" AND t = ")
            .bind_int(3)
            .push(" AND u IN (")
            .bind_int(4)
            .push(")");
        a.append(&b).push(" LIMIT ").bind_int(9);
        assert_eq!(
            a.sql(),
            "x @@ q($1) AND y = q($1) AND t = $2 AND u IN ($3) LIMIT $4"
        );
        assert_eq!(a.args.len(), 4);
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://data/ayuda.db").as_deref(),
            Some("data/ayuda.db")
        );
        assert_eq!(sqlite_path("sqlite:x.db?mode=rwc").as_deref(), Some("x.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}
