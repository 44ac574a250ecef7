-- E5: routing state, as in the SQLite store's 0005_agents.sql.
-- dialect: timestamptz (SQLite: INTEGER unix ms); text COLLATE "C" on ids; no STRICT.

-- An agent's live status and capacity override ('' status and 0 capacity mean the policy's).
CREATE TABLE agent_state (
    agent_id   text COLLATE "C" PRIMARY KEY,
    status     text NOT NULL DEFAULT '',
    capacity   integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL
);

-- The agent each team assigned last, for round robin. Routing into a team locks its row
-- (SELECT ... FOR UPDATE), which serialises concurrent routing into one team across nodes.
CREATE TABLE team_routing (
    team       text COLLATE "C" PRIMARY KEY,
    last_agent text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL
);

-- Open tickets per assignee (routing's load count) and per team in id order (the queue).
-- Partial indexes: only open tickets, so both stay small however many tickets are solved.
CREATE INDEX tickets_open_assignee ON tickets (assignee) WHERE status NOT IN ('solved', 'closed');
CREATE INDEX tickets_open_team ON tickets (team, id) WHERE status NOT IN ('solved', 'closed');
