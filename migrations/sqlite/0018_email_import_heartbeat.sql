-- When a running import last showed it was alive (kept in step with the
-- other database's 0018_email_import_heartbeat.sql).
--
-- An import runs in the background of the instance that started it. When
-- that process stopped (a restart, a crash) its row said 'running' for
-- ever, and the channel's page showed the import as still under way. A
-- running import now renews this time every 30 s; a row still 'running'
-- whose time is over two minutes old is marked failed by whichever
-- instance sees it first (`import::sweep_interrupted`), so an admin can
-- start it again: messages already imported are skipped.
--
-- Rows from before this migration get their creation time: any still
-- 'running' stopped with the process that ran this migration.
ALTER TABLE email_imports ADD COLUMN heartbeat_at INTEGER;
UPDATE email_imports SET heartbeat_at = created_at;
