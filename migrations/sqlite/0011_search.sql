-- Full-text search (SQLite FTS5). Kept in step with
-- migrations/postgres/0011_search.sql.
--
-- Three external-content indexes: they hold only the index, the text stays
-- in its table, and triggers keep them in step. Words are split by
-- unicode61 (accents folded, so "cafe" finds "café"); `prefix` keeps
-- two- and three-letter prefixes so that search-as-you-type ("refu*")
-- reads one short list instead of every word that starts that way.

-- Thread entries, except the timeline's system records (kind 'event'),
-- which only repeat what the properties say.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body, content = 'messages', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages WHERE kind <> 'event';
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN NEW.kind <> 'event'
BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (NEW.id, NEW.body);
END;
-- An external-content index must be told the old text to forget it.
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN OLD.kind <> 'event'
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', OLD.id, OLD.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages WHEN OLD.kind <> 'event'
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', OLD.id, OLD.body);
    INSERT INTO messages_fts (rowid, body) VALUES (NEW.id, NEW.body);
END;

CREATE VIRTUAL TABLE tickets_fts USING fts5(
    subject, content = 'tickets', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
INSERT INTO tickets_fts (rowid, subject) SELECT id, subject FROM tickets;
CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets
BEGIN
    INSERT INTO tickets_fts (rowid, subject) VALUES (NEW.id, NEW.subject);
END;
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets
BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, subject) VALUES ('delete', OLD.id, OLD.subject);
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject ON tickets
BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, subject) VALUES ('delete', OLD.id, OLD.subject);
    INSERT INTO tickets_fts (rowid, subject) VALUES (NEW.id, NEW.subject);
END;

-- Contacts by name, email and phone. unicode61 splits "ana.diaz@acme.com"
-- into ana, diaz, acme, com and "+34 600-123" into 34, 600, 123.
CREATE VIRTUAL TABLE contacts_fts USING fts5(
    name, email, phone, content = 'contacts', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
INSERT INTO contacts_fts (rowid, name, email, phone)
SELECT id, name, COALESCE(email, ''), COALESCE(phone, '') FROM contacts;
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts
BEGIN
    INSERT INTO contacts_fts (rowid, name, email, phone)
    VALUES (NEW.id, NEW.name, COALESCE(NEW.email, ''), COALESCE(NEW.phone, ''));
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts
BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, name, email, phone)
    VALUES ('delete', OLD.id, OLD.name, COALESCE(OLD.email, ''), COALESCE(OLD.phone, ''));
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name, email, phone ON contacts
BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, name, email, phone)
    VALUES ('delete', OLD.id, OLD.name, COALESCE(OLD.email, ''), COALESCE(OLD.phone, ''));
    INSERT INTO contacts_fts (rowid, name, email, phone)
    VALUES (NEW.id, NEW.name, COALESCE(NEW.email, ''), COALESCE(NEW.phone, ''));
END;
