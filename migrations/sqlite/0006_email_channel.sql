-- Email channel (SQLite). Kept in step with
-- migrations/postgres/0006_email_channel.sql.

-- A connected inbound channel. Only email for now; the other kinds add
-- their own settings later. `settings` holds what may be shown back to an
-- admin (hosts, ports, user names) as JSON; `secrets` holds passwords,
-- sealed with the instance's secret key (ChaCha20-Poly1305, see
-- app/src/channels/secrets.rs) and never returned by any endpoint.
CREATE TABLE channels (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL CHECK (kind IN ('email')),
    name       TEXT    NOT NULL,
    address    TEXT    NOT NULL UNIQUE,          -- lower-case mailbox address
    team_id    INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    from_name  TEXT,
    signature  TEXT,
    settings   TEXT    NOT NULL,
    secrets    TEXT    NOT NULL,
    -- Last IMAP poll: NULL until the first, then 'ok' or the safe error text.
    imap_status TEXT,
    -- Highest IMAP UID already taken from the folder (with its UIDVALIDITY),
    -- so a poll asks only for newer mail and never re-reads the mailbox.
    imap_uid_validity INTEGER,
    imap_last_uid INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The channel a ticket came in through: replies go out through it.
ALTER TABLE tickets ADD COLUMN channel_id INTEGER REFERENCES channels(id) ON DELETE SET NULL;

-- Email facts about a thread entry.
--   join_reason: why an inbound email joined this ticket or started it
--     ('in_reply_to', 'references', 'reply_token', 'subject_token', 'new',
--     'new_foreign_sender', 'import'), with join_detail the human sentence;
--   delivery_state/delivery_error: the outbound queue's state for a reply
--     ('queued', 'sent', 'failed'), mirrored here so the thread shows it;
--   quoted_html: the quoted history and signature cut off the body, shown
--     collapsed;
--   remote_images: the body has remote images held back until asked for.
ALTER TABLE messages ADD COLUMN join_reason TEXT;
ALTER TABLE messages ADD COLUMN join_detail TEXT;
ALTER TABLE messages ADD COLUMN delivery_state TEXT;
ALTER TABLE messages ADD COLUMN delivery_error TEXT;
ALTER TABLE messages ADD COLUMN quoted_html TEXT;
ALTER TABLE messages ADD COLUMN remote_images INTEGER NOT NULL DEFAULT 0;

-- Every email received or sent, by Message-ID (without angle brackets).
-- Threading looks replies up here; the unique index makes a re-delivered or
-- re-imported message a no-op. `sender` and `created_at` feed the
-- per-sender rate limit.
CREATE TABLE email_messages (
    message_id TEXT    NOT NULL PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    entry_id   INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    channel_id INTEGER REFERENCES channels(id) ON DELETE SET NULL,
    direction  TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    sender     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX email_messages_sender ON email_messages (sender, created_at);
CREATE INDEX email_messages_ticket ON email_messages (ticket_id);

-- Files that came with a message. Kept in the database so every instance
-- of a PostgreSQL install serves them and backups hold them.
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id     INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    ticket_id    INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    filename     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    content_id   TEXT,                 -- for inline images (cid:)
    is_inline    INTEGER NOT NULL DEFAULT 0,
    size         INTEGER NOT NULL,
    data         BLOB    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_entry ON attachments (entry_id);

-- Mail that did not become a thread entry, kept raw with the reason:
-- malformed or oversized messages, loops, rate-limited senders, auto-replies
-- and bounces nobody could place. Admins read it; nothing is lost.
CREATE TABLE email_quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id  INTEGER REFERENCES channels(id) ON DELETE SET NULL,
    source      TEXT    NOT NULL CHECK (source IN ('smtp', 'imap', 'import')),
    category    TEXT    NOT NULL,      -- 'malformed', 'loop', 'rate_limited', 'auto_reply', 'bounce', ...
    reason      TEXT    NOT NULL,      -- what an admin reads
    sender      TEXT,
    subject     TEXT,
    size        INTEGER NOT NULL,
    raw         BLOB    NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX email_quarantine_received ON email_quarantine (received_at);

-- Outbound email, durable: a reply is queued in the transaction that adds
-- it to the thread, and the sender task takes rows from here. `raw` is the
-- complete message built at queue time, so a retry sends the same bytes
-- with the same Message-ID. A row is claimed by setting `locked_until`
-- (several instances can share the queue); `state` 'sent' is final.
CREATE TABLE email_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id        INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    ticket_id       INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    channel_id      INTEGER REFERENCES channels(id) ON DELETE SET NULL,
    message_id      TEXT    NOT NULL,
    mail_from       TEXT    NOT NULL,
    recipients      TEXT    NOT NULL,  -- JSON array of addresses
    raw             BLOB    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    locked_until    INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX email_outbox_due ON email_outbox (state, next_attempt_at);

-- History imports (mbox upload or IMAP folder), with progress for the UI.
CREATE TABLE email_imports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id  INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    source      TEXT    NOT NULL CHECK (source IN ('mbox', 'imap')),
    state       TEXT    NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    total       INTEGER NOT NULL DEFAULT 0,
    processed   INTEGER NOT NULL DEFAULT 0,
    imported    INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,   -- already present (Message-ID)
    failed      INTEGER NOT NULL DEFAULT 0,   -- quarantined
    error       TEXT,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);
