// Package postgres is the PostgreSQL implementation of store.Store, on github.com/jackc/pgx/v5.
// Several nodes (processes, each with its own DB) share one database; this package is what
// makes that safe. It behaves like the SQLite store (internal/store/storetest holds both to the
// same suite) with its own SQL: every statement that differs from the SQLite store's carries a
// "dialect:" comment, in Go and in migrations/*.sql.
//
// # Connections
//
// A DB holds a pgxpool.Pool for transactions and one dedicated connection, outside the pool, for
// LISTEN. WithSchema puts the tables in a schema of their own (search_path is a startup
// parameter of every connection); without it the URL's search_path decides.
//
// # Transactions
//
// There is no group commit as in the SQLite store: PostgreSQL runs transactions concurrently and
// already flushes the WAL of commits that arrive together in one write. So each call gets its
// own transaction:
//
//	Update(fn): BEGIN READ COMMITTED, READ WRITE
//	              fn(tx) ... GetTicket/GetEscalation/GetAccount/GetCustomer lock their row
//	            COMMIT                       -> nil
//	            fn error                     -> ROLLBACK, fn's error
//	            40P01 deadlock / 40001       -> ROLLBACK, short jittered pause, fn again
//	                                            (at most MaxAttempts runs, then conflict)
//	View(fn):   BEGIN REPEATABLE READ, READ ONLY   (one snapshot, no locks)
//	              fn(tx)
//	            ROLLBACK
//
// Inside Update, the reads that precede a write lock the row they read (SELECT ... FOR NO KEY
// UPDATE) until commit, so two nodes doing read-modify-write on the same ticket or escalation
// take turns, and the second reads what the first committed: no lost update, and no conflict for
// callers that merely raced. The version checks of UpdateTicket and UpdateEscalation stay as a
// safety net for writes that were not preceded by a read in the same transaction.
//
// Lock order: GetEscalation locks the escalation's ticket before the escalation, so every write
// transaction touching a ticket or its escalations takes the ticket's lock first, and the two
// service paths that read them in opposite orders (escalate: ticket then escalation;
// acknowledge: escalation then ticket) queue instead of deadlocking. Any other cycle PostgreSQL
// breaks by aborting one transaction (deadlock_detected), which Update retries: store.Store
// allows fn to run more than once. docs/adr/0003-postgres-concurrency.md has the reasoning.
//
// A caller whose ctx is done before BEGIN gets ctx.Err(). Once fn has started, its statements
// and the COMMIT run under context.WithoutCancel(ctx), as in the SQLite store: cancelling a
// running statement would abort the transaction half way, and the caller would not know which of
// its writes were made. fn can still watch ctx itself and return early, which rolls back.
//
// A statement PostgreSQL rejects (a duplicate key, a missing parent, a value it cannot hold)
// aborts the transaction: later statements fail too and the commit rolls back, so fn must return
// after such an error (SQLite would let it carry on). A read that finds nothing and a refused
// version check are not statement errors and leave the transaction usable. Errors are mapped to the domain's codes by interpretError: no row is not_found, a
// unique violation conflict, a foreign key violation not_found naming the missing parent, a
// check or not-null violation or a value PostgreSQL cannot hold (NUL bytes, invalid UTF-8)
// invalid. The methods then word the message naming the object, as the SQLite store does.
//
// fn must not call Update or View on the same DB: it holds a pool connection (and row locks)
// while the nested call waits for another.
//
// # Changes between nodes
//
//	node A: Update ... AppendEvent --INSERT + pg_notify--> (queued in A's transaction)
//	        COMMIT --------------------------------------> PostgreSQL delivers, in commit order
//	node A listener <-- NOTIFY escalated_changes_<schema> --+--> node B listener
//	      |                                                        |
//	      v                                                        v
//	  store.Hub -> A's subscribers                           store.Hub -> B's subscribers
//
// AppendEvent inserts the event and calls pg_notify in the same statement, on a channel named
// after the schema (stores in other schemas of the database do not hear it). PostgreSQL sends
// notifications only when the transaction commits, in commit order, and never for a rollback, so
// subscribers hear exactly the committed history. Every node, this one included, learns of
// changes from its listener. When the listener's connection is lost it reconnects with backoff
// and then publishes a Change with Lagged set: what was committed in between was never heard.
//
// # Schema
//
// Migrations are numbered SQL files embedded from migrations/, applied in order inside one
// transaction at Open and recorded in schema_migrations. The transaction first takes
// pg_advisory_xact_lock on a constant key (and the schema), so nodes that start together migrate
// once: the first applies, the others wait and find nothing to do. A schema migrated by a newer
// build is refused. Backups are pg_dump's job.
package postgres
