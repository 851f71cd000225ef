//! The workspace directory: every active user, team and pipeline, and every
//! custom view with each user's choice of views. Every workspace page sends
//! the first three (the owner, team and status pickers) and lists the
//! caller's views, and every open workspace asks for its views again after
//! each ticket change (their counts), so each server keeps all of them in
//! memory instead of reading them for each request.
//!
//! The cache is kept honest by the database, not by the code that writes:
//! triggers on the eight tables move `directory_version` (migrations 0012
//! and 0014), and a request reads that one number before using the cached
//! copy. A change made by another server process, or by hand in SQL, is
//! therefore seen on the next request like one made here.

use crate::db::Db;
use crate::error::AppError;
use crate::tickets::Pipeline;
use crate::users::{Team, Teammate};
use crate::views::{CustomView, ViewPreferences};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The users, teams, pipelines and views as of one directory version.
#[derive(Debug)]
pub struct Directory {
    /// Every active user, by name.
    pub teammates: Vec<Teammate>,
    pub teams: Vec<Team>,
    pub pipelines: Vec<Pipeline>,
    /// Every custom view, by name. Who may see or change each one depends
    /// on who asks: see `views::service::visible_views` (`editable` is
    /// false here).
    pub views: Vec<CustomView>,
    /// Each user's stored order and choice of views, by user id; a user
    /// who never chose has none.
    pub view_preferences: HashMap<i64, ViewPreferences>,
}

/// The newest directory this process has read, with its version.
#[derive(Default)]
pub struct DirectoryCache {
    current: Mutex<Option<(i64, Arc<Directory>)>>,
}

impl DirectoryCache {
    /// The directory as it is now: the cached copy when the version has not
    /// moved since it was read, otherwise a fresh read.
    pub async fn get(&self, db: &Db) -> Result<Arc<Directory>, AppError> {
        // The version is read before the data, so data read after it is at
        // least as new as the version it is filed under; read the other way
        // round, a change committed in between would be cached as current.
        let version: i64 = sqlx::query_scalar("SELECT version FROM directory_version WHERE id = 1")
            .fetch_one(db.pool())
            .await?;
        if let Some((v, directory)) = &*self.slot() {
            if *v == version {
                return Ok(directory.clone());
            }
        }
        let directory = Arc::new(Directory {
            teammates: crate::users::service::list(db)
                .await?
                .iter()
                .map(Teammate::from)
                .collect(),
            teams: crate::users::service::list_teams(db).await?,
            pipelines: crate::tickets::service::pipelines(db).await?,
            views: crate::views::service::all_views(db).await?,
            view_preferences: crate::views::service::all_preferences(db).await?,
        });
        let mut slot = self.slot();
        // Two pages may refill at once; the newer version wins.
        if slot.as_ref().is_none_or(|(v, _)| *v <= version) {
            *slot = Some((version, directory.clone()));
        }
        Ok(directory)
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<(i64, Arc<Directory>)>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The directory one request works from, read at most once per request.
///
/// A workspace page asks for the directory twice while it renders (the
/// pickers in `load_workspace`, the caller's views in `list_views`), and
/// each ask costs the version read above. The server provides a fresh one
/// per request (see `server::router`), as it does `auth::RequestCaller`.
#[derive(Clone, Default)]
pub struct RequestDirectory(Arc<tokio::sync::OnceCell<Arc<Directory>>>);

/// The directory for the current page render or server function: the same
/// copy for every read in one request, and as new as the request's first
/// read. Outside a request (REST handlers, tests), the cache's current copy.
///
/// Only for requests that read: a request that changes users, teams,
/// pipelines or views and then reads them back must use
/// `DirectoryCache::get` after its change, or it answers with what was
/// there before.
pub async fn for_request(state: &crate::state::AppState) -> Result<Arc<Directory>, AppError> {
    match leptos::prelude::use_context::<RequestDirectory>() {
        Some(cell) => cell
            .0
            .get_or_try_init(|| state.directory.get(&state.db))
            .await
            .cloned(),
        None => state.directory.get(&state.db).await,
    }
}
