-- Mentions by ticket (SQLite; kept in step with
-- migrations/postgres/0009_mentions_by_ticket.sql). The maintained view
-- counts re-read who is mentioned on each ticket an event names; without
-- this index that read would scan every mention.
CREATE INDEX mentions_ticket ON mentions (ticket_id, user_id);
