-- E6: chatbot handoffs (POST /v1/handoffs), as in the SQLite store's 0008_handoffs.sql: the
-- first answer given under each client handoff_id, so that a retry gets it again instead of a
-- second ticket or escalation; request_hash tells a retry from a different request reusing the
-- id; escalation_id is '' when the handoff escalated nothing (hence no foreign key).
--
-- dialect: answer is bytea (SQLite: TEXT), not jsonb: jsonb stores a parsed form and gives back
-- its own rendering (keys reordered and deduplicated, whitespace dropped, \u escapes decoded),
-- and a retry must get the first answer's bytes exactly. text would keep them too but refuses
-- NUL and invalid UTF-8 that SQLite stores; bytea refuses nothing, as for deliveries.payload.
-- timestamptz (SQLite: INTEGER unix ms); text COLLATE "C" on ids; no STRICT.
CREATE TABLE handoffs (
    id            text COLLATE "C" PRIMARY KEY,
    request_hash  text NOT NULL,
    ticket_id     text COLLATE "C" NOT NULL REFERENCES tickets (id),
    escalation_id text COLLATE "C" NOT NULL DEFAULT '',
    answer        bytea NOT NULL,
    created_at    timestamptz NOT NULL
);

-- The acknowledging agent's answer to "did the package tell you what you needed?", NULL when
-- not asked or not answered. dialect: boolean (SQLite: INTEGER 0/1). A nullable column without
-- a default is a catalog change only: no row is rewritten.
ALTER TABLE escalations ADD COLUMN context_sufficient boolean;

-- A handoff's answer tells the bot its place in the receiving team's line and an estimated wait.
-- Partial indexes hold only the rows those questions read, so both stay index range scans
-- however many escalations are closed.
--
-- PendingAhead counts the team's pending escalations before one (created_at, id): an index-only
-- range scan with a row comparison.
CREATE INDEX escalations_pending_line ON escalations (to_team, created_at, id) WHERE state = 'pending';
-- AckDelays walks the team's latest acknowledgements backwards from the newest; id breaks ties
-- on acknowledged_at so that both stores pick the same rows under a limit. dialect: created_at
-- rides along with INCLUDE for an index-only scan (SQLite: a trailing key column).
CREATE INDEX escalations_acknowledged ON escalations (to_team, acknowledged_at, id) INCLUDE (created_at)
    WHERE acknowledged_at IS NOT NULL;
