-- E4: durable deadlines (SLA warnings and breaches, unacknowledged escalations).
-- A ticket has at most one pending deadline per kind and target: scheduling again replaces it.
-- dialect: timestamptz (SQLite: INTEGER unix ms); COLLATE "C" on ids so that they order
-- bytewise as in SQLite.
CREATE TABLE deadlines (
    id            text COLLATE "C" PRIMARY KEY,
    ticket_id     text COLLATE "C" NOT NULL REFERENCES tickets (id),
    kind          text NOT NULL,
    target        text NOT NULL,
    escalation_id text NOT NULL DEFAULT '',
    due_at        timestamptz NOT NULL,
    created_at    timestamptz NOT NULL,
    UNIQUE (ticket_id, kind, target)
);

-- ClaimDue and NextDue read the earliest deadlines in (due_at, id) order.
CREATE INDEX deadlines_due ON deadlines (due_at, id);
