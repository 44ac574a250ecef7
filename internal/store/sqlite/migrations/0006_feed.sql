-- E5: the live event stream (GET /v1/events) reads every ticket's events in one order that
-- never changes and in which nothing committed later sorts before what a reader has already
-- seen, so that a client resuming from the last id it saw misses nothing.
--
-- pos is that order. As an AUTOINCREMENT rowid alias SQLite assigns it at insert, larger than
-- any pos ever used (also after deletes), and SQLite has one writer at a time, so pos follows
-- commit order. The implicit rowid the table had could not serve: VACUUM may renumber rowids
-- that no column names, which would break every client's cursor after a backup or restore.
--
-- team and from_team tag each event with the team holding the ticket once the change was
-- written and the team it left in that change (see escalated.Event), for the stream's team
-- filter. Events recorded before this migration take their ticket's current team.
CREATE TABLE events_feed (
    pos        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    ticket_id  TEXT NOT NULL REFERENCES tickets (id),
    seq        INTEGER NOT NULL,
    type       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    message_id TEXT,
    created_at INTEGER NOT NULL,
    team       TEXT NOT NULL DEFAULT '',
    from_team  TEXT NOT NULL DEFAULT '',
    UNIQUE (ticket_id, seq)
) STRICT;

INSERT INTO events_feed (pos, id, ticket_id, seq, type, actor, data, message_id, created_at, team)
SELECT e.rowid, e.id, e.ticket_id, e.seq, e.type, e.actor, e.data, e.message_id, e.created_at, t.team
FROM events e JOIN tickets t ON t.id = e.ticket_id
ORDER BY e.rowid;

DROP TABLE events;
ALTER TABLE events_feed RENAME TO events;
