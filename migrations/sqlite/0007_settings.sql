-- Help desk settings (SQLite): working hours and capacity, business-hours
-- calendars, routing rules, SLA policies and clocks, sidebar layouts.
-- Kept in step with migrations/postgres/0007_settings.sql. JSON columns
-- hold shapes defined and validated in Rust (named beside each column).

-- A user's weekly working hours (JSON business_hours::WeeklyHours, in the
-- user's `timezone`; NULL = no schedule, availability is only manual).
-- `schedule_state` is where the schedule stood when last checked ('in' or
-- 'out'): availability changes automatically only when it flips, so a
-- manual choice in between (the override) lasts until the next boundary.
-- `capacity` is routing's limit on open tickets (JSON routing::Capacity;
-- NULL = no limit).
ALTER TABLE users ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE users ADD COLUMN working_hours TEXT;
ALTER TABLE users ADD COLUMN schedule_state TEXT CHECK (schedule_state IN ('in', 'out'));
ALTER TABLE users ADD COLUMN capacity TEXT;

-- Business-hours calendars for SLAs and routing. `weekly` is JSON
-- business_hours::WeeklyHours and `exceptions` JSON
-- Vec<business_hours::DateException> (holidays, special days), both in
-- `timezone`. `always_open` is the 24/7 calendar (weekly is ignored).
CREATE TABLE calendars (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    timezone    TEXT    NOT NULL,
    always_open INTEGER NOT NULL DEFAULT 0,
    weekly      TEXT    NOT NULL,
    exceptions  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
INSERT INTO calendars (name, timezone, always_open, weekly, exceptions, created_at, updated_at)
VALUES ('24/7', 'UTC', 1, '[]', '[]', 0, 0);

-- Routing rules, tried in `position` order; the first whose channel and
-- conditions (JSON Vec<views::Condition>, all must hold) match a new
-- unassigned ticket decides it. The target is a team's main members or
-- the listed users (JSON Vec<i64>); neither = leave it unassigned.
-- `cycle` and `last_user_id` are the round robin's place: every eligible
-- user gets one ticket per cycle (see routing_turns).
CREATE TABLE routing_rules (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT    NOT NULL,
    position            INTEGER NOT NULL,
    channel             TEXT,
    conditions          TEXT    NOT NULL,
    target_team_id      INTEGER REFERENCES teams(id) ON DELETE CASCADE,
    target_user_ids     TEXT    NOT NULL,
    method              TEXT    NOT NULL CHECK (method IN ('round_robin', 'balanced', 'random')),
    ignore_availability INTEGER NOT NULL DEFAULT 0,
    cycle               INTEGER NOT NULL DEFAULT 1,
    last_user_id        INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

-- The round robin cycle in which each user last got a ticket from a rule.
-- A user whose last_cycle is below the rule's cycle is still owed one in
-- this cycle, which is how a newly eligible user joins the current cycle.
CREATE TABLE routing_turns (
    rule_id    INTEGER NOT NULL REFERENCES routing_rules(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_cycle INTEGER NOT NULL,
    PRIMARY KEY (rule_id, user_id)
);

-- Routing's to-do list: 1 for a new unassigned ticket not yet routed, 2
-- for one whose rule found nobody eligible (its timeline says why; it is
-- routed as soon as someone becomes eligible), 0 once a rule assigned it or
-- left it unassigned. The partial index keeps the list small.
ALTER TABLE tickets ADD COLUMN routing_pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tickets_routing_pending ON tickets (id) WHERE routing_pending > 0;

-- Since when the customer has been waiting for an answer (the first inbound
-- message after the last reply); NULL when they are not. Starts the "next
-- reply" SLA clock.
ALTER TABLE tickets ADD COLUMN awaiting_reply_since INTEGER;

-- The ticket's SLA summary for views: the most urgent state of its running
-- goals ('on_track', 'due_soon', 'overdue'; NULL = no running goal) and the
-- earliest due time among them. Kept in step with ticket_sla.
ALTER TABLE tickets ADD COLUMN sla_state TEXT;
ALTER TABLE tickets ADD COLUMN sla_due_at INTEGER;
CREATE INDEX tickets_sla ON tickets (sla_state, sla_due_at, id) WHERE sla_state IS NOT NULL;

-- SLA policies, tried in `position` order; the first whose conditions
-- (JSON Vec<views::Condition>) match a ticket applies. Targets are business
-- minutes on `calendar_id` (NULL = 24/7). `pause_statuses` (JSON Vec<i64>
-- of status ids) stop the clocks while the ticket is in one of them.
CREATE TABLE sla_policies (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    name               TEXT    NOT NULL,
    position           INTEGER NOT NULL,
    conditions         TEXT    NOT NULL,
    first_reply_minutes INTEGER,
    next_reply_minutes INTEGER,
    close_minutes      INTEGER,
    calendar_id        INTEGER REFERENCES calendars(id),
    due_soon_minutes   INTEGER NOT NULL,
    pause_statuses     TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

-- One SLA clock per ticket and goal ('first_reply', 'next_reply', 'close').
-- `due_at` is started_at plus the target plus the business time spent
-- paused (`paused_ms`, added up when a pause ends); NULL while paused.
-- `next_change_at` is when the state next changes by itself (due soon,
-- then overdue): the SLA timer reads the clocks whose moment has come from
-- its index, so state changes happen on time with nobody connected and
-- after a restart.
CREATE TABLE ticket_sla (
    ticket_id      INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    goal           TEXT    NOT NULL CHECK (goal IN ('first_reply', 'next_reply', 'close')),
    policy_id      INTEGER REFERENCES sla_policies(id) ON DELETE SET NULL,
    started_at     INTEGER NOT NULL,
    due_at         INTEGER,
    paused_since   INTEGER,
    paused_ms      INTEGER NOT NULL DEFAULT 0,
    stopped_at     INTEGER,
    state          TEXT    NOT NULL CHECK (state IN ('on_track', 'due_soon', 'overdue', 'met', 'missed')),
    next_change_at INTEGER,
    PRIMARY KEY (ticket_id, goal)
);
CREATE INDEX ticket_sla_next_change ON ticket_sla (next_change_at) WHERE next_change_at IS NOT NULL;

-- The right sidebar of the open ticket: the default layout (team_id NULL)
-- and per-team layouts. Every save is a new version (JSON
-- sidebar::SidebarLayout); the highest version is the current one, and a
-- rollback saves an older one again.
CREATE TABLE sidebar_layouts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id    INTEGER REFERENCES teams(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    cards      TEXT    NOT NULL,
    saved_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX sidebar_layouts_version ON sidebar_layouts (COALESCE(team_id, 0), version);
