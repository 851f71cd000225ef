//! SQLite write transactions that queue together share one durable
//! commit (see `app::db::group_commit`), and still succeed or fail each on
//! its own: a transaction is undone alone, and a transaction's `commit`
//! returns only once its writes are on disk and visible to readers.

use app::db::Db;
use std::time::Duration;

/// A fresh database file with one table whose `writer` column is unique.
async fn database(dir: &tempfile::TempDir) -> Db {
    let file = dir.path().join("group.db");
    let db = Db::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE writes (writer INTEGER NOT NULL UNIQUE)")
        .execute(db.pool())
        .await
        .unwrap();
    db
}

async fn insert(tx: &mut app::db::WriteTx, writer: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO writes (writer) VALUES ($1)")
        .bind(writer)
        .execute(tx.conn())
        .await
        .map(|_| ())
}

/// Whether a reader on another connection sees `writer`'s row.
async fn visible(db: &Db, writer: i64) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM writes WHERE writer = $1")
        .bind(writer)
        .fetch_one(db.pool())
        .await
        .unwrap()
        == 1
}

/// The first writer of a test: it holds the write turn, with writer 0's
/// row written, while the others queue behind it.
async fn first_holding_the_turn(db: &Db) -> app::db::WriteTx {
    let mut first = db.begin_write().await.unwrap();
    insert(&mut first, 0).await.unwrap();
    first
}

/// What a queued writer does wrong after writing its own row.
#[derive(Clone, Copy)]
enum Mishap {
    None,
    /// Fails on the unique column; the transaction is dropped with its
    /// own row written.
    UniqueViolation,
    /// What SQLite does by itself on a full disk or an I/O error: the
    /// whole transaction is rolled back. The writer carries on as if its
    /// statement had failed alone.
    WholeTransactionRolledBack,
}

type WriteResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// One writer's transaction: its row, its mishap, then commit.
async fn write(db: Db, writer: i64, mishap: Mishap) -> WriteResult {
    let mut tx = db.begin_write().await?;
    insert(&mut tx, writer).await?;
    match mishap {
        Mishap::None => {}
        Mishap::UniqueViolation => insert(&mut tx, 0).await?,
        Mishap::WholeTransactionRolledBack => {
            let _ = sqlx::query("ROLLBACK").execute(tx.conn()).await;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Lets spawned writers reach the queue for the write turn.
async fn let_them_queue() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_writers_share_durable_commits_and_each_sees_its_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir).await;
    let before = db.durable_commits().unwrap();
    // The first writer holds the turn while 31 others queue behind it.
    let first = first_holding_the_turn(&db).await;
    let mut writers = Vec::new();
    for writer in 1..32 {
        let db = db.clone();
        writers.push(tokio::spawn(async move {
            write(db.clone(), writer, Mishap::None).await.unwrap();
            // Committed means durable and visible to every reader.
            assert!(
                visible(&db, writer).await,
                "writer {writer} committed unseen"
            );
        }));
    }
    let_them_queue().await;
    first.commit().await.unwrap();
    assert!(visible(&db, 0).await);
    for writer in writers {
        writer.await.unwrap();
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM writes")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(rows, 32);
    let commits = db.durable_commits().unwrap() - before;
    assert!(
        (1..=4).contains(&commits),
        "32 queued transactions took {commits} durable commits"
    );
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_transaction_is_undone_alone_within_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir).await;
    let first = first_holding_the_turn(&db).await;
    let writers: Vec<_> = (1..=6)
        .map(|writer| {
            let mishap = if writer % 3 == 0 {
                Mishap::UniqueViolation
            } else {
                Mishap::None
            };
            tokio::spawn(write(db.clone(), writer, mishap))
        })
        .collect();
    let_them_queue().await;
    first.commit().await.unwrap();
    for (writer, task) in (1..=6).zip(writers) {
        let result = task.await.unwrap();
        assert_eq!(
            result.is_err(),
            writer % 3 == 0,
            "writer {writer}: {result:?}"
        );
    }
    for writer in 0..=6 {
        assert_eq!(
            visible(&db, writer).await,
            writer % 3 != 0 || writer == 0,
            "writer {writer}"
        );
    }
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_dropped_alone_leaves_nothing_and_the_next_one_commits() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir).await;
    let mut dropped = db.begin_write().await.unwrap();
    insert(&mut dropped, 1).await.unwrap();
    drop(dropped);
    let mut next = db.begin_write().await.unwrap();
    insert(&mut next, 2).await.unwrap();
    next.commit().await.unwrap();
    assert!(!visible(&db, 1).await);
    assert!(visible(&db, 2).await);
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_write_turn_commits_the_open_group_before_others_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir).await;
    let first = first_holding_the_turn(&db).await;
    let member = tokio::spawn(write(db.clone(), 1, Mishap::None));
    let outsider = {
        let db = db.clone();
        tokio::spawn(async move {
            // A statement on a read-pool connection, as single-statement
            // writers do: SQLite's write lock must be free when it runs.
            let _turn = db.write_turn().await;
            sqlx::query("INSERT INTO writes (writer) VALUES (2)")
                .execute(db.pool())
                .await
                .unwrap();
        })
    };
    let_them_queue().await;
    first.commit().await.unwrap();
    // Well within the 5 s a blocked statement would wait for the lock.
    tokio::time::timeout(Duration::from_secs(2), async {
        member.await.unwrap().unwrap();
        outsider.await.unwrap();
    })
    .await
    .expect("the writers finished");
    for writer in 0..=2 {
        assert!(visible(&db, writer).await, "writer {writer}");
    }
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_transaction_is_told_it_committed_when_sqlite_rolled_its_group_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir).await;
    let first = first_holding_the_turn(&db).await;
    let writers: Vec<_> = (1..=4)
        .map(|writer| {
            let mishap = if writer == 2 {
                Mishap::WholeTransactionRolledBack
            } else {
                Mishap::None
            };
            tokio::spawn(write(db.clone(), writer, mishap))
        })
        .collect();
    let_them_queue().await;
    let mut told_committed = vec![first.commit().await.is_ok()];
    for task in writers {
        told_committed.push(task.await.unwrap().is_ok());
    }
    // Whatever the order the writers ran in: a write is on disk exactly
    // when its transaction was told it committed.
    for (writer, told) in told_committed.into_iter().enumerate() {
        assert_eq!(visible(&db, writer as i64).await, told, "writer {writer}");
    }
    // And the writer goes on working.
    let mut next = db.begin_write().await.unwrap();
    insert(&mut next, 9).await.unwrap();
    next.commit().await.unwrap();
    assert!(visible(&db, 9).await);
    db.close().await;
}
