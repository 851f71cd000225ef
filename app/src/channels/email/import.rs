//! History import: an mbox file or the channel's IMAP folder becomes closed
//! tickets with their full threads.
//!
//! Each message goes through the same [`ingest`](super::ingest) as live
//! mail (source `import`), so threading, sanitising and the quarantine
//! behave the same, and a Message-ID already present is skipped: running an
//! import twice adds nothing. Progress is written to `email_imports` every
//! few hundred milliseconds, which the settings page shows as a bar.

use super::ingest::{self, Delivery, Outcome, Source};
use crate::db::{now_ms, Db, WriteTx};
use crate::error::AppError;
use crate::state::AppState;
use crate::users::User;
use std::future::Future;
use std::io::BufRead;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Counts of an import in progress, flushed to its row now and then.
#[derive(Default)]
pub struct Progress {
    processed: AtomicI64,
    imported: AtomicI64,
    skipped: AtomicI64,
    failed: AtomicI64,
    last_flush: AtomicI64,
}

impl Progress {
    pub async fn set_total(&self, state: &AppState, import_id: i64, total: i64) {
        let _turn = state.db.write_turn().await;
        let _ = sqlx::query("UPDATE email_imports SET total = $1 WHERE id = $2")
            .bind(total)
            .bind(import_id)
            .execute(state.db.pool())
            .await;
    }

    pub async fn record(&self, state: &AppState, import_id: i64, outcome: &Outcome) {
        self.processed.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Outcome::Created { .. } | Outcome::Appended { .. } | Outcome::Bounced { .. } => {
                self.imported.fetch_add(1, Ordering::Relaxed)
            }
            Outcome::Duplicate { .. } => self.skipped.fetch_add(1, Ordering::Relaxed),
            Outcome::Quarantined { .. } => self.failed.fetch_add(1, Ordering::Relaxed),
        };
        let now = now_ms();
        if now - self.last_flush.load(Ordering::Relaxed) >= 300 {
            self.last_flush.store(now, Ordering::Relaxed);
            self.flush(state, import_id, None, None).await;
        }
    }

    /// Records the import's end: done, or failed with the reason.
    async fn finish(&self, state: &AppState, import_id: i64, result: Result<(), String>) {
        match result {
            Ok(()) => self.flush(state, import_id, Some("done"), None).await,
            Err(message) => {
                self.flush(state, import_id, Some("failed"), Some(&message))
                    .await
            }
        }
    }

    async fn flush(
        &self,
        state: &AppState,
        import_id: i64,
        finished: Option<&str>,
        error: Option<&str>,
    ) {
        let _turn = state.db.write_turn().await;
        let result = sqlx::query(
            "UPDATE email_imports SET processed = $1, imported = $2, skipped = $3, failed = $4, \
             state = COALESCE($5, state), error = COALESCE($6, error), heartbeat_at = $7, \
             finished_at = CASE WHEN $5 IS NULL THEN finished_at ELSE $7 END WHERE id = $8",
        )
        .bind(self.processed.load(Ordering::Relaxed))
        .bind(self.imported.load(Ordering::Relaxed))
        .bind(self.skipped.load(Ordering::Relaxed))
        .bind(self.failed.load(Ordering::Relaxed))
        .bind(finished)
        .bind(error)
        .bind(now_ms())
        .bind(import_id)
        .execute(state.db.pool())
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, import_id, "cannot record import progress");
        }
    }
}

/// How often a running import renews its row's heartbeat, even while it
/// waits (on a slow IMAP server, say).
const HEARTBEAT: Duration = Duration::from_secs(30);

/// A running import whose heartbeat is older than this stopped with the
/// process that ran it: four missed heartbeats.
const STOPPED_AFTER_MS: i64 = 120_000;

/// What an import whose process stopped says, once swept.
pub const INTERRUPTED: &str =
    "The import stopped when the server did. Start it again: messages already imported are skipped.";

/// Runs `import` (the whole of one import), renewing the heartbeat of its
/// row every [`HEARTBEAT`] until it ends, so that a slow import is told
/// apart from one whose process stopped ([`sweep_interrupted`]).
async fn with_heartbeat<T>(state: &AppState, import_id: i64, import: impl Future<Output = T>) -> T {
    tokio::pin!(import);
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // An interval's first tick is at once; the row was just written.
    beat.tick().await;
    loop {
        tokio::select! {
            result = &mut import => return result,
            _ = beat.tick() => {
                let _turn = state.db.write_turn().await;
                let renewed = sqlx::query("UPDATE email_imports SET heartbeat_at = $1 WHERE id = $2")
                    .bind(now_ms())
                    .bind(import_id)
                    .execute(state.db.pool())
                    .await;
                if let Err(e) = renewed {
                    tracing::warn!(error = %e, import_id, "cannot renew an import's heartbeat");
                }
            }
        }
    }
}

/// Marks as failed, saying so ([`INTERRUPTED`]), every import still
/// running whose heartbeat stopped: its process stopped with it, and
/// nothing else would ever finish the row. Returns how many. Any instance
/// may run it; a running import on another instance keeps its heartbeat
/// fresh and is left alone.
pub async fn sweep_interrupted(db: &Db, now: i64) -> Result<u64, AppError> {
    let _turn = db.write_turn().await;
    Ok(sqlx::query(
        "UPDATE email_imports SET state = 'failed', error = $1, finished_at = $2 \
         WHERE state = 'running' AND heartbeat_at < $3",
    )
    .bind(INTERRUPTED)
    .bind(now)
    .bind(now - STOPPED_AFTER_MS)
    .execute(db.pool())
    .await?
    .rows_affected())
}

/// Sweeps interrupted imports at start and every minute after.
pub async fn run_sweeper(state: AppState) {
    loop {
        match sweep_interrupted(&state.db, now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(imports = n, "marked interrupted imports as failed"),
            Err(e) => tracing::warn!(error = %e, "cannot sweep interrupted imports"),
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

async fn start_row(state: &AppState, channel_id: i64, source: &str) -> Result<i64, AppError> {
    let mut tx = state.db.begin_write().await?;
    let id = insert_running(&mut tx, channel_id, source).await?;
    tx.commit().await?;
    Ok(id)
}

/// Records, in `tx`, an import from `source` of `channel_id` as running,
/// and returns its id: the import's progress and outcome are written to
/// that row.
pub(crate) async fn insert_running(
    tx: &mut WriteTx,
    channel_id: i64,
    source: &str,
) -> Result<i64, AppError> {
    use sqlx::Row;
    Ok(sqlx::query(
        "INSERT INTO email_imports (channel_id, source, state, created_at, heartbeat_at) \
         VALUES ($1, $2, 'running', $3, $3) RETURNING id",
    )
    .bind(channel_id)
    .bind(source)
    .bind(now_ms())
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?)
}

/// Where each message of an mbox file lies: the byte ranges from one
/// `From ` separator line to the next (or the end).
///
/// Reads the file in fixed blocks, so neither a huge message nor a file
/// without line breaks is ever held in memory: the import then reads each
/// message on its own and skips, unread, any over the size limit.
fn mbox_ranges(reader: impl std::io::Read) -> std::io::Result<Vec<std::ops::Range<u64>>> {
    const SEPARATOR: &[u8] = b"From ";
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, reader);
    let mut starts = Vec::new();
    // How much of "From " the current line has begun with, while it still
    // may be a separator; `None` once it cannot.
    let mut matched = Some(0);
    let mut offset = 0u64;
    loop {
        let block = reader.fill_buf()?;
        if block.is_empty() {
            break;
        }
        for (i, &byte) in block.iter().enumerate() {
            if byte == b'\n' {
                matched = Some(0);
                continue;
            }
            if let Some(k) = matched {
                matched = (byte == SEPARATOR[k]).then_some(k + 1);
                if matched == Some(SEPARATOR.len()) {
                    starts.push(offset + i as u64 + 1 - SEPARATOR.len() as u64);
                    matched = None;
                }
            }
        }
        let len = block.len();
        offset += len as u64;
        reader.consume(len);
    }
    let ends = starts
        .iter()
        .skip(1)
        .copied()
        .chain(std::iter::once(offset));
    Ok(starts.iter().zip(ends).map(|(&s, e)| s..e).collect())
}

/// One message of an mbox file as the import hands it on.
enum MboxMessage {
    /// The message, without its separator line.
    Whole(Vec<u8>),
    /// Over the size limit: its size and its first 64 KiB, for the
    /// quarantine.
    TooLarge { size: u64, head: Vec<u8> },
}

/// Reads the message at `range` of an mbox file (see [`mbox_ranges`]).
fn read_mbox_message(
    file: &mut std::fs::File,
    range: std::ops::Range<u64>,
    max_bytes: usize,
) -> Result<MboxMessage, String> {
    use std::io::{Read, Seek, SeekFrom};
    let unreadable = |_| "Reading the file failed.".to_string();
    file.seek(SeekFrom::Start(range.start))
        .map_err(unreadable)?;
    let size = range.end - range.start;
    if size > max_bytes as u64 + 1024 {
        // The separator line is not part of the message: 1 KiB of slack
        // for it, so a message just under the limit still goes through.
        let mut head = Vec::new();
        (&mut *file)
            .take(64 * 1024)
            .read_to_end(&mut head)
            .map_err(unreadable)?;
        return Ok(MboxMessage::TooLarge { size, head });
    }
    let one = std::io::BufReader::new((&mut *file).take(size));
    match mail_parser::mailbox::mbox::MessageIterator::new(one).next() {
        Some(Ok(message)) => Ok(MboxMessage::Whole(message.unwrap_contents())),
        _ => Err("The file is not a valid mbox file.".into()),
    }
}

/// Imports an uploaded mbox file (already spooled to `path`, deleted when
/// done) in the background. Returns the import's id at once.
pub async fn start_mbox(
    state: &AppState,
    actor: &User,
    channel_id: i64,
    path: std::path::PathBuf,
) -> Result<i64, AppError> {
    let started = async {
        crate::channels::service::get(&state.db, &state.config.secret_key, actor, channel_id)
            .await?;
        start_row(state, channel_id, "mbox").await
    };
    let import_id = match started.await {
        Ok(id) => id,
        Err(e) => {
            // Nothing will read the upload: it must not stay on disk.
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
    };
    let state = state.clone();
    tokio::spawn(async move {
        let progress = Progress::default();
        let import = run_mbox(&state, channel_id, import_id, &path, &progress);
        let result = with_heartbeat(&state, import_id, import).await;
        let _ = tokio::fs::remove_file(&path).await;
        progress.finish(&state, import_id, result).await;
    });
    Ok(import_id)
}

async fn run_mbox(
    state: &AppState,
    channel_id: i64,
    import_id: i64,
    path: &std::path::Path,
    progress: &Progress,
) -> Result<(), String> {
    let ranges = {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || mbox_ranges(std::fs::File::open(&path)?))
            .await
            .map_err(|_| "Reading the file failed.".to_string())?
            .map_err(|e| format!("Reading the file failed: {e}"))?
    };
    if ranges.is_empty() {
        return Err(
            "The file holds no messages (an mbox file starts each message with a \"From \" line)."
                .into(),
        );
    }
    progress
        .set_total(state, import_id, ranges.len() as i64)
        .await;
    // Messages are read one at a time on a blocking thread and handed over
    // a small channel, so at most a few messages, each within the size
    // limit, are in memory at once.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<MboxMessage>(16);
    let path = path.to_path_buf();
    let max_bytes = state.config.max_email_bytes;
    let reader = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut file =
            std::fs::File::open(&path).map_err(|e| format!("Reading the file failed: {e}"))?;
        for range in ranges {
            let message = read_mbox_message(&mut file, range, max_bytes)?;
            if tx.blocking_send(message).is_err() {
                break;
            }
        }
        Ok(())
    });
    let delivery = Delivery {
        source: Source::Import,
        channel_id: Some(channel_id),
        recipients: Vec::new(),
    };
    while let Some(message) = rx.recv().await {
        let outcome = match message {
            MboxMessage::Whole(raw) => ingest::ingest(state, raw, &delivery).await,
            MboxMessage::TooLarge { size, head } => {
                let reason =
                    format!("The message is {size} bytes, over the {max_bytes} byte limit.");
                ingest::quarantine(
                    &state.db,
                    ingest::Quarantine {
                        channel_id: Some(channel_id),
                        source: Source::Import,
                        category: "too_large",
                        reason: &reason,
                        sender: None,
                        subject: None,
                        raw: &head,
                    },
                )
                .await
            }
        }
        .map_err(|_| "Storing imported mail failed.".to_string())?;
        progress.record(state, import_id, &outcome).await;
    }
    reader
        .await
        .map_err(|_| "Reading the file failed.".to_string())??;
    Ok(())
}

/// How far back an IMAP history import may reach.
pub fn check_days(days: u32) -> Result<(), AppError> {
    if days == 0 || days > 3650 {
        return Err(AppError::invalid(
            "import_days",
            "Import between 1 and 3650 days.",
        ));
    }
    Ok(())
}

/// Imports the last `days` days of the channel's IMAP folder in the
/// background. Returns the import's id at once.
pub async fn start_imap(
    state: &AppState,
    actor: &User,
    channel_id: i64,
    days: u32,
) -> Result<i64, AppError> {
    let channel =
        crate::channels::service::get(&state.db, &state.config.secret_key, actor, channel_id)
            .await?;
    if channel.imap.is_none() {
        return Err(AppError::invalid(
            "source",
            "This channel has no IMAP mailbox to import from.",
        ));
    }
    check_days(days)?;
    let import_id = start_row(state, channel_id, "imap").await?;
    run_imap_in_background(state, channel_id, import_id, days);
    Ok(import_id)
}

/// Runs the IMAP import whose row `import_id` is recorded as running, in
/// the background: the last `days` days of `channel_id`'s folder.
pub(crate) fn run_imap_in_background(state: &AppState, channel_id: i64, import_id: i64, days: u32) {
    let state = state.clone();
    tokio::spawn(async move {
        let progress = Progress::default();
        let import = super::imap::import_folder(&state, channel_id, import_id, days, &progress);
        let result = with_heartbeat(&state, import_id, import).await;
        progress.finish(&state, import_id, result).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_messages_are_found_by_their_separator_lines() {
        let mbox = b"From a@x Mon\nSubject: one\n\nsaid From then\n>From quoted\n\nFrom b@x Tue\nSubject: two\n\nbody\n";
        let ranges = mbox_ranges(&mbox[..]).unwrap();
        assert_eq!(ranges.len(), 2);
        assert!(mbox[ranges[0].start as usize..].starts_with(b"From a@x"));
        assert!(mbox[ranges[1].start as usize..].starts_with(b"From b@x"));
        assert_eq!(ranges[0].end, ranges[1].start);
        assert_eq!(ranges[1].end, mbox.len() as u64);
        // "From " inside a line, or a file without separators, is no message.
        assert!(mbox_ranges(&b"not an mbox\nsay From here"[..])
            .unwrap()
            .is_empty());
        assert!(mbox_ranges(&b""[..]).unwrap().is_empty());
    }

    #[test]
    fn a_separator_split_across_reads_is_found() {
        // Longer than one 64 KiB block, with the separator across the boundary.
        let mut mbox = b"From a@x Mon\n\n".to_vec();
        mbox.resize(64 * 1024 - 3, b'a');
        mbox.extend_from_slice(b"\nFrom b@x Tue\n\nbody\n");
        let ranges = mbox_ranges(&mbox[..]).unwrap();
        assert_eq!(ranges.len(), 2);
        assert!(mbox[ranges[1].start as usize..].starts_with(b"From b@x"));
    }

    #[test]
    fn messages_over_the_limit_are_not_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.mbox");
        let mut mbox = b"From a@x Mon\nSubject: small\n\nhi\n".to_vec();
        let big_at = mbox.len() as u64;
        mbox.extend_from_slice(b"From b@x Tue\nSubject: big\n\n");
        mbox.resize(mbox.len() + 300_000, b'z');
        mbox.push(b'\n');
        std::fs::write(&path, &mbox).unwrap();
        let ranges = mbox_ranges(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(ranges[1].start, big_at);
        let mut file = std::fs::File::open(&path).unwrap();
        match read_mbox_message(&mut file, ranges[0].clone(), 100_000).unwrap() {
            MboxMessage::Whole(raw) => assert!(raw.starts_with(b"Subject: small")),
            MboxMessage::TooLarge { .. } => panic!("the small message is refused"),
        }
        match read_mbox_message(&mut file, ranges[1].clone(), 100_000).unwrap() {
            MboxMessage::TooLarge { size, head } => {
                assert_eq!(size, mbox.len() as u64 - big_at);
                assert_eq!(head.len(), 64 * 1024);
            }
            MboxMessage::Whole(_) => panic!("the big message was read whole"),
        }
    }
}
