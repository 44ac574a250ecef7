-- F12: resolved tickets searchable by full text, for the similar-ticket ranking of the
-- recommended next action at escalation.
--
-- resolved_tickets holds one row per resolved ticket: the text a new ticket is matched against
-- (subject, first customer message, tags as a JSON array) and what a match shows. It is a
-- derived index the ticket service keeps in step in the transaction that resolves or reopens
-- a ticket, with copies of the text, so it has no foreign key to tickets: a match needs no join,
-- and the index can be rebuilt or backfilled on its own.
--
-- doc is the integer key FTS5 needs (its rows are rowids); ticket_id stays the identity, and
-- re-indexing a ticket updates its row in place (ON CONFLICT (ticket_id) DO UPDATE), which
-- keeps one record per ticket. resolved_at is unix milliseconds.
CREATE TABLE resolved_tickets (
    doc           INTEGER PRIMARY KEY,
    ticket_id     TEXT NOT NULL UNIQUE,
    subject       TEXT NOT NULL DEFAULT '',
    first_message TEXT NOT NULL DEFAULT '',
    tags          TEXT NOT NULL DEFAULT '[]',
    issue_type    TEXT NOT NULL DEFAULT '',
    resolution    TEXT NOT NULL DEFAULT '',
    resolved_at   INTEGER NOT NULL
) STRICT;

-- An external-content FTS5 index over the three searchable columns: the text is stored once, in
-- resolved_tickets, and the index holds only the postings. porter unicode61: Unicode-aware
-- word splitting and case folding (diacritics removed), then English stemming, so "refunds"
-- finds "refund", as PostgreSQL's english config does in that store. The JSON punctuation of
-- tags is a separator to unicode61, so each tag indexes as its words.
CREATE VIRTUAL TABLE resolved_tickets_fts USING fts5 (
    subject, first_message, tags,
    content = 'resolved_tickets', content_rowid = 'doc',
    tokenize = 'porter unicode61'
);

-- The triggers keep the index in step with every write of resolved_tickets in the same
-- statement. An external-content index removes a row by being handed its old values (the
-- 'delete' command), so the old text must be what was indexed: the row's, never a guess.
CREATE TRIGGER resolved_tickets_fts_insert AFTER INSERT ON resolved_tickets BEGIN
    INSERT INTO resolved_tickets_fts (rowid, subject, first_message, tags)
    VALUES (new.doc, new.subject, new.first_message, new.tags);
END;

CREATE TRIGGER resolved_tickets_fts_delete AFTER DELETE ON resolved_tickets BEGIN
    INSERT INTO resolved_tickets_fts (resolved_tickets_fts, rowid, subject, first_message, tags)
    VALUES ('delete', old.doc, old.subject, old.first_message, old.tags);
END;

CREATE TRIGGER resolved_tickets_fts_update AFTER UPDATE ON resolved_tickets BEGIN
    INSERT INTO resolved_tickets_fts (resolved_tickets_fts, rowid, subject, first_message, tags)
    VALUES ('delete', old.doc, old.subject, old.first_message, old.tags);
    INSERT INTO resolved_tickets_fts (rowid, subject, first_message, tags)
    VALUES (new.doc, new.subject, new.first_message, new.tags);
END;
