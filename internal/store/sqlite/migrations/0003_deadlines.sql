-- E4: deadlines. One row per future moment the deadline engine must act on (an SLA clock's
-- warning or breach, an unacknowledged escalation); a ticket has at most one per kind and
-- target. due_at and created_at are unix milliseconds.
CREATE TABLE deadlines (
	id            TEXT NOT NULL PRIMARY KEY,
	ticket_id     TEXT NOT NULL REFERENCES tickets (id),
	kind          TEXT NOT NULL,
	target        TEXT NOT NULL,
	escalation_id TEXT NOT NULL DEFAULT '',
	due_at        INTEGER NOT NULL,
	created_at    INTEGER NOT NULL,
	UNIQUE (ticket_id, kind, target)
) STRICT;

-- ClaimDue and NextDue read the earliest due deadlines in (due_at, id) order.
CREATE INDEX deadlines_due ON deadlines (due_at, id);
