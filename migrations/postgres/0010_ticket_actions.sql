-- Merge, split and trash (PostgreSQL). Kept in step with
-- migrations/sqlite/0010_ticket_actions.sql, which explains each column.

ALTER TABLE tickets ADD COLUMN merged_into_id BIGINT REFERENCES tickets(id) ON DELETE CASCADE;
ALTER TABLE tickets ADD COLUMN deleted_at BIGINT;
ALTER TABLE tickets ADD COLUMN deleted_by BIGINT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE tickets ADD COLUMN split_from_id BIGINT REFERENCES tickets(id) ON DELETE SET NULL;
CREATE INDEX tickets_merged_into ON tickets (merged_into_id) WHERE merged_into_id IS NOT NULL;
CREATE INDEX tickets_deleted ON tickets (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX tickets_split_from ON tickets (split_from_id) WHERE split_from_id IS NOT NULL;

ALTER TABLE messages ADD COLUMN origin_ticket_id BIGINT;
CREATE INDEX messages_origin ON messages (origin_ticket_id, ticket_id) WHERE origin_ticket_id IS NOT NULL;

CREATE TABLE ticket_merges (
    id                 BIGSERIAL PRIMARY KEY,
    primary_id         BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    secondary_id       BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    primary_created_at BIGINT NOT NULL,
    sla_from_secondary BIGINT NOT NULL DEFAULT 0,
    merged_by          BIGINT REFERENCES users(id) ON DELETE SET NULL,
    merged_at          BIGINT NOT NULL,
    unmerged_by        BIGINT REFERENCES users(id) ON DELETE SET NULL,
    unmerged_at        BIGINT
);
CREATE INDEX ticket_merges_primary ON ticket_merges (primary_id, id);
CREATE INDEX ticket_merges_secondary ON ticket_merges (secondary_id, id);

-- The maintained counts count only listed tickets (not merged, not in the
-- trash): the old row leaves its bucket if it was listed, the new one
-- enters if it is.
CREATE OR REPLACE FUNCTION ticket_counts_maintain() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.merged_into_id IS NULL AND OLD.deleted_at IS NULL THEN
        UPDATE ticket_counts SET n = n - 1
        WHERE owner_key = COALESCE(OLD.owner_id, 0) AND team_key = COALESCE(OLD.team_id, 0)
          AND closed = CASE WHEN OLD.status_category = 'closed' THEN 1 ELSE 0 END;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.merged_into_id IS NULL AND NEW.deleted_at IS NULL THEN
        INSERT INTO ticket_counts (owner_key, team_key, closed, n)
        VALUES (COALESCE(NEW.owner_id, 0), COALESCE(NEW.team_id, 0),
                CASE WHEN NEW.status_category = 'closed' THEN 1 ELSE 0 END, 1)
        ON CONFLICT (owner_key, team_key, closed) DO UPDATE SET n = ticket_counts.n + 1;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER ticket_counts_update ON tickets;
CREATE TRIGGER ticket_counts_update
    AFTER UPDATE OF owner_id, team_id, status_category, merged_into_id, deleted_at ON tickets
    FOR EACH ROW
    WHEN (COALESCE(OLD.owner_id, 0) <> COALESCE(NEW.owner_id, 0)
       OR COALESCE(OLD.team_id, 0) <> COALESCE(NEW.team_id, 0)
       OR (OLD.status_category = 'closed') <> (NEW.status_category = 'closed')
       OR (OLD.merged_into_id IS NULL AND OLD.deleted_at IS NULL)
          <> (NEW.merged_into_id IS NULL AND NEW.deleted_at IS NULL))
    EXECUTE FUNCTION ticket_counts_maintain();
