package main

// Fault injection (E9): SIGKILL under mixed load, repeated; a database that cannot be written
// (read-only, disk full); PostgreSQL restarted under load. Figures in BENCHMARKS.md.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/notify"
	"github.com/jackc/pgx/v5"

	_ "modernc.org/sqlite"
)

// loggedChild is a child whose log lines the test can read (startChild keeps only the address).
type loggedChild struct {
	*child
	mu    sync.Mutex
	lines []string
}

func (c *loggedChild) log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

// startLoggedChild runs `escalated serve` like startChild, keeping its log, optionally under a
// wrapper command (e.g. prlimit) and with extra environment.
func startLoggedChild(t *testing.T, bin string, wrapper []string, env []string, args ...string) *loggedChild {
	t.Helper()
	argv := append(append(append([]string{}, wrapper...), bin, "serve", "--addr", "127.0.0.1:0"), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), "ESCALATED_RATE_LIMIT=0"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lc := &loggedChild{child: &child{cmd: cmd}}
	addrc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=serving addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lc.mu.Lock()
			lc.lines = append(lc.lines, sc.Text())
			lc.mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	select {
	case lc.addr = <-addrc:
		return lc
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("child did not start listening; log:\n%s", lc.log())
	}
	return nil
}

func adminToken(t *testing.T, db string) string {
	t.Helper()
	code, out, errOut := runCLI(t, "token", "create", "--role", "admin", "--name", "fault", "--db", db)
	if code != 0 {
		t.Fatalf("token: %s", errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// faultPolicy is the test policy with SLA targets short enough for deadlines to fall due during
// the test (first response 3 s, acknowledge 2 s, warnings at 80 %) and, when hook is set, a
// signed webhook channel to it for escalation and SLA events.
func faultPolicy(t *testing.T, hook string) string {
	t.Helper()
	src, err := os.ReadFile(testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(src), "targets: {first_response: 4h, next_reply: 8h, resolution: 72h, acknowledge: 1h}",
		"targets: {first_response: 3s, next_reply: 8h, resolution: 72h, acknowledge: 2s}", 1)
	if hook != "" {
		s += "channels:\n  - {id: ops, type: webhook, url: \"" + hook + "\", secret_env: ESCALATED_FAULT_WEBHOOK_SECRET,\n" +
			"     events: [ticket.created, escalation.created, escalation.acknowledged, escalation.unacknowledged, sla.warning, sla.breached]}\n"
	}
	if !strings.Contains(s, "acknowledge: 2s") {
		t.Fatal("the test policy's SLA line changed; update faultPolicy")
	}
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// receiver records webhook deliveries: every body received per delivery id.
type receiver struct {
	mu     sync.Mutex
	bodies map[string]map[[32]byte]bool // delivery id -> distinct body hashes
	events map[string]string            // delivery id -> event id
	total  int
}

func newReceiver() (*receiver, *httptest.Server) {
	rc := &receiver{bodies: map[string]map[[32]byte]bool{}, events: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			ID string `json:"id"`
		}
		json.Unmarshal(body, &p)
		id := r.Header.Get("Escalated-Delivery")
		rc.mu.Lock()
		if rc.bodies[id] == nil {
			rc.bodies[id] = map[[32]byte]bool{}
		}
		rc.bodies[id][sha256.Sum256(body)] = true
		rc.events[id] = p.ID
		rc.total++
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	return rc, srv
}

// ledger is what the clients were told: every write answered 2xx, and how many writes of each
// kind got no answer (in flight at the kill: they may or may not have committed).
type ledger struct {
	mu          sync.Mutex
	tickets     []string
	messages    map[string]string // message id -> ticket id
	escalations map[string]string // escalation id (manual, 201) -> ticket id
	escPer      map[string]int    // ticket id -> acknowledged escalate requests
	escUnknown  map[string]int    // ticket id -> escalate requests without an answer
	ticketsUnk  int
	requests    atomic.Int64
	statuses    map[int]int // answers by HTTP status
}

func newLedger() *ledger {
	return &ledger{messages: map[string]string{}, escalations: map[string]string{}, escPer: map[string]int{}, escUnknown: map[string]int{}, statuses: map[int]int{}}
}

func (l *ledger) status(code int) {
	l.mu.Lock()
	l.statuses[code]++
	l.mu.Unlock()
}

func (l *ledger) randomTicket() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.tickets) == 0 {
		return ""
	}
	// Mostly recent tickets: they are the ones still in frontline and open to escalation.
	n := len(l.tickets)
	if n > 40 && rnd(4) != 0 {
		return l.tickets[n-1-rnd(40)]
	}
	return l.tickets[rnd(n)]
}

// mixedLoad runs workers against base until stop is closed or the server is gone: they create
// tickets, add messages, escalate and acknowledge, and record every answer in l.
func mixedLoad(base, token string, workers int, l *ledger, stop <-chan struct{}) {
	client := &http.Client{Timeout: 5 * time.Second}
	note := "Customer's invoice is wrong and frontline cannot reissue it."
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tk := l.randomTicket()
				op := rnd(10)
				if tk == "" || op < 3 {
					status, m, err := post(client, base+"/v1/tickets", token, map[string]any{
						"subject": fmt.Sprintf("fault %d/%d", w, i), "issue_type": "check_invoice",
						"customer": map[string]any{"id": fmt.Sprintf("c-%d", w), "name": "Jo"},
						"account":  map[string]any{"id": "globex", "name": "Globex", "tier": "pro"},
						"message":  map[string]any{"author": map[string]any{"kind": "customer"}, "body": "The invoice shows the wrong VAT number."}})
					l.requests.Add(1)
					if err != nil {
						l.mu.Lock()
						l.ticketsUnk++
						l.mu.Unlock()
						return
					}
					l.status(status)
					if status == 201 {
						l.mu.Lock()
						l.tickets = append(l.tickets, m["id"].(string))
						l.mu.Unlock()
					}
					continue
				}
				switch {
				case op < 6:
					status, m, err := post(client, base+"/v1/tickets/"+tk+"/messages", token, map[string]any{
						"author": map[string]any{"kind": "customer"}, "body": fmt.Sprintf("writer %d message %d", w, i)})
					l.requests.Add(1)
					if err != nil {
						return
					}
					l.status(status)
					if status == 201 {
						l.mu.Lock()
						l.messages[m["id"].(string)] = tk
						l.mu.Unlock()
					}
				case op < 9:
					status, m, err := post(client, base+"/v1/tickets/"+tk+"/escalations", token, map[string]any{
						"to": "billing", "reason": "complexity", "by": "ana", "note": note})
					l.requests.Add(1)
					if err != nil {
						l.mu.Lock()
						l.escUnknown[tk]++
						l.mu.Unlock()
						return
					}
					l.status(status)
					if status == 201 {
						l.mu.Lock()
						l.escalations[m["id"].(string)] = tk
						l.escPer[tk]++
						l.mu.Unlock()
					}
				default:
					// Acknowledge one of the escalations, so some acknowledge deadlines are
					// cancelled rather than fired.
					l.mu.Lock()
					var esc string
					for id := range l.escalations {
						esc = id
						break
					}
					l.mu.Unlock()
					if esc == "" {
						continue
					}
					status, _, err := post(client, base+"/v1/escalations/"+esc+"/acknowledge", token, map[string]any{"by": "bea"})
					l.requests.Add(1)
					if err != nil {
						return
					}
					l.status(status)
				}
			}
		}(w)
	}
	wg.Wait()
}

func openRO(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func querySet(t *testing.T, db *sql.DB, q string) map[string]bool {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out[s.String] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkInvariants reads the database file of a freshly restarted child and checks what the
// clients were told against it.
func checkInvariants(t *testing.T, path string, l *ledger) {
	t.Helper()
	db := openRO(t, path)
	defer db.Close()
	tickets := querySet(t, db, "SELECT id FROM tickets")
	messages := querySet(t, db, "SELECT id FROM messages")
	escalations := querySet(t, db, "SELECT id FROM escalations")
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range l.tickets {
		if !tickets[id] {
			t.Errorf("acknowledged ticket %s lost", id)
		}
	}
	if len(tickets) > len(l.tickets)+l.ticketsUnk {
		t.Errorf("%d tickets stored, but only %d creates were acknowledged and %d unanswered", len(tickets), len(l.tickets), l.ticketsUnk)
	}
	for id := range l.messages {
		if !messages[id] {
			t.Errorf("acknowledged message %s lost", id)
		}
	}
	for id := range l.escalations {
		if !escalations[id] {
			t.Errorf("acknowledged escalation %s lost", id)
		}
	}
	// Manual escalations per ticket: at least the acknowledged ones, at most those plus the
	// requests that got no answer. More would be one request escalating twice.
	rows, err := db.Query("SELECT ticket_id, count(*) FROM escalations WHERE trigger_kind = 'manual' GROUP BY ticket_id")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		rows.Scan(&id, &n)
		stored[id] = n
	}
	rows.Close()
	for id, n := range stored {
		if n < l.escPer[id] || n > l.escPer[id]+l.escUnknown[id] {
			t.Errorf("ticket %s has %d manual escalations; %d acknowledged, %d unanswered requests", id, n, l.escPer[id], l.escUnknown[id])
		}
	}
	for name, q := range map[string]string{
		"an escalation created twice": `SELECT json_extract(data, '$.escalation_id') FROM events WHERE type = 'escalation.created'
			GROUP BY 1 HAVING count(*) > 1`,
		"a deadline that fired twice": `SELECT type || ' ' || ticket_id || ' ' || coalesce(json_extract(data, '$.target'), '') || ' ' ||
			coalesce(json_extract(data, '$.escalation_id'), '') || ' ' || coalesce(json_extract(data, '$.due_at'), '')
			FROM events WHERE type IN ('sla.warning', 'sla.breached', 'escalation.unacknowledged') GROUP BY 1 HAVING count(*) > 1`,
		"an escalation unacknowledged twice": `SELECT json_extract(data, '$.escalation_id') FROM events WHERE type = 'escalation.unacknowledged'
			GROUP BY 1 HAVING count(*) > 1`,
		"history with a gap or a version out of step": `SELECT t.id FROM tickets t JOIN (SELECT ticket_id, count(*) n, max(seq) m FROM events GROUP BY ticket_id) h
			ON h.ticket_id = t.id WHERE h.n <> h.m OR h.m <> t.version`,
		"escalation counter out of step": `SELECT t.id FROM tickets t LEFT JOIN (SELECT ticket_id, count(*) n FROM escalations GROUP BY ticket_id) e
			ON e.ticket_id = t.id WHERE coalesce(e.n, 0) <> t.escalation_count`,
		"a delivery for an event that is not in history": `SELECT d.id FROM deliveries d LEFT JOIN events e ON e.id = d.event_id WHERE e.id IS NULL`,
		"a ticket with two active escalations":           `SELECT ticket_id FROM escalations WHERE state IN ('pending','acknowledged') GROUP BY ticket_id HAVING count(*) > 1`,
	} {
		if bad := querySet(t, db, q); len(bad) > 0 {
			t.Errorf("invariant broken, %s: %v", name, keys(bad, 5))
		}
	}
}

// waitDeadlinesFired waits until no deadline row is overdue by more than a second (the engine
// catches up on start), and then checks that no ticket has an active SLA clock past its due
// time: that would be a deadline that fell due and never fired.
func waitDeadlinesFired(t *testing.T, path string, within time.Duration) {
	t.Helper()
	db := openRO(t, path)
	defer db.Close()
	end := time.Now().Add(within)
	for {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM deadlines WHERE due_at < ?", time.Now().Add(-time.Second).UnixMilli()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d deadlines overdue by more than 1 s after %v", n, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rows, err := db.Query("SELECT id, extra FROM tickets")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cutoff := time.Now().Add(-2 * time.Second)
	checked := 0
	for rows.Next() {
		var id, extra string
		rows.Scan(&id, &extra)
		var x struct {
			SLA struct {
				Clocks []struct {
					Target, State string
					DueAt         time.Time `json:"due_at"`
					WarnDue       time.Time `json:"warn_due"`
				} `json:"clocks"`
			} `json:"sla"`
		}
		if err := json.Unmarshal([]byte(extra), &x); err != nil {
			t.Fatalf("ticket %s extra: %v", id, err)
		}
		for _, c := range x.SLA.Clocks {
			checked++
			active := c.State == "running" || c.State == "warned"
			if active && !c.DueAt.IsZero() && c.DueAt.Before(cutoff) {
				t.Errorf("ticket %s: %s clock %s, due %v, never breached", id, c.Target, c.State, c.DueAt)
			}
			if c.State == "running" && !c.WarnDue.IsZero() && c.WarnDue.Before(cutoff) {
				t.Errorf("ticket %s: %s clock still running past its warning %v", id, c.Target, c.WarnDue)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no SLA clocks found in tickets.extra: the check reads the wrong column")
	}
}

// notifyLease is how long the dispatcher leases a delivery it claimed.
const notifyLease = notify.DefaultLease

func keys(m map[string]bool, n int) []string {
	var out []string
	for k := range m {
		if len(out) == n {
			break
		}
		out = append(out, k)
	}
	return out
}

// TestRepeatedSIGKILLUnderMixedLoad kills the server with SIGKILL while clients create tickets,
// add messages, escalate and acknowledge and while deadlines fall due and the outbox delivers,
// restarts it on the same file, checks, and goes again: ESCALATED_FAULT_ROUNDS rounds (5 by
// default). After every restart: no acknowledged write is missing, no request escalated twice,
// no deadline fired twice and none that fell due is left unfired; at the end every delivery has
// reached the webhook receiver, each with one payload.
func TestRepeatedSIGKILLUnderMixedLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	rounds := 5
	if s := os.Getenv("ESCALATED_FAULT_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("ESCALATED_FAULT_ROUNDS=%q: give a number of rounds", s)
		}
		rounds = n
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	rc, hook := newReceiver()
	defer hook.Close()
	t.Setenv("ESCALATED_FAULT_WEBHOOK_SECRET", "fault-secret")
	pol := faultPolicy(t, hook.URL)
	path := filepath.Join(t.TempDir(), "fault.db")
	db := "sqlite:" + path
	token := adminToken(t, db)
	l := newLedger()

	var loadTime time.Duration
	var loadRequests int64
	var lastKill time.Time
	for round := 1; round <= rounds; round++ {
		c := startChild(t, bin, "--db", db, "--policy", pol)
		if round > 1 {
			checkInvariants(t, path, l)
			waitDeadlinesFired(t, path, 15*time.Second)
			if t.Failed() {
				c.cmd.Process.Kill()
				c.cmd.Wait()
				t.Fatalf("round %d: invariants broken after the restart", round-1)
			}
		}
		stop := make(chan struct{})
		before := l.requests.Load()
		start := time.Now()
		done := make(chan struct{})
		go func() { mixedLoad("http://"+c.addr, token, 8, l, stop); close(done) }()
		time.Sleep(time.Duration(1000+rnd(1000)) * time.Millisecond)
		c.cmd.Process.Signal(syscall.SIGKILL)
		lastKill = time.Now()
		elapsed := time.Since(start)
		c.cmd.Wait()
		close(stop)
		<-done
		loadTime += elapsed
		loadRequests += l.requests.Load() - before
	}
	l.mu.Lock()
	t.Logf("%d SIGKILL rounds: %d tickets, %d messages, %d escalations acknowledged; %d requests in %.1fs of load, %.0f requests/s",
		rounds, len(l.tickets), len(l.messages), len(l.escalations), loadRequests, loadTime.Seconds(), float64(loadRequests)/loadTime.Seconds())
	if len(l.tickets) < 10*rounds || len(l.escalations) < rounds {
		t.Errorf("too little load to mean anything: %d tickets, %d escalations", len(l.tickets), len(l.escalations))
	}
	l.mu.Unlock()

	// A final clean run: everything that fell due fires, the outbox drains.
	c := startChild(t, bin, "--db", db, "--policy", pol)
	defer func() { c.cmd.Process.Signal(syscall.SIGTERM); c.cmd.Wait() }()
	checkInvariants(t, path, l)
	// Unacknowledged escalations move on (billing, then engineering): 2 s each, plus a margin.
	time.Sleep(5 * time.Second)
	waitDeadlinesFired(t, path, 15*time.Second)
	checkInvariants(t, path, l)
	if t.Failed() {
		t.FailNow()
	}
	waitLeases := os.Getenv("ESCALATED_FAULT_ROUNDS") != ""
	checkDeliveries(t, "http://"+c.addr, token, rc, notifyLease+30*time.Second, waitLeases, lastKill)
	dbh := openRO(t, path)
	defer dbh.Close()
	var fired, unack int
	dbh.QueryRow("SELECT count(*) FROM events WHERE type IN ('sla.warning', 'sla.breached', 'escalation.unacknowledged')").Scan(&fired)
	dbh.QueryRow("SELECT count(*) FROM events WHERE type = 'escalation.unacknowledged'").Scan(&unack)
	rc.mu.Lock()
	t.Logf("after %d kills: %d deadlines fired exactly once (%d unacknowledged escalations), %d deliveries received %d times, each with one payload",
		rounds, fired, unack, len(rc.bodies), rc.total)
	rc.mu.Unlock()
	if fired == 0 || unack == 0 {
		t.Errorf("no deadline fired (%d) or no escalation went unacknowledged (%d): the test did not exercise the engine", fired, unack)
	}
}

// checkDeliveries waits until the outbox has nothing pending, then checks that nothing failed
// or died, that the receiver got every delivered id, with one payload per id, and nothing else.
// Without waitLeases, deliveries held by the lease of the node killed last (a minute) are left
// out: waiting for them would add that minute to every CI run.
func checkDeliveries(t *testing.T, base, token string, rc *receiver, within time.Duration, waitLeases bool, lastKill time.Time) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	list := func(state string) []map[string]any {
		var out []map[string]any
		cursor := ""
		for {
			u := base + "/v1/deliveries?limit=200"
			if state != "" {
				u += "&state=" + state
			}
			if cursor != "" {
				u += "&cursor=" + cursor
			}
			m, err := get(client, u, token)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range m["items"].([]any) {
				out = append(out, it.(map[string]any))
			}
			cursor, _ = m["next_cursor"].(string)
			if cursor == "" {
				return out
			}
		}
	}
	// held reports whether every pending delivery is held by the lease of a killed node
	// (claimed, next attempt when the lease ends) or waits in line behind one on its ticket and
	// channel.
	held := func(pending []map[string]any) bool {
		leased := map[string]bool{}
		for _, d := range pending {
			next, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(d["next_attempt_at"]))
			if next.After(time.Now()) && next.Before(lastKill.Add(notifyLease+time.Second)) && d["attempts"] == float64(0) {
				leased[fmt.Sprint(d["ticket_id"], d["channel"])] = true
			}
		}
		for _, d := range pending {
			if !leased[fmt.Sprint(d["ticket_id"], d["channel"])] {
				return false
			}
		}
		return true
	}
	end := time.Now().Add(within)
	for {
		pending := list("pending")
		if len(pending) == 0 {
			break
		}
		if !waitLeases && held(pending) {
			t.Logf("%d deliveries wait for the lease of a killed node to end (%v after the kill; set ESCALATED_FAULT_ROUNDS to wait for them)", len(pending), notifyLease)
			rc.mu.Lock()
			for _, d := range pending {
				delete(rc.bodies, d["id"].(string)) // sent by the killed node, maybe; sent again later
			}
			rc.mu.Unlock()
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d deliveries still pending after %v", len(pending), within)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, st := range []string{"failed", "dead"} {
		if n := len(list(st)); n > 0 {
			t.Errorf("%d deliveries %s", n, st)
		}
	}
	// Nodes still running keep delivering (deadlines fire, events go out): a delivery the
	// receiver has seen may be marked delivered a moment after. Compare the receiver's receipts
	// as of one moment with the outbox read after it, until the outbox has caught up.
	var delivered []map[string]any
	var seen []string
	ids := map[string]bool{}
	for deadline := time.Now().Add(15 * time.Second); ; {
		rc.mu.Lock()
		seen = make([]string, 0, len(rc.bodies))
		for id := range rc.bodies {
			seen = append(seen, id)
		}
		rc.mu.Unlock()
		delivered = list("delivered")
		ids = map[string]bool{}
		for _, d := range delivered {
			ids[d["id"].(string)] = true
		}
		missing := 0
		for _, id := range seen {
			if !ids[id] {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if len(delivered) == 0 {
		t.Fatal("no deliveries at all")
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, d := range delivered {
		id := d["id"].(string)
		if rc.bodies[id] == nil {
			t.Errorf("delivery %s is delivered but the receiver never got it", id)
		} else if len(rc.bodies[id]) != 1 {
			t.Errorf("delivery %s reached the receiver with %d different payloads", id, len(rc.bodies[id]))
		}
		if rc.events[id] != "" && rc.events[id] != d["event_id"] {
			t.Errorf("delivery %s carried event %s, the outbox says %v", id, rc.events[id], d["event_id"])
		}
	}
	for _, id := range seen {
		if !ids[id] {
			t.Errorf("the receiver got delivery %s, which the outbox does not list as delivered", id)
		}
	}
}

var unwritableBody = strings.Repeat("The invoice shows the wrong VAT number. ", 50)

// writeUntilRefused creates tickets until the server refuses one, and checks how: 503 with the
// code unavailable, never a 500. It returns the tickets created before.
func writeUntilRefused(t *testing.T, base, token string, max int) (acked []string, refusal map[string]any) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	body := unwritableBody
	for i := 0; i < max; i++ {
		status, m, err := post(client, base+"/v1/tickets", token, map[string]any{
			"subject": fmt.Sprintf("unwritable %d", i), "message": map[string]any{"body": body}})
		if err != nil {
			t.Fatalf("write %d: %v (did the server die?)", i, err)
		}
		switch status {
		case 201:
			acked = append(acked, m["id"].(string))
			continue
		case http.StatusServiceUnavailable:
			e, _ := m["error"].(map[string]any)
			if e["code"] != "unavailable" || !strings.Contains(fmt.Sprint(e["message"]), "database cannot be written") {
				t.Fatalf("503 without a clear error: %v", m)
			}
			return acked, e
		default:
			t.Fatalf("write %d answered %d, want 201 or 503: %v", i, status, m)
		}
	}
	t.Fatalf("%d writes all succeeded: the fault was not injected", max)
	return nil, nil
}

// checkUnwritable checks a running server whose database cannot be written: writes keep getting
// 503, reads work, and the log said so in one line.
func checkUnwritable(t *testing.T, c *loggedChild, token string, acked []string) {
	t.Helper()
	base := "http://" + c.addr
	client := &http.Client{Timeout: 10 * time.Second}
	// The same writes as the refused one (a smaller one may still fit in what space is left,
	// as on a real disk that is nearly full).
	for i := 0; i < 5; i++ {
		status, m, err := post(client, base+"/v1/tickets", token, map[string]any{
			"subject": "still full?", "message": map[string]any{"body": unwritableBody}})
		if err != nil || status != http.StatusServiceUnavailable {
			t.Fatalf("write while unwritable: %d %v %v", status, m, err)
		}
	}
	if _, err := get(client, base+"/v1/tickets/"+acked[len(acked)-1], token); err != nil {
		t.Fatalf("reads must go on: %v", err)
	}
	if _, err := get(client, base+"/v1/tickets?limit=10", token); err != nil {
		t.Fatalf("reads must go on: %v", err)
	}
	if c.cmd.ProcessState != nil {
		t.Fatalf("the server exited: %v", c.cmd.ProcessState)
	}
	time.Sleep(200 * time.Millisecond) // the log line is written before the answer; let the pipe catch up
	log := c.log()
	if n := strings.Count(log, "database cannot be written"); n != 1 {
		t.Errorf("want one log line saying the database cannot be written, got %d:\n%s", n, log)
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "database cannot be written") {
			t.Logf("log: %s", line)
		}
		if strings.Contains(line, "internal error") {
			t.Errorf("an internal error where unavailable belongs: %s", line)
		}
	}
}

// checkIntact checks the file with PRAGMA integrity_check and that every acknowledged ticket is in it.
func checkIntact(t *testing.T, path string, acked []string) {
	t.Helper()
	db := openRO(t, path)
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q %v", res, err)
	}
	have := querySet(t, db, "SELECT id FROM tickets")
	for _, id := range acked {
		if !have[id] {
			t.Errorf("acknowledged ticket %s lost", id)
		}
	}
}

func stopChild(t *testing.T, c *child) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		<-done
		t.Error("no exit within 20 s of SIGTERM")
	}
}

// TestDiskFullAnswers503 runs the server under a file size limit (RLIMIT_FSIZE, via prlimit):
// once the write-ahead log reaches it, SQLite's writes fail as on a full disk. Writes must get
// 503 unavailable with one clear log line, reads go on, the file stays intact, and with the
// space back (a restart without the limit) writes work again.
func TestDiskFullAnswers503(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) is not installed: it sets the file size limit that stands in for a full disk")
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "full.db")
	db := "sqlite:" + path
	token := adminToken(t, db)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	limit := fi.Size() + 512<<10 // the WAL may grow to 512 KiB beyond the file
	c := startLoggedChild(t, bin, []string{prlimit, fmt.Sprintf("--fsize=%d", limit), "--"}, nil, "--db", db, "--policy", testPolicy)
	exited := make(chan error, 1)
	go func() { exited <- c.cmd.Wait() }()
	acked, refusal := writeUntilRefused(t, "http://"+c.addr, token, 5000)
	t.Logf("%d tickets written, then: 503 %v", len(acked), refusal)
	select {
	case err := <-exited:
		t.Fatalf("the server died: %v\n%s", err, c.log())
	default:
	}
	checkUnwritable(t, c, token, acked)
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		t.Fatal("no exit within 20 s of SIGTERM")
	}
	checkIntact(t, path, acked)

	// Space back: the same file serves writes again.
	c2 := startLoggedChild(t, bin, nil, nil, "--db", db, "--policy", testPolicy)
	more, _ := writeOK(t, "http://"+c2.addr, token, 3)
	stopChild(t, c2.child)
	checkIntact(t, path, append(acked, more...))
}

// writeOK creates n tickets and wants 201 for each.
func writeOK(t *testing.T, base, token string, n int) ([]string, error) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	var ids []string
	for i := 0; i < n; i++ {
		status, m, err := post(client, base+"/v1/tickets", token, map[string]any{
			"subject": fmt.Sprintf("after %d", i), "message": map[string]any{"body": "writes work again"}})
		if err != nil || status != 201 {
			t.Fatalf("write after the fault was removed: %d %v %v", status, m, err)
		}
		ids = append(ids, m["id"].(string))
	}
	return ids, nil
}

// TestReadOnlyDatabaseAnswers503 makes the database files immutable (chattr +i) under a
// running server: even root cannot write them then, where chmod would not stop root, nor any
// process that already holds the file open. Writes must get 503 unavailable with one clear log
// line, reads go on; with the files writable again (chattr -i) writes work again without a
// restart, and the file passes integrity_check.
func TestReadOnlyDatabaseAnswers503(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	chattr, err := exec.LookPath("chattr")
	if err != nil {
		t.Skip("chattr (e2fsprogs) is not installed: the test makes the database immutable with it")
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ro.db")
	db := "sqlite:" + path
	token := adminToken(t, db)
	c := startLoggedChild(t, bin, nil, nil, "--db", db, "--policy", testPolicy)
	defer stopChild(t, c.child)
	base := "http://" + c.addr
	acked, _ := writeOK(t, base, token, 20)

	files := []string{path, path + "-wal", path + "-shm"}
	if out, err := exec.Command(chattr, append([]string{"+i"}, files...)...).CombinedOutput(); err != nil {
		t.Skipf("chattr +i failed (%v: %s): making files immutable needs root (CAP_LINUX_IMMUTABLE) and a file system that supports it; "+
			"chmod is no substitute, since it does not stop a process that already has the file open, nor root", err, strings.TrimSpace(string(out)))
	}
	immutable := true
	defer func() {
		if immutable {
			exec.Command(chattr, append([]string{"-i"}, files...)...).Run()
		}
	}()
	more, refusal := writeUntilRefused(t, base, token, 50)
	acked = append(acked, more...)
	t.Logf("read-only: %d writes succeeded after chattr, then 503 %v", len(more), refusal)
	checkUnwritable(t, c, token, acked)

	if out, err := exec.Command(chattr, append([]string{"-i"}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("chattr -i: %v %s", err, out)
	}
	immutable = false
	more, _ = writeOK(t, base, token, 3)
	acked = append(acked, more...)
	time.Sleep(200 * time.Millisecond)
	if !strings.Contains(c.log(), "database writable again") {
		t.Errorf("the log does not say the database is writable again:\n%s", c.log())
	}
	checkIntact(t, path, acked)
}

// TestPostgresRestartUnderLoad restarts the PostgreSQL server under two loaded nodes and checks
// that both carry on without being restarted: writes succeed again, a deadline due after the
// restart fires once, the outbox delivers, and no acknowledged write is lost. It restarts the
// machine's shared server, so it runs only with ESCALATED_TEST_PG_RESTART=1, alone (.ci/run
// runs it after everything else).
func TestPostgresRestartUnderLoad(t *testing.T) {
	if os.Getenv("ESCALATED_TEST_PG_RESTART") != "1" {
		t.Skip("restarts the shared PostgreSQL server: set ESCALATED_TEST_PG_RESTART=1 (and ESCALATED_TEST_POSTGRES), with nothing else using it")
	}
	restart := pgRestartCommand(t)
	db, _ := pgDatabase(t)
	u, _ := url.Parse(db)
	schema := u.Query().Get("search_path")
	t.Cleanup(func() { // pgDatabase's connection died with the restart: drop the schema on a new one
		if c, err := pgx.Connect(context.Background(), os.Getenv("ESCALATED_TEST_POSTGRES")); err == nil {
			c.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	rc, hook := newReceiver()
	defer hook.Close()
	t.Setenv("ESCALATED_FAULT_WEBHOOK_SECRET", "fault-secret")
	pol := faultPolicy(t, hook.URL)
	token := adminToken(t, db)
	nodes := []*loggedChild{
		startLoggedChild(t, bin, nil, nil, "--db", db, "--policy", pol),
		startLoggedChild(t, bin, nil, nil, "--db", db, "--policy", pol),
	}
	defer func() {
		for _, n := range nodes {
			stopChild(t, n.child)
		}
	}()

	l := newLedger()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func(base string) { defer wg.Done(); mixedLoad(base, token, 4, l, stop) }("http://" + n.addr)
	}
	time.Sleep(1500 * time.Millisecond)
	before := l.requests.Load()
	restartAt := time.Now()
	if out, err := exec.Command(restart[0], restart[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", restart, err, out)
	}
	t.Logf("PostgreSQL restarted in %v", time.Since(restartAt).Round(time.Millisecond))
	// Each node must take writes again, by itself.
	client := &http.Client{Timeout: 10 * time.Second}
	for i, n := range nodes {
		for {
			status, _, err := post(client, "http://"+n.addr+"/v1/tickets", token, map[string]any{
				"subject": "after the restart", "message": map[string]any{"body": "are you back?"}})
			if err == nil && status == 201 {
				t.Logf("node %d takes writes again %v after the restart began", i, time.Since(restartAt).Round(time.Millisecond))
				break
			}
			if time.Since(restartAt) > 30*time.Second {
				t.Fatalf("node %d takes no writes 30 s after the restart (last: %d %v)\n%s", i, status, err, n.log())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	time.Sleep(2 * time.Second) // load goes on after the recovery
	close(stop)
	wg.Wait()
	loaded := time.Since(restartAt)
	l.mu.Lock()
	t.Logf("%d requests in the %.1fs from the restart on (%.0f/s), answers by status %v; acknowledged: %d tickets, %d messages, %d escalations",
		l.requests.Load()-before, loaded.Seconds(), float64(l.requests.Load()-before)/loaded.Seconds(), l.statuses,
		len(l.tickets), len(l.messages), len(l.escalations))
	l.mu.Unlock()

	// The deadlines that fell due while the server was down, and those the load made meanwhile,
	// fire before anything due later (the engine claims in due order), so wait for that backlog
	// to clear first: the product's bar gives a backlog 10 s from the start; two loaded nodes
	// sharing two cores with the server get 20 s from the last write of the load.
	pgc, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer pgc.Close(context.Background())
	loadEnd := time.Now()
	for {
		var overdue int
		if err := pgc.QueryRow(context.Background(), `SELECT count(*) FROM deadlines WHERE due_at <= now()`).Scan(&overdue); err != nil {
			t.Fatal(err)
		}
		if overdue == 0 {
			t.Logf("the backlog of overdue deadlines cleared %v after the load stopped (%v after the restart began)",
				time.Since(loadEnd).Round(time.Millisecond), time.Since(restartAt).Round(time.Millisecond))
			break
		}
		if time.Since(loadEnd) > 20*time.Second {
			t.Fatalf("%d deadlines still overdue 20 s after the load stopped", overdue)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A deadline due after the restart fires, once, on one of the nodes.
	base := "http://" + nodes[1].addr
	_, tk, err := post(client, "http://"+nodes[0].addr+"/v1/tickets", token, map[string]any{
		"subject": "deadline after the restart", "message": map[string]any{"body": "The invoice shows the wrong VAT number."}})
	if err != nil {
		t.Fatal(err)
	}
	status, esc, err := post(client, base+"/v1/tickets/"+tk["id"].(string)+"/escalations", token, map[string]any{
		"to": "billing", "reason": "complexity", "by": "ana", "note": "Customer's invoice is wrong and frontline cannot reissue it."})
	if err != nil || status != 201 {
		t.Fatalf("escalate after the restart: %d %v %v", status, esc, err)
	}
	escAt := time.Now()
	unack := 0
	for unack == 0 && time.Since(escAt) < 45*time.Second {
		time.Sleep(250 * time.Millisecond)
		detail, err := get(client, base+"/v1/tickets/"+tk["id"].(string), token)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range detail["history"].([]any) {
			e := h.(map[string]any)
			if e["type"] == "escalation.unacknowledged" {
				if d, _ := e["data"].(map[string]any); d != nil && d["escalation_id"] == esc["id"] {
					unack++
				}
			}
		}
	}
	t.Logf("the escalation made after the restart went unacknowledged %d times, %v after it was made (acknowledge target 2 s)", unack, time.Since(escAt).Round(time.Millisecond))
	if unack != 1 {
		t.Errorf("the escalation made after the restart went unacknowledged %d times, want once", unack)
	}
	if time.Since(escAt) > 5*time.Second {
		t.Errorf("the deadline engine fired %v late after the restart", time.Since(escAt)-2*time.Second)
	}

	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	pgSet := func(q string) map[string]bool {
		rows, err := conn.Query(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		out := map[string]bool{}
		for rows.Next() {
			var v *string
			rows.Scan(&v)
			if v != nil {
				out[*v] = true
			}
		}
		return out
	}
	tickets, messages, escalations := pgSet("SELECT id FROM tickets"), pgSet("SELECT id FROM messages"), pgSet("SELECT id FROM escalations")
	l.mu.Lock()
	lost := 0
	for _, id := range l.tickets {
		if !tickets[id] {
			lost++
		}
	}
	for id := range l.messages {
		if !messages[id] {
			lost++
		}
	}
	for id := range l.escalations {
		if !escalations[id] {
			lost++
		}
	}
	l.mu.Unlock()
	if lost > 0 {
		t.Errorf("%d acknowledged writes lost across the restart", lost)
	}
	for name, q := range map[string]string{
		"an escalation created twice": `SELECT data->>'escalation_id' FROM events WHERE type = 'escalation.created' GROUP BY 1 HAVING count(*) > 1`,
		"a deadline that fired twice": `SELECT concat_ws(' ', type, ticket_id, data->>'target', data->>'escalation_id', data->>'due_at') FROM events
			WHERE type IN ('sla.warning', 'sla.breached', 'escalation.unacknowledged') GROUP BY 1 HAVING count(*) > 1`,
		"history with a gap or a version out of step": `SELECT t.id FROM tickets t JOIN (SELECT ticket_id, count(*) n, max(seq) m FROM events GROUP BY ticket_id) h
			ON h.ticket_id = t.id WHERE h.n <> h.m OR h.m <> t.version`,
		"a deadline overdue by more than 2 s": `SELECT id FROM deadlines WHERE due_at < now() - interval '2 seconds'`,
	} {
		if bad := pgSet(q); len(bad) > 0 {
			t.Errorf("invariant broken, %s: %v", name, keys(bad, 5))
		}
	}
	checkDeliveries(t, base, token, rc, notifyLease+30*time.Second, false, restartAt)
	for i, n := range nodes {
		if n.cmd.ProcessState != nil {
			t.Errorf("node %d exited", i)
		}
		if t.Failed() {
			for _, line := range strings.Split(n.log(), "\n") {
				if !strings.Contains(line, "msg=request") && !strings.Contains(line, "internal error") {
					t.Logf("node %d: %s", i, line)
				}
			}
		}
	}
}

// pgRestartCommand finds how to restart the local PostgreSQL server.
func pgRestartCommand(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("pg_ctlcluster"); err == nil {
		if out, err := exec.Command("pg_lsclusters", "--no-header").Output(); err == nil {
			if f := strings.Fields(string(out)); len(f) >= 2 {
				return []string{"pg_ctlcluster", "--skip-systemctl-redirect", f[0], f[1], "restart"}
			}
		}
	}
	if _, err := exec.LookPath("service"); err == nil {
		return []string{"service", "postgresql", "restart"}
	}
	t.Skip("no way to restart PostgreSQL here (pg_ctlcluster or service)")
	return nil
}
