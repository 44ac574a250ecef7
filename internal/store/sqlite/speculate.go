package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Deciding outside the writer (docs/adr/0005-deciding-outside-the-writer.md).
//
// The writer goroutine is the one serial part of every write, and of a new message's write
// function it spent about as long on the service's Go (the policy's reaction, building the
// change, encoding the rows) as on the statements themselves. An Update marked
// store.Speculate therefore runs its fn first in the caller's goroutine, against a tx that
// executes nothing: reads of the tickets and escalations the writer's cache holds are answered
// from the cache and remembered (the read set), and every write statement is recorded with its
// arguments already encoded, in order with what fn staged in the cache (the write set). Any
// other read (a query of the database), and any write whose effect on the cache the recording
// cannot follow (customers, accounts, escalations, tickets other than by UpdateTicket), ends
// the speculation: the request then goes to the writer as any other and fn runs there.
//
// In its turn, the writer checks the read set: each row fn read must still be the very row the
// cache holds (every change to a ticket's or an escalation's row replaces or drops its cached
// row, cache.go, so the same row means the same content). When one moved, fn runs in the
// writer as it always did. When all hold, fn would have read what it read, and so would have
// executed what it recorded: the writer executes the statements and stages the rows as
// recorded, nothing else. A statement that then fails, or changes another number of rows than
// fn was told it changed, sends the request back to run fn in the writer (errStale), with the
// statements already executed undone: either the statement failed by itself (a full disk,
// which fn's own run meets too) or the read set missed a read, a defect; both are counted and
// logged, and neither changes what the caller gets.
//
// What fn is told a statement changed: 1 row, which is what every write of the store that
// looks at the count expects (a version-checked UPDATE). The count fn looked at is checked at
// apply; one it did not look at is not, since fn's outcome did not depend on it.

// errSpeculate is what a speculative fn's read or write gets when the speculation cannot stand
// for it. fn's outcome is then ignored, whatever it made of the error.
var errSpeculate = escalated.Errorf(escalated.EUNAVAILABLE, "this write has to be decided by the writer")

// errStale marks a prepared write that the writer found did not apply as recorded.
var errStale = errors.New("speculated write did not apply as recorded")

// speculation is the write set and the read set of one speculative run of a fn.
type speculation struct {
	stmts []Statement
	// ops are the statements (by index) and cache stagings in the order fn made them.
	ops []specOp
	// reads are the cached rows fn read that it had not written itself.
	tickets []specTicket
	escs    []specEsc
	// ticketWrites is the cache's count of changed ticket rows as fn's writes would move it
	// (UpdateTicket reads it to know its UPDATE was the only one since its read).
	ticketWrites uint64
	// changes and cells are what fn left on its tx for after the commit.
	changes []store.Change
	cells   store.Deltas
	// aborted says why the speculation could not stand for fn ("" while it can).
	aborted string
	// db is the store whose cache and queue the speculation reads (DB.ahead); touched are the
	// tickets fn asked for, whether the speculation could answer or not.
	db      *DB
	touched []string
	// waitFor is the queued write whose outcome the speculation needs and cannot know before the
	// writer has decided it.
	waitFor *request
}

// specOp is one step of the write set: a statement, a row fn staged in the cache, or a write
// left to the writer (later).
type specOp struct {
	stmt  int // index in stmts, or -1 for a staging or a later write
	id    string
	row   *ticketRow
	esc   *escRow
	isEsc bool
	later func(t *tx) error
}

// deferWrite leaves a write whose statements depend on what the database holds (it reads before
// it writes) to the writer, at its place among fn's writes: the analytics rows, which read the
// row they replace to move the report rollups by the difference. fn learns only that it
// succeeded, which is all it would learn of it in the writer unless it failed (and then the
// request is decided again). So the write never ends a speculation, and what it reads is read
// where it is current.
func (s *speculation) deferWrite(w func(t *tx) error) {
	s.ops = append(s.ops, specOp{stmt: -1, later: w})
}

type specTicket struct {
	id  string
	row *ticketRow // nil: fn's own staging dropped it
}

type specEsc struct {
	id  string
	row *escRow
}

// abort ends the speculation, naming what it could not stand for, and returns the error fn gets.
func (s *speculation) abort(why string) error {
	if s.aborted == "" {
		s.aborted = why
	}
	return errSpeculate
}

// specWritable: the write statements a speculation can record, by the table they change. The
// writer connection's pre-update hook (cache.go) drops cached tickets and escalations and ages
// rows joined to customers and accounts; a recording cannot know which rows a statement on
// those tables changes, so only UpdateTicket's own statements (which stage what they leave in
// the cache, row or nil) are let through among them.
func specWritable(query string) (tickets bool, ok bool) {
	if specTicketStatements[query] {
		return true, true
	}
	if v, found := specTables.Load(query); found {
		return false, v.(bool)
	}
	switch writtenTable(query) {
	case "", "tickets", "escalations", "customers", "accounts":
	default:
		ok = true
	}
	// The store's write statements are constants, a few dozen texts; a bound keeps a text
	// built per call (a list of placeholders) from growing the map without end.
	if specTablesN.Add(1) <= 512 {
		specTables.Store(query, ok)
	}
	return false, ok
}

// specTables remembers specWritable's verdict per statement text.
var (
	specTables  sync.Map
	specTablesN atomic.Int64
)

var specTicketStatements = func() map[string]bool {
	m := map[string]bool{sqlUpdateTicket: true}
	for _, q := range sqlUpdateTicketMoved {
		m[q] = true
	}
	return m
}()

// writtenTable returns the table an INSERT, REPLACE, UPDATE or DELETE statement writes, or ""
// for anything else.
func writtenTable(query string) string {
	f := strings.Fields(query)
	next := func() string {
		if len(f) == 0 {
			return ""
		}
		w := strings.ToUpper(f[0])
		f = f[1:]
		return w
	}
	switch next() {
	case "INSERT":
		w := next()
		if w == "OR" {
			next()
			w = next()
		}
		if w != "INTO" {
			return ""
		}
	case "REPLACE":
		if next() != "INTO" {
			return ""
		}
	case "UPDATE":
		if len(f) > 0 && strings.EqualFold(f[0], "OR") {
			next()
			next()
		}
	case "DELETE":
		if next() != "FROM" {
			return ""
		}
	default:
		return ""
	}
	if len(f) == 0 {
		return ""
	}
	name, _, _ := strings.Cut(f[0], "(")
	return strings.ToLower(strings.Trim(name, `"`))
}

// exec records one write statement of a speculative fn.
func (s *speculation) exec(query string, args []any) (sql.Result, error) {
	tickets, ok := specWritable(query)
	if !ok {
		return nil, s.abort(fmt.Sprintf("write %.50s", query))
	}
	if tickets {
		s.ticketWrites++
	}
	s.stmts = append(s.stmts, Statement{Query: query, Args: copyArgs(args), Rows: -1})
	s.ops = append(s.ops, specOp{stmt: len(s.stmts) - 1})
	return specResult{s, len(s.stmts) - 1}, nil
}

// specResult answers a recorded statement's result as fn expects it, and marks the row count
// fn looked at for the check at apply.
type specResult struct {
	s *speculation
	i int
}

func (r specResult) LastInsertId() (int64, error) {
	return 0, r.s.abort("LastInsertId")
}

func (r specResult) RowsAffected() (int64, error) {
	r.s.stmts[r.i].Rows = 1
	return 1, nil
}

// ticket returns the row of ticket id as fn would read it in the writer: its own staging
// first, then the cache (remembered for the check), or nil (the read then goes to the
// database, which ends the speculation).
func (s *speculation) ticket(c *ticketCache, id string) *ticketRow {
	for i := len(s.ops) - 1; i >= 0; i-- {
		if op := s.ops[i]; op.stmt < 0 && !op.isEsc && op.later == nil && op.id == id {
			return op.row
		}
	}
	for _, r := range s.tickets {
		if r.id == id {
			return r.row
		}
	}
	s.touched = append(s.touched, id)
	r, owner := s.db.aheadRow(id)
	if owner != nil && r == nil {
		// The last write queued for the ticket is one the writer decides: what it leaves is
		// known once it has.
		s.waitFor = owner
		s.abort("queued behind a write the writer decides")
		return nil
	}
	if owner == nil {
		r = c.get(id)
	}
	if r != nil {
		s.tickets = append(s.tickets, specTicket{id, r})
	}
	return r
}

// esc is ticket for escalations' rows; count says whether a cache hit counts as one (peekEsc
// does not).
func (s *speculation) esc(c *ticketCache, id string, count bool) *escRow {
	for i := len(s.ops) - 1; i >= 0; i-- {
		if op := s.ops[i]; op.stmt < 0 && op.isEsc && op.later == nil && op.id == id {
			return op.esc
		}
	}
	for _, r := range s.escs {
		if r.id == id {
			return r.row
		}
	}
	var r *escRow
	if count {
		r = c.getEsc(id)
	} else {
		r = c.peekEsc(id)
	}
	if r != nil {
		s.escs = append(s.escs, specEsc{id, r})
	}
	return r
}

// speculate runs fn against a recording tx and returns its write set and read set, and
// whether they stand for fn: false when the speculation could not (s.aborted) or fn failed (the
// writer then runs it for the error it gives in its turn).
func (db *DB) speculate(fn func(store.Tx) error) (*speculation, bool) {
	s := &speculation{db: db}
	t := &tx{write: true, cache: db.cache, spec: s}
	err := callSpeculative(fn, t)
	t.finish()
	if err != nil && s.aborted == "" {
		s.aborted = "fn failed: " + err.Error()
	}
	if s.aborted != "" {
		return s, false
	}
	s.changes, s.cells = t.changes, t.cells
	return s, true
}

// The rows queued writes will leave.
//
// A write decided ahead is checked in its turn against the cache, which holds a ticket's row as
// the writes before it left it. When writes to one ticket queue (a chatbot's burst, or every
// ticket while a checkpoint holds the writer), a speculation that read the cache would be stale
// by the time its turn comes, and the writer would decide it again: the work it was to take off
// the writer would land back on it just when the writer is behind. So a speculation reads a
// ticket as the last write queued for it will leave it (that write's recorded row), and its own
// row is what the next one reads: ahead keeps, per ticket, that row and the request that leaves
// it.
//
// Speculations take turns (specTurn), each from its first read until it is queued, so the
// queue's order is the order in which they read, and the ids they made (time-ordered) reach the
// tables in order too: out of order, the writer's inserts split pages of the id indexes
// instead of appending to them. The turns cost no parallelism that matters: deciding is one
// stage and the writer's applying another, each about a core's share at most.
//
// When the last write queued for a ticket is one the writer decides (it could not be decided
// ahead), what it leaves is unknown (a nil row) and the next speculation on the ticket gives up
// its turn and waits until the writer has decided it. When a write does not leave the row it
// announced (the writer found a row it read had moved, and decided it again), the speculations
// that read that row are decided again in their turn too, and the next one waits for the last
// of them.

// aheadEntry is what the writer will hold of one ticket's row once owner's write is done: row,
// or nil when that is not known before the writer decides it.
type aheadEntry struct {
	row   *ticketRow
	owner *request
}

type aheadTable struct {
	mu sync.Mutex
	m  map[string]aheadEntry
}

// aheadRow returns the row of ticket id that the writes queued for it will leave and the last
// of them, or a nil owner when none is queued (with an owner, a nil row means it is not known).
func (db *DB) aheadRow(id string) (*ticketRow, *request) {
	db.ahead.mu.Lock()
	defer db.ahead.mu.Unlock()
	e, ok := db.ahead.m[id]
	if !ok {
		return nil, nil
	}
	if e.owner.finished() {
		// Its writer forgot it (it gave up, or its settle raced this read): the cache knows.
		delete(db.ahead.m, id)
		return nil, nil
	}
	return e.row, e.owner
}

// leaves returns the rows s's write leaves in the cache, by ticket (nil: dropped, or read
// again by the writer).
func (s *speculation) leaves() map[string]*ticketRow {
	out := map[string]*ticketRow{}
	for _, op := range s.ops {
		if op.stmt < 0 && !op.isEsc && op.later == nil {
			out[op.id] = op.row
		}
	}
	return out
}

// updateAhead is Update for a fn marked store.Speculate: it decides fn here, queues what it
// wrote for the writer to check and apply, and falls back to queueing fn itself when the
// speculation cannot stand for it.
func (db *DB) updateAhead(ctx context.Context, r *request) error {
	// A speculation that needs what a write the writer decides leaves waits for it, a bounded
	// number of times (a ticket written without pause cannot hold a caller back for long):
	// past that, the writer decides it.
	const waits = 8
	r.settled = make(chan struct{})
	for waited := 0; ; waited++ {
		select {
		case db.specTurn <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		s, ok := db.speculate(r.fn)
		if ok && db.specHook != nil {
			db.specHook()
		}
		if !ok && s.waitFor != nil && waited < waits {
			<-db.specTurn
			select {
			case <-s.waitFor.settled:
			case <-s.waitFor.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		// Announced before it is queued, so the writer's settle finds it, and queued in its
		// turn, so no speculation reading it is queued before it.
		db.ahead.mu.Lock()
		if ok {
			r.prepared = s
			for id, row := range s.leaves() {
				db.ahead.m[id] = aheadEntry{row, r}
				r.aheadIDs = append(r.aheadIDs, id)
			}
		} else {
			// The writer decides it; the next speculations on its tickets wait until it has.
			for _, id := range s.touched {
				db.ahead.m[id] = aheadEntry{nil, r}
				r.aheadIDs = append(r.aheadIDs, id)
			}
		}
		db.ahead.mu.Unlock()
		if !ok {
			db.stats.specDeclined.Add(1)
			if db.specTrace != nil {
				db.specTrace(s.aborted)
			}
		}
		err := db.send(ctx, r)
		<-db.specTurn
		if err != nil {
			r.state.Store(stateAbandoned)
			db.settleAhead(r, false)
			return err
		}
		return db.wait(ctx, r)
	}
}

// settleAhead records, once the writer is done with r's fn (applied as decided or not), what
// r left of the rows later speculations expect from it.
func (db *DB) settleAhead(r *request, asDecided bool) {
	if r.settled == nil {
		return // not decided ahead: no speculation waits for it
	}
	db.ahead.mu.Lock()
	defer db.ahead.mu.Unlock()
	defer r.settle()
	for _, id := range r.aheadIDs {
		e, ok := db.ahead.m[id]
		switch {
		case !ok:
		case e.owner == r:
			delete(db.ahead.m, id) // the last queued write on the ticket: the cache knows
		case !asDecided:
			// Later speculations read the row r announced, which it did not leave: they will
			// be decided again, and the next one waits for the last of them.
			e.row = nil
			db.ahead.m[id] = e
		}
	}
}

// callSpeculative runs fn, a panic ending the speculation (the writer runs fn again, and reports
// the panic if it recurs).
func callSpeculative(fn func(store.Tx) error, t *tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = t.spec.abort(fmt.Sprintf("panic: %v", p))
		}
	}()
	return fn(t)
}

// current reports whether every row s read is still the one the writer's cache holds.
func (c *ticketCache) current(s *speculation) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range s.tickets {
		if c.validLocked(r.id) != r.row {
			return false
		}
	}
	for _, r := range s.escs {
		if c.escLocked(r.id) != r.row {
			return false
		}
	}
	return true
}

// apply executes s's write set in the writer's transaction, in fn's order, and leaves on t what
// fn would have: its changes to announce and its report cells to flush. It returns errStale,
// wrapped with what differed, when a statement or a write left to the writer fails, a statement
// changes another number of rows than fn was told, or the ticket rows changed are not the ones
// fn's recording counted.
func (t *tx) apply(ctx context.Context, s *speculation) error {
	before := t.cache.writes()
	t.cells = s.cells
	for _, op := range s.ops {
		switch {
		case op.later != nil:
			if err := op.later(t); err != nil {
				return fmt.Errorf("%w: a write left to the writer failed: %w", errStale, err)
			}
		case op.stmt >= 0:
			// As a replay of any recording: the statement must not fail and must change the
			// rows fn was told it changed (Rows, when fn looked).
			if err := t.execRecorded(ctx, s.stmts[op.stmt:op.stmt+1], nil); err != nil {
				return fmt.Errorf("%w: of %d recorded, number %d: %w", errStale, len(s.stmts), op.stmt, err)
			}
		case op.isEsc:
			t.cache.stageEsc(op.id, op.esc)
		default:
			t.cache.stage(op.id, op.row)
		}
	}
	if got := t.cache.writes() - before; got != s.ticketWrites {
		return fmt.Errorf("%w: %d ticket rows changed, fn's recording counted %d", errStale, got, s.ticketWrites)
	}
	t.changes = append(t.changes, s.changes...)
	return nil
}
