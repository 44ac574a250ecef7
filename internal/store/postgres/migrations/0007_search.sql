-- F12: resolved tickets searchable by full text, as in the SQLite store's 0007_search.sql: one
-- row per resolved ticket with the text a new ticket is matched against and what a match shows,
-- kept in step by the ticket service, with no foreign key to tickets (a derived index that can
-- be rebuilt on its own).
--
-- dialect: a stored generated tsvector with a GIN index (SQLite: an FTS5 table kept in step by
-- triggers); text COLLATE "C" id, jsonb tags, timestamptz (SQLite: TEXT JSON, unix ms).
--
-- search weighs the words: A for the subject and the tags, B for the first message (ts_rank's
-- default weights make an A word count 2.5 times a B word). The english config stems ("refunds"
-- finds "refund") and drops its stop words. to_tsvector of a jsonb array indexes its string
-- elements only, each as its words. Every function here is immutable with the config named,
-- which a generated column requires.
CREATE TABLE resolved_tickets (
    ticket_id     text COLLATE "C" PRIMARY KEY,
    subject       text NOT NULL DEFAULT '',
    first_message text NOT NULL DEFAULT '',
    tags          jsonb NOT NULL DEFAULT '[]',
    issue_type    text NOT NULL DEFAULT '',
    resolution    text NOT NULL DEFAULT '',
    resolved_at   timestamptz NOT NULL,
    search        tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, subject), 'A') ||
        setweight(to_tsvector('english'::regconfig, tags), 'A') ||
        setweight(to_tsvector('english'::regconfig, first_message), 'B')
    ) STORED
);

CREATE INDEX resolved_tickets_search ON resolved_tickets USING gin (search);
