-- 0001_init: the first schema of escalated.
--
-- Conventions (the PostgreSQL store keeps the same columns with its own types):
--   * ids are prefixed ULIDs (TEXT); ULIDs sort by creation time, so "ORDER BY id DESC" is
--     newest first and "id < cursor" is a stable keyset page. Every list filter has an index
--     ending in id so a page is an index range scan, never a sort.
--   * times are INTEGER unix milliseconds UTC (PostgreSQL: timestamptz). Millisecond precision is
--     what escalated.Truncate promises, so a value read back equals the value written.
--   * free-form values (tags, custom fields, attributes, signals, the handoff package, event and
--     audit data) are JSON TEXT (PostgreSQL: jsonb).
--   * "" is stored as '' rather than NULL for optional strings, so the domain's zero values round
--     trip without NULL juggling; NULL is kept for the genuinely optional pointers (times, bools,
--     the package).
--   * STRICT tables make SQLite reject a value of the wrong type instead of storing it.

CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    tier       TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}'
) STRICT;

CREATE TABLE customers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    account_id TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE tickets (
    id                     TEXT PRIMARY KEY,
    subject                TEXT NOT NULL,
    status                 TEXT NOT NULL,
    priority               TEXT NOT NULL,
    channel                TEXT NOT NULL,
    issue_type             TEXT NOT NULL,
    tags                   TEXT NOT NULL DEFAULT '[]',
    language               TEXT NOT NULL,
    -- customer_id and account_id carry no foreign key: a ticket may arrive (handoff, API)
    -- naming a customer or account that is upserted later in the same transaction or never.
    customer_id            TEXT NOT NULL,
    account_id             TEXT NOT NULL,
    team                   TEXT NOT NULL,
    tier                   TEXT NOT NULL,
    assignee               TEXT NOT NULL,
    custom_fields          TEXT NOT NULL DEFAULT '{}',
    reopen_count           INTEGER NOT NULL DEFAULT 0,
    reassignment_count     INTEGER NOT NULL DEFAULT 0,
    customer_contact_count INTEGER NOT NULL DEFAULT 0,
    message_count          INTEGER NOT NULL DEFAULT 0,
    escalation_count       INTEGER NOT NULL DEFAULT 0,
    -- Derived, never written: the "escalated" list filter reads it through its own index.
    -- PostgreSQL: GENERATED ALWAYS AS (escalation_count > 0) STORED.
    ever_escalated         INTEGER GENERATED ALWAYS AS (escalation_count > 0) VIRTUAL,
    active_escalation      TEXT NOT NULL DEFAULT '',
    version                INTEGER NOT NULL,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
) STRICT;

CREATE INDEX tickets_team      ON tickets (team, id);
CREATE INDEX tickets_tier      ON tickets (tier, id);
CREATE INDEX tickets_status    ON tickets (status, id);
CREATE INDEX tickets_priority  ON tickets (priority, id);
CREATE INDEX tickets_assignee  ON tickets (assignee, id);
CREATE INDEX tickets_account   ON tickets (account_id, id);
CREATE INDEX tickets_escalated ON tickets (ever_escalated, id);

CREATE TABLE messages (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets (id),
    seq         INTEGER NOT NULL,
    author_kind TEXT NOT NULL,
    author_id   TEXT NOT NULL,
    author_name TEXT NOT NULL,
    body        TEXT NOT NULL,
    internal    INTEGER NOT NULL,
    signals     TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL
) STRICT;

-- Not unique: a message shares its seq with the message.added event that announces it, and the
-- events table is where seq uniqueness is enforced.
CREATE INDEX messages_ticket ON messages (ticket_id, seq);

CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    ticket_id  TEXT NOT NULL REFERENCES tickets (id),
    seq        INTEGER NOT NULL,
    type       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    -- No foreign key to messages: a service may append the event before the message within
    -- one Update, and a deferred key would be checked only at the group commit, where one
    -- caller's violation would fail every caller in the batch.
    message_id TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (ticket_id, seq)
) STRICT;

CREATE TABLE escalations (
    id              TEXT PRIMARY KEY,
    ticket_id       TEXT NOT NULL REFERENCES tickets (id),
    from_team       TEXT NOT NULL,
    to_team         TEXT NOT NULL,
    from_tier       TEXT NOT NULL,
    to_tier         TEXT NOT NULL,
    by_agent        TEXT NOT NULL,
    actor           TEXT NOT NULL,
    trigger_kind    TEXT NOT NULL,
    rule_id         TEXT NOT NULL,
    reason          TEXT NOT NULL,
    note            TEXT NOT NULL,
    state           TEXT NOT NULL,
    policy_version  INTEGER NOT NULL,
    acknowledged_by TEXT NOT NULL,
    closed_by       TEXT NOT NULL,
    return_reason   TEXT NOT NULL,
    necessary       INTEGER,
    resolution      TEXT NOT NULL,
    next_id         TEXT NOT NULL,
    package         TEXT,
    version         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    closed_at       INTEGER
) STRICT;

CREATE INDEX escalations_ticket    ON escalations (ticket_id, id);
CREATE INDEX escalations_from_team ON escalations (from_team, id);
CREATE INDEX escalations_to_team   ON escalations (to_team, id);
CREATE INDEX escalations_state     ON escalations (state, id);

CREATE TABLE audit (
    id          TEXT PRIMARY KEY,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL
) STRICT;

-- object_id leads because ids are globally unique: it serves "this object" with or without
-- the kind; object_kind alone has its own index.
CREATE INDEX audit_object ON audit (object_id, id);
CREATE INDEX audit_kind   ON audit (object_kind, id);
CREATE INDEX audit_action ON audit (action, id);

-- The audit trail is append-only: the database refuses to rewrite history even if a bug or a
-- hand-written statement tries.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE TABLE policy_versions (
    version    INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL,
    source     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
