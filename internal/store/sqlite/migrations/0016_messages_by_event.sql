-- E11: a ticket's messages are listed through the message.added events that announce them
-- (store.History.ListMessages), so the messages table needs no index by ticket of its own.
-- Every message written used to change a random page of that index as well as the events'
-- (ticket_id, seq) index: about a quarter of the pages a batch of messages wrote to the log.
-- The foreign key to tickets stays; SQLite would want this index only to delete or renumber
-- tickets, which nothing does.
DROP INDEX IF EXISTS messages_ticket;
