-- Live workspace (SQLite): who may see each event, per-user ticket access,
-- agent availability, and maintained view counts. Kept in step with
-- migrations/postgres/0003_live_workspace.sql.

-- The ticket's owner and team when the event was committed, and before it
-- when the event moved the ticket, so the websocket hub can decide who may
-- receive an event without reading the ticket again: an agent who could see
-- the ticket before a move learns that it left, one who can see it after
-- learns that it arrived. prev_* are NULL when the event did not move the
-- ticket and 0 for "no owner" / "no team" when it did.
ALTER TABLE events ADD COLUMN owner_id INTEGER;
ALTER TABLE events ADD COLUMN team_id INTEGER;
ALTER TABLE events ADD COLUMN prev_owner_id INTEGER;
ALTER TABLE events ADD COLUMN prev_team_id INTEGER;

-- Which tickets a user may see: all of them, those of their teams, or only
-- those they own; `include_unassigned` adds tickets without an owner.
ALTER TABLE users ADD COLUMN access_scope TEXT NOT NULL DEFAULT 'all'
    CHECK (access_scope IN ('all', 'teams', 'owned'));
ALTER TABLE users ADD COLUMN include_unassigned INTEGER NOT NULL DEFAULT 1;
-- Set by the agent, shown to the others; routing (a later issue) reads it.
ALTER TABLE users ADD COLUMN availability TEXT NOT NULL DEFAULT 'available'
    CHECK (availability IN ('available', 'away'));

-- Ticket counts by owner, team and open/closed, kept exact by the triggers
-- below. The default views' counts are sums over this small table (one row
-- per owner x team x state) instead of COUNT(*) over a million tickets, so
-- every page render and every live count push stays cheap. 0 stands for
-- "no owner" / "no team" because NULL cannot be part of a primary key.
CREATE TABLE ticket_counts (
    owner_key INTEGER NOT NULL,
    team_key  INTEGER NOT NULL,
    closed    INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (owner_key, team_key, closed)
);
INSERT INTO ticket_counts (owner_key, team_key, closed, n)
SELECT COALESCE(owner_id, 0), COALESCE(team_id, 0),
       CASE WHEN status_category = 'closed' THEN 1 ELSE 0 END, COUNT(*)
FROM tickets GROUP BY 1, 2, 3;

CREATE TRIGGER ticket_counts_insert AFTER INSERT ON tickets
BEGIN
    INSERT INTO ticket_counts (owner_key, team_key, closed, n)
    VALUES (COALESCE(NEW.owner_id, 0), COALESCE(NEW.team_id, 0),
            NEW.status_category = 'closed', 1)
    ON CONFLICT (owner_key, team_key, closed) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER ticket_counts_delete AFTER DELETE ON tickets
BEGIN
    UPDATE ticket_counts SET n = n - 1
    WHERE owner_key = COALESCE(OLD.owner_id, 0) AND team_key = COALESCE(OLD.team_id, 0)
      AND closed = (OLD.status_category = 'closed');
END;

CREATE TRIGGER ticket_counts_update AFTER UPDATE OF owner_id, team_id, status_category ON tickets
WHEN COALESCE(OLD.owner_id, 0) <> COALESCE(NEW.owner_id, 0)
  OR COALESCE(OLD.team_id, 0) <> COALESCE(NEW.team_id, 0)
  OR (OLD.status_category = 'closed') <> (NEW.status_category = 'closed')
BEGIN
    UPDATE ticket_counts SET n = n - 1
    WHERE owner_key = COALESCE(OLD.owner_id, 0) AND team_key = COALESCE(OLD.team_id, 0)
      AND closed = (OLD.status_category = 'closed');
    INSERT INTO ticket_counts (owner_key, team_key, closed, n)
    VALUES (COALESCE(NEW.owner_id, 0), COALESCE(NEW.team_id, 0),
            NEW.status_category = 'closed', 1)
    ON CONFLICT (owner_key, team_key, closed) DO UPDATE SET n = n + 1;
END;
