-- Live workspace (PostgreSQL): who may see each event, per-user ticket
-- access, agent availability, and maintained view counts. Kept in step with
-- migrations/sqlite/0003_live_workspace.sql; see there for the reasons.

ALTER TABLE events ADD COLUMN owner_id BIGINT;
ALTER TABLE events ADD COLUMN team_id BIGINT;
ALTER TABLE events ADD COLUMN prev_owner_id BIGINT;
ALTER TABLE events ADD COLUMN prev_team_id BIGINT;

ALTER TABLE users ADD COLUMN access_scope TEXT NOT NULL DEFAULT 'all'
    CHECK (access_scope IN ('all', 'teams', 'owned'));
ALTER TABLE users ADD COLUMN include_unassigned BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN availability TEXT NOT NULL DEFAULT 'available'
    CHECK (availability IN ('available', 'away'));

CREATE TABLE ticket_counts (
    owner_key BIGINT NOT NULL,
    team_key  BIGINT NOT NULL,
    closed    BIGINT NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (owner_key, team_key, closed)
);
INSERT INTO ticket_counts (owner_key, team_key, closed, n)
SELECT COALESCE(owner_id, 0), COALESCE(team_id, 0),
       CASE WHEN status_category = 'closed' THEN 1 ELSE 0 END, COUNT(*)
FROM tickets GROUP BY 1, 2, 3;

-- One function for the three trigger events: take the old row out of its
-- bucket and put the new one into its bucket.
CREATE FUNCTION ticket_counts_maintain() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE ticket_counts SET n = n - 1
        WHERE owner_key = COALESCE(OLD.owner_id, 0) AND team_key = COALESCE(OLD.team_id, 0)
          AND closed = CASE WHEN OLD.status_category = 'closed' THEN 1 ELSE 0 END;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO ticket_counts (owner_key, team_key, closed, n)
        VALUES (COALESCE(NEW.owner_id, 0), COALESCE(NEW.team_id, 0),
                CASE WHEN NEW.status_category = 'closed' THEN 1 ELSE 0 END, 1)
        ON CONFLICT (owner_key, team_key, closed) DO UPDATE SET n = ticket_counts.n + 1;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ticket_counts_insert AFTER INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_counts_maintain();
CREATE TRIGGER ticket_counts_delete AFTER DELETE ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_counts_maintain();
CREATE TRIGGER ticket_counts_update AFTER UPDATE OF owner_id, team_id, status_category ON tickets
    FOR EACH ROW
    WHEN (COALESCE(OLD.owner_id, 0) <> COALESCE(NEW.owner_id, 0)
       OR COALESCE(OLD.team_id, 0) <> COALESCE(NEW.team_id, 0)
       OR (OLD.status_category = 'closed') <> (NEW.status_category = 'closed'))
    EXECUTE FUNCTION ticket_counts_maintain();
