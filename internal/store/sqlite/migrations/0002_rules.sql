-- E3: rules and signals.
-- extra holds the ticket's signal aggregate and latest recommendation as one JSON object: both
-- are read and written with the ticket and never filtered on.
ALTER TABLE tickets ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';

-- The policy's latest verdict per ticket, for explain.
CREATE TABLE decisions (
	ticket_id      TEXT NOT NULL PRIMARY KEY REFERENCES tickets (id),
	seq            INTEGER NOT NULL,
	event          TEXT NOT NULL,
	policy_version INTEGER NOT NULL,
	trace          TEXT NOT NULL,
	created_at     INTEGER NOT NULL
) STRICT;
