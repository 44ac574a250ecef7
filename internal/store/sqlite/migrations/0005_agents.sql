-- E5: routing state. The policy names agents and teams; what changes during the day lives here.
--
-- agent_state: an agent's live status and capacity override, one row per agent that was ever
-- changed ('' status and 0 capacity mean the policy's). updated_at is unix milliseconds.
CREATE TABLE agent_state (
    agent_id   TEXT NOT NULL PRIMARY KEY,
    status     TEXT NOT NULL DEFAULT '',
    capacity   INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
) STRICT;

-- team_routing: the agent each team assigned last, for round robin.
CREATE TABLE team_routing (
    team       TEXT NOT NULL PRIMARY KEY,
    last_agent TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
) STRICT;

-- Routing counts each member's open tickets every time a ticket enters a team, and a team's
-- queue lists its open tickets oldest first. Partial indexes hold only the open tickets, so
-- both stay index range scans however many solved tickets pile up. Queries repeat the WHERE
-- term exactly, which is how SQLite knows it may use a partial index.
CREATE INDEX tickets_open_assignee ON tickets (assignee) WHERE status NOT IN ('solved', 'closed');
CREATE INDEX tickets_open_team ON tickets (team, id) WHERE status NOT IN ('solved', 'closed');
