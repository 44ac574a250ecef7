-- E7: analytics facts (store.Facts), as in the SQLite store's 0009_facts.sql: one row per
-- ticket and one per escalation, kept in step by the ticket service in the transaction of every
-- change, with the attributes reports group by and the outcomes they count. Reports scan one of
-- these tables over a time window instead of joining tickets, accounts, escalations and history.
--
-- No foreign keys: the facts are a read model derived from tickets and escalations, written
-- after them in the same transaction; a reference would only cost every write a lookup.
-- dialect: timestamptz times (SQLite: INTEGER unix ms); durations bigint milliseconds, as in
-- SQLite, so that percentiles compare the same integers in both stores; boolean (SQLite:
-- INTEGER 0/1); double precision (SQLite: REAL); no STRICT. Every text column is COLLATE "C":
-- report keys then group and sort as bytes, as in SQLite, and sorting them skips the locale.
CREATE TABLE ticket_facts (
    ticket_id                  text COLLATE "C" PRIMARY KEY,
    created_at                 timestamptz NOT NULL,
    issue_type                 text COLLATE "C" NOT NULL,
    channel                    text COLLATE "C" NOT NULL,
    customer_tier              text COLLATE "C" NOT NULL,
    account_id                 text COLLATE "C" NOT NULL,
    intake_team                text COLLATE "C" NOT NULL,
    intake_tier                text COLLATE "C" NOT NULL,
    first_agent                text COLLATE "C" NOT NULL,
    solved                     boolean NOT NULL,
    solved_at                  timestamptz,
    escalations                integer NOT NULL,
    first_escalated_at         timestamptz,
    reopens                    integer NOT NULL,
    breaches_before_escalation integer NOT NULL,
    reopened_after_t1_solve    boolean NOT NULL,
    max_frustration            double precision NOT NULL,
    ping_pongs                 integer NOT NULL
);

CREATE TABLE escalation_facts (
    id                   text COLLATE "C" PRIMARY KEY,
    ticket_id            text COLLATE "C" NOT NULL,
    created_at           timestamptz NOT NULL,
    from_team            text COLLATE "C" NOT NULL,
    to_team              text COLLATE "C" NOT NULL,
    from_tier            text COLLATE "C" NOT NULL,
    to_tier              text COLLATE "C" NOT NULL,
    by_agent             text COLLATE "C" NOT NULL,
    trigger_kind         text COLLATE "C" NOT NULL,
    reason               text COLLATE "C" NOT NULL,
    rule_id              text COLLATE "C" NOT NULL,
    issue_type           text COLLATE "C" NOT NULL,
    channel              text COLLATE "C" NOT NULL,
    customer_tier        text COLLATE "C" NOT NULL,
    account_id           text COLLATE "C" NOT NULL,
    time_to_escalate     bigint NOT NULL,
    acknowledged_at      timestamptz,
    time_to_ack          bigint,
    state                text COLLATE "C" NOT NULL,
    returned             boolean NOT NULL,
    unnecessary          boolean NOT NULL,
    resolved_at_target   boolean NOT NULL,
    re_escalated         boolean NOT NULL,
    resolved_after       bigint,
    internal_notes       integer NOT NULL,
    completeness         double precision NOT NULL,
    context_insufficient boolean NOT NULL,
    ping_pong            boolean NOT NULL
);

CREATE INDEX ticket_facts_created ON ticket_facts (created_at);
CREATE INDEX ticket_facts_intake_team ON ticket_facts (intake_team, created_at);
CREATE INDEX escalation_facts_created ON escalation_facts (created_at);
CREATE INDEX escalation_facts_from_team ON escalation_facts (from_team, created_at);
CREATE INDEX escalation_facts_to_team ON escalation_facts (to_team, created_at) INCLUDE (ticket_id);
