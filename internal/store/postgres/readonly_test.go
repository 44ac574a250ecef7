package postgres

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated/internal/store"
)

// TestReadOnly: a ReadOnly store reads a current schema beside the node writing it and refuses
// every write; a schema one version back is refused with a *store.SchemaError, and a ReadOnly
// open never creates its schema.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema := freshSchema(t)
	if _, err := Open(ctx, testURL(t), WithSchema(schema), ReadOnly()); err == nil {
		t.Fatal("ReadOnly opened a schema that is not there")
	}
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n); err != nil || n != 0 {
		t.Fatalf("ReadOnly created schema %s (%d, %v)", schema, n, err)
	}

	node := mustOpen(t, schema)
	tk := newTicket(time.Now())
	if err := createTicket(ctx, node, tk); err != nil {
		t.Fatal(err)
	}
	ro := mustOpen(t, schema, ReadOnly())
	if !ticketExists(t, ro, tk.ID) {
		t.Fatal("the read-only store does not see the node's ticket")
	}
	if err := createTicket(ctx, ro, newTicket(time.Now())); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("a write through the read-only store: %v; want it refused as read-only", err)
	}

	if _, err := node.pool.Exec(ctx, `DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	ms, _ := migrations()
	_, err = Open(ctx, testURL(t), WithSchema(schema), ReadOnly())
	var se *store.SchemaError
	if !errors.As(err, &se) || se.Version != len(ms)-1 || se.Want != len(ms) || se.RollupsPending {
		t.Fatalf("ReadOnly on schema version %d: %v (%#v)", len(ms)-1, err, se)
	}
}
