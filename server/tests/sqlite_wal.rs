//! The SQLite write-ahead log stays bounded under a steady stream of
//! writes. A passive checkpoint never catches up with a writer that does
//! not pause, and SQLite starts the WAL over only once all of it is
//! copied back, so without help it grows by every commit (and every
//! commit pays for extending the file).

use app::db::Db;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_while_writers_never_pause() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wal.db");
    let db = Db::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE blobs (b BLOB NOT NULL)")
        .execute(db.pool())
        .await
        .unwrap();
    // 192 MiB through the WAL, 64 KiB per commit, back to back; the WAL's
    // file is watched meanwhile.
    let wal = dir.path().join("wal.db-wal");
    let mut largest = 0;
    for _ in 0..3072 {
        let mut tx = db.begin_write().await.unwrap();
        sqlx::query("INSERT INTO blobs (b) VALUES (randomblob(65536))")
            .execute(tx.conn())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    // It starts over past 16 MiB and is trimmed to 64 MiB when it does;
    // what a quarter second of commits adds comes on top.
    assert!(largest < 128 << 20, "the WAL grew to {} MiB", largest >> 20);
    // And the data is all there once it is folded back.
    assert!(db.checkpoint_all(Duration::from_secs(30)).await.unwrap());
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blobs")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(n, 3072);
    db.close().await;
}
