// Package memstore is a store.Store held in memory, for the simulator: a replay builds a
// month of tickets, reads what it needs and throws everything away, and a database's per-change
// costs (SQL, pages, the journal) were nearly all of a replay's time. It passes the same
// conformance suite (internal/store/storetest) as the SQLite and PostgreSQL stores, so the
// services behave on it as they do in production.
//
// # Transactions
//
// The data is a set of immutable radix trees (github.com/hashicorp/go-immutable-radix), one
// per table and index, keyed by strings that sort as the table's order. A committed state is
// never changed: View reads the state committed when it began, without locks, for as long as it
// likes (one snapshot, whatever commits meanwhile). Update takes the single writer lock, starts
// from the committed state, and each write makes new trees that share everything unchanged with
// the old ones; commit publishes the new state with one pointer store, and a failed fn leaves
// nothing behind because nothing it made was ever published. Writers run one at a time, as on
// SQLite.
//
// Stored values are copied on the way in and out (each table's clone function): callers change
// what they get, as they may with the SQL stores.
package memstore

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	iradix "github.com/hashicorp/go-immutable-radix/v2"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// DB is an in-memory store.
type DB struct {
	committed atomic.Pointer[state]
	writer    sync.Mutex
	hub       *store.Hub
	closed    atomic.Bool
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
	db := &DB{hub: store.NewHub()}
	db.committed.Store(&state{trees: map[string]any{}, counters: map[string]int64{}})
	return db
}

// tx is one transaction: a View's snapshot, or an Update's working state.
type tx struct {
	ctx     context.Context
	s       *state
	write   bool
	changes []store.Change
	// txns are the radix transactions of the tables this Update writes, one per table for the
	// whole Update: a tree's own Insert starts a transaction (and its cache of writable nodes)
	// per call, which cost most of a write.
	txns map[string]committer
}

// committer ends one table's radix transaction and returns its tree.
type committer interface{ commit() any }

type tableTxn[T any] struct{ txn *iradix.Txn[T] }

func (w *tableTxn[T]) commit() any { return w.txn.CommitOnly() }

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
	t := &tx{ctx: ctx, write: true, s: &state{trees: maps.Clone(base.trees), counters: maps.Clone(base.counters)}}
	err := run(fn, t)
	if err == nil {
		// A caller that gave up meanwhile must not find its writes committed.
		err = ctx.Err()
	}
	if err != nil {
		db.writer.Unlock()
		return err
	}
	for name, w := range t.txns {
		t.s.trees[name] = w.commit()
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
	return run(fn, &tx{ctx: ctx, s: db.committed.Load()})
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

// tree returns table's tree in t's state (an empty one for a table never written). In an
// Update that writes the table, it is a snapshot of the table as the Update has it so far:
// a scan iterates it while the Update writes on (later writes copy what they change again).
func tree[T any](t *tx, table string) *iradix.Tree[T] {
	if w, ok := t.txns[table]; ok {
		tr := w.(*tableTxn[T]).txn.CommitOnly()
		t.s.trees[table] = tr
		return tr
	}
	if v, ok := t.s.trees[table]; ok {
		return v.(*iradix.Tree[T])
	}
	return iradix.New[T]()
}

// txnOf returns the Update's radix transaction on table, starting it at the first write.
func txnOf[T any](t *tx, table string) *iradix.Txn[T] {
	if w, ok := t.txns[table]; ok {
		return w.(*tableTxn[T]).txn
	}
	txn := tree[T](t, table).Txn()
	if t.txns == nil {
		t.txns = map[string]committer{}
	}
	t.txns[table] = &tableTxn[T]{txn: txn}
	return txn
}

// get reads key from table.
func get[T any](t *tx, table, key string) (T, bool) {
	if w, ok := t.txns[table]; ok {
		return w.(*tableTxn[T]).txn.Get([]byte(key))
	}
	return tree[T](t, table).Get([]byte(key))
}

// put writes key in table (the caller has checked writable and cloned v).
func put[T any](t *tx, table, key string, v T) {
	txnOf[T](t, table).Insert([]byte(key), v)
}

// del removes key from table.
func del[T any](t *tx, table, key string) {
	txnOf[T](t, table).Delete([]byte(key))
}

// scan calls fn for the keys of table from `from` (inclusive) in ascending order that start with
// prefix, until fn returns false.
func scan[T any](t *tx, table, prefix, from string, fn func(key string, v T) bool) {
	it := tree[T](t, table).Root().Iterator()
	if from == "" || from < prefix {
		from = prefix
	}
	it.SeekLowerBound([]byte(from))
	for k, v, ok := it.Next(); ok; k, v, ok = it.Next() {
		key := string(k)
		if len(key) < len(prefix) || key[:len(prefix)] != prefix {
			return
		}
		if !fn(key, v) {
			return
		}
	}
}

// scanDesc calls fn for the keys of table that start with prefix, in descending order from
// `from` (inclusive; "" for the last), until fn returns false.
func scanDesc[T any](t *tx, table, prefix, from string, fn func(key string, v T) bool) {
	it := iradix.NewReverseIterator(tree[T](t, table).Root())
	if from == "" {
		// The largest key with this prefix: the prefix followed by the highest byte.
		from = prefix + "\xff\xff\xff\xff"
	}
	it.SeekReverseLowerBound([]byte(from))
	for k, v, ok := it.Previous(); ok; k, v, ok = it.Previous() {
		key := string(k)
		if len(key) < len(prefix) || key[:len(prefix)] != prefix {
			if key < prefix {
				return
			}
			continue
		}
		if !fn(key, v) {
			return
		}
	}
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
