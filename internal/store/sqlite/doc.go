// Package sqlite is the SQLite implementation of store.Store, on modernc.org/sqlite (pure Go,
// no cgo).
//
// # Connections
//
// A DB holds two database/sql pools on the same file:
//
//   - the writer: exactly one connection (MaxOpenConns 1), opened with _txlock=immediate so every
//     transaction takes SQLite's write lock at BEGIN rather than failing with SQLITE_BUSY half way;
//   - the readers: several connections with query_only on, used by View.
//
// Every connection runs journal_mode=WAL (readers never block the writer and see a stable
// snapshot), foreign_keys=ON and busy_timeout=5000. The readers run synchronous=FULL; the writer
// runs synchronous=NORMAL and a syncer goroutine adds the sync of the log that FULL would make
// inside each COMMIT, before any caller hears of it (below).
//
// # Group commit
//
// A durable commit costs an fsync, which caps one-transaction-per-event at a few thousand events
// per second. Update therefore does not open its own transaction; it queues a request for the
// single writer goroutine, which folds requests into one transaction:
//
//	callers:   Update(fn1)  Update(fn2)  Update(fn3) ...
//	              |            |            |
//	              v            v            v
//	queue:     [ r1 ]-------[ r2 ]-------[ r3 ]        (buffered channel, MaxBatch deep)
//	              \___________ | ___________/
//	                           v
//	writer:    BEGIN IMMEDIATE
//	             fn1(tx)                                            -> ok, wait for COMMIT
//	             fn2(tx)                                            -> error before writing: nothing to undo
//	             fn3(tx)                                            -> ok, wait for COMMIT
//	           COMMIT                                               -> handed to the syncer
//	syncer:      fsync(log)                                         -> r1, r2 (its error), r3 answered
//
// The writer runs each request's fn as it arrives and commits once nothing is waiting and the
// syncer is free (or MaxBatch fns ran): a lone caller commits at once, and under load every fn
// that arrives while the previous commit is being synced runs during that sync and joins the
// next commit (docs/adr/0006-syncing-the-log-off-the-writer.md). Each fn's writes are
// all-or-nothing, so a failing caller never changes the others' outcomes (though it may make
// their fns run again, below: fn must have no effects outside the Tx); if the COMMIT fails every
// caller whose fn succeeded gets that error. A caller is answered, and its changes announced,
// only once the sync made its commit durable; if a sync fails, that batch's callers get the
// error and every later write is refused until restart (syncer.go).
//
// A fn runs without a savepoint of its own (docs/adr/0007-fns-without-savepoints.md) unless
// its caller expects it to roll back (store.ExpectRollback: dry runs, deadline claims): the
// writer connection's pre-update and rollback hooks tell whether it changed rows and whether
// SQLite rolled the transaction back meanwhile (then its later statements are refused). A fn
// that fails having written nothing needs no undo. One that fails (or panics) after writing has its batch rolled back and the fns before
// it run again in a fresh transaction, each in a savepoint (SAVEPOINT fn; fn; RELEASE fn, or
// ROLLBACK TO fn when it fails), as are the fns of the next batches, so that a stream of such
// failures costs one rerun now and then rather than one each.
//
// Request life cycle, as the writer sees it:
//
//	queued --ctx done before fn starts--> answered ctx.Err(), skipped
//	queued --claimed--> running --fn error, nothing written--> answered with the batch
//	                            --fn error or panic after writing--> batch rolled back, the fns
//	                                before it run again; answered with the batch
//	                            --fn ok--> --COMMIT, sync--> answered nil
//	                                                         (or the commit's or sync's error)
//
// A caller whose context ends while its request is still queued returns ctx.Err() at once; once
// its fn has started it waits for the commit, because abandoning a write whose outcome is not
// yet known would let the caller believe it failed when it may still commit.
//
// Statements inside Update run under context.WithoutCancel(ctx): cancelling a running SQLite
// statement interrupts the connection, and an interrupted write inside an explicit transaction
// may roll back the whole transaction, which here would be every caller's batch. fn can still
// look at ctx itself and return early.
//
// A panic in fn is recovered by the writer, logged with its stack, undone as any failing fn's
// writes are, and returned to that caller as an internal error; the writer keeps serving. If a
// statement breaks the transaction itself (SQLite rolled it back, or a savepoint can no longer
// be released or rolled back), the batch is rolled back, that caller gets the error at once,
// and the other callers' fns are run again in a fresh transaction, which store.Store allows
// ("fn may be called more than once").
//
// Between a COMMIT and its sync, readers can already see the batch: a power loss in that window
// (about a millisecond) undoes writes a reader may have seen, though no caller was told they
// succeeded. A kill -9 loses nothing committed.
//
// fn must not call Update on the same DB: the writer is busy running fn, so the nested call
// would wait for itself forever.
//
// # Caches
//
// Everything a write does runs on the writer goroutine, so its CPU per event caps throughput;
// three caches keep repeated work off it, each correct whatever else writes the file:
//
//   - every connection keeps the statements it ran compiled, by text (stmtcache.go);
//   - the writer keeps hot tickets' and escalations' rows (cache.go), dropped by the
//     pre-update hook when any statement changes them and all at once when PRAGMA
//     data_version shows another connection committed; a row enters only when the fn that read
//     or wrote it is released, and a broken or failed batch empties the cache;
//   - rows a write leaves behind are decoded ahead, off the writer, for the next read.
//
// # Close
//
// Close stops accepting requests (Update then returns an internal "store closed" error), lets
// the writer drain and commit everything already queued, and then closes both pools.
//
// # Schema
//
// Migrations are numbered SQL files embedded from migrations/, applied in order inside one
// transaction at Open and recorded in schema_migrations(version, applied_at).
package sqlite
