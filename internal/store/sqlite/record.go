package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

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
// once and kept by the connection, as the store's own are: the raw cost of writing what the
// recorded functions wrote. The database must be in the state the recording started from (a
// backup taken then); a statement that changes another number of rows than it did when recorded
// is an error naming it, so a replay that completes wrote the same rows. It runs on the writer
// connection directly, beside the group commit rather than through it, and expects nothing else
// to write to the database meanwhile (a benchmark's copy of one).
//
// It returns where the time went (ReplayProfile): a replay runs once per copy of the database,
// so its one run is both the figure and its profile. Timing each statement costs two clock
// reads and a map lookup keyed by the query text's address (not its bytes: a query runs to a
// kilobyte and more), well under a microsecond against the 4-40 µs a statement takes here; the
// statements' kinds are worked out once per distinct text, after the replay.
func (db *DB) ReplayStatements(ctx context.Context, fns [][]Statement, perTx int) (*ReplayProfile, error) {
	if db.isClosed() {
		return nil, errClosed()
	}
	if perTx < 1 {
		perTx = max(1, len(fns))
	}
	p := &ReplayProfile{}
	costs := map[queryText]*StatementCost{}
	began := time.Now()
	for start := 0; start < len(fns); start += perTx {
		if err := db.replayChunk(ctx, fns[start:min(start+perTx, len(fns))], start, p, costs); err != nil {
			return nil, err
		}
	}
	p.Took = time.Since(began)
	byKind := map[string]*StatementCost{}
	for q, c := range costs {
		k := StatementKind(unsafe.String(q.p, q.n))
		sum := byKind[k]
		if sum == nil {
			sum = &StatementCost{Kind: k}
			byKind[k] = sum
		}
		sum.Count += c.Count
		sum.Took += c.Took
		sum.ArgBytes += c.ArgBytes
	}
	for _, c := range byKind {
		p.Statements = append(p.Statements, *c)
	}
	slices.SortFunc(p.Statements, func(a, b StatementCost) int {
		return cmp.Or(cmp.Compare(b.Took, a.Took), strings.Compare(a.Kind, b.Kind))
	})
	return p, nil
}

// queryText identifies a query's text by where it lies: the recorded statements of one query
// share the store's string, so this keys them without hashing its bytes.
type queryText struct {
	p *byte
	n int
}

// ReplayProfile is where a replay's time went.
type ReplayProfile struct {
	// Took is the whole replay; Commits the COMMITs and the sync after each.
	Took, Commits time.Duration
	// Statements are the statements' costs by kind, the most time first.
	Statements []StatementCost
}

// StatementCost is what the statements of one kind (StatementKind) cost in a replay.
type StatementCost struct {
	Kind     string
	Count    int
	Took     time.Duration
	ArgBytes int64 // the arguments' bytes (text and blobs; 8 for any other value)
}

// Summary describes the profile per unit of work (units of them, such as messages or
// breaches): for each of the top kinds, how many ran per unit and the microseconds they took
// per unit, then the commits' and the rest's share, for a benchmark's note.
func (p *ReplayProfile) Summary(units int, unit string, top int) string {
	if p == nil || units <= 0 {
		return ""
	}
	per := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) / float64(units) }
	var b strings.Builder
	fmt.Fprintf(&b, "per %s %.0f µs:", unit, per(p.Took))
	var shown time.Duration
	for i, c := range p.Statements {
		if i == top {
			break
		}
		shown += c.Took
		fmt.Fprintf(&b, " %s %.3gx %.1f µs (%d B of arguments each);", c.Kind, float64(c.Count)/float64(units), per(c.Took), c.ArgBytes/int64(max(c.Count, 1)))
	}
	var all time.Duration
	for _, c := range p.Statements {
		all += c.Took
	}
	fmt.Fprintf(&b, " other statements %.1f µs; commits and syncs %.1f µs; the rest (beginning transactions, the replay's own loop and timing) %.1f µs",
		per(all-shown), per(p.Commits), per(p.Took-all-p.Commits))
	return b.String()
}

// StatementKind names what a statement writes by its first words: "INSERT INTO events",
// "UPDATE tickets", "DELETE FROM deadlines" (the variants of one statement, such as the
// ticket's UPDATE of the columns that moved, are one kind).
func StatementKind(query string) string {
	f := strings.Fields(query)
	n := 2
	if len(f) > 0 && (strings.EqualFold(f[0], "INSERT") || strings.EqualFold(f[0], "DELETE") || strings.EqualFold(f[0], "REPLACE")) {
		n = 3
	}
	if len(f) > n {
		f = f[:n]
	}
	if i := len(f) - 1; i >= 0 {
		// "INSERT INTO t(a, b)" names the table before its column list.
		f[i], _, _ = strings.Cut(f[i], "(")
	}
	return strings.Join(f, " ")
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
	if err := t.execRecorded(ctx, stmts, nil); err != nil {
		return fmt.Errorf("exec recorded statements: %w", err)
	}
	return nil
}

// execRecorded executes stmts in order through the connection's compiled statements, and
// fails on the first that errs or changes another number of rows than when recorded (a
// database not in the state the recording had there), naming it. costs, when not nil, gathers
// each statement's time by its query's text.
func (t *tx) execRecorded(ctx context.Context, stmts []Statement, costs map[queryText]*StatementCost) error {
	for j, s := range stmts {
		var began time.Time
		if costs != nil {
			began = time.Now()
		}
		res, err := t.exec(ctx, s.Query, s.Args...)
		if err != nil {
			return fmt.Errorf("statement %d (%.60s): %w", j, s.Query, interpretError(err))
		}
		if costs != nil {
			took := time.Since(began)
			k := queryText{unsafe.StringData(s.Query), len(s.Query)}
			c := costs[k]
			if c == nil {
				c = &StatementCost{}
				costs[k] = c
			}
			c.Count++
			c.Took += took
			c.ArgBytes += argBytes(s.Args)
		}
		if n, err := res.RowsAffected(); err == nil && s.Rows >= 0 && n != s.Rows {
			return fmt.Errorf("statement %d (%.60s) changed %d rows, %d when recorded: the database is not in the state the recording had at that point",
				j, s.Query, n, s.Rows)
		}
	}
	return nil
}

// argBytes is the size of a statement's arguments: text and blobs by their length, any other
// value 8.
func argBytes(args []any) int64 {
	var n int64
	for _, a := range args {
		switch v := a.(type) {
		case string:
			n += int64(len(v))
		case []byte:
			n += int64(len(v))
		case nil:
		default:
			n += 8
		}
	}
	return n
}

func (db *DB) replayChunk(ctx context.Context, fns [][]Statement, first int, p *ReplayProfile, costs map[queryText]*StatementCost) error {
	sqlTx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("replay statements: begin: %w", err)
	}
	defer sqlTx.Rollback()
	t := &tx{q: sqlTx, write: true}
	for i, fn := range fns {
		if err := t.execRecorded(ctx, fn, costs); err != nil {
			return fmt.Errorf("replay statements: function %d, %w", first+i, err)
		}
	}
	began := time.Now()
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("replay statements: commit: %w", err)
	}
	// Synced in line, as synchronous=FULL would inside the commit (see rawInsertChunk).
	err = db.syncNow()
	p.Commits += time.Since(began)
	return err
}
