package sqlite

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/store"
)

// TestReadOnly: a ReadOnly store reads a current database beside the node writing it, refuses
// every write, and never creates a database; an older one is refused with a *store.SchemaError.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	if _, err := Open(ctx, filepath.Join(dir, "missing.db"), ReadOnly()); err == nil {
		t.Fatal("ReadOnly opened a database that is not there")
	}
	if got, _ := filepath.Glob(filepath.Join(dir, "*")); len(got) > 0 {
		t.Fatalf("ReadOnly created %v", got)
	}

	path := filepath.Join(dir, "node.db")
	node := mustOpenPath(t, path)
	tk := newTicket(time.Now())
	if err := createTicket(ctx, node, tk); err != nil {
		t.Fatal(err)
	}
	ro := mustOpenPath(t, path, ReadOnly())
	if !ticketExists(t, ro, tk.ID) {
		t.Fatal("the read-only store does not see the node's ticket")
	}
	if err := createTicket(ctx, ro, newTicket(time.Now())); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("a write through the read-only store: %v; want it refused as read-only", err)
	}
	// The node goes on writing beside it, and the reader sees what it commits.
	tk2 := newTicket(time.Now())
	if err := createTicket(ctx, node, tk2); err != nil {
		t.Fatal(err)
	}
	if !ticketExists(t, ro, tk2.ID) {
		t.Fatal("the read-only store does not see the node's later ticket")
	}

	// One version back: refused, with the versions.
	if _, err := node.writer.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	ms, _ := migrations()
	_, err := Open(ctx, path, ReadOnly())
	var se *store.SchemaError
	if !errors.As(err, &se) || se.Version != len(ms)-1 || se.Want != len(ms) || se.RollupsPending {
		t.Fatalf("ReadOnly on schema version %d: %v (%#v)", len(ms)-1, err, se)
	}
}
