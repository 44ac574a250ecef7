package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// dumpTables returns every row of tables in the database at path, in rowid order, as text.
func dumpTables(t *testing.T, path string, tables ...string) string {
	t.Helper()
	conn, err := openReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	for _, table := range tables {
		rows, err := conn.Query(`SELECT * FROM ` + table + ` ORDER BY rowid`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		n := 0
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", table, vals)
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if n == 0 {
			t.Fatalf("table %s is empty: nothing to compare", table)
		}
	}
	return b.String()
}

// The recorder keeps exactly the statements of the functions that succeeded while it recorded,
// and replaying them on a copy of the starting database writes the same rows; replaying them
// on any other state is refused, naming the statement.
func TestRecordAndReplayStatements(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	db := mustOpenPath(t, src)
	tickets := []*escalated.Ticket{newTicket(time.Now()), newTicket(time.Now().Add(time.Millisecond))}
	for _, tk := range tickets {
		if err := createTicket(ctx, db, tk); err != nil {
			t.Fatal(err)
		}
	}
	start, startGroup := filepath.Join(dir, "start.db"), filepath.Join(dir, "start-group.db")
	for _, p := range []string{start, startGroup} {
		if err := db.Backup(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	rec := db.Record()
	failed := errors.New("refused")
	for i := range 30 {
		tk := tickets[i%len(tickets)]
		m := &escalated.Message{ID: escalated.NewID(escalated.PrefixMessage, time.Now()), TicketID: tk.ID, Seq: tk.Version + 1,
			Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: fmt.Sprintf("message %d", i), CreatedAt: time.Now()}
		err := db.Update(ctx, func(tx store.Tx) error {
			cur, err := tx.GetTicket(ctx, tk.ID)
			if err != nil {
				return err
			}
			if err := tx.AddMessage(ctx, m); err != nil {
				return err
			}
			if err := tx.AppendEvent(ctx, &escalated.Event{ID: escalated.NewID(escalated.PrefixEvent, m.CreatedAt), TicketID: tk.ID,
				Seq: m.Seq, Type: escalated.EventMessageAdded, Actor: "customer", Message: m, CreatedAt: m.CreatedAt}); err != nil {
				return err
			}
			prev := cur.Version
			cur.Version, cur.Counters.Messages = m.Seq, cur.Counters.Messages+1
			if err := tx.UpdateTicket(ctx, cur, prev); err != nil {
				return err
			}
			if i%10 == 9 {
				return failed // rolled back: its statements must not be recorded
			}
			tk.Version = cur.Version
			return nil
		})
		if err != nil && !errors.Is(err, failed) {
			t.Fatal(err)
		}
	}
	// Not recorded: a function that wrote nothing.
	if err := db.Update(ctx, func(tx store.Tx) error { _, err := tx.GetTicket(ctx, tickets[0].ID); return err }); err != nil {
		t.Fatal(err)
	}
	db.StopRecording()
	// Not recorded: written after the recording stopped (and outside the compared tables).
	if err := db.Update(ctx, func(tx store.Tx) error {
		return tx.AppendAudit(ctx, &escalated.AuditRecord{ID: escalated.NewID(escalated.PrefixAudit, time.Now()), Actor: "test", Action: "x", ObjectKind: "ticket", ObjectID: "t", CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	fns := rec.Functions()
	if len(fns) != 27 {
		t.Fatalf("recorded %d functions, want the 27 that succeeded and wrote", len(fns))
	}
	for i, fn := range fns {
		if len(fn) != 3 || !strings.HasPrefix(fn[0].Query, "INSERT INTO messages") || !strings.Contains(fn[2].Query, "UPDATE tickets") || fn[2].Rows != 1 {
			t.Fatalf("function %d recorded %+v, want the message, its event and the ticket's update", i, fn)
		}
	}

	replay := mustOpenPath(t, start)
	prof, err := replay.ReplayStatements(ctx, fns, 7)
	if err != nil {
		t.Fatal(err)
	}
	// Its profile counts every statement by kind, and its parts fit in its whole.
	kinds := map[string]int{}
	var parts time.Duration
	for _, c := range prof.Statements {
		kinds[c.Kind] = c.Count
		parts += c.Took
		if c.Took <= 0 || c.ArgBytes <= 0 {
			t.Errorf("kind %s: took %s with %d bytes of arguments, want both above zero", c.Kind, c.Took, c.ArgBytes)
		}
	}
	if want := map[string]int{"INSERT INTO messages": 27, "INSERT INTO events": 27, "UPDATE tickets": 27}; !maps.Equal(kinds, want) {
		t.Errorf("profile counted %v, want %v", kinds, want)
	}
	if prof.Commits <= 0 || parts+prof.Commits > prof.Took {
		t.Errorf("profile: statements %s and commits %s in a replay of %s; want commits above zero and the parts within the whole", parts, prof.Commits, prof.Took)
	}
	if s := prof.Summary(27, "message", 2); !strings.HasPrefix(s, "per message ") || strings.Count(s, " 1x ") != 2 || !strings.Contains(s, "other statements") {
		t.Errorf("summary of the two top kinds: %q", s)
	}
	tables := []string{"tickets", "messages", "events"}
	if got, want := dumpTables(t, start, tables...), dumpTables(t, src, tables...); got != want {
		t.Fatalf("replayed database differs from the recorded one:\n%s\nwant:\n%s", got, want)
	}

	// Through the group commit, from concurrent callers: each function takes the next recorded
	// one inside the writer, so they run in the recorded order whatever order the callers came
	// in, and write the same rows.
	group := mustOpenPath(t, startGroup)
	var next atomic.Int64
	errs := make(chan error, len(fns))
	for range fns {
		go func() {
			errs <- group.Update(ctx, func(tx store.Tx) error { return ExecRecorded(ctx, tx, fns[next.Add(1)-1]) })
		}()
	}
	for range fns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got, want := dumpTables(t, startGroup, tables...), dumpTables(t, src, tables...); got != want {
		t.Fatalf("database written through the group commit differs from the recorded one:\n%s\nwant:\n%s", got, want)
	}
	err = group.Update(ctx, func(tx store.Tx) error { return ExecRecorded(ctx, tx, fns[len(fns)-1][2:]) })
	if err == nil || !strings.Contains(err.Error(), "statement 0 (UPDATE tickets") || !strings.Contains(err.Error(), "changed 0 rows, 1 when recorded") {
		t.Fatalf("an update of a moved-on row through the group commit: %v, want the rows-changed refusal naming it", err)
	}
	if err := ExecRecorded(ctx, nil, fns[0]); err == nil || !strings.Contains(err.Error(), "is not a SQLite write transaction") {
		t.Fatalf("recorded statements outside a SQLite write transaction: %v, want internal", err)
	}

	_, err = replay.ReplayStatements(ctx, fns, 7)
	if err == nil || !strings.Contains(err.Error(), "function 0, statement 0") {
		t.Fatalf("replaying on a state that already has the rows: %v, want an error naming function 0, statement 0", err)
	}
	// An UPDATE that finds no row to change is refused too, though SQLite itself is content.
	_, err = replay.ReplayStatements(ctx, [][]Statement{{fns[0][2]}}, 1)
	if err == nil || !strings.Contains(err.Error(), "changed 0 rows, 1 when recorded") {
		t.Fatalf("replaying an update of a moved-on row: %v, want the rows-changed refusal", err)
	}
}

func TestStatementKind(t *testing.T) {
	for q, want := range map[string]string{
		"INSERT INTO events (id, seq) VALUES (?, ?)":      "INSERT INTO events",
		"insert into report_cells(scope, dim) values (?)": "insert into report_cells",
		"UPDATE tickets SET\n\t\tsubject = ?":             "UPDATE tickets",
		"DELETE FROM deadlines WHERE id IN (?, ?)":        "DELETE FROM deadlines",
		"  REPLACE INTO t VALUES (1)":                     "REPLACE INTO t",
		"VACUUM":                                          "VACUUM",
		"":                                                "",
	} {
		if got := StatementKind(q); got != want {
			t.Errorf("StatementKind(%q) = %q, want %q", q, got, want)
		}
	}
}

type fakeResult struct{}

func (fakeResult) LastInsertId() (int64, error) { return 0, nil }
func (fakeResult) RowsAffected() (int64, error) { return 1, nil }

// A recorded byte-slice argument, of whatever named type, is the recorder's own copy.
func TestRecordCopiesByteArguments(t *testing.T) {
	var got []Statement
	tx := &tx{rec: &got}
	raw, plain := json.RawMessage(`{"a":1}`), []byte("abc")
	tx.record("INSERT", []any{raw, plain, "s", int64(3), []byte(nil)}, fakeResult{})
	raw[2], plain[0] = 'X', 'X'
	if len(got) != 1 || string(got[0].Args[0].(json.RawMessage)) != `{"a":1}` || string(got[0].Args[1].([]byte)) != "abc" ||
		got[0].Args[2] != "s" || got[0].Args[3] != int64(3) || got[0].Args[4].([]byte) != nil || got[0].Rows != 1 {
		t.Fatalf("recorded %#v", got)
	}
}
