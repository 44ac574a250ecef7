-- E3: rules and signals.
-- extra holds the ticket's signal aggregate and latest recommendation as one JSON object: both
-- are read and written with the ticket and never filtered on.
-- dialect: jsonb (SQLite: TEXT holding JSON).
ALTER TABLE tickets ADD COLUMN extra jsonb NOT NULL DEFAULT '{}';

-- The policy's latest verdict per ticket, for explain.
-- dialect: timestamptz and jsonb (SQLite: INTEGER unix ms and TEXT).
CREATE TABLE decisions (
    ticket_id      text COLLATE "C" PRIMARY KEY REFERENCES tickets (id),
    seq            bigint NOT NULL,
    event          text NOT NULL,
    policy_version bigint NOT NULL,
    trace          jsonb NOT NULL,
    created_at     timestamptz NOT NULL
);
