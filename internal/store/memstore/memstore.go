// Package memstore is a store.Store held in memory, for the simulator: a replay builds a
// month of tickets, reads what it needs and throws everything away, and a database's per-change
// costs (SQL, pages, the journal) were nearly all of a replay's time. It passes the same
// conformance suite (internal/store/storetest) as the SQLite and PostgreSQL stores, so the
// services behave on it as they do in production.
//
// # Transactions
//
// The data is a set of B-trees (github.com/google/btree), one per table and index, keyed by
// strings that sort as the table's order. Writers run one at a time (Update takes the writer
// lock, as on SQLite), and View reads the state committed when it began, for as long as it
// likes, whatever commits meanwhile. An Update writes one of two ways:
//
//   - In place, when no View is open as it begins (a replay's writes and reads take turns, so
//     nearly always): it writes the committed trees themselves and keeps an undo log, the value
//     each write replaced. A failed fn is rolled back from the log; a View that opens meanwhile
//     gets its own copy of the state from before the Update (each written tree cloned, in O(1),
//     and the log undone on the clones), so it never sees a write that is not committed.
//   - Copy on write, when a View is open: the Update starts from the committed state and, at its
//     first write to a table, clones that table's tree (O(1)), writes then copying only the
//     nodes they change; Commit publishes the new state with one pointer store, and a failed fn
//     leaves nothing behind because nothing it made was published.
//
// Writing in place saves the copies of every node on the path of every write, which were half
// of what a replay allocated. (Immutable radix trees, the first choice, cost a channel per
// node: several times the memory and time.) DB.mu orders in-place writes against the Views
// that open during them.
//
// Stored values are copied on the way in and out (each table's clone function): callers change
// what they get, as they may with the SQL stores.
package memstore

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/btree"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// DB is an in-memory store.
type DB struct {
	committed atomic.Pointer[state]
	writer    sync.Mutex
	hub       *store.Hub
	closed    atomic.Bool
	// mu guards views (the Views open), inPlace (the Update writing in place, nil when none)
	// and that Update's writes against Views opening meanwhile.
	mu      sync.Mutex
	views   int
	inPlace *tx
	// scratch holds *searchScratch for queries; lookupCost is the search's constant of that
	// name (search.go).
	scratch    sync.Pool
	lookupCost int
}

var _ store.Store = (*DB)(nil)

// state is one version of the data: a tree per table (by name), and counters (sequences).
// Neither map nor any tree is changed once the state is committed.
type state struct {
	trees    map[string]any
	counters map[string]int64
}

// New returns an empty store.
func New() *DB {
	db := &DB{hub: store.NewHub(), lookupCost: lookupCost}
	db.committed.Store(&state{trees: map[string]any{}, counters: map[string]int64{}})
	return db
}

// tx is one transaction: a View's snapshot, or an Update's working state.
type tx struct {
	db      *DB
	ctx     context.Context
	s       *state
	write   bool
	changes []store.Change
	// mine are the tables this Update has written: their trees in s are its own clones.
	mine map[string]bool
	// inPlace says the Update writes the committed state itself; undo then holds how to take
	// back its writes, and scanning the tables being scanned (which must not be written
	// meanwhile).
	inPlace  bool
	undo     undo
	scanning []string
}

// undo is how to take back an Update's in-place writes: the rows it replaced or added, oldest
// first, the tables it made, and the sequences' values before it. A write's step holds the
// replaced value boxed (free for the pointers most tables hold) rather than a closure, which
// cost an allocation per write: a tenth of what a replay allocated.
type undo struct {
	writes   []undoWrite
	made     []string
	counters []undoCounter
}

// undoWrite takes back one write to key of table: old is the value it replaced, had says
// there was one (else the key is deleted).
type undoWrite struct {
	table, key string
	old        any
	had        bool
}

type undoCounter struct {
	name string
	old  int64
}

// restorer is every table's way back from an in-place write (*table[T]).
type restorer interface {
	restore(key string, old any, had bool)
}

func (tr *table[T]) restore(key string, old any, had bool) {
	if had {
		tr.ReplaceOrInsert(item[T]{k: key, v: old.(T)})
	} else {
		tr.Delete(item[T]{k: key})
	}
}

// Update runs fn in a write transaction and commits when it returns nil.
func (db *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	if db.closed.Load() {
		return errClosed()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	db.writer.Lock()
	base := db.committed.Load()
	t := &tx{db: db, ctx: ctx, write: true}
	db.mu.Lock()
	if db.views == 0 {
		t.s, t.inPlace, db.inPlace = base, true, t
	}
	db.mu.Unlock()
	if !t.inPlace {
		t.s = &state{trees: maps.Clone(base.trees), counters: maps.Clone(base.counters)}
	}
	err := run(fn, t)
	if err == nil {
		// A caller that gave up meanwhile must not find its writes committed.
		err = ctx.Err()
	}
	if t.inPlace {
		db.mu.Lock()
		if err != nil {
			t.rollback(t.s)
		}
		db.inPlace = nil
		db.mu.Unlock()
	}
	if err != nil {
		db.writer.Unlock()
		return err
	}
	db.committed.Store(t.s)
	db.writer.Unlock()
	db.hub.Publish(t.changes...)
	return nil
}

// rollback undoes t's in-place writes on s: t's own state, or a View's copy of it (db.mu held).
func (t *tx) rollback(s *state) {
	for i := len(t.undo.writes) - 1; i >= 0; i-- {
		w := t.undo.writes[i]
		s.trees[w.table].(restorer).restore(w.key, w.old, w.had)
	}
	for _, name := range t.undo.made {
		delete(s.trees, name)
	}
	for i := len(t.undo.counters) - 1; i >= 0; i-- {
		if c := t.undo.counters[i]; c.old == 0 {
			delete(s.counters, c.name)
		} else {
			s.counters[c.name] = c.old
		}
	}
}

// before is a copy of the state t writes in place as it was before t (db.mu held): every tree
// cloned (t goes on writing them), and t's writes so far undone on the clones.
func (t *tx) before() *state {
	s := &state{trees: make(map[string]any, len(t.s.trees)), counters: maps.Clone(t.s.counters)}
	for name, tr := range t.s.trees {
		s.trees[name] = tr.(interface{ cloneAny() any }).cloneAny()
	}
	t.rollback(s)
	return s
}

// View runs fn on the state committed when it began.
func (db *DB) View(ctx context.Context, fn func(store.Tx) error) error {
	if db.closed.Load() {
		return errClosed()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	db.mu.Lock()
	db.views++
	s := db.committed.Load()
	if w := db.inPlace; w != nil {
		s = w.before()
	}
	db.mu.Unlock()
	defer func() {
		db.mu.Lock()
		db.views--
		db.mu.Unlock()
	}()
	return run(fn, &tx{db: db, ctx: ctx, s: s})
}

// run calls fn, turning a panic into an error so that the writer lock is released.
func run(fn func(store.Tx) error, t *tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = escalated.Errorf(escalated.EINTERNAL, "panic in a transaction: %v", p)
		}
	}()
	return fn(t)
}

// Subscribe announces committed changes until ctx is done or the store closes.
func (db *DB) Subscribe(ctx context.Context) (<-chan store.Change, error) {
	return db.hub.Subscribe(ctx)
}

// Close ends subscriptions; later calls fail.
func (db *DB) Close() error {
	if db.closed.CompareAndSwap(false, true) {
		db.hub.Close()
	}
	return nil
}

func errClosed() error { return escalated.Errorf(escalated.EINTERNAL, "store closed") }

// announce records a change to publish once the transaction commits.
func (t *tx) announce(c store.Change) { t.changes = append(t.changes, c) }

// writable refuses a write in a View.
func (t *tx) writable(what string) error {
	if !t.write {
		return escalated.Errorf(escalated.EINTERNAL, "%s in a read-only transaction", what)
	}
	return nil
}

// next returns the next value of a sequence (1, 2, ...).
func (t *tx) next(counter string) int64 {
	if t.inPlace {
		t.db.mu.Lock()
		defer t.db.mu.Unlock()
		t.undo.counters = append(t.undo.counters, undoCounter{name: counter, old: t.s.counters[counter]})
	}
	t.s.counters[counter]++
	return t.s.counters[counter]
}

// item is one row of a table: its key and value.
type item[T any] struct {
	k string
	v T
}

// table is one table or index: a B-tree of items by key (copy on write: Clone is O(1), and
// the original and the clone can then be used apart, each write copying the nodes it changes).
type table[T any] struct {
	*btree.BTreeG[item[T]]
}

func newTable[T any]() *table[T] {
	return &table[T]{btree.NewG(32, func(a, b item[T]) bool { return a.k < b.k })}
}

// Clone is an O(1) copy of tr (see table).
func (tr *table[T]) Clone() *table[T] { return &table[T]{tr.BTreeG.Clone()} }

func (tr *table[T]) cloneAny() any { return tr.Clone() }

// tree returns table's tree in t's state for reading (an empty one for a table never
// written). The tree of a table this Update writes is the Update's own; scans go over a clone of
// it, so that they may write the table as they go.
func tree[T any](t *tx, name string) *table[T] {
	if v, ok := t.s.trees[name]; ok {
		return v.(*table[T])
	}
	return newTable[T]()
}

// writable returns the Update's own copy of table, cloning the committed one at the first write.
func mutable[T any](t *tx, name string) *table[T] {
	if t.inPlace {
		if slices.Contains(t.scanning, name) {
			panic("memstore: write to " + name + " during a scan of it")
		}
		if v, ok := t.s.trees[name]; ok {
			return v.(*table[T])
		}
		tr := newTable[T]()
		t.db.mu.Lock()
		t.s.trees[name] = tr
		t.undo.made = append(t.undo.made, name)
		t.db.mu.Unlock()
		return tr
	}
	if t.mine[name] {
		return t.s.trees[name].(*table[T])
	}
	tr := tree[T](t, name).Clone()
	t.s.trees[name] = tr
	if t.mine == nil {
		t.mine = map[string]bool{}
	}
	t.mine[name] = true
	return tr
}

// get reads key from table.
func get[T any](t *tx, name, key string) (T, bool) {
	it, ok := tree[T](t, name).Get(item[T]{k: key})
	return it.v, ok
}

// put writes key in table (the caller has checked writable and cloned v).
func put[T any](t *tx, name, key string, v T) {
	tr := mutable[T](t, name)
	if !t.inPlace {
		tr.ReplaceOrInsert(item[T]{k: key, v: v})
		return
	}
	t.db.mu.Lock()
	old, had := tr.ReplaceOrInsert(item[T]{k: key, v: v})
	t.undo.writes = append(t.undo.writes, undoWrite{table: name, key: key, old: old.v, had: had})
	t.db.mu.Unlock()
}

// del removes key from table.
func del[T any](t *tx, name, key string) {
	tr := mutable[T](t, name)
	if !t.inPlace {
		tr.Delete(item[T]{k: key})
		return
	}
	t.db.mu.Lock()
	if old, had := tr.Delete(item[T]{k: key}); had {
		t.undo.writes = append(t.undo.writes, undoWrite{table: name, key: key, old: old.v, had: true})
	}
	t.db.mu.Unlock()
}

// size is how many rows table holds.
func size[T any](t *tx, name string) int { return tree[T](t, name).Len() }

// snapshot is table as it stands, for iterating: a clone when the Update writes the table
// (copy on write), which it may then go on writing; an Update writing in place iterates the
// table itself, and must not write it until the scan ends (done).
func snapshot[T any](t *tx, name string) (tr *table[T], done func()) {
	if t.inPlace {
		t.scanning = append(t.scanning, name)
		return tree[T](t, name), func() { t.scanning = t.scanning[:len(t.scanning)-1] }
	}
	return snapshotCOW[T](t, name), func() {}
}

func snapshotCOW[T any](t *tx, name string) *table[T] {
	tr := tree[T](t, name)
	if t.mine[name] {
		return tr.Clone()
	}
	return tr
}

// scan calls fn for the keys of table from `from` (inclusive) in ascending order that start with
// prefix, until fn returns false.
func scan[T any](t *tx, name, prefix, from string, fn func(key string, v T) bool) {
	if from == "" || from < prefix {
		from = prefix
	}
	tr, done := snapshot[T](t, name)
	defer done()
	tr.AscendGreaterOrEqual(item[T]{k: from}, func(it item[T]) bool {
		if !strings.HasPrefix(it.k, prefix) {
			return false
		}
		return fn(it.k, it.v)
	})
}

// scanN calls fn for at most n keys of table from `from` (inclusive) in ascending order, until
// fn returns false: for a range whose length the caller knows, which then needs no key compared.
func scanN[T any](t *tx, name, from string, n int, fn func(key string, v T) bool) {
	if n <= 0 {
		return
	}
	tr, done := snapshot[T](t, name)
	defer done()
	tr.AscendGreaterOrEqual(item[T]{k: from}, func(it item[T]) bool {
		n--
		return fn(it.k, it.v) && n > 0
	})
}

// scanDesc calls fn for the keys of table that start with prefix, in descending order from
// `from` (inclusive; "" for the last), until fn returns false.
func scanDesc[T any](t *tx, name, prefix, from string, fn func(key string, v T) bool) {
	visit := func(it item[T]) bool {
		if !strings.HasPrefix(it.k, prefix) {
			return it.k > prefix // above the prefix's range: go on down; below it: stop
		}
		return fn(it.k, it.v)
	}
	if from == "" {
		// The largest key with this prefix: the prefix followed by the highest bytes.
		from = prefix + "\xff\xff\xff\xff"
	}
	tr, done := snapshot[T](t, name)
	defer done()
	tr.DescendLessOrEqual(item[T]{k: from}, visit)
}

// notFound is the store's not_found for a kind of object and its id.
func notFound(kind, id string) error {
	return escalated.Errorf(escalated.ENOTFOUND, "%s %s not found", kind, id)
}

// conflict is the store's conflict with a message.
func conflict(format string, a ...any) error {
	return escalated.Errorf(escalated.ECONFLICT, format, a...)
}

// pad renders n (not negative) so that keys sort numerically: 20 digits, zero-padded.
func pad(n int64) string { return digits20(uint64(n)) }

// digits20 is u in decimal, zero-padded to 20 digits (a uint64's most), without fmt: keys are
// made on every write, and Sprintf was a hundredth of a replay's CPU.
func digits20(u uint64) string {
	var b [20]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + u%10)
		u /= 10
	}
	return string(b[:])
}
