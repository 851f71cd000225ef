-- Foundation schema (SQLite). Kept column-for-column identical to
-- migrations/postgres/0001_foundation.sql so that one set of queries serves
-- both databases. Conventions:
--   * every id and every integer is a 64-bit integer;
--   * timestamps are Unix epoch milliseconds (INTEGER), so ordering and
--     arithmetic are identical on both databases and no timezone is implied;
--   * enums are stored as lower-case text and validated by the service layer,
--     and by CHECK constraints here as a second line of defence.

-- People who sign in. `role` decides what they may do; the password hash is
-- an argon2id PHC string (salt and parameters included).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,          -- stored lower-case
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('super_admin', 'agent', 'collaborator')),
    password_hash TEXT    NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- Membership; `is_main` distinguishes main from additional members (routing
-- only ever targets main members).
CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    is_main INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (team_id, user_id)
);

-- Browser sessions. Only the SHA-256 of the cookie value is stored, so a
-- leaked database does not leak live sessions.
CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Personal API tokens (Bearer). Shown once at creation; stored hashed.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);

CREATE TABLE companies (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    domain     TEXT    UNIQUE,
    created_at INTEGER NOT NULL
);

-- Customers. Email is unique when present (stored lower-case) so inbound
-- channels can match a sender to exactly one contact.
CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    email      TEXT    UNIQUE,
    phone      TEXT,
    company_id INTEGER REFERENCES companies(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
);

-- Ticket pipelines and their ordered statuses. Each status maps to one of
-- three categories, which is what views, SLAs and reporting reason about.
CREATE TABLE pipelines (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    name     TEXT    NOT NULL UNIQUE,
    position INTEGER NOT NULL
);
CREATE TABLE pipeline_statuses (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline_id INTEGER NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    category    TEXT    NOT NULL CHECK (category IN ('open', 'waiting', 'closed')),
    position    INTEGER NOT NULL,
    UNIQUE (pipeline_id, name)
);

CREATE TABLE tickets (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    number           INTEGER NOT NULL UNIQUE,   -- the human-facing "#123"
    subject          TEXT    NOT NULL,
    pipeline_id      INTEGER NOT NULL REFERENCES pipelines(id),
    status_id        INTEGER NOT NULL REFERENCES pipeline_statuses(id),
    -- Copy of the status's category, kept in step by the service layer, so
    -- that the default views ("all open", "unassigned") filter on one
    -- indexed column instead of a join.
    status_category  TEXT    NOT NULL CHECK (status_category IN ('open', 'waiting', 'closed')),
    priority         INTEGER NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 3), -- low..urgent
    category         TEXT,
    owner_id         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    team_id          INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    channel          TEXT    NOT NULL,
    contact_id       INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,          -- last activity of any kind
    first_reply_at   INTEGER,
    closed_at        INTEGER
);
-- Keyset pagination of the default views: (filter columns, sort key, id).
CREATE INDEX tickets_open_updated  ON tickets (status_category, updated_at, id);
CREATE INDEX tickets_owner_updated ON tickets (owner_id, status_category, updated_at, id);
CREATE INDEX tickets_created       ON tickets (created_at, id);
CREATE INDEX tickets_contact       ON tickets (contact_id);

-- The thread of a ticket: inbound messages, outbound replies, internal notes
-- and system events. `body` is plain text (search, previews); `body_html` is
-- sanitised HTML and is the only HTML ever rendered.
CREATE TABLE messages (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id         INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    kind              TEXT    NOT NULL CHECK (kind IN ('inbound', 'reply', 'note', 'event')),
    author_user_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    author_contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    body              TEXT    NOT NULL,
    body_html         TEXT    NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX messages_ticket ON messages (ticket_id, created_at, id);

-- Users @mentioned in internal notes (feeds "My mentions").
CREATE TABLE mentions (
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX mentions_user ON mentions (user_id, ticket_id);

-- Append-only log of every change, numbered by a strictly increasing `seq`.
-- Live updates, resume-after-reconnect and audit are all read from here.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,                -- e.g. 'ticket.created'
    ticket_id  INTEGER,
    actor_id   INTEGER,
    data       TEXT    NOT NULL,                -- JSON payload
    created_at INTEGER NOT NULL
);
CREATE INDEX events_ticket ON events (ticket_id, seq);

-- Named counters handed out inside transactions. Ticket numbers come from
-- here: the UPDATE ... RETURNING takes a row lock, so concurrent creators on
-- PostgreSQL queue for the next number instead of colliding.
CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('ticket_number', 0);

-- The default pipeline every workspace starts with.
INSERT INTO pipelines (id, name, position) VALUES (1, 'Support', 0);
INSERT INTO pipeline_statuses (pipeline_id, name, category, position) VALUES
    (1, 'New', 'open', 0),
    (1, 'Waiting on contact', 'waiting', 1),
    (1, 'Waiting on us', 'open', 2),
    (1, 'Closed', 'closed', 3);
