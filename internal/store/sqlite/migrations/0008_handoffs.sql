-- E6: chatbot handoffs (POST /v1/handoffs).
--
-- handoffs keeps the first answer given under each client handoff_id, so that a bot retrying a
-- handoff (after a timeout, say) gets that answer again instead of a second ticket or
-- escalation; request_hash tells such a retry from a different request reusing the id. answer
-- is the JSON as answered, kept as TEXT byte for byte (no json() normalisation) so that a retry
-- gets exactly the bytes of the first answer. escalation_id is '' when the handoff escalated
-- nothing, which is why it has no foreign key (a reference would need NULL for "none").
-- created_at is unix milliseconds.
CREATE TABLE handoffs (
    id            TEXT NOT NULL PRIMARY KEY,
    request_hash  TEXT NOT NULL,
    ticket_id     TEXT NOT NULL REFERENCES tickets (id),
    escalation_id TEXT NOT NULL DEFAULT '',
    answer        TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

-- The acknowledging agent's answer to "did the package tell you what you needed?": 1, 0, or
-- NULL when not asked or not answered. Adding a nullable column rewrites no row.
ALTER TABLE escalations ADD COLUMN context_sufficient INTEGER;

-- A handoff's answer tells the bot its place in the receiving team's line and an estimated wait.
-- Both indexes are partial, so they hold only the rows those questions read and stay index
-- range scans however many escalations are closed. Queries repeat the WHERE term exactly, which
-- is how SQLite knows it may use a partial index.
--
-- PendingAhead counts the team's pending escalations before one (created_at, id): a covering
-- range scan of escalations_pending_line, no table read.
CREATE INDEX escalations_pending_line ON escalations (to_team, created_at, id) WHERE state = 'pending';
-- AckDelays walks the team's latest acknowledgements backwards from the newest. id breaks ties
-- on acknowledged_at, so that both stores pick the same rows under a limit. created_at is in the
-- index only to make it covering: in the table it sits behind the package, and reaching it there
-- would read the package's overflow pages for every row.
CREATE INDEX escalations_acknowledged ON escalations (to_team, acknowledged_at, id, created_at)
    WHERE acknowledged_at IS NOT NULL;
