-- 0001_init: the first schema of escalated on PostgreSQL.
--
-- The same tables, columns, constraints and indexes as the SQLite store's 0001_init.sql, in
-- PostgreSQL types. Every place that differs from the SQLite file says so in a "dialect:" comment.
--
-- Conventions:
--   * ids are prefixed ULIDs; "ORDER BY id DESC" is newest first and "id < cursor" a stable
--     keyset page. Every list filter has an index ending in id.
--     dialect: id columns are text COLLATE "C" (SQLite: TEXT, which compares bytes). "C" keeps
--     the order byte-wise whatever the database's locale, which is what ULID order and the
--     cursors rely on, and it lets the (filter, id) indexes serve ORDER BY id.
--   * dialect: times are timestamptz (SQLite: INTEGER unix milliseconds). The store writes
--     escalated.Truncate(t), so microsecond storage holds the value exactly and reads it back
--     equal; operators get readable times in psql.
--   * dialect: free-form values are jsonb (SQLite: JSON TEXT). jsonb reorders object keys and
--     normalises numbers; the store decodes into maps and structs, where neither shows.
--   * "" is stored as '' rather than NULL for optional strings; NULL only for the genuinely
--     optional pointers (times, bools, the package).
--   * dialect: no STRICT: PostgreSQL columns are typed anyway.
--   * dialect: booleans are boolean (SQLite: INTEGER 0/1), counters integer, versions and
--     sequence numbers bigint (SQLite: INTEGER, always 64-bit).

-- dialect: text COLLATE "C" id, jsonb attributes; no STRICT (see the header).
CREATE TABLE accounts (
    id         text COLLATE "C" PRIMARY KEY,
    name       text NOT NULL,
    tier       text NOT NULL,
    attributes jsonb NOT NULL DEFAULT '{}'
);

-- dialect: text COLLATE "C" ids; no STRICT.
CREATE TABLE customers (
    id         text COLLATE "C" PRIMARY KEY,
    name       text NOT NULL,
    email      text NOT NULL,
    account_id text COLLATE "C" NOT NULL DEFAULT ''
);

-- dialect: text COLLATE "C" ids, jsonb tags and custom fields, timestamptz times, a stored
-- generated boolean and a fillfactor (below); no STRICT.
CREATE TABLE tickets (
    id                     text COLLATE "C" PRIMARY KEY,
    subject                text NOT NULL,
    status                 text NOT NULL,
    priority               text NOT NULL,
    channel                text NOT NULL,
    issue_type             text NOT NULL,
    tags                   jsonb NOT NULL DEFAULT '[]',
    language               text NOT NULL,
    -- customer_id and account_id carry no foreign key: a ticket may arrive (handoff, API)
    -- naming a customer or account that is upserted later in the same transaction or never.
    customer_id            text COLLATE "C" NOT NULL,
    account_id             text COLLATE "C" NOT NULL,
    team                   text NOT NULL,
    tier                   text NOT NULL,
    assignee               text NOT NULL,
    custom_fields          jsonb NOT NULL DEFAULT '{}',
    reopen_count           integer NOT NULL DEFAULT 0,
    reassignment_count     integer NOT NULL DEFAULT 0,
    customer_contact_count integer NOT NULL DEFAULT 0,
    message_count          integer NOT NULL DEFAULT 0,
    escalation_count       integer NOT NULL DEFAULT 0,
    -- Derived, never written: the "escalated" list filter reads it through its own index.
    -- dialect: boolean GENERATED ... STORED (SQLite: INTEGER GENERATED ... VIRTUAL; PostgreSQL 15
    -- has stored generated columns only).
    ever_escalated         boolean GENERATED ALWAYS AS (escalation_count > 0) STORED,
    active_escalation      text COLLATE "C" NOT NULL DEFAULT '',
    version                bigint NOT NULL,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL
)
-- dialect: fillfactor (SQLite has no such setting). Every message rewrites its ticket row;
-- leaving a fifth of each page free lets PostgreSQL put the new row version on the same page
-- (a HOT update), which skips the seven secondary indexes when none of their columns changed.
-- The SQLite store gets the same effect by leaving indexed columns out of its UPDATE.
WITH (fillfactor = 80);

CREATE INDEX tickets_team      ON tickets (team, id);
CREATE INDEX tickets_tier      ON tickets (tier, id);
CREATE INDEX tickets_status    ON tickets (status, id);
CREATE INDEX tickets_priority  ON tickets (priority, id);
CREATE INDEX tickets_assignee  ON tickets (assignee, id);
CREATE INDEX tickets_account   ON tickets (account_id, id);
CREATE INDEX tickets_escalated ON tickets (ever_escalated, id);

-- dialect: text COLLATE "C" ids, boolean internal, jsonb signals, timestamptz; no STRICT.
CREATE TABLE messages (
    id          text COLLATE "C" PRIMARY KEY,
    ticket_id   text COLLATE "C" NOT NULL REFERENCES tickets (id),
    seq         bigint NOT NULL,
    author_kind text NOT NULL,
    author_id   text NOT NULL,
    author_name text NOT NULL,
    body        text NOT NULL,
    internal    boolean NOT NULL,
    signals     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL
);

-- Not unique: a message shares its seq with the message.added event that announces it, and the
-- events table is where seq uniqueness is enforced.
CREATE INDEX messages_ticket ON messages (ticket_id, seq);

-- dialect: text COLLATE "C" ids, bigint seq, jsonb data, timestamptz; no STRICT.
CREATE TABLE events (
    id         text COLLATE "C" PRIMARY KEY,
    ticket_id  text COLLATE "C" NOT NULL REFERENCES tickets (id),
    seq        bigint NOT NULL,
    type       text NOT NULL,
    actor      text NOT NULL,
    data       jsonb NOT NULL DEFAULT '{}',
    -- No foreign key to messages, as in SQLite: a service may append the event before the
    -- message within one Update.
    message_id text COLLATE "C",
    created_at timestamptz NOT NULL,
    UNIQUE (ticket_id, seq)
);

-- dialect: text COLLATE "C" ids, boolean necessary, jsonb package, timestamptz times; no STRICT.
CREATE TABLE escalations (
    id              text COLLATE "C" PRIMARY KEY,
    ticket_id       text COLLATE "C" NOT NULL REFERENCES tickets (id),
    from_team       text NOT NULL,
    to_team         text NOT NULL,
    from_tier       text NOT NULL,
    to_tier         text NOT NULL,
    by_agent        text NOT NULL,
    actor           text NOT NULL,
    trigger_kind    text NOT NULL,
    rule_id         text NOT NULL,
    reason          text NOT NULL,
    note            text NOT NULL,
    state           text NOT NULL,
    policy_version  bigint NOT NULL,
    acknowledged_by text NOT NULL,
    closed_by       text NOT NULL,
    return_reason   text NOT NULL,
    necessary       boolean,
    resolution      text NOT NULL,
    next_id         text COLLATE "C" NOT NULL,
    package         jsonb,
    version         bigint NOT NULL,
    created_at      timestamptz NOT NULL,
    acknowledged_at timestamptz,
    closed_at       timestamptz
);

CREATE INDEX escalations_ticket    ON escalations (ticket_id, id);
CREATE INDEX escalations_from_team ON escalations (from_team, id);
CREATE INDEX escalations_to_team   ON escalations (to_team, id);
CREATE INDEX escalations_state     ON escalations (state, id);

-- dialect: text COLLATE "C" id, jsonb details, timestamptz; no STRICT.
CREATE TABLE audit (
    id          text COLLATE "C" PRIMARY KEY,
    actor       text NOT NULL,
    action      text NOT NULL,
    object_kind text NOT NULL,
    object_id   text NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL
);

-- object_id leads because ids are globally unique: it serves "this object" with or without
-- the kind; object_kind alone has its own index.
CREATE INDEX audit_object ON audit (object_id, id);
CREATE INDEX audit_kind   ON audit (object_kind, id);
CREATE INDEX audit_action ON audit (action, id);

-- The audit trail is append-only: the database refuses to rewrite history even if a bug or a
-- hand-written statement tries.
-- dialect: a PL/pgSQL trigger function raising an exception (SQLite: triggers whose body is
-- SELECT RAISE(ABORT, ...)), and TRUNCATE, which SQLite does not have, is refused as well.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only';
END;
$$;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- dialect: text COLLATE "C" id, timestamptz times; no STRICT.
CREATE TABLE tokens (
    id           text COLLATE "C" PRIMARY KEY,
    name         text NOT NULL,
    role         text NOT NULL,
    hash         text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- dialect: bigint version, timestamptz; no STRICT.
CREATE TABLE policy_versions (
    version    bigint PRIMARY KEY,
    hash       text NOT NULL,
    source     text NOT NULL,
    actor      text NOT NULL,
    created_at timestamptz NOT NULL
);
