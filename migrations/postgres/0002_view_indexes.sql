-- The default views list tickets newest activity first. With these partial
-- indexes (Unassigned pages along owner_id IS NULL of the owner one), a page is a walk of LIMIT entries along (updated_at, id)
-- whatever the size of the table; the composite indexes of 0001 made the
-- database sort every open ticket for each page once "open" spanned two
-- categories. Queries must repeat each WHERE below word for word (see
-- app/src/views/service.rs) for the planner to pick these indexes.
DROP INDEX tickets_open_updated;
DROP INDEX tickets_owner_updated;
CREATE INDEX tickets_active_updated ON tickets (updated_at, id) WHERE status_category <> 'closed';
CREATE INDEX tickets_owner_active_updated ON tickets (owner_id, updated_at, id) WHERE status_category <> 'closed';
CREATE INDEX tickets_closed_updated ON tickets (updated_at, id) WHERE status_category = 'closed';
