package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/demo"
	"github.com/escalated/escalated/internal/store/postgres"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/ticket"
)

// adminCtx is the context benchmark code writes with directly (not through HTTP).
func adminCtx() context.Context {
	return escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "bench", Role: escalated.RoleAdmin})
}

// DemoPolicyFile writes the embedded demo policy (the one `serve --demo` runs: rules on
// creation, messages and breaches, SLA plans, routing) to a file in dir and returns its path.
func DemoPolicyFile(t T, dir string) string {
	path := filepath.Join(dir, "demo-policy.yaml")
	if err := os.WriteFile(path, demo.Policy(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// SQLiteDB is a DB setting for a fresh SQLite file in a temporary directory of t.
func SQLiteDB(t T, name string) string { return "sqlite:" + filepath.Join(t.TempDir(), name) }

// PostgresSchema creates a fresh schema on the database at base and returns a URL whose
// search_path is that schema; the schema is dropped at t's cleanup.
func PostgresSchema(t T, base string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema := "escalated_bench_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v", redact(base), err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		conn.Close(ctx)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.Background())
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("PostgreSQL URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// redact drops a URL's password for messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// NewNode opens a node (store, services; not serving) on db with the policy at policyPath and
// n tickets opened through the service, whose ids it returns. The API's per-token rate limit is
// off: one token stands for every client of a benchmark.
func NewNode(t T, db, policyPath string, n int) (*app.App, []string) {
	t.Helper()
	cfg := config.Default()
	cfg.DB, cfg.Addr, cfg.PolicyPath = db, "127.0.0.1:0", policyPath
	cfg.RateLimit = 0
	ctx := adminCtx()
	a, err := app.New(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Store.Close() })
	if err := a.LoadPolicy(ctx); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		d, err := a.Tickets.CreateTicket(ctx, ticket.CreateInput{Subject: "Refund not received", Message: &ticket.MessageInput{Body: "Where is my refund?"}})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = d.Ticket.ID
	}
	return a, ids
}

// Ingest is what ServiceIngest measured.
type Ingest struct {
	Rate float64 // messages per second
	// PerCommit is the messages per commit (SQLite's group commit; 0 on other stores).
	PerCommit float64
	// CPU is this process's CPU time per message; Others the cores other processes used
	// meanwhile (PostgreSQL's backends, or other work disturbing the figure).
	CPU    time.Duration
	Others float64
	// PG is the cores PostgreSQL's server processes used meanwhile (0 on SQLite).
	PG float64
	// Ahead is the share of the messages whose writes were decided ahead of SQLite's writer and
	// applied as decided (docs/adr/0005; 0 on other stores).
	Ahead float64
	// Written and Writes are what this process handed the kernel per message, bytes and write
	// calls (/proc/self/io's wchar and syscw; 0 where there is none): on SQLite the log's
	// frames, a page each that a commit changed, and the checkpoints' copies of them; on
	// PostgreSQL the statements sent to the server.
	Written, Writes float64
	// WaitWork and WaitSync are the shares of the run SQLite's writer goroutine waited with
	// nothing to run, and with a batch ready while the previous commit was being synced
	// (sqlite.Stats; 0 on other stores).
	WaitWork, WaitSync float64
}

// ServiceIngest adds n customer messages through the ticket service from writers goroutines,
// each on its own ticket of a fresh node on db with the policy at policyPath.
func ServiceIngest(t T, db, policyPath string, n, writers int) Ingest {
	return ServiceIngestNodes(t, []string{db}, policyPath, n, writers)
}

// ServiceIngestNodes is ServiceIngest over several nodes sharing one database (PostgreSQL):
// writer w writes through node w % len(dbs).
func ServiceIngestNodes(t T, dbs []string, policyPath string, n, writers int) Ingest {
	a, ids := NewNode(t, dbs[0], policyPath, writers)
	nodes := []*app.App{a}
	for _, db := range dbs[1:] {
		b, _ := NewNode(t, db, policyPath, 0)
		nodes = append(nodes, b)
	}
	return ingestOn(t, nodes, ids, n, writers)
}

// ingestOn adds n customer messages through nodes' ticket services from writers goroutines,
// writer w on ticket ids[w] through node w % len(nodes).
func ingestOn(t T, nodes []*app.App, ids []string, n, writers int) Ingest {
	ctx := adminCtx()
	sq, _ := nodes[0].Store.(*sqlite.DB)
	var st0 sqlite.Stats
	if sq != nil {
		st0 = sq.Stats()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	cpu := startCPU()
	wchar, syscw := procField("/proc/self/io", "wchar"), procField("/proc/self/io", "syscw")
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			svc := nodes[w%len(nodes)].Tickets
			for next.Add(1) <= int64(n) {
				if _, err := svc.AddMessage(ctx, ids[w], ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: benchBody}); err != nil {
					t.Errorf("add message: %v", err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	took := time.Since(start)
	out := Ingest{Rate: float64(n) / took.Seconds(),
		CPU: time.Duration(cpu.selfSeconds() / float64(n) * float64(time.Second))}
	_, out.PG, out.Others = cpu.cores()
	out.Written = float64(procField("/proc/self/io", "wchar")-wchar) / float64(n)
	out.Writes = float64(procField("/proc/self/io", "syscw")-syscw) / float64(n)
	if sq != nil {
		st := sq.Stats()
		if c := st.Commits - st0.Commits; c > 0 {
			out.PerCommit = float64(st.Updates-st0.Updates) / float64(c)
		}
		out.Ahead = float64(st.SpecApplied-st0.SpecApplied) / float64(n)
		out.WaitWork = float64(st.WriterWaitWork-st0.WriterWaitWork) / float64(took)
		out.WaitSync = float64(st.WriterWaitSync-st0.WriterWaitSync) / float64(took)
	}
	return out
}

// RawInsert writes n message rows and their history rows with the store's RawInsertMessages
// (100 per transaction, prepared statements, no service) on a fresh node on db, and returns
// messages per second: the baseline of ingest.
func RawInsert(t T, db, policyPath string, n int) float64 {
	a, ids := NewNode(t, db, policyPath, 1)
	now := time.Now().UTC()
	msgs := make([]*escalated.Message, n)
	for i := range msgs {
		msgs[i] = &escalated.Message{
			ID: escalated.NewID(escalated.PrefixMessage, now), TicketID: ids[0], Seq: int64(i + 10),
			Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: benchBody, CreatedAt: now,
		}
	}
	type rawInserter interface {
		RawInsertMessages(context.Context, []*escalated.Message, int) error
	}
	var raw rawInserter
	switch st := a.Store.(type) {
	case *sqlite.DB:
		raw = st
	case *postgres.DB:
		raw = st
	default:
		t.Fatalf("no raw insert for %T", a.Store)
	}
	start := time.Now()
	if err := raw.RawInsertMessages(context.Background(), msgs, 100); err != nil {
		t.Fatal(err)
	}
	return float64(n) / time.Since(start).Seconds()
}

// RawReplay measures the raw cost of the rows the service writes: n messages go through the
// service (from writers goroutines) on a fresh SQLite node while its store records every
// statement the writer executes; the same statements are then executed again on a copy of the
// database taken before the first message, perTx messages' statements to a transaction (the
// bench uses 100, as RawInsert), each statement prepared once per transaction: no reads, no
// decisions, no savepoints, no group commit. It returns messages per second of that replay,
// the statements per message and where the replay's time went. The recording run is not the
// measured one (recording copies every statement's arguments).
func RawReplay(t T, policyPath string, n, writers, perTx int) RawRows {
	t.Helper()
	rec, replayed := recordIngest(t, policyPath, n, writers)
	p, stmts := replayRaw(t, rec, replayed, perTx)
	return RawRows{Rate: float64(n) / p.Took.Seconds(), PerMessage: float64(stmts) / float64(n), Profile: p}
}

// RawRows is a raw replay of an ingest's rows: messages per second, statements per message,
// and the replay's time by statement kind.
type RawRows struct {
	Rate, PerMessage float64
	Profile          *sqlite.ReplayProfile
}

// recordIngest adds n messages through the ticket service from writers goroutines, each on its
// own ticket of a fresh SQLite node, recording every statement the writer executes, and
// returns the recording with the path of a copy of the database taken before the first
// message, from which the recorded statements replay. The node does not serve, so the engine
// writes nothing beside the messages: the recording holds one function per message, in commit
// order.
func recordIngest(t T, policyPath string, n, writers int) (*sqlite.Recorder, string) {
	t.Helper()
	dir := t.TempDir()
	a, ids := NewNode(t, "sqlite:"+filepath.Join(dir, "recorded.db"), policyPath, writers)
	sq, ok := a.Store.(*sqlite.DB)
	if !ok {
		t.Fatalf("a raw replay needs a SQLite node, not %T", a.Store)
	}
	replayed := filepath.Join(dir, "replayed.db")
	if err := sq.Backup(context.Background(), replayed); err != nil {
		t.Fatal(err)
	}
	rec := sq.Record()
	ingestOn(t, []*app.App{a}, ids, n, writers)
	sq.StopRecording()
	if got := len(rec.Functions()); got != n {
		t.Fatalf("recorded %d write functions for %d messages, want one each", got, n)
	}
	return rec, replayed
}

// ingestWriters is how many goroutines send messages in the ingest figure. Each waits for its
// message's commit and sync before sending the next (a closed loop), so the throughput it sees
// is at most writers / latency. With the sync off the writer (docs/adr/0006) 16 of them left
// the writer waiting for work; from 32 on the rate stays on a plateau (IngestDemo, one run each:
// 16 writers 3,288 msgs/s, 32 4,830, 64 5,068, 128 5,158, 256 4,893).
const ingestWriters = 64

// runIngestSQLite: messages through the service with the demo policy on SQLite, against a raw
// batched replay of the same rows (RawReplay: the statements the service executed, executed
// again with nothing around them), with the plain two-row insert (RawInsert: the message and
// its history event) for context.
func runIngestSQLite(t T, o Options) []Row {
	n := o.scaled(20_000, 2_000)
	pol := DemoPolicyFile(t, t.TempDir())
	raw := RawInsert(t, SQLiteDB(t, "raw.db"), pol, n)
	// Each writer sends to a ticket of its own, so the rows of a run with more writers spread
	// over more tickets, and a commit changes more pages of the tickets, their indexes and
	// their decisions (the raw replay of a 64-writer run's rows was a quarter to a third slower
	// than of a 16-writer run's, 2026-11-29). Each row is therefore measured against the rows of a run
	// with as many writers; the 1-writer row against the 16 writers' (a recording run of one
	// writer would take minutes).
	rows := RawReplay(t, pol, n, ingestWriters, 100)
	same, perMsg := rows.Rate, rows.PerMessage
	same16 := RawReplay(t, pol, n, 16, 100).Rate
	one := ServiceIngest(t, SQLiteDB(t, "svc1.db"), pol, n, 1)
	sixteen := ServiceIngest(t, SQLiteDB(t, "svc16.db"), pol, n, 16)
	many := ServiceIngest(t, SQLiteDB(t, "svc64.db"), pol, n, ingestWriters)
	base := fmt.Sprintf("raw replay of the same rows (%d tickets) %s/s", ingestWriters, count(same))
	base16 := fmt.Sprintf("raw replay of the same rows (16 tickets) %s/s", count(same16))
	two := fmt.Sprintf("raw batched INSERT of message + event %s/s", count(raw))
	return []Row{
		{Figure: fmt.Sprintf("ingest, SQLite, %d writers", ingestWriters), Target: ">= 20,000 events/s and >= 0.5x raw",
			Value: many.Rate, Unit: "events/s", Text: count(many.Rate) + " events/s",
			Baseline: base, BaselineValue: same, Ratio: many.Rate / same,
			Met: verdict(many.Rate >= 20_000 && many.Rate/same >= 0.5),
			Note: fmt.Sprintf("%s messages a phase, demo policy (signals, rules, SLA clocks); %.1f messages per group commit; "+
				"%.0f µs of CPU per message (2 cores give %s µs per message at 20,000/s); other processes used %.2f cores meanwhile; "+
				"the writer goroutine waited for work %.0f%% of the run and for the syncer with a batch ready %.0f%%; "+
				"%.1f KiB handed to the kernel per message in %.1f write calls (the log's frames, a 4 KiB page each that a commit changed, and the checkpoints' copies); "+
				"the baseline executes the %.1f statements per message the service wrote in a recorded run with as many writers (tickets), 100 messages to a transaction, prepared, "+
				"with no reads, decisions or savepoints (rows the service adds slow the baseline too: the two-row row below keeps the fixed comparison); "+
				"where the baseline's time went, %s",
				count(float64(n)), many.PerCommit, float64(many.CPU)/1e3, count(2e6/20_000), many.Others, 100*many.WaitWork, 100*many.WaitSync, many.Written/1024, many.Writes, perMsg,
				rows.Profile.Summary(n, "message", 6))},
		{Figure: "ingest, SQLite, 16 writers", Target: "(context)",
			Value: sixteen.Rate, Unit: "events/s", Text: count(sixteen.Rate) + " events/s",
			Baseline: base16, BaselineValue: same16, Ratio: sixteen.Rate / same16, Met: "n/a",
			Note: fmt.Sprintf("%.1f messages per group commit, %.0f µs of CPU per message: each writer waits for its message's commit and sync "+
				"before sending the next, so 16 of them measure that wait more than the engine's capacity", sixteen.PerCommit, float64(sixteen.CPU)/1e3)},
		{Figure: "ingest, SQLite, 1 writer", Target: "(context)",
			Value: one.Rate, Unit: "events/s", Text: count(one.Rate) + " events/s",
			Baseline: base16, BaselineValue: same16, Ratio: one.Rate / same16, Met: "n/a"},
		{Figure: fmt.Sprintf("ingest, SQLite, %d writers, against two rows", ingestWriters), Target: "(context)",
			Value: many.Rate, Unit: "events/s", Text: count(many.Rate) + " events/s",
			Baseline: two, BaselineValue: raw, Ratio: many.Rate / raw, Met: "n/a",
			Note: "the message row and its message.added event only: the service also writes the policy's rule.fired events, the ticket's update, the decision and report rows"},
	}
}

// runIngestPostgres: the same on PostgreSQL, one node and two nodes sharing the database,
// against a raw pgx batch of the same rows.
func runIngestPostgres(t T, o Options) []Row {
	n := o.scaled(20_000, 2_000)
	pol := DemoPolicyFile(t, t.TempDir())
	raw := RawInsert(t, PostgresSchema(t, o.Postgres), pol, n)
	one := ServiceIngest(t, PostgresSchema(t, o.Postgres), pol, n, 16)
	schema := PostgresSchema(t, o.Postgres)
	two := ServiceIngestNodes(t, []string{schema, schema}, pol, n, 16)
	base := fmt.Sprintf("raw pgx batch %s/s", count(raw))
	note := func(in Ingest) string {
		return fmt.Sprintf("%.0f µs of CPU per message in this process; the PostgreSQL server used %.2f cores meanwhile", float64(in.CPU)/1e3, in.PG)
	}
	return []Row{
		{Figure: "ingest, PostgreSQL, 1 node, 16 clients", Target: "(context)", Value: one.Rate, Unit: "events/s",
			Text: count(one.Rate) + " events/s", Baseline: base, BaselineValue: raw, Ratio: one.Rate / raw, Met: "n/a", Note: note(one)},
		{Figure: "ingest, PostgreSQL, 2 nodes, 16 clients", Target: "(context)", Value: two.Rate, Unit: "events/s",
			Text: count(two.Rate) + " events/s", Baseline: base, BaselineValue: raw, Ratio: two.Rate / raw, Met: "n/a", Note: note(two)},
	}
}
