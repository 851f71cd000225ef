-- Custom views and view preferences join the workspace directory
-- (PostgreSQL; kept in step with
-- migrations/sqlite/0014_views_in_directory.sql, and numbered with it:
-- SQLite's 0013 has no PostgreSQL counterpart).
--
-- Every workspace page lists the caller's views, and every open workspace
-- asks for them again after each ticket change (their counts move). That
-- was three queries each time (the views, the teams they are shared with,
-- the caller's order). Each server now keeps all views and everyone's
-- order in memory with the directory (app/src/workspace/directory.rs), so
-- these triggers move `directory_version` (migration 0012) on every change
-- to the three tables, whoever makes it. Row triggers, as in 0012.
CREATE TRIGGER views_directory AFTER INSERT OR UPDATE OR DELETE ON views
    FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER view_teams_directory AFTER INSERT OR UPDATE OR DELETE ON view_teams
    FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
CREATE TRIGGER view_preferences_directory AFTER INSERT OR UPDATE OR DELETE ON view_preferences
    FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
