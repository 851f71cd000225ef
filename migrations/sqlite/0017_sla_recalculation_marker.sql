-- Whether the SLA clocks of open tickets still need recalculating (kept in
-- step with the other database's 0017_sla_recalculation_marker.sql).
--
-- A change of SLA policy or calendar is saved in one transaction, and the
-- clocks of every open ticket are recalculated after it, in batches (on a
-- million tickets that takes seconds, too long to hold the write turn). A
-- crash or a failed batch in between left the setting saved and some
-- clocks on the old one. Now the change also sets the first counter to the
-- time of the request (always past its last value), in its own
-- transaction; a recalculation that finishes records in the second the
-- request it started from. While `requested` is ahead of `done` for over a
-- minute, the SLA timer runs the recalculation again (it is idempotent),
-- on whichever instance gets there.
INSERT INTO counters (name, value) VALUES ('sla_recalculation_requested', 0);
INSERT INTO counters (name, value) VALUES ('sla_recalculation_done', 0);
