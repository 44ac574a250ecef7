package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgDatabase gives the test its own schema on the PostgreSQL server named by
// ESCALATED_TEST_POSTGRES and returns a URL whose connections use it; the schema is dropped when
// the test ends. Without the variable the test is skipped.
func pgDatabase(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	base := os.Getenv("ESCALATED_TEST_POSTGRES")
	if base == "" {
		t.Skip("ESCALATED_TEST_POSTGRES is not set: set it to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL tests")
	}
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "escalated_cmd_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", base, err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.Background())
	})
	if _, err := conn.Exec(ctx, "SET search_path TO "+schema); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), conn
}

func TestPostgresCrashLosesNoAcknowledgedWrite(t *testing.T) {
	db, _ := pgDatabase(t)
	stopUnderLoad(t, syscall.SIGKILL, db)
}

// TestTwoNodesConflictingEscalations runs two serve processes on one PostgreSQL database and
// lets four clients escalate, acknowledge and return the same tickets through both at once.
// Afterwards invariant queries check that every ticket's history is consistent.
func TestTwoNodesConflictingEscalations(t *testing.T) {
	db, conn := pgDatabase(t)
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	// The test policy without the escalation cap, so tickets can go up and down many times.
	src, err := os.ReadFile(testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(pol, []byte(strings.Replace(string(src), "max_per_ticket: 3", "max_per_ticket: 0", 1)), 0o644)

	code, out, errOut := runCLI(t, "token", "create", "--role", "supervisor", "--name", "two-nodes", "--db", db)
	if code != 0 {
		t.Fatalf("token: %s", errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]

	nodes := []*child{startChild(t, bin, "--db", db, "--policy", pol), startChild(t, bin, "--db", db, "--policy", pol)}
	defer func() {
		for _, n := range nodes {
			n.cmd.Process.Signal(syscall.SIGTERM)
			n.cmd.Wait()
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	var tickets []string
	for i := 0; i < 6; i++ {
		status, tk, err := post(client, "http://"+nodes[i%2].addr+"/v1/tickets", token, map[string]any{
			"subject": fmt.Sprintf("contended %d", i), "issue_type": "api_integration",
			"message": map[string]any{"body": "The API rejects our key."}})
		if err != nil || status != 201 {
			t.Fatalf("create: %d %v", status, err)
		}
		tickets = append(tickets, tk["id"].(string))
	}

	var mu sync.Mutex
	outcomes := map[string]int{}
	note := "Customer's key is rejected by the gateway; frontline checked the basics."
	deadline := time.Now().Add(4 * time.Second)
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				node := "http://" + nodes[rnd(2)].addr
				id := tickets[rnd(len(tickets))]
				var status int
				var body map[string]any
				var err error
				var op string
				switch rnd(3) {
				case 0:
					op = "escalate"
					status, body, err = post(client, node+"/v1/tickets/"+id+"/escalations", token, map[string]any{"to": "integrations", "reason": "complexity", "note": note})
				case 1, 2:
					// Act on the ticket's current escalation as another node may be doing.
					tk, gerr := get(client, node+"/v1/tickets/"+id, token)
					if gerr != nil {
						err = gerr
						break
					}
					esc, _ := tk["active_escalation"].(string)
					if esc == "" {
						continue
					}
					if rnd(2) == 0 {
						op = "acknowledge"
						status, body, err = post(client, node+"/v1/escalations/"+esc+"/acknowledge", token, map[string]any{"by": "ben"})
					} else {
						op = "return"
						status, body, err = post(client, node+"/v1/escalations/"+esc+"/return", token, map[string]any{"by": "ben", "reason": "frontline can handle", "necessary": false})
					}
				}
				if err != nil {
					t.Errorf("%s: %v", op, err)
					return
				}
				if status >= 500 {
					t.Errorf("%s answered %d: %v", op, status, body)
					return
				}
				mu.Lock()
				outcomes[fmt.Sprintf("%s %d", op, status)]++
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	t.Logf("outcomes: %v", outcomes)
	if outcomes["escalate 201"] == 0 || outcomes["acknowledge 200"] == 0 || outcomes["escalate 409"]+outcomes["acknowledge 409"]+outcomes["return 409"] == 0 {
		t.Fatalf("the load did not exercise successes and conflicts: %v", outcomes)
	}

	ctx := context.Background()
	invariants := map[string]string{
		"a ticket with two active escalations": `SELECT ticket_id FROM escalations WHERE state IN ('pending','acknowledged') GROUP BY ticket_id HAVING count(*) > 1`,
		"active_escalation not the ticket's active escalation to its team": `SELECT t.id FROM tickets t LEFT JOIN escalations e ON e.id = t.active_escalation
			WHERE t.active_escalation <> '' AND (e.id IS NULL OR e.state NOT IN ('pending','acknowledged') OR e.to_team <> t.team OR e.ticket_id <> t.id)`,
		"an active escalation the ticket does not point at": `SELECT e.id FROM escalations e JOIN tickets t ON t.id = e.ticket_id
			WHERE e.state IN ('pending','acknowledged') AND t.active_escalation <> e.id`,
		"an escalation acknowledged twice": `SELECT data->>'escalation_id' FROM events WHERE type = 'escalation.acknowledged'
			GROUP BY data->>'escalation_id' HAVING count(*) > 1`,
		"an escalation created twice": `SELECT data->>'escalation_id' FROM events WHERE type = 'escalation.created'
			GROUP BY data->>'escalation_id' HAVING count(*) > 1`,
		"history with a gap or a version out of step": `SELECT t.id FROM tickets t JOIN (SELECT ticket_id, count(*) n, max(seq) m FROM events GROUP BY ticket_id) h
			ON h.ticket_id = t.id WHERE h.n <> h.m OR h.m <> t.version`,
		"escalation counter out of step": `SELECT t.id FROM tickets t LEFT JOIN (SELECT ticket_id, count(*) n FROM escalations GROUP BY ticket_id) e
			ON e.ticket_id = t.id WHERE coalesce(e.n, 0) <> t.escalation_count`,
		"a ticket in a team its last transition did not send it to": `SELECT t.id FROM tickets t JOIN LATERAL (
			SELECT type, data FROM events WHERE ticket_id = t.id AND type IN ('escalation.created','escalation.returned') ORDER BY seq DESC LIMIT 1) last ON true
			WHERE (last.type = 'escalation.created' AND last.data->>'to_team' <> t.team) OR (last.type = 'escalation.returned' AND last.data->>'from_team' <> t.team)`,
		"an escalation without its audit record": `SELECT e.id FROM escalations e WHERE NOT EXISTS (
			SELECT 1 FROM audit a WHERE a.object_id = e.id AND a.action = 'escalation.created')`,
	}
	for name, q := range invariants {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var bad []string
		for rows.Next() {
			var v any
			rows.Scan(&v)
			bad = append(bad, fmt.Sprint(v))
		}
		rows.Close()
		if len(bad) > 0 {
			t.Errorf("invariant broken, %s: %v", name, bad)
		}
	}
	var escalations int
	conn.QueryRow(ctx, "SELECT count(*) FROM escalations").Scan(&escalations)
	t.Logf("%d escalations on %d tickets, invariants hold", escalations, len(tickets))
}

func rnd(n int) int {
	v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
	return int(v.Int64())
}

func TestPostgresMigrateCommand(t *testing.T) {
	db, _ := pgDatabase(t)
	if code, out, errOut := runCLI(t, "migrate", "--db", db); code != 0 || !regexp.MustCompile(`schema version [1-9][0-9]*\n`).MatchString(out) {
		t.Fatalf("migrate: exit %d, %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "backup", filepath.Join(t.TempDir(), "x.db"), "--db", db); code != 1 || !strings.Contains(errOut, "pg_dump") {
		t.Fatalf("backup on PostgreSQL should point to pg_dump: exit %d %q", code, errOut)
	}
}

// TestKillOneOfTwoNodes: clients write through two nodes on one database; one node is killed
// with SIGKILL mid-load while the other keeps serving. Every write either node acknowledged is
// there, read through the survivor, and the ticket's history has no gap.
func TestKillOneOfTwoNodes(t *testing.T) {
	db, _ := pgDatabase(t)
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "token", "create", "--role", "supervisor", "--name", "kill", "--db", db)
	if code != 0 {
		t.Fatalf("token: %s", errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]
	victim := startChild(t, bin, "--db", db, "--policy", testPolicy)
	survivor := startChild(t, bin, "--db", db, "--policy", testPolicy)
	defer func() { survivor.cmd.Process.Signal(syscall.SIGTERM); survivor.cmd.Wait() }()

	client := &http.Client{Timeout: 5 * time.Second}
	status, tk, err := post(client, "http://"+survivor.addr+"/v1/tickets", token, map[string]any{"subject": "kill", "message": map[string]any{"body": "first"}})
	if err != nil || status != 201 {
		t.Fatalf("create: %d %v", status, err)
	}
	ticketID := tk["id"].(string)

	var mu sync.Mutex
	acked := map[string]bool{}
	perNode := map[string]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		node := victim
		if w%2 == 1 {
			node = survivor
		}
		wg.Add(1)
		go func(w int, node *child) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				status, m, err := post(client, "http://"+node.addr+"/v1/tickets/"+ticketID+"/messages", token, map[string]any{
					"author": map[string]any{"kind": "customer"}, "body": fmt.Sprintf("writer %d message %d", w, i)})
				if err != nil {
					return // this writer's node is gone
				}
				if status != 201 {
					t.Errorf("writer %d: status %d %v", w, status, m)
					return
				}
				mu.Lock()
				acked[m["id"].(string)] = true
				perNode[node.addr]++
				mu.Unlock()
			}
		}(w, node)
	}
	time.Sleep(1500 * time.Millisecond)
	victim.cmd.Process.Signal(syscall.SIGKILL)
	victim.cmd.Wait()
	time.Sleep(500 * time.Millisecond) // the survivor keeps taking writes
	close(stop)
	wg.Wait()
	if perNode[victim.addr] < 20 || perNode[survivor.addr] < 20 {
		t.Fatalf("both nodes must have taken writes: %v", perNode)
	}

	detail, err := get(client, "http://"+survivor.addr+"/v1/tickets/"+ticketID, token)
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for i, h := range detail["history"].([]any) {
		e := h.(map[string]any)
		if e["seq"] != float64(i+1) {
			t.Fatalf("history gap at %d (seq %v)", i, e["seq"])
		}
		if m, ok := e["message"].(map[string]any); ok {
			present[m["id"].(string)] = true
		}
	}
	lost := 0
	for id := range acked {
		if !present[id] {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", lost, len(acked))
	}
	t.Logf("acknowledged writes per node %v, all %d present after killing one node", perNode, len(acked))
}
