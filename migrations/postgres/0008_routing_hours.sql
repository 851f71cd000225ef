-- Routing during business hours (PostgreSQL; kept in step with
-- migrations/sqlite/0008_routing_hours.sql). A rule with a calendar
-- routes only while that calendar is open; tickets that arrive outside its
-- hours wait and are assigned when it opens. Deleting a calendar that a
-- rule uses is refused by the service.
ALTER TABLE routing_rules ADD COLUMN calendar_id BIGINT REFERENCES calendars(id);
