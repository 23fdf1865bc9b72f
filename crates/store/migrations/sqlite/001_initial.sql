-- rampart store, initial schema (SQLite). Keep in step with ../postgres/001_initial.sql.

-- The current state: one row per entity.
CREATE TABLE records (
    kind    TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    version INTEGER NOT NULL,   -- 1 on creation, +1 per put
    value   TEXT    NOT NULL,   -- the service's JSON
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;

-- The change feed: one row per put or delete, seq gap-free in commit order.
CREATE TABLE changes (
    seq     INTEGER PRIMARY KEY,
    kind    TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    version INTEGER,            -- NULL: deleted (or reset)
    value   TEXT                -- NULL: deleted (or reset)
);

-- The audit trail: CloudTrail events in a digest chain.
CREATE TABLE audit_events (
    seq           INTEGER PRIMARY KEY,  -- gap-free
    event_id      TEXT    NOT NULL,
    event_time    INTEGER NOT NULL,     -- microseconds since the Unix epoch, UTC
    account_id    TEXT    NOT NULL,
    event_name    TEXT    NOT NULL,
    event_source  TEXT    NOT NULL,
    username      TEXT,
    access_key_id TEXT,
    read_only     BOOLEAN NOT NULL,
    resources     TEXT    NOT NULL,     -- JSON [[type, name], ...]
    record        TEXT    NOT NULL,     -- canonical JSON of the CloudTrail event
    prev_digest   TEXT    NOT NULL,     -- hex SHA-256 of the previous event
    digest        TEXT    NOT NULL      -- hex SHA-256(prev_digest || seq || canonical event)
);
CREATE INDEX audit_events_by_time ON audit_events (account_id, event_time DESC, seq DESC);
CREATE INDEX audit_events_by_event_id ON audit_events (event_id);

-- Lookup index for ResourceType / ResourceName (derived from audit_events.resources).
CREATE TABLE audit_resources (
    seq           INTEGER NOT NULL,
    resource_type TEXT    NOT NULL,
    resource_name TEXT    NOT NULL
);
CREATE INDEX audit_resources_by_seq ON audit_resources (seq);
CREATE INDEX audit_resources_by_type ON audit_resources (resource_type, seq);
CREATE INDEX audit_resources_by_name ON audit_resources (resource_name, seq);
