package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
)

// testServer is a whole node on 127.0.0.1:0 over a real SQLite file, with one token per role.
type testServer struct {
	t      *testing.T
	app    *app.App
	base   string
	tokens map[escalated.Role]string
	client *http.Client
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	return startServerOn(t, "sqlite:"+filepath.Join(t.TempDir(), "escalated.db"))
}

// onBothStores runs a test body against a node on SQLite and, when ESCALATED_TEST_POSTGRES is
// set, against a node on PostgreSQL: the API must behave the same on either.
func onBothStores(t *testing.T, body func(t *testing.T, s *testServer)) {
	onBothStoresWith(t, "testdata/policy.yaml", body)
}

// onBothStoresWith is onBothStores with another policy file.
func onBothStoresWith(t *testing.T, policyPath string, body func(t *testing.T, s *testServer)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		body(t, startServerWith(t, "sqlite:"+filepath.Join(t.TempDir(), "escalated.db"), policyPath))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		body(t, startServerWith(t, pgSchema(t), policyPath))
	})
}

func startServerOn(t *testing.T, db string) *testServer {
	t.Helper()
	return startServerWith(t, db, "testdata/policy.yaml")
}

func startServerWith(t *testing.T, db, policyPath string) *testServer {
	t.Helper()
	return startNode(t, db, policyPath, func(cfg *config.Config) {
		// One token per role stands for every client of a test, some of which hammer the
		// API; the rate limit has its own tests (limits_test.go, with startTuned).
		cfg.RateLimit = 0
	}, nil)
}

// startNode starts a node with the configuration and the HTTP limits changed (tune and
// tuneHTTP may be nil) before it listens, and one token per role.
func startNode(t *testing.T, db, policyPath string, tune func(*config.Config), tuneHTTP func(*app.HTTPLimits)) *testServer {
	t.Helper()
	cfg := config.Default()
	cfg.DB = db
	cfg.Addr = "127.0.0.1:0"
	cfg.PolicyPath = policyPath
	if tune != nil {
		tune(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tuneHTTP != nil {
		tuneHTTP(&a.HTTP)
	}
	if err := a.LoadPolicy(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	s := &testServer{t: t, app: a, base: "http://" + a.Addr(), tokens: map[escalated.Role]string{}, client: &http.Client{Timeout: 30 * time.Second}}
	for _, r := range escalated.Roles {
		nt := access.NewToken{Name: "test-" + string(r), Role: r}
		if r == escalated.RoleAgent {
			// The agent token acts for the policy's first agent: the test policies give that
			// agent sees: ["*"], so generic tests can work any team's tickets; the team limit
			// itself has its own tests (scope_test.go) with agents that see only their teams.
			nt.Agent = a.Tickets.Policy().Policy.Agents[0].ID
		}
		secret, _, err := a.Access.CreateToken(ctx, nt, "test")
		if err != nil {
			t.Fatal(err)
		}
		s.tokens[r] = secret
	}
	return s
}

// reply is a decoded answer.
type reply struct {
	Status int
	Body   map[string]any
	Raw    []byte
}

func (s *testServer) do(role escalated.Role, method, path string, body any) reply {
	s.t.Helper()
	return s.doWith(s.tokens[role], method, path, body)
}

// doWith is do with a token secret ("" for none).
func (s *testServer) doWith(secret, method, path string, body any) reply {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{Status: resp.StatusCode, Raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			s.t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, path, err, raw)
		}
	}
	return r
}

// must fails the test unless the answer has the wanted status.
func (r reply) must(t *testing.T, status int) reply {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	return r
}

// refused checks an error answer: status, code and, when field is not "", that field's entry.
func (r reply) refused(t *testing.T, status int, code, field string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	e, _ := r.Body["error"].(map[string]any)
	if e == nil || e["code"] != code {
		t.Fatalf("error code %v, want %s: %s", e["code"], code, r.Raw)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Fatalf("error without message: %s", r.Raw)
	}
	if field != "" {
		fields, _ := e["fields"].(map[string]any)
		if fields[field] == nil || fields[field] == "" {
			t.Fatalf("error does not name field %q: %s", field, r.Raw)
		}
	}
}

func (r reply) str(key string) string {
	v, _ := get(r.Body, key).(string)
	return v
}

// get walks a dotted path through decoded JSON objects ("package.original_message.body").
func get(m map[string]any, path string) any {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[k]
	}
	return cur
}

func items(r reply) []map[string]any {
	raw, _ := r.Body["items"].([]any)
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i], _ = x.(map[string]any)
	}
	return out
}

func newTicket(i int) map[string]any {
	return map[string]any{
		"subject":    fmt.Sprintf("API key rejected %d", i),
		"priority":   "high",
		"channel":    "email",
		"issue_type": "api_integration",
		"tags":       []string{"api"},
		"customer":   map[string]any{"id": fmt.Sprintf("c%d", i), "name": "Jo Doe", "email": "jo@example.test"},
		"account":    map[string]any{"id": "globex", "name": "Globex", "tier": "pro", "attributes": map[string]any{"plan": "pro", "arr": 12000}},
		"message":    map[string]any{"author": map[string]any{"kind": "customer"}, "body": "Our API key is rejected with 401 since this morning."},
	}
}

const longNote = "Customer's API key gets 401 after rotation; logs attached, needs integration team."
