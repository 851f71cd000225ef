-- Merge, split and trash (SQLite). Kept in step with
-- migrations/postgres/0010_ticket_actions.sql.

-- A merged ticket (a "secondary") stays in the table, hidden, and
-- redirects to the ticket it was merged into: opening it, a link to it,
-- the API and a customer's later reply all land there. Deleting the
-- primary for good deletes what was merged into it too.
ALTER TABLE tickets ADD COLUMN merged_into_id INTEGER REFERENCES tickets(id) ON DELETE CASCADE;
-- In the trash since (NULL = not deleted); purged 30 days later.
ALTER TABLE tickets ADD COLUMN deleted_at INTEGER;
ALTER TABLE tickets ADD COLUMN deleted_by INTEGER REFERENCES users(id) ON DELETE SET NULL;
-- The ticket this one was split off from (the link back; the other way is
-- this index).
ALTER TABLE tickets ADD COLUMN split_from_id INTEGER REFERENCES tickets(id) ON DELETE SET NULL;
CREATE INDEX tickets_merged_into ON tickets (merged_into_id) WHERE merged_into_id IS NOT NULL;
CREATE INDEX tickets_deleted ON tickets (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX tickets_split_from ON tickets (split_from_id) WHERE split_from_id IS NOT NULL;

-- The ticket a thread entry was written on, once a merge moved it to
-- another thread (NULL = the ticket it is on). Shown beside the entry, and
-- what unmerge moves back by.
ALTER TABLE messages ADD COLUMN origin_ticket_id INTEGER;
CREATE INDEX messages_origin ON messages (origin_ticket_id, ticket_id) WHERE origin_ticket_id IS NOT NULL;

-- Every merge, so it can be undone. `primary_created_at` is the primary's
-- create date before the merge (it takes the older one);
-- `sla_from_secondary` says the primary had no SLA clocks and took copies
-- of the secondary's (removed again on unmerge).
CREATE TABLE ticket_merges (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    primary_id         INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    secondary_id       INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    primary_created_at INTEGER NOT NULL,
    sla_from_secondary INTEGER NOT NULL DEFAULT 0,
    merged_by          INTEGER REFERENCES users(id) ON DELETE SET NULL,
    merged_at          INTEGER NOT NULL,
    unmerged_by        INTEGER REFERENCES users(id) ON DELETE SET NULL,
    unmerged_at        INTEGER
);
CREATE INDEX ticket_merges_primary ON ticket_merges (primary_id, id);
CREATE INDEX ticket_merges_secondary ON ticket_merges (secondary_id, id);

-- The maintained counts of migration 0003 count only tickets that are
-- listed: neither merged into another nor in the trash. No ticket is
-- either yet, so the counts themselves stand.
DROP TRIGGER ticket_counts_insert;
DROP TRIGGER ticket_counts_delete;
DROP TRIGGER ticket_counts_update;

CREATE TRIGGER ticket_counts_insert AFTER INSERT ON tickets
WHEN NEW.merged_into_id IS NULL AND NEW.deleted_at IS NULL
BEGIN
    INSERT INTO ticket_counts (owner_key, team_key, closed, n)
    VALUES (COALESCE(NEW.owner_id, 0), COALESCE(NEW.team_id, 0),
            NEW.status_category = 'closed', 1)
    ON CONFLICT (owner_key, team_key, closed) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER ticket_counts_delete AFTER DELETE ON tickets
WHEN OLD.merged_into_id IS NULL AND OLD.deleted_at IS NULL
BEGIN
    UPDATE ticket_counts SET n = n - 1
    WHERE owner_key = COALESCE(OLD.owner_id, 0) AND team_key = COALESCE(OLD.team_id, 0)
      AND closed = (OLD.status_category = 'closed');
END;

-- An update takes the old row out of its bucket (if it was listed) and
-- puts the new one in (if it is listed), whenever the bucket or the
-- listing changed.
CREATE TRIGGER ticket_counts_update_out
AFTER UPDATE OF owner_id, team_id, status_category, merged_into_id, deleted_at ON tickets
WHEN OLD.merged_into_id IS NULL AND OLD.deleted_at IS NULL
 AND (COALESCE(OLD.owner_id, 0) <> COALESCE(NEW.owner_id, 0)
   OR COALESCE(OLD.team_id, 0) <> COALESCE(NEW.team_id, 0)
   OR (OLD.status_category = 'closed') <> (NEW.status_category = 'closed')
   OR NEW.merged_into_id IS NOT NULL OR NEW.deleted_at IS NOT NULL)
BEGIN
    UPDATE ticket_counts SET n = n - 1
    WHERE owner_key = COALESCE(OLD.owner_id, 0) AND team_key = COALESCE(OLD.team_id, 0)
      AND closed = (OLD.status_category = 'closed');
END;

CREATE TRIGGER ticket_counts_update_in
AFTER UPDATE OF owner_id, team_id, status_category, merged_into_id, deleted_at ON tickets
WHEN NEW.merged_into_id IS NULL AND NEW.deleted_at IS NULL
 AND (COALESCE(OLD.owner_id, 0) <> COALESCE(NEW.owner_id, 0)
   OR COALESCE(OLD.team_id, 0) <> COALESCE(NEW.team_id, 0)
   OR (OLD.status_category = 'closed') <> (NEW.status_category = 'closed')
   OR OLD.merged_into_id IS NOT NULL OR OLD.deleted_at IS NOT NULL)
BEGIN
    INSERT INTO ticket_counts (owner_key, team_key, closed, n)
    VALUES (COALESCE(NEW.owner_id, 0), COALESCE(NEW.team_id, 0),
            NEW.status_category = 'closed', 1)
    ON CONFLICT (owner_key, team_key, closed) DO UPDATE SET n = n + 1;
END;
