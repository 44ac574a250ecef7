// Package memstore is a store.Store held in memory, for the simulator: a replay builds a
// month of tickets, reads what it needs and throws everything away, and a database's per-change
// costs (SQL, pages, the journal) were nearly all of a replay's time. It passes the same
// conformance suite (internal/store/storetest) as the SQLite and PostgreSQL stores, so the
// services behave on it as they do in production.
//
// # Transactions
//
// The data is a set of copy-on-write B-trees (github.com/google/btree), one per table and
// index, keyed by strings that sort as the table's order. A committed state is never changed:
// View reads the state committed when it began, without locks, for as long as it likes (one
// snapshot, whatever commits meanwhile). Update takes the single writer lock, starts from the
// committed state and, at its first write to a table, clones that table's tree (O(1)): writes
// then copy only the nodes they change, sharing the rest with the committed tree. Commit
// publishes the new state with one pointer store, and a failed fn leaves nothing behind because
// nothing it made was ever published. Writers run one at a time, as on SQLite. (Immutable radix
// trees, the first choice, cost a channel per node: several times the memory and time.)
//
// Stored values are copied on the way in and out (each table's clone function): callers change
// what they get, as they may with the SQL stores.
package memstore

import (
	"context"
	"fmt"
	"maps"
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
	t := &tx{db: db, ctx: ctx, write: true, s: &state{trees: maps.Clone(base.trees), counters: maps.Clone(base.counters)}}
	err := run(fn, t)
	if err == nil {
		// A caller that gave up meanwhile must not find its writes committed.
		err = ctx.Err()
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

// View runs fn on the state committed when it began.
func (db *DB) View(ctx context.Context, fn func(store.Tx) error) error {
	if db.closed.Load() {
		return errClosed()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return run(fn, &tx{db: db, ctx: ctx, s: db.committed.Load()})
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
type table[T any] = btree.BTreeG[item[T]]

func newTable[T any]() *table[T] {
	return btree.NewG(32, func(a, b item[T]) bool { return a.k < b.k })
}

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
	mutable[T](t, name).ReplaceOrInsert(item[T]{k: key, v: v})
}

// del removes key from table.
func del[T any](t *tx, name, key string) {
	mutable[T](t, name).Delete(item[T]{k: key})
}

// size is how many rows table holds.
func size[T any](t *tx, name string) int { return tree[T](t, name).Len() }

// snapshot is table as it stands, for iterating: a clone when the Update writes the table.
func snapshot[T any](t *tx, name string) *table[T] {
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
	snapshot[T](t, name).AscendGreaterOrEqual(item[T]{k: from}, func(it item[T]) bool {
		if !strings.HasPrefix(it.k, prefix) {
			return false
		}
		return fn(it.k, it.v)
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
	snapshot[T](t, name).DescendLessOrEqual(item[T]{k: from}, visit)
}

// notFound is the store's not_found for a kind of object and its id.
func notFound(kind, id string) error {
	return escalated.Errorf(escalated.ENOTFOUND, "%s %s not found", kind, id)
}

// conflict is the store's conflict with a message.
func conflict(format string, a ...any) error {
	return escalated.Errorf(escalated.ECONFLICT, format, a...)
}

// pad renders n so that keys sort numerically.
func pad(n int64) string { return fmt.Sprintf("%020d", n) }
