//! Custom view counts, maintained as tickets change, so that every count
//! beside every view is a sum over a few hundred numbers instead of a scan
//! of the tickets the view filters. My mentions and Followers are counted
//! here too, from each person's list of tickets kept in memory with whether
//! each ticket is open and where it is.
//!
//! Who may see a ticket depends only on its owner and team
//! ([`crate::access::can_see`]), so, as for the default views' buckets
//! (`ticket_counts`), each custom view keeps how many of its tickets fall in
//! each (owner, team) bucket, and a viewer's count adds up the buckets they
//! may see. A view that says "owner is me" has a second set of numbers: the
//! tickets that are in it when "me" is their owner. A viewer takes that set
//! for their own bucket and the first one for everybody else's.
//!
//! How the numbers stay right:
//! - A scan evaluates every ticket against every custom view (in Rust, with
//!   [`crate::tickets::facts`]) when the server starts and whenever a view
//!   or the SLA settings change. It runs in the background; until it ends,
//!   a view's count is counted in SQL as before (`views::service`).
//! - The event hub hands over every batch of events it publishes, with the
//!   tickets they name, read in the same snapshot as the events. Each of
//!   those tickets is tested again and moved between buckets. Whichever
//!   process made the change, every process's hub sees its event, so every
//!   process's numbers follow.
//! - Time alone moves tickets in and out of views with relative dates ("in
//!   the last 7 days"). Each ticket's next such moment is scheduled, and the
//!   ticket is tested again then.
//!
//! Every step that reads tickets and applies them holds the one lock, and
//! reads after taking it, so the numbers are always applied in the order
//! the database moved; a membership bit per ticket and view makes applying
//! the same ticket twice harmless.

use super::{Property, ViewDefinition};
use crate::access::{can_see, Access};
use crate::db::{now_ms, Db, DbKind, SqlBuilder};
use crate::error::AppError;
use crate::tickets::facts::{self, Check, TicketFacts, VIEW_FACT_COLUMNS};
use crate::users::User;
use futures::TryStreamExt;
use sqlx::Row;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// No bucket: the id is not a ticket (yet, or any more).
const NO_BUCKET: u32 = u32::MAX;
/// The tables index tickets by id. Beyond this id (never reached by our own
/// sequences at any size we measure) the counter gives up and every count
/// is counted in SQL.
const MAX_TICKET_ID: i64 = 64_000_000;
/// Tickets read per query when applying changed ones.
const LOAD_CHUNK: usize = 500;
/// How often scheduled moments (relative dates) are checked.
const WAKEUP_TICK: Duration = Duration::from_secs(1);

/// The two default views that list a person's own tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Personal {
    Mentions,
    Follows,
}

/// The maintained counts; one per server process, owned by the event hub.
pub struct ViewCounter {
    state: tokio::sync::Mutex<State>,
    /// Wakes the scanner: a view or the SLA settings changed.
    rescan: tokio::sync::Notify,
}

#[derive(Default)]
struct State {
    /// `None` until the first scan has finished (or after it failed).
    tables: Option<Tables>,
    /// `Some` while a scan runs: the tickets changed meanwhile, tested
    /// again when it ends (the scan may have read them before the change).
    touched: Option<Vec<i64>>,
    /// My mentions / Followers counts as last computed, by (list, viewer),
    /// with the role and access they were computed under. Each is a walk
    /// of the viewer's whole list and every workspace page asks for both,
    /// so they are kept until the tables next change (cleared wherever the
    /// tables are written).
    personal_counts: HashMap<(Personal, i64), (crate::users::Role, Access, i64)>,
}

/// Everything the counts are made of.
#[derive(Default)]
struct Tables {
    /// (owner, team) of each bucket, by bucket index.
    buckets: Vec<(Option<i64>, Option<i64>)>,
    bucket_index: HashMap<(Option<i64>, Option<i64>), u32>,
    /// Each ticket's bucket, by ticket id (what to take it out of when it
    /// moves).
    bucket_of: Vec<u32>,
    /// Open (not closed) tickets, one bit per ticket id.
    active: Vec<u64>,
    views: Vec<Tally>,
    /// Who follows each ticket, and which tickets each person follows.
    follows: People,
    /// Who is @mentioned on each ticket, and where each person is.
    mentions: People,
    /// (when, ticket id): moments at which a ticket must be tested again.
    wakeups: BinaryHeap<Reverse<(i64, i64)>>,
    /// The moment each ticket is scheduled for (older heap entries for the
    /// same ticket are skipped).
    scheduled: HashMap<i64, i64>,
    /// Does any view test relative dates, or the SLA properties?
    relative: bool,
    uses_sla: bool,
}

/// One custom view's numbers.
struct Tally {
    id: i64,
    /// The view's version the numbers are for; another version is counted
    /// in SQL until the next scan.
    version: i64,
    groups: Vec<Vec<Option<Check>>>,
    /// The tickets in the view for every viewer who does not own them (all
    /// viewers, for a view that does not say "me").
    others: Members,
    /// The tickets in the view for their owner; only views that say "me".
    owners: Option<Members>,
}

/// A relation between tickets and people (follows, mentions), both ways.
#[derive(Default)]
struct People {
    by_ticket: HashMap<i64, Vec<i64>>,
    by_person: HashMap<i64, std::collections::HashSet<i64>>,
}

impl People {
    /// Makes `people` the list of ticket `ticket`.
    fn set(&mut self, ticket: i64, mut people: Vec<i64>) {
        people.sort_unstable();
        people.dedup();
        let old = if people.is_empty() {
            self.by_ticket.remove(&ticket)
        } else {
            self.by_ticket.insert(ticket, people.clone())
        }
        .unwrap_or_default();
        for p in &old {
            if people.binary_search(p).is_err() {
                if let Some(tickets) = self.by_person.get_mut(p) {
                    tickets.remove(&ticket);
                }
            }
        }
        for p in people {
            self.by_person.entry(p).or_default().insert(ticket);
        }
    }

    fn add(&mut self, ticket: i64, person: i64) {
        let list = self.by_ticket.entry(ticket).or_default();
        if !list.contains(&person) {
            list.push(person);
            list.sort_unstable();
        }
        self.by_person.entry(person).or_default().insert(ticket);
    }
}

/// Which tickets are in a view, and how many in each bucket.
#[derive(Default)]
struct Members {
    /// One bit per ticket id.
    bits: Vec<u64>,
    per_bucket: Vec<i64>,
}

impl Members {
    fn has(&self, id: usize) -> bool {
        self.bits
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Records whether ticket `id`, which was in bucket `old` and now is in
    /// `new`, is in the view.
    fn set(&mut self, id: usize, old: u32, new: u32, is_in: bool) {
        if self.has(id) {
            self.per_bucket[old as usize] -= 1;
        }
        let word = id / 64;
        if self.bits.len() <= word {
            self.bits.resize(word + 1, 0);
        }
        if is_in {
            let b = new as usize;
            if self.per_bucket.len() <= b {
                self.per_bucket.resize(b + 1, 0);
            }
            self.per_bucket[b] += 1;
            self.bits[word] |= 1 << (id % 64);
        } else {
            self.bits[word] &= !(1 << (id % 64));
        }
    }
}

impl Tables {
    fn new(views: Vec<(i64, i64, ViewDefinition)>) -> Tables {
        let mut tables = Tables::default();
        for (id, version, definition) in views {
            let conditions = || definition.groups.iter().flatten();
            let says_me = conditions()
                .any(|c| c.property == Property::Owner && c.values.iter().any(|v| v == "me"));
            tables.relative |= conditions().any(|c| {
                matches!(
                    c.op,
                    super::Operator::InLastDays | super::Operator::MoreThanDaysAgo
                )
            });
            tables.uses_sla |=
                conditions().any(|c| matches!(c.property, Property::SlaState | Property::SlaDueAt));
            tables.views.push(Tally {
                id,
                version,
                groups: facts::compile(&definition.groups),
                others: Members::default(),
                owners: says_me.then(Members::default),
            });
        }
        tables
    }

    fn bucket(&mut self, owner: Option<i64>, team: Option<i64>) -> u32 {
        if let Some(b) = self.bucket_index.get(&(owner, team)) {
            return *b;
        }
        let b = self.buckets.len() as u32;
        self.buckets.push((owner, team));
        self.bucket_index.insert((owner, team), b);
        b
    }

    /// Tests ticket `id` (`None`: it no longer exists) against every view
    /// and moves it between buckets. Returns false when the id is beyond
    /// what the tables index.
    fn apply(&mut self, id: i64, ticket: Option<&TicketFacts>, now: i64) -> bool {
        if !(0..=MAX_TICKET_ID).contains(&id) {
            return false;
        }
        let idx = id as usize;
        if self.bucket_of.len() <= idx {
            // Grow ahead, as new tickets arrive one id at a time.
            let len = (idx + 1).max(self.bucket_of.len() + self.bucket_of.len() / 4);
            self.bucket_of.resize(len, NO_BUCKET);
        }
        let old = self.bucket_of[idx];
        let new = match ticket {
            Some(t) => self.bucket(t.owner_id, t.team_id),
            None => NO_BUCKET,
        };
        let mut next_change: Option<i64> = None;
        for view in &mut self.views {
            let in_view = |me: Option<i64>| {
                ticket.is_some_and(|t| facts::view_holds(&view.groups, t, me, now))
            };
            let for_others = in_view(None);
            view.others.set(idx, old, new, for_others);
            if let Some(owners) = &mut view.owners {
                let owner = ticket.and_then(|t| t.owner_id);
                let for_owner = owner.is_some() && in_view(owner);
                owners.set(idx, old, new, for_owner);
            }
            if self.relative {
                if let Some(t) = ticket {
                    if let Some(at) = facts::next_change(&view.groups, t, now) {
                        next_change = Some(next_change.map_or(at, |n| n.min(at)));
                    }
                }
            }
        }
        self.bucket_of[idx] = new;
        let word = idx / 64;
        if self.active.len() <= word {
            self.active.resize(word + 1, 0);
        }
        if ticket.is_some_and(|t| t.status_category != "closed") {
            self.active[word] |= 1 << (idx % 64);
        } else {
            self.active[word] &= !(1 << (idx % 64));
        }
        match next_change {
            Some(at) if self.scheduled.get(&id) != Some(&at) => {
                self.scheduled.insert(id, at);
                self.wakeups.push(Reverse((at, id)));
            }
            Some(_) => {}
            None => {
                self.scheduled.remove(&id);
            }
        }
        true
    }

    /// The tickets whose scheduled moment has come.
    fn due(&mut self, now: i64) -> Vec<i64> {
        let mut due = Vec::new();
        while let Some(Reverse((at, id))) = self.wakeups.peek().copied() {
            if at > now {
                break;
            }
            self.wakeups.pop();
            if self.scheduled.get(&id) == Some(&at) {
                self.scheduled.remove(&id);
                due.push(id);
            }
        }
        due
    }

    /// How many open tickets of `viewer`'s My mentions or Followers list
    /// they may see.
    fn personal_count(&self, list: Personal, viewer: &User) -> i64 {
        let people = match list {
            Personal::Mentions => &self.mentions,
            Personal::Follows => &self.follows,
        };
        let Some(tickets) = people.by_person.get(&viewer.id) else {
            return 0;
        };
        let mut n = 0;
        for id in tickets {
            let idx = *id as usize;
            let open = self
                .active
                .get(idx / 64)
                .is_some_and(|w| w & (1 << (idx % 64)) != 0);
            if !open {
                continue;
            }
            let Some(bucket) = self.bucket_of.get(idx).filter(|b| **b != NO_BUCKET) else {
                continue;
            };
            let (owner, team) = self.buckets[*bucket as usize];
            if can_see(viewer, owner, team) {
                n += 1;
            }
        }
        n
    }

    fn count(&self, view_id: i64, version: i64, viewer: &User) -> Option<i64> {
        let view = self
            .views
            .iter()
            .find(|v| v.id == view_id && v.version == version)?;
        let mut n = 0;
        for (b, (owner, team)) in self.buckets.iter().enumerate() {
            if !can_see(viewer, *owner, *team) {
                continue;
            }
            let members = match &view.owners {
                Some(owners) if *owner == Some(viewer.id) => owners,
                _ => &view.others,
            };
            n += members.per_bucket.get(b).copied().unwrap_or(0);
        }
        Some(n)
    }
}

/// The tickets an event batch (or a wakeup) named, as they are now.
#[derive(Default)]
pub struct Loaded {
    tickets: Vec<TicketFacts>,
    /// (ticket, person) pairs for those tickets.
    follows: Vec<(i64, i64)>,
    mentions: Vec<(i64, i64)>,
}

/// Applies the tickets `ids` as they are now (`loaded`; a missing one was
/// deleted). On failure the tables are dropped: counts fall back to SQL
/// until the next scan.
fn apply_all(state: &mut State, ids: &[i64], loaded: &Loaded, now: i64) {
    state.personal_counts.clear();
    if let Some(touched) = &mut state.touched {
        touched.extend_from_slice(ids);
    }
    let Some(tables) = &mut state.tables else {
        return;
    };
    if let Err(e) = apply_to(tables, ids, loaded, now) {
        drop(e);
        state.tables = None;
    }
}

fn apply_to(tables: &mut Tables, ids: &[i64], loaded: &Loaded, now: i64) -> Result<(), AppError> {
    let by_id: HashMap<i64, &TicketFacts> = loaded.tickets.iter().map(|t| (t.id, t)).collect();
    let mut follows: HashMap<i64, Vec<i64>> = HashMap::new();
    for (ticket, person) in &loaded.follows {
        follows.entry(*ticket).or_default().push(*person);
    }
    let mut mentions: HashMap<i64, Vec<i64>> = HashMap::new();
    for (ticket, person) in &loaded.mentions {
        mentions.entry(*ticket).or_default().push(*person);
    }
    for id in ids {
        if !tables.apply(*id, by_id.get(id).copied(), now) {
            return Err(beyond(*id));
        }
        tables
            .follows
            .set(*id, follows.remove(id).unwrap_or_default());
        tables
            .mentions
            .set(*id, mentions.remove(id).unwrap_or_default());
    }
    Ok(())
}

/// Says (in the log) that a ticket id is beyond what the tables index.
fn beyond(id: i64) -> AppError {
    tracing::warn!(
        ticket_id = id,
        "ticket id beyond the view counter's tables; custom view counts are counted in SQL"
    );
    AppError::Internal
}

/// Reads the tickets `ids` (as far as they exist) with everything views
/// test, and who follows and is mentioned on them.
pub async fn load(conn: &mut sqlx::AnyConnection, ids: &[i64]) -> Result<Loaded, AppError> {
    let mut loaded = Loaded::default();
    for chunk in ids.chunks(LOAD_CHUNK) {
        let select = |head: &str| {
            let mut sql = SqlBuilder::new(head);
            sql.bind_ints(chunk);
            sql.push(")");
            sql
        };
        // A merged or trashed ticket reads as gone: it leaves every count.
        let mut sql = select(&format!(
            "SELECT {VIEW_FACT_COLUMNS} FROM tickets t LEFT JOIN contacts c ON c.id = t.contact_id \
             WHERE t.id IN ("
        ));
        sql.push(crate::tickets::service::LISTED);
        for row in sql.query().fetch_all(&mut *conn).await? {
            loaded.tickets.push(facts::from_view_row(&row)?);
        }
        // Followers and mentions in one statement: this runs after every
        // batch of commits, and on SQLite each statement is a round trip.
        let mut sql = SqlBuilder::new(
            "SELECT 0 AS mention, ticket_id, user_id FROM followers WHERE ticket_id IN (",
        );
        sql.bind_ints(chunk);
        sql.push(
            ") UNION SELECT 1 AS mention, ticket_id, user_id FROM mentions WHERE ticket_id IN (",
        );
        sql.bind_ints(chunk);
        sql.push(")");
        for row in sql.query().fetch_all(&mut *conn).await? {
            let pair = (row.try_get("ticket_id")?, row.try_get("user_id")?);
            if row.try_get::<i64, _>("mention")? == 1 {
                loaded.mentions.push(pair);
            } else {
                loaded.follows.push(pair);
            }
        }
    }
    Ok(loaded)
}

/// What the hub holds while it reads a batch of events: see
/// [`ViewCounter::begin_batch`].
pub struct Batch<'a> {
    state: tokio::sync::MutexGuard<'a, State>,
}

impl Batch<'_> {
    /// Does the counter want the tickets of this batch?
    pub fn wants_tickets(&self) -> bool {
        self.state.tables.is_some() || self.state.touched.is_some()
    }

    /// Applies the tickets the batch's events named, read in the events'
    /// snapshot.
    pub fn apply(mut self, ids: &[i64], loaded: &Loaded) {
        apply_all(&mut self.state, ids, loaded, now_ms());
    }
}

impl ViewCounter {
    /// Creates the counter and starts its scanner; the first scan starts at
    /// once.
    pub fn start(db: Db) -> Arc<ViewCounter> {
        let counter = Arc::new(ViewCounter {
            state: Default::default(),
            rescan: tokio::sync::Notify::new(),
        });
        counter.rescan.notify_one();
        tokio::spawn(run(Arc::downgrade(&counter), db));
        counter
    }

    /// Asks for a new scan (a view changed). A request made while a scan
    /// runs is kept, and another scan follows.
    pub fn request_scan(&self) {
        self.rescan.notify_one();
    }

    /// After the SLA settings changed: scans again when a view tests SLA
    /// state or due time (a recalculation changes them without events).
    pub async fn sla_changed(&self) {
        let state = self.state.lock().await;
        let uses_sla = state.tables.as_ref().is_none_or(|t| t.uses_sla);
        drop(state);
        if uses_sla {
            self.request_scan();
        }
    }

    /// Taken by the hub before it reads a batch of events, and held until
    /// it applied their tickets: reads and applies happen in commit order.
    pub async fn begin_batch(&self) -> Batch<'_> {
        Batch {
            state: self.state.lock().await,
        }
    }

    /// `viewer`'s count of My mentions or Followers, or `None` before the
    /// first scan.
    pub async fn personal_count(&self, list: Personal, viewer: &User) -> Option<i64> {
        let mut state = self.state.lock().await;
        state.tables.as_ref()?;
        let key = (list, viewer.id);
        if let Some((role, access, n)) = state.personal_counts.get(&key) {
            if *role == viewer.role && *access == viewer.access {
                return Some(*n);
            }
        }
        let n = state.tables.as_ref()?.personal_count(list, viewer);
        state
            .personal_counts
            .insert(key, (viewer.role, viewer.access.clone(), n));
        Some(n)
    }

    /// `viewer`'s count of version `version` of custom view `view_id`, or
    /// `None` when the counter does not have it (yet).
    pub async fn count(&self, view_id: i64, version: i64, viewer: &User) -> Option<i64> {
        let state = self.state.lock().await;
        state.tables.as_ref()?.count(view_id, version, viewer)
    }
}

/// The scanner and the clock, for as long as the counter exists.
async fn run(counter: Weak<ViewCounter>, db: Db) {
    let mut tick = tokio::time::interval(WAKEUP_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let Some(c) = counter.upgrade() else { return };
        tokio::select! {
            _ = c.rescan.notified() => {
                if let Err(e) = scan_now(&c, &db).await {
                    tracing::warn!(error = %e, "cannot count custom views; counting them in SQL");
                    // Try again a little later.
                    drop(c);
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    if let Some(c) = counter.upgrade() {
                        c.request_scan();
                    }
                }
            }
            _ = tick.tick() => {
                if let Err(e) = wake_due(&c, &db).await {
                    tracing::warn!(error = %e, "cannot update custom view counts");
                }
            }
        }
    }
}

/// Tests again the tickets whose scheduled moment has come.
async fn wake_due(counter: &ViewCounter, db: &Db) -> Result<(), AppError> {
    let mut state = counter.state.lock().await;
    let now = now_ms();
    state.personal_counts.clear();
    let due = match &mut state.tables {
        Some(tables) => tables.due(now),
        None => return Ok(()),
    };
    if due.is_empty() {
        return Ok(());
    }
    let loaded = load(&mut *db.pool().acquire().await?, &due).await?;
    apply_all(&mut state, &due, &loaded, now);
    Ok(())
}

/// Rebuilds the tables from every ticket and view.
async fn scan_now(counter: &ViewCounter, db: &Db) -> Result<(), AppError> {
    counter.state.lock().await.touched = Some(Vec::new());
    let scanned = scan(db).await;
    let mut state = counter.state.lock().await;
    let touched = state.touched.take().unwrap_or_default();
    let mut tables = match scanned {
        Ok(tables) => tables,
        Err(e) => {
            state.tables = None;
            return Err(e);
        }
    };
    // Tickets changed during the scan, as they are now.
    let mut touched = touched;
    touched.sort_unstable();
    touched.dedup();
    let loaded = if touched.is_empty() {
        Loaded::default()
    } else {
        load(&mut *db.pool().acquire().await?, &touched).await?
    };
    if let Err(e) = apply_to(&mut tables, &touched, &loaded, now_ms()) {
        state.tables = None;
        return Err(e);
    }
    state.personal_counts.clear();
    state.tables = Some(tables);
    Ok(())
}

/// Reads every custom view, every ticket, every follow and mention, in one
/// snapshot.
async fn scan(db: &Db) -> Result<Tables, AppError> {
    let started = std::time::Instant::now();
    let mut tx = db.pool().begin().await?;
    if db.kind() == DbKind::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    let mut views = Vec::new();
    for row in sqlx::query("SELECT id, version, definition FROM views")
        .fetch_all(&mut *tx)
        .await?
    {
        let definition: String = row.try_get("definition")?;
        // A definition that no longer reads is counted in SQL (which
        // reports it), never here.
        if let Ok(d) = serde_json::from_str::<ViewDefinition>(&definition) {
            views.push((row.try_get("id")?, row.try_get("version")?, d));
        }
    }
    let mut tables = Tables::new(views);
    for (table, sql) in [
        ("followers", "SELECT user_id, ticket_id FROM followers"),
        (
            "mentions",
            "SELECT DISTINCT user_id, ticket_id FROM mentions",
        ),
    ] {
        let mut rows = sqlx::query(sql).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            let (person, ticket): (i64, i64) = (row.try_get("user_id")?, row.try_get("ticket_id")?);
            match table {
                "followers" => tables.follows.add(ticket, person),
                _ => tables.mentions.add(ticket, person),
            }
        }
    }
    let now = now_ms();
    let sql = format!(
        "SELECT {VIEW_FACT_COLUMNS} FROM tickets t LEFT JOIN contacts c ON c.id = t.contact_id \
         WHERE 1 = 1{}",
        crate::tickets::service::LISTED
    );
    let mut rows = sqlx::query(&sql).fetch(&mut *tx);
    let mut tickets = 0_u64;
    while let Some(row) = rows.try_next().await? {
        let ticket = facts::from_view_row(&row)?;
        if !tables.apply(ticket.id, Some(&ticket), now) {
            return Err(beyond(ticket.id));
        }
        tickets += 1;
    }
    drop(rows);
    tx.rollback().await?;
    tracing::info!(
        views = tables.views.len(),
        tickets,
        ms = started.elapsed().as_millis() as u64,
        "custom view counts ready"
    );
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Access, AccessScope};
    use crate::views::{Condition, Operator};

    fn view(id: i64, groups: Vec<Vec<Condition>>) -> (i64, i64, ViewDefinition) {
        (
            id,
            1,
            ViewDefinition {
                groups,
                ..Default::default()
            },
        )
    }

    fn c(property: Property, op: Operator, values: &[&str]) -> Condition {
        Condition {
            property,
            op,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn ticket(id: i64, owner: Option<i64>, team: Option<i64>, priority: i64) -> TicketFacts {
        TicketFacts {
            id,
            owner_id: owner,
            team_id: team,
            priority,
            status_category: "open".into(),
            channel: "email".into(),
            created_at: 1_000,
            updated_at: 1_000,
            ..Default::default()
        }
    }

    fn user(id: i64, scope: AccessScope, teams: Vec<i64>) -> User {
        User {
            id,
            email: "a@b.c".into(),
            name: "A".into(),
            role: crate::users::Role::Agent,
            access: Access {
                scope,
                include_unassigned: false,
                team_ids: teams,
            },
            availability: Default::default(),
            timezone: "UTC".into(),
            working_hours: None,
            capacity: Default::default(),
        }
    }

    #[test]
    fn counts_follow_moves_between_buckets_and_views() {
        let mut t = Tables::new(vec![
            view(
                1,
                vec![vec![c(Property::Priority, Operator::IsAnyOf, &["high"])]],
            ),
            view(
                2,
                vec![vec![c(Property::Owner, Operator::IsAnyOf, &["me", "none"])]],
            ),
        ]);
        let all = user(7, AccessScope::All, vec![]);
        let team1 = user(8, AccessScope::Teams, vec![1]);
        t.apply(1, Some(&ticket(1, Some(7), Some(1), 2)), 0);
        t.apply(2, Some(&ticket(2, None, Some(2), 2)), 0);
        t.apply(3, Some(&ticket(3, Some(8), Some(1), 0)), 0);
        assert_eq!(t.count(1, 1, &all), Some(2));
        assert_eq!(t.count(1, 1, &team1), Some(1));
        // "Mine or nobody's": 7 owns ticket 1, nobody owns 2.
        assert_eq!(t.count(2, 1, &all), Some(2));
        // 8 sees team 1 (tickets 1 and 3) and owns 3.
        assert_eq!(t.count(2, 1, &team1), Some(1));
        // Ticket 1 moves to 8 in team 2 and becomes low: out of view 1,
        // and out of 8's sight (team 2) except that 8 owns it now.
        t.apply(1, Some(&ticket(1, Some(8), Some(2), 0)), 0);
        assert_eq!(t.count(1, 1, &all), Some(1));
        assert_eq!(t.count(1, 1, &team1), Some(0));
        assert_eq!(t.count(2, 1, &all), Some(1));
        assert_eq!(t.count(2, 1, &team1), Some(2));
        // Applying the same state again changes nothing.
        t.apply(1, Some(&ticket(1, Some(8), Some(2), 0)), 0);
        assert_eq!(t.count(2, 1, &team1), Some(2));
        // A deleted ticket leaves every view.
        t.apply(3, None, 0);
        assert_eq!(t.count(2, 1, &team1), Some(1));
        // Another version of the view is not counted here.
        assert_eq!(t.count(1, 2, &all), None);
    }

    #[test]
    fn personal_lists_count_open_tickets_the_viewer_may_see() {
        let mut t = Tables::new(vec![]);
        let mut closed = ticket(3, Some(9), Some(2), 0);
        closed.status_category = "closed".into();
        t.apply(1, Some(&ticket(1, Some(7), Some(1), 0)), 0);
        t.apply(2, Some(&ticket(2, Some(9), Some(2), 0)), 0);
        t.apply(3, Some(&closed), 0);
        for id in [1, 2, 3] {
            t.follows.set(id, vec![7]);
        }
        let all = user(7, AccessScope::All, vec![]);
        let team1 = user(7, AccessScope::Teams, vec![1]);
        assert_eq!(
            t.personal_count(Personal::Follows, &all),
            2,
            "closed 3 left out"
        );
        assert_eq!(
            t.personal_count(Personal::Follows, &team1),
            1,
            "2 is team 2's"
        );
        t.follows.set(2, vec![]);
        assert_eq!(t.personal_count(Personal::Follows, &all), 1);
        t.apply(1, None, 0);
        assert_eq!(t.personal_count(Personal::Follows, &all), 0, "deleted");
        assert_eq!(t.personal_count(Personal::Mentions, &all), 0);
    }

    #[test]
    fn relative_dates_schedule_the_moment_a_ticket_leaves() {
        let day = crate::views::DAY_MS;
        let mut t = Tables::new(vec![view(
            1,
            vec![vec![c(Property::CreatedAt, Operator::InLastDays, &["2"])]],
        )]);
        let all = user(7, AccessScope::All, vec![]);
        let mut fresh = ticket(5, None, None, 0);
        fresh.created_at = 10 * day;
        t.apply(5, Some(&fresh), 11 * day);
        assert_eq!(t.count(1, 1, &all), Some(1));
        assert!(t.due(12 * day).is_empty());
        assert_eq!(t.due(12 * day + 1), vec![5]);
        t.apply(5, Some(&fresh), 12 * day + 1);
        assert_eq!(t.count(1, 1, &all), Some(0));
        assert!(t.due(100 * day).is_empty(), "nothing more to wait for");
    }
}
