//! Group commit for SQLite: concurrent write transactions share one
//! durable commit.
//!
//! SQLite has one writer at a time, and every commit waits for an fsync
//! (`synchronous = FULL`). One transaction per commit therefore caps the
//! whole server at the disk's fsync rate, with the CPU idle while it
//! waits: each new ticket from a busy channel queued behind the previous
//! one's fsync. PostgreSQL shares one WAL flush between transactions that
//! commit together; this does the same on SQLite's single writer
//! connection.
//!
//! How: the writer connection holds one outer transaction (`BEGIN
//! IMMEDIATE`) open while transactions queue for it. The transaction that
//! opens it is its first *member*; each later member runs inside a
//! savepoint of its own. When a member commits, its writes stay in the
//! outer transaction (its savepoint released) and it waits. The
//! outer transaction commits once nobody else is queued for the write
//! turn, or once those queued when the first member finished have had
//! their turn; then every member's `commit` returns, all at once. A
//! member is never told it committed before the fsync that covers it, and
//! if that commit fails, every member of the group gets the error: no
//! request is answered for a write that is not on disk.
//!
//! A member that fails or is dropped before committing is undone with
//! `ROLLBACK TO` its savepoint (the first, by rolling back the group it
//! opened, which holds nothing else yet), and the others in the group are not
//! touched. Readers on other connections see a member's writes only when
//! the group commits, as before: its `commit` has not returned by then.
//!
//! The group's commit also indexes for search the thread entries and
//! tickets its members added, all together: FTS5 writes an index segment
//! at every savepoint, so indexing in each member cost two small segments
//! and their later merging per new ticket
//! (migrations/sqlite/0013_search_at_commit.sql).

use crate::error::AppError;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{watch, Mutex, Notify, OwnedMutexGuard};

/// The single SQLite writer: its connection, the group of transactions
/// that will commit together, and the queue for the write turn.
#[derive(Clone)]
pub(super) struct GroupWriter {
    state: Arc<Mutex<WriterState>>,
    /// Transactions and write turns queued for `state` right now. A member
    /// that finishes with nobody queued commits its group at once;
    /// otherwise the next in the queue joins the group.
    queued: Arc<AtomicUsize>,
    /// Where the writer connection comes from (a pool of one on a file).
    pool: AnyPool,
    /// Shared with `Db`: signalled and counted after each commit that
    /// wrote events (see `Db::committed`).
    committed: Arc<Notify>,
    commits: Arc<AtomicU64>,
    /// Groups committed so far: the durable commits (fsyncs) made for
    /// all the transactions, which share them.
    groups_committed: Arc<AtomicU64>,
    /// Whether the database indexes new rows for search at commit (it has
    /// `search_pending`, migration 0013): then a group's commit does it.
    /// Set when the writer opens on a migrated file or migrations finish;
    /// a file without Ayuda's tables (a scratch database) has nothing to
    /// index.
    index_at_commit: Arc<AtomicBool>,
}

/// What the holder of the write turn owns.
struct WriterState {
    /// The writer connection, kept while a group is open on it (and
    /// between groups, to keep its page cache).
    conn: Option<PoolConnection<Any>>,
    /// The open outer transaction and its members; `None` between groups.
    group: Option<Group>,
    /// Whether the holder's writes are in a savepoint of their own. The
    /// member that opens a group needs none: undoing it is rolling back
    /// the whole (so far empty) group, and it saves two round trips to the
    /// connection when nobody else is writing.
    in_savepoint: bool,
    /// A member gave up its turn without committing: its writes are still
    /// to be rolled back, first thing by the next holder.
    undo_pending: bool,
}

/// Transactions whose writes are in the open outer transaction.
struct Group {
    /// Members that committed into it.
    members: usize,
    /// Members among them that wrote events.
    event_writers: u64,
    /// Whether a task already queued to commit it.
    commit_queued: bool,
    /// `Some(true)` once committed, `Some(false)` if that failed.
    outcome: watch::Sender<Option<bool>>,
}

/// The savepoint each later member runs in. A member that commits leaves
/// its savepoint open (the group's COMMIT ends them all), which saves a
/// round trip to the connection per member: members follow one another
/// on the one connection, so the innermost savepoint of that name is
/// always the current member's, and `UNDO` rolls back just that one.
const SAVEPOINT: &str = "SAVEPOINT member";
const UNDO: &str = "ROLLBACK TO member; RELEASE member";

/// Opens a group: the outer transaction, and a savepoint that marks it.
/// IMMEDIATE takes SQLite's write lock now, waiting (busy_timeout) if
/// another process holds it; a deferred transaction that has read would
/// instead fail at its first write with "database is locked".
const OPEN_GROUP: &str = "BEGIN IMMEDIATE; SAVEPOINT writer_group";

/// Commits a group, if it is still the transaction it opened. SQLite rolls
/// a whole transaction back on some failures (disk full, I/O error); a
/// member that went on regardless, or the next member's SAVEPOINT, would
/// then run in a new transaction, and COMMIT would make those writes
/// durable while telling earlier members theirs were. The marker is gone
/// with the rolled-back transaction, so RELEASE fails first instead.
const COMMIT_GROUP: &str = "RELEASE writer_group; COMMIT";

/// [`COMMIT_GROUP`] on a database that indexes new thread entries and
/// tickets for search at commit (migrations/sqlite/0013_search_at_commit.sql
/// says why): the rows the group's members noted in `search_pending` are
/// indexed together, after the group's marker is known to be intact and
/// before it commits, so the index is never behind committed rows.
const INDEX_AND_COMMIT_GROUP: &str = "RELEASE writer_group; \
     INSERT INTO messages_fts (rowid, body) \
     SELECT m.id, m.body FROM search_pending p JOIN messages m ON m.id = p.id WHERE p.tbl = 'm'; \
     INSERT INTO tickets_fts (rowid, subject) \
     SELECT t.id, t.subject FROM search_pending p JOIN tickets t ON t.id = p.id WHERE p.tbl = 't'; \
     DELETE FROM search_pending; \
     COMMIT";

impl GroupWriter {
    pub(super) fn new(pool: AnyPool, committed: Arc<Notify>, commits: Arc<AtomicU64>) -> Self {
        GroupWriter {
            state: Arc::new(Mutex::new(WriterState {
                conn: None,
                group: None,
                in_savepoint: false,
                undo_pending: false,
            })),
            queued: Arc::new(AtomicUsize::new(0)),
            pool,
            committed,
            commits,
            groups_committed: Arc::new(AtomicU64::new(0)),
            index_at_commit: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Says whether the database has the search tables that
    /// [`INDEX_AND_COMMIT_GROUP`] fills.
    pub(super) fn set_index_at_commit(&self, yes: bool) {
        self.index_at_commit.store(yes, Ordering::Release);
    }

    pub(super) fn groups_committed(&self) -> u64 {
        self.groups_committed.load(Ordering::Acquire)
    }

    /// Waits for the write turn, counted in `queued` meanwhile (also when
    /// the caller gives up waiting).
    async fn queue(&self) -> OwnedMutexGuard<WriterState> {
        struct Queued<'a>(&'a AtomicUsize);
        impl Drop for Queued<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        let _queued = Queued(&self.queued);
        self.state.clone().lock_owned().await
    }

    /// Starts a write transaction: a member of the open group, or of a new
    /// one.
    pub(super) async fn begin(&self) -> Result<Member, AppError> {
        let mut state = self.queue().await;
        match self.open_member(&mut state).await {
            Ok(()) => Ok(Member {
                writer: self.clone(),
                state: Some(state),
            }),
            Err(e) => {
                // The group may hold others' writes: commit it rather than
                // leave it waiting for a member that will not come.
                self.finish_in_background(state);
                Err(e.into())
            }
        }
    }

    async fn open_member(&self, state: &mut WriterState) -> Result<(), sqlx::Error> {
        state.undo_abandoned().await;
        if state.conn.is_none() {
            state.conn = Some(self.pool.acquire().await?);
        }
        let conn = state.conn.as_mut().expect("acquired above");
        if state.group.is_none() {
            if let Err(e) = conn.execute(OPEN_GROUP).await {
                // The BEGIN may have run without the savepoint.
                state.discard_connection().await;
                return Err(e);
            }
            state.group = Some(Group {
                members: 0,
                event_writers: 0,
                commit_queued: false,
                outcome: watch::channel(None).0,
            });
            state.in_savepoint = false;
        } else {
            conn.execute(SAVEPOINT).await?;
            state.in_savepoint = true;
        }
        Ok(())
    }

    /// The write turn with no transaction open on the writer, for writes
    /// on other connections: the open group commits first.
    pub(super) async fn turn(&self) -> WriteTurn {
        let mut state = self.queue().await;
        self.finish_group(&mut state).await;
        WriteTurn { _state: state }
    }

    /// Commits the open group and closes the writer's pool (its
    /// connection given back first, or closing would wait for it).
    pub(super) async fn close(&self) {
        let mut state = self.state.clone().lock_owned().await;
        self.finish_group(&mut state).await;
        state.conn = None;
        self.pool.close().await;
    }

    /// Commits the open group (rolls back an empty one) and tells its
    /// members how it went.
    async fn finish_group(&self, state: &mut WriterState) {
        state.undo_abandoned().await;
        let Some(group) = state.group.take() else {
            return;
        };
        let statement = if group.members == 0 {
            "ROLLBACK"
        } else if self.index_at_commit.load(Ordering::Acquire) {
            INDEX_AND_COMMIT_GROUP
        } else {
            COMMIT_GROUP
        };
        let result = match state.conn.as_mut() {
            Some(conn) => conn.execute(statement).await.map(|_| ()),
            None => Err(sqlx::Error::PoolClosed),
        };
        match result {
            Ok(()) => {
                if group.members > 0 {
                    self.groups_committed.fetch_add(1, Ordering::AcqRel);
                }
                if group.event_writers > 0 {
                    // Counted before the members hear of it: a member
                    // reads the count right after its commit returns.
                    self.commits
                        .fetch_add(group.event_writers, Ordering::AcqRel);
                    self.committed.notify_one();
                }
                group.outcome.send_replace(Some(true));
            }
            Err(e) => {
                tracing::error!(error = %e, members = group.members, "a group of writes could not commit");
                state.discard_connection().await;
                group.outcome.send_replace(Some(false));
            }
        }
    }

    /// Finishes the group on a task of its own, with the turn already
    /// held: it must happen even if the caller's future is dropped.
    fn finish_in_background(&self, mut state: OwnedMutexGuard<WriterState>) {
        let writer = self.clone();
        spawn(async move { writer.finish_group(&mut state).await });
    }

    /// Queues a task that finishes the group once those already queued
    /// have had their turn (and joined it). Not counted in `queued`: the
    /// last of them would otherwise wait for it instead of committing.
    fn finish_after_queue(&self) {
        let writer = self.clone();
        spawn(async move {
            let mut state = writer.state.clone().lock_owned().await;
            writer.finish_group(&mut state).await;
        });
    }
}

/// Runs `task` on the runtime, if there still is one (a transaction
/// dropped while the runtime shuts down has nobody left to wait for it).
fn spawn(task: impl std::future::Future<Output = ()> + Send + 'static) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(task);
    }
}

impl WriterState {
    /// Rolls back the writes of a member that left without committing.
    /// If that fails, the outer transaction is no longer what its members
    /// wrote into, and the whole group fails.
    async fn undo_abandoned(&mut self) {
        if !std::mem::take(&mut self.undo_pending) {
            return;
        }
        let undo = if self.in_savepoint { UNDO } else { "ROLLBACK" };
        let undone = match self.conn.as_mut() {
            Some(conn) => conn.execute(undo).await.is_ok(),
            None => false,
        };
        if undone && !self.in_savepoint {
            // It had opened the group, and nobody joined it yet.
            self.group = None;
        }
        if !undone {
            tracing::error!("a failed write could not be undone alone; its whole group fails");
            self.discard_connection().await;
            if let Some(group) = self.group.take() {
                group.outcome.send_replace(Some(false));
            }
        }
    }

    /// Rolls back whatever is open and closes the connection: after a
    /// failed COMMIT or undo its state is unknown, and the pool must not
    /// hand it out again.
    async fn discard_connection(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.execute("ROLLBACK").await;
            drop(conn.detach());
        }
    }
}

/// One write transaction on SQLite: it holds the write turn until it
/// commits or is dropped.
pub(super) struct Member {
    writer: GroupWriter,
    /// `None` once the member has committed.
    state: Option<OwnedMutexGuard<WriterState>>,
}

impl Member {
    pub(super) fn conn(&mut self) -> &mut AnyConnection {
        self.state
            .as_mut()
            .and_then(|state| state.conn.as_mut())
            .expect("a member holds the writer connection until it commits")
    }

    /// Leaves its writes (and savepoint) in the group, hands over the turn and
    /// waits for the group's commit.
    pub(super) async fn commit(mut self, wrote_events: bool) -> Result<(), AppError> {
        let mut state = self.state.take().expect("a member commits once");
        let group = state
            .group
            .as_mut()
            .expect("a member's group stays open until it commits");
        group.members += 1;
        group.event_writers += u64::from(wrote_events);
        let mut outcome = group.outcome.subscribe();
        if self.writer.queued.load(Ordering::Acquire) == 0 {
            self.writer.finish_in_background(state);
        } else {
            if !group.commit_queued {
                group.commit_queued = true;
                self.writer.finish_after_queue();
            }
            drop(state);
        }
        let committed = outcome
            .wait_for(Option::is_some)
            .await
            .is_ok_and(|outcome| *outcome == Some(true));
        // A failure was logged where the commit failed.
        committed.then_some(()).ok_or(AppError::Internal)
    }
}

impl Drop for Member {
    /// A member dropped before committing (an error, or a request that was
    /// cancelled) is undone, and its group finished without it.
    fn drop(&mut self) {
        if let Some(mut state) = self.state.take() {
            state.undo_pending = true;
            self.writer.finish_in_background(state);
        }
    }
}

/// The write turn for statements outside a write transaction (see
/// `Db::write_turn`).
pub struct WriteTurn {
    _state: OwnedMutexGuard<WriterState>,
}
