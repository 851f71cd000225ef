-- Views, followers and view preferences (SQLite). Kept column-for-column in
-- step with migrations/postgres/0004_views_and_followers.sql.

-- When the customer last wrote, for the "last customer message" filter of
-- custom views. Maintained by the messages service on every inbound entry;
-- NULL until the customer writes.
ALTER TABLE tickets ADD COLUMN last_inbound_at INTEGER;
UPDATE tickets SET last_inbound_at =
    (SELECT MAX(m.created_at) FROM messages m WHERE m.ticket_id = tickets.id AND m.kind = 'inbound');

-- People following a ticket (the "Followers" view). Keyed by user first:
-- the view and its count read one user's rows.
CREATE TABLE followers (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, ticket_id)
);
CREATE INDEX followers_ticket ON followers (ticket_id);

-- Custom views. `definition` is the JSON of views::ViewDefinition (filter
-- groups, sort, columns, layout), validated by the service before it is
-- stored. `sharing` says who else sees the view: nobody, the teams in
-- view_teams, or everyone. `version` counts saves (see view_versions).
CREATE TABLE views (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    owner_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sharing    TEXT    NOT NULL CHECK (sharing IN ('private', 'teams', 'everyone')),
    definition TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX views_owner ON views (owner_id);

-- The teams a view with sharing 'teams' is shared with.
CREATE TABLE view_teams (
    view_id INTEGER NOT NULL REFERENCES views(id) ON DELETE CASCADE,
    team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    PRIMARY KEY (view_id, team_id)
);

-- Every saved state of every view, so that a change to a shared view can be
-- inspected and rolled back. A rollback is itself a new version.
CREATE TABLE view_versions (
    view_id    INTEGER NOT NULL REFERENCES views(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    sharing    TEXT    NOT NULL,
    team_ids   TEXT    NOT NULL,                -- JSON array of team ids
    definition TEXT    NOT NULL,
    changed_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (view_id, version)
);

-- Which views a user shows in the left column, in what order. A view with
-- no row here is shown, after the ordered ones, in the default order.
-- `view_key` is a default view's slug or a custom view's id.
CREATE TABLE view_preferences (
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    view_key TEXT    NOT NULL,
    position INTEGER NOT NULL,
    hidden   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, view_key)
);
