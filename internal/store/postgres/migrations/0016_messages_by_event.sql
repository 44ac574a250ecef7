-- E11: as SQLite's migration 16. A ticket's messages are listed through the message.added
-- events that announce them (store.History.ListMessages); the events' (ticket_id, seq) index
-- serves both lists, and each message written no longer updates a second index by ticket.
DROP INDEX IF EXISTS messages_ticket;
