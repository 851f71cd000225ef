-- Custom views filter on any property but page along their sort key, like
-- the default views. Indexes on each sort key over every ticket let a
-- view's page walk tickets in order and stop after one page, instead of
-- sorting every match first (updated_at and priority had only the partial
-- indexes of 0002; created_at and number are indexed already).
CREATE INDEX tickets_updated ON tickets (updated_at, id);
CREATE INDEX tickets_priority ON tickets (priority, id);
