//! History import: an mbox file or the channel's IMAP folder becomes closed
//! tickets with their full threads.
//!
//! Each message goes through the same [`ingest`](super::ingest) as live
//! mail (source `import`), so threading, sanitising and the quarantine
//! behave the same, and a Message-ID already present is skipped: running an
//! import twice adds nothing. Progress is written to `email_imports` every
//! few hundred milliseconds, which the settings page shows as a bar.

use super::ingest::{self, Delivery, Outcome, Source};
use crate::db::now_ms;
use crate::error::AppError;
use crate::state::AppState;
use crate::users::User;
use std::io::BufRead;
use std::sync::atomic::{AtomicI64, Ordering};

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
             state = COALESCE($5, state), error = COALESCE($6, error), \
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

async fn start_row(state: &AppState, channel_id: i64, source: &str) -> Result<i64, AppError> {
    use sqlx::Row;
    let _turn = state.db.write_turn().await;
    Ok(sqlx::query(
        "INSERT INTO email_imports (channel_id, source, state, created_at) VALUES ($1, $2, 'running', $3) RETURNING id",
    )
    .bind(channel_id)
    .bind(source)
    .bind(now_ms())
    .fetch_one(state.db.pool())
    .await?
    .try_get("id")?)
}

/// Counts the messages of an mbox file (its `From ` separator lines).
fn count_mbox(path: &std::path::Path) -> std::io::Result<i64> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut n = 0;
    for line in file.split(b'\n') {
        if line?.starts_with(b"From ") {
            n += 1;
        }
    }
    Ok(n)
}

/// Imports an uploaded mbox file (already spooled to `path`, deleted when
/// done) in the background. Returns the import's id at once.
pub async fn start_mbox(
    state: &AppState,
    actor: &User,
    channel_id: i64,
    path: std::path::PathBuf,
) -> Result<i64, AppError> {
    crate::channels::service::get(&state.db, &state.config.secret_key, actor, channel_id).await?;
    let import_id = start_row(state, channel_id, "mbox").await?;
    let state = state.clone();
    tokio::spawn(async move {
        let progress = Progress::default();
        let result = run_mbox(&state, channel_id, import_id, &path, &progress).await;
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
    let counted = {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || count_mbox(&path))
            .await
            .map_err(|_| "Reading the file failed.".to_string())?
            .map_err(|e| format!("Reading the file failed: {e}"))?
    };
    if counted == 0 {
        return Err(
            "The file holds no messages (an mbox file starts each message with a \"From \" line)."
                .into(),
        );
    }
    progress.set_total(state, import_id, counted).await;
    // The iterator reads the file on a blocking thread and hands messages
    // over a small channel, so a big file never sits in memory whole.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    let path = path.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let file =
            std::fs::File::open(&path).map_err(|e| format!("Reading the file failed: {e}"))?;
        let iter = mail_parser::mailbox::mbox::MessageIterator::new(std::io::BufReader::new(file));
        for message in iter {
            let message = message.map_err(|_| "The file is not a valid mbox file.".to_string())?;
            if tx.blocking_send(message.unwrap_contents()).is_err() {
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
    while let Some(raw) = rx.recv().await {
        let outcome = ingest::ingest(state, raw, &delivery)
            .await
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
    let state = state.clone();
    tokio::spawn(async move {
        let progress = Progress::default();
        let result =
            super::imap::import_folder(&state, channel_id, import_id, days, &progress).await;
        progress.finish(&state, import_id, result).await;
    });
    Ok(import_id)
}
