-- The directory's version (SQLite; kept in step with
-- migrations/postgres/0012_directory_version.sql).
--
-- Every workspace page needs every active user, team and pipeline (the
-- pickers). Each server keeps them in memory and reads them again only when
-- this number has moved, so a page costs one tiny read instead of five
-- queries over every user and team. Triggers move it, so every writer
-- moves it: any server process, any code path, a hand-run SQL fix.
CREATE TABLE directory_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 1);
CREATE TRIGGER users_insert_directory AFTER INSERT ON users
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_update_directory AFTER UPDATE ON users
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_delete_directory AFTER DELETE ON users
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER teams_insert_directory AFTER INSERT ON teams
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER teams_update_directory AFTER UPDATE ON teams
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER teams_delete_directory AFTER DELETE ON teams
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER team_members_insert_directory AFTER INSERT ON team_members
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER team_members_update_directory AFTER UPDATE ON team_members
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER team_members_delete_directory AFTER DELETE ON team_members
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER pipelines_insert_directory AFTER INSERT ON pipelines
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER pipelines_update_directory AFTER UPDATE ON pipelines
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER pipelines_delete_directory AFTER DELETE ON pipelines
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER pipeline_statuses_insert_directory AFTER INSERT ON pipeline_statuses
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER pipeline_statuses_update_directory AFTER UPDATE ON pipeline_statuses
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER pipeline_statuses_delete_directory AFTER DELETE ON pipeline_statuses
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
