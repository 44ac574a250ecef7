package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Statement is one write statement a write function executed, as the writer ran it: the SQL,
// its arguments and how many rows it changed.
type Statement struct {
	Query string
	Args  []any
	Rows  int64
}

// Recorder collects the write statements of every Update function that ran while it was
// recording and committed, in the order the writer ran them (commit order: there is one
// writer). It exists for the benchmarks' baselines: replaying exactly the statements the
// service wrote, with no reads, no decisions and no group commit around them
// (ReplayStatements), is "a raw batched insert of the same rows" in the sense of the quality
// bars. What it records: the statements functions execute through the store's exec, which is
// every write of the store's methods but SavePolicy's (an INSERT ... RETURNING, read as a query)
// and the bulk loaders'; a function that wrote nothing is left out. A function that was
// running when StopRecording was called is still added once it commits.
type Recorder struct {
	mu  sync.Mutex
	fns [][]Statement
}

// Record starts recording the writer's statements into a new Recorder; StopRecording ends it.
func (db *DB) Record() *Recorder {
	r := &Recorder{}
	db.recorder.Store(r)
	return r
}

// StopRecording ends a recording started with Record.
func (db *DB) StopRecording() { db.recorder.Store(nil) }

// Functions returns the recorded functions' statements, one slice per function.
func (r *Recorder) Functions() [][]Statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.fns)
}

func (r *Recorder) add(stmts []Statement) {
	r.mu.Lock()
	r.fns = append(r.fns, stmts)
	r.mu.Unlock()
}

// record appends one executed statement to the running function's recording.
func (t *tx) record(query string, args []any, res sql.Result) {
	n, err := res.RowsAffected()
	if err != nil {
		n = -1
	}
	*t.rec = append(*t.rec, Statement{Query: query, Args: copyArgs(args), Rows: n})
}

// copyArgs copies a statement's arguments for running it later, byte slices (of any named
// type) included: a caller may reuse one after the statement ran.
func copyArgs(args []any) []any {
	cp := make([]any, len(args))
	for i, a := range args {
		switch a.(type) {
		case nil, string, int, int64, bool, float64:
			cp[i] = a // values: nothing to share
			continue
		}
		if v := reflect.ValueOf(a); v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 && !v.IsNil() {
			c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(c, v)
			a = c.Interface()
		}
		cp[i] = a
	}
	return cp
}

// ReplayStatements executes fns' statements in order on the writer connection, perTx
// functions to a transaction (perTx < 1: one transaction), each distinct statement compiled
// once and kept by the connection, as the store's own are: the raw cost of writing what the recorded functions wrote. The
// database must be in the state the recording started from (a backup taken then); a statement
// that changes another number of rows than it did when recorded is an error naming it, so a
// replay that completes wrote the same rows. It runs on the writer connection directly, beside
// the group commit rather than through it, and expects nothing else to write to the database
// meanwhile (a benchmark's copy of one).
func (db *DB) ReplayStatements(ctx context.Context, fns [][]Statement, perTx int) error {
	if db.isClosed() {
		return errClosed()
	}
	if perTx < 1 {
		perTx = max(1, len(fns))
	}
	for start := 0; start < len(fns); start += perTx {
		if err := db.replayChunk(ctx, fns[start:min(start+perTx, len(fns))], start); err != nil {
			return err
		}
	}
	return nil
}

// ExecRecorded executes one recorded function's statements inside an Update's transaction
// (tx is the store.Tx the Update's function received), refusing, as ReplayStatements does, a
// statement that changes another number of rows than when it was recorded. Run from Update
// functions, the statements go through the writer's group commit, its syncer and its
// checkpoints like any write: the durable path with nothing of the service around it, which is
// the API benchmark's "same rows raw" server (internal/bench).
func ExecRecorded(ctx context.Context, stx store.Tx, stmts []Statement) error {
	t, ok := stx.(*tx)
	if !ok || !t.write {
		return escalated.Errorf(escalated.EINTERNAL, "exec recorded statements: %T is not a SQLite write transaction", stx)
	}
	if err := t.execRecorded(ctx, stmts); err != nil {
		return fmt.Errorf("exec recorded statements: %w", err)
	}
	return nil
}

// execRecorded executes stmts in order through the connection's compiled statements, and
// fails on the first that errs or changes another number of rows than when recorded (a
// database not in the state the recording had there), naming it.
func (t *tx) execRecorded(ctx context.Context, stmts []Statement) error {
	for j, s := range stmts {
		res, err := t.exec(ctx, s.Query, s.Args...)
		if err != nil {
			return fmt.Errorf("statement %d (%.60s): %w", j, s.Query, interpretError(err))
		}
		if n, err := res.RowsAffected(); err == nil && s.Rows >= 0 && n != s.Rows {
			return fmt.Errorf("statement %d (%.60s) changed %d rows, %d when recorded: the database is not in the state the recording had at that point",
				j, s.Query, n, s.Rows)
		}
	}
	return nil
}

func (db *DB) replayChunk(ctx context.Context, fns [][]Statement, first int) error {
	sqlTx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("replay statements: begin: %w", err)
	}
	defer sqlTx.Rollback()
	t := &tx{q: sqlTx, write: true}
	for i, fn := range fns {
		if err := t.execRecorded(ctx, fn); err != nil {
			return fmt.Errorf("replay statements: function %d, %w", first+i, err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("replay statements: commit: %w", err)
	}
	// Synced in line, as synchronous=FULL would inside the commit (see rawInsertChunk).
	return db.syncNow()
}
