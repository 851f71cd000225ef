-- Custom views and view preferences join the workspace directory (SQLite;
-- kept in step with migrations/postgres/0014_views_in_directory.sql).
--
-- Every workspace page lists the caller's views, and every open workspace
-- asks for them again after each ticket change (their counts move). That
-- was three queries each time (the views, the teams they are shared with,
-- the caller's order). Each server now keeps all views and everyone's
-- order in memory with the directory (app/src/workspace/directory.rs), so
-- these triggers move `directory_version` (migration 0012) on every change
-- to the three tables, whoever makes it.
CREATE TRIGGER views_insert_directory AFTER INSERT ON views
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER views_update_directory AFTER UPDATE ON views
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER views_delete_directory AFTER DELETE ON views
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER view_teams_insert_directory AFTER INSERT ON view_teams
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER view_teams_update_directory AFTER UPDATE ON view_teams
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER view_teams_delete_directory AFTER DELETE ON view_teams
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER view_preferences_insert_directory AFTER INSERT ON view_preferences
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER view_preferences_update_directory AFTER UPDATE ON view_preferences
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER view_preferences_delete_directory AFTER DELETE ON view_preferences
BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;
