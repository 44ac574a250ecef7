-- E7: analytics facts (store.Facts).
--
-- One row per ticket and one per escalation, kept in step by the ticket service in the
-- transaction of every change, with the attributes reports group by and the outcomes they count.
-- Reports scan one of these tables over a time window instead of joining tickets, accounts,
-- escalations and history.
--
-- No foreign keys: the facts are a read model derived from tickets and escalations, written
-- after them in the same transaction; a reference would only cost every write a lookup.
-- Times are INTEGER unix milliseconds, durations INTEGER milliseconds, booleans INTEGER 0/1;
-- NULL only where the Go field is a pointer.
CREATE TABLE ticket_facts (
    ticket_id                  TEXT NOT NULL PRIMARY KEY,
    created_at                 INTEGER NOT NULL,
    issue_type                 TEXT NOT NULL,
    channel                    TEXT NOT NULL,
    customer_tier              TEXT NOT NULL,
    account_id                 TEXT NOT NULL,
    intake_team                TEXT NOT NULL,
    intake_tier                TEXT NOT NULL,
    first_agent                TEXT NOT NULL,
    solved                     INTEGER NOT NULL,
    solved_at                  INTEGER,
    escalations                INTEGER NOT NULL,
    first_escalated_at         INTEGER,
    reopens                    INTEGER NOT NULL,
    breaches_before_escalation INTEGER NOT NULL,
    reopened_after_t1_solve    INTEGER NOT NULL,
    max_frustration            REAL NOT NULL,
    ping_pongs                 INTEGER NOT NULL
) STRICT;

CREATE TABLE escalation_facts (
    id                   TEXT NOT NULL PRIMARY KEY,
    ticket_id            TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    from_team            TEXT NOT NULL,
    to_team              TEXT NOT NULL,
    from_tier            TEXT NOT NULL,
    to_tier              TEXT NOT NULL,
    by_agent             TEXT NOT NULL,
    trigger_kind         TEXT NOT NULL,
    reason               TEXT NOT NULL,
    rule_id              TEXT NOT NULL,
    issue_type           TEXT NOT NULL,
    channel              TEXT NOT NULL,
    customer_tier        TEXT NOT NULL,
    account_id           TEXT NOT NULL,
    time_to_escalate     INTEGER NOT NULL,
    acknowledged_at      INTEGER,
    time_to_ack          INTEGER,
    state                TEXT NOT NULL,
    returned             INTEGER NOT NULL,
    unnecessary          INTEGER NOT NULL,
    resolved_at_target   INTEGER NOT NULL,
    re_escalated         INTEGER NOT NULL,
    resolved_after       INTEGER,
    internal_notes       INTEGER NOT NULL,
    completeness         REAL NOT NULL,
    context_insufficient INTEGER NOT NULL,
    ping_pong            INTEGER NOT NULL
) STRICT;

CREATE INDEX ticket_facts_created ON ticket_facts (created_at);
CREATE INDEX ticket_facts_intake_team ON ticket_facts (intake_team, created_at);
CREATE INDEX escalation_facts_created ON escalation_facts (created_at);
CREATE INDEX escalation_facts_from_team ON escalation_facts (from_team, created_at);
CREATE INDEX escalation_facts_to_team ON escalation_facts (to_team, created_at, ticket_id);
