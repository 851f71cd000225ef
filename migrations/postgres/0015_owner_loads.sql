-- Each owner's open tickets by channel and status, kept by a trigger
-- (PostgreSQL; kept in step with migrations/sqlite/0015_owner_loads.sql,
-- which says why).
--
-- A ticket counts when it has an owner, is not closed, and is neither
-- merged into another nor in the trash. Rows whose `n` fell to 0 are left
-- in place and skipped by readers.
CREATE TABLE owner_loads (
    owner_id  BIGINT NOT NULL,
    channel   TEXT   NOT NULL,
    status_id BIGINT NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (owner_id, channel, status_id)
);
INSERT INTO owner_loads (owner_id, channel, status_id, n)
SELECT owner_id, channel, status_id, COUNT(*) FROM tickets
WHERE owner_id IS NOT NULL AND status_category <> 'closed'
  AND merged_into_id IS NULL AND deleted_at IS NULL
GROUP BY owner_id, channel, status_id;

-- The old row leaves its count if it counted; the new one enters if it
-- counts.
CREATE FUNCTION owner_loads_maintain() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.owner_id IS NOT NULL
       AND OLD.status_category <> 'closed'
       AND OLD.merged_into_id IS NULL AND OLD.deleted_at IS NULL THEN
        UPDATE owner_loads SET n = n - 1
        WHERE owner_id = OLD.owner_id AND channel = OLD.channel AND status_id = OLD.status_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.owner_id IS NOT NULL
       AND NEW.status_category <> 'closed'
       AND NEW.merged_into_id IS NULL AND NEW.deleted_at IS NULL THEN
        INSERT INTO owner_loads (owner_id, channel, status_id, n)
        VALUES (NEW.owner_id, NEW.channel, NEW.status_id, 1)
        ON CONFLICT (owner_id, channel, status_id) DO UPDATE SET n = owner_loads.n + 1;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER owner_loads_insert_delete
    AFTER INSERT OR DELETE ON tickets
    FOR EACH ROW EXECUTE FUNCTION owner_loads_maintain();

-- Only updates that move a ticket between counts run the function.
CREATE TRIGGER owner_loads_update
    AFTER UPDATE OF owner_id, channel, status_id, status_category, merged_into_id, deleted_at ON tickets
    FOR EACH ROW
    WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id
       OR OLD.channel <> NEW.channel
       OR OLD.status_id <> NEW.status_id
       OR (OLD.status_category = 'closed') <> (NEW.status_category = 'closed')
       OR (OLD.merged_into_id IS NULL AND OLD.deleted_at IS NULL)
          <> (NEW.merged_into_id IS NULL AND NEW.deleted_at IS NULL))
    EXECUTE FUNCTION owner_loads_maintain();
