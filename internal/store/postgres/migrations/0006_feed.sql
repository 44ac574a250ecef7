-- E5: the live event stream (GET /v1/events) reads every ticket's events in one order that
-- never changes and in which nothing committed later sorts before what a reader has already
-- seen, so that a client resuming from the last id it saw misses nothing.
--
-- dialect: PostgreSQL commits concurrent transactions in any order, so no number assigned at
-- insert follows commit order (SQLite's single writer makes its pos do). The order here is
-- (tx, pos): the inserting transaction's id, then an identity within it. A reader takes only
-- rows whose tx is older than every transaction still running (pg_snapshot_xmin of its
-- snapshot): those transactions have ended, and every transaction that has not yet ended, or
-- not yet begun, has a larger id, so nothing can later appear below what the reader saw. The
-- price is that a long write transaction holds the stream back until it ends.
--
-- team and from_team tag each event with the team holding the ticket once the change was
-- written and the team it left in that change (see escalated.Event), for the stream's team
-- filter. Events recorded before this migration take their ticket's current team.
ALTER TABLE events
    ADD COLUMN tx        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    ADD COLUMN pos       bigint GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN team      text NOT NULL DEFAULT '',
    ADD COLUMN from_team text NOT NULL DEFAULT '';

CREATE UNIQUE INDEX events_feed ON events (tx, pos);

UPDATE events e SET team = t.team FROM tickets t WHERE t.id = e.ticket_id;
