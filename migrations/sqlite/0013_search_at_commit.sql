-- New thread entries and tickets are indexed for search when their
-- transaction commits, all of a commit group's together (SQLite only:
-- PostgreSQL's search columns are computed with the row, see
-- migrations/postgres/0011_search.sql).
--
-- Why: on SQLite, write transactions that arrive together share one commit
-- (app/src/db/group_commit.rs), each in a savepoint of its own. FTS5 writes
-- its pending words out as a new index segment at every savepoint, so each
-- new ticket wrote two small segments (subject and message) and made the
-- index merge them again soon after. The insert triggers now only note the
-- row in `search_pending`; the group's commit indexes every noted row in one
-- statement per index and empties the table, inside the same transaction
-- (`INDEX_AND_COMMIT_GROUP` in app/src/db/group_commit.rs). Search therefore
-- never sees a committed row missing from the index.
--
-- Between transactions the table is empty. A row inserted outside a commit
-- group (a hand-run INSERT) is indexed with the next group.

-- `tbl`: 'm' for messages, 't' for tickets.
CREATE TABLE search_pending (
    tbl TEXT NOT NULL,
    id INTEGER NOT NULL,
    PRIMARY KEY (tbl, id)
) WITHOUT ROWID;

DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TRIGGER tickets_fts_insert;
DROP TRIGGER tickets_fts_delete;
DROP TRIGGER tickets_fts_update;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN NEW.kind <> 'event'
BEGIN
    INSERT INTO search_pending (tbl, id) VALUES ('m', NEW.id);
END;
-- An external-content index must be told the old text to forget it, and
-- only text it was given: a row still pending is just taken off the list.
-- (The order of the two statements matters.)
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN OLD.kind <> 'event'
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body)
    SELECT 'delete', OLD.id, OLD.body
    WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE tbl = 'm' AND id = OLD.id);
    DELETE FROM search_pending WHERE tbl = 'm' AND id = OLD.id;
END;
-- A pending row is indexed with its text at commit, whatever it is by then.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages
WHEN OLD.kind <> 'event'
 AND NOT EXISTS (SELECT 1 FROM search_pending WHERE tbl = 'm' AND id = OLD.id)
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', OLD.id, OLD.body);
    INSERT INTO messages_fts (rowid, body) VALUES (NEW.id, NEW.body);
END;

CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets
BEGIN
    INSERT INTO search_pending (tbl, id) VALUES ('t', NEW.id);
END;
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets
BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, subject)
    SELECT 'delete', OLD.id, OLD.subject
    WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE tbl = 't' AND id = OLD.id);
    DELETE FROM search_pending WHERE tbl = 't' AND id = OLD.id;
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject ON tickets
WHEN NOT EXISTS (SELECT 1 FROM search_pending WHERE tbl = 't' AND id = OLD.id)
BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, subject) VALUES ('delete', OLD.id, OLD.subject);
    INSERT INTO tickets_fts (rowid, subject) VALUES (NEW.id, NEW.subject);
END;
