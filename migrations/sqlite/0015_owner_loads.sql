-- Each owner's open tickets by channel and status, kept by triggers
-- (SQLite; kept in step with migrations/postgres/0015_owner_loads.sql).
--
-- The assignee picker shows every agent's load ("3/10") and routing checks
-- capacity against it. Both counted the open tickets of every agent, which
-- on a million tickets took 200 ms, and the picker's loads come with every
-- ticket opened in the workspace. Now they read this table, a few rows per
-- agent, as the default views' counts read `ticket_counts` (migration
-- 0010).
--
-- A ticket counts when it has an owner, is not closed, and is neither
-- merged into another nor in the trash. Capacity can leave chosen statuses
-- out, so the status stays in the key; rows whose `n` fell to 0 are left
-- in place and skipped by readers.
CREATE TABLE owner_loads (
    owner_id  INTEGER NOT NULL,
    channel   TEXT    NOT NULL,
    status_id INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (owner_id, channel, status_id)
);
INSERT INTO owner_loads (owner_id, channel, status_id, n)
SELECT owner_id, channel, status_id, COUNT(*) FROM tickets
WHERE owner_id IS NOT NULL AND status_category <> 'closed'
  AND merged_into_id IS NULL AND deleted_at IS NULL
GROUP BY owner_id, channel, status_id;

CREATE TRIGGER owner_loads_insert AFTER INSERT ON tickets
WHEN NEW.owner_id IS NOT NULL AND NEW.status_category <> 'closed'
 AND NEW.merged_into_id IS NULL AND NEW.deleted_at IS NULL
BEGIN
    INSERT INTO owner_loads (owner_id, channel, status_id, n)
    VALUES (NEW.owner_id, NEW.channel, NEW.status_id, 1)
    ON CONFLICT (owner_id, channel, status_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER owner_loads_delete AFTER DELETE ON tickets
WHEN OLD.owner_id IS NOT NULL AND OLD.status_category <> 'closed'
 AND OLD.merged_into_id IS NULL AND OLD.deleted_at IS NULL
BEGIN
    UPDATE owner_loads SET n = n - 1
    WHERE owner_id = OLD.owner_id AND channel = OLD.channel AND status_id = OLD.status_id;
END;

-- An update takes the old row out of its count (if it counted) and puts
-- the new one in (if it counts), whenever the key or whether it counts
-- changed. Whether it counts is the four conditions above.
CREATE TRIGGER owner_loads_update_out
AFTER UPDATE OF owner_id, channel, status_id, status_category, merged_into_id, deleted_at ON tickets
WHEN OLD.owner_id IS NOT NULL AND OLD.status_category <> 'closed'
 AND OLD.merged_into_id IS NULL AND OLD.deleted_at IS NULL
 AND (NEW.owner_id IS NOT OLD.owner_id OR NEW.channel <> OLD.channel
   OR NEW.status_id <> OLD.status_id OR NEW.status_category = 'closed'
   OR NEW.merged_into_id IS NOT NULL OR NEW.deleted_at IS NOT NULL)
BEGIN
    UPDATE owner_loads SET n = n - 1
    WHERE owner_id = OLD.owner_id AND channel = OLD.channel AND status_id = OLD.status_id;
END;

CREATE TRIGGER owner_loads_update_in
AFTER UPDATE OF owner_id, channel, status_id, status_category, merged_into_id, deleted_at ON tickets
WHEN NEW.owner_id IS NOT NULL AND NEW.status_category <> 'closed'
 AND NEW.merged_into_id IS NULL AND NEW.deleted_at IS NULL
 AND (NEW.owner_id IS NOT OLD.owner_id OR NEW.channel <> OLD.channel
   OR NEW.status_id <> OLD.status_id OR OLD.status_category = 'closed'
   OR OLD.merged_into_id IS NOT NULL OR OLD.deleted_at IS NOT NULL)
BEGIN
    INSERT INTO owner_loads (owner_id, channel, status_id, n)
    VALUES (NEW.owner_id, NEW.channel, NEW.status_id, 1)
    ON CONFLICT (owner_id, channel, status_id) DO UPDATE SET n = n + 1;
END;
