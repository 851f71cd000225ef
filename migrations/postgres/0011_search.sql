-- Full-text search (PostgreSQL). Kept in step with
-- migrations/sqlite/0011_search.sql.
--
-- The 'simple' configuration: no stemming and no stop words, like the
-- SQLite side, so both find the same words. Emails and phone numbers are
-- split on their punctuation first (PostgreSQL would keep an address as
-- one word), so "ana" finds ana.diaz@acme.com. Search queries must repeat
-- these expressions word for word for the indexes to be used.

-- Thread entries, except the timeline's system records. A stored column:
-- search-as-you-type on a common word walks the newest entries and tests
-- each, which must not re-parse every body.
ALTER TABLE messages ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (CASE WHEN kind = 'event' THEN NULL ELSE to_tsvector('simple', body) END) STORED;
CREATE INDEX messages_search ON messages USING gin (search_vector);

CREATE INDEX tickets_subject_search ON tickets USING gin (to_tsvector('simple', subject));

CREATE INDEX contacts_search ON contacts USING gin (to_tsvector('simple',
    name || ' ' || translate(COALESCE(email, ''), '@.+-_', '     ') || ' '
    || translate(COALESCE(phone, ''), '+-().', '     ')));
