-- The directory's version (PostgreSQL; kept in step with
-- migrations/sqlite/0012_directory_version.sql).
--
-- Every workspace page needs every active user, team and pipeline (the
-- pickers). Each server keeps them in memory and reads them again only when
-- this number has moved, so a page costs one tiny read instead of five
-- queries over every user and team. Triggers move it, so every writer
-- moves it: any server process, any code path, a hand-run SQL fix. Row
-- triggers, not statement triggers: an UPDATE that matches no row (the
-- working-hours check runs such statements all day) must not move it.
-- Writes to these tables are rare, so the one row they all update is not a
-- point of contention.
CREATE TABLE directory_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 1);

CREATE FUNCTION bump_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_directory AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER teams_directory AFTER INSERT OR UPDATE OR DELETE ON teams
    FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER team_members_directory AFTER INSERT OR UPDATE OR DELETE ON team_members
    FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER pipelines_directory AFTER INSERT OR UPDATE OR DELETE ON pipelines
    FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER pipeline_statuses_directory AFTER INSERT OR UPDATE OR DELETE ON pipeline_statuses
    FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
