package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/ticket"
)

// The fuzz targets here send their inputs through the whole API: the router, authentication
// with an admin token, the strict decoder, the services and a real SQLite store. The server is
// built once per fuzz worker (inputs that succeed write rows; that is fine), and each answer
// must be a client error in the documented shape or a success, never a 5xx or a panic (the
// server turns a panic into a 500, so "no 500" covers both).

// fuzzPolicyPath is the organisation the API tests in internal/app run against.
const fuzzPolicyPath = "../app/testdata/policy.yaml"

// fuzzServer is one API server over its own SQLite file, with an admin token.
type fuzzServer struct {
	h     http.Handler
	token string
	tk    *ticket.Service
}

func newFuzzServer(f *testing.F) *fuzzServer {
	f.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	src, err := os.ReadFile(fuzzPolicyPath)
	if err != nil {
		f.Fatal(err)
	}
	pol, err := policy.Parse(fuzzPolicyPath, src)
	if err != nil {
		f.Fatal(err)
	}
	tk := ticket.New(st, time.Now, nil)
	if _, err := tk.LoadPolicy(ctx, pol, "system:fuzz"); err != nil {
		f.Fatal(err)
	}
	acc := access.NewService(st, time.Now, slog.New(slog.DiscardHandler))
	secret, _, err := acc.CreateToken(ctx, access.NewToken{Name: "fuzz-admin", Role: escalated.RoleAdmin}, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	srv := New(Config{Tickets: tk, Access: acc, Deliveries: notify.NewService(st, time.Now, func() {}),
		Analytics: analytics.New(st, time.Now, func() *policy.Policy {
			if l := tk.Policy(); l != nil {
				return l.Policy
			}
			return nil
		}, analytics.Options{}),
		StreamHeartbeat: time.Hour, StreamPoll: time.Hour})
	f.Cleanup(srv.CloseStreams)
	return &fuzzServer{h: srv, token: secret, tk: tk}
}

// do serves one request and returns the recorder.
func (s *fuzzServer) do(ctx context.Context, method, path string, body []byte, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequestWithContext(ctx, method, path, bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+s.token)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w
}

// must serves a setup request and fails unless it got want; it returns the answer's id.
func (s *fuzzServer) must(t testing.TB, want int, method, path, body string) string {
	t.Helper()
	w := s.do(context.Background(), method, path, []byte(body), nil)
	if w.Code != want {
		t.Fatalf("setup %s %s: status %d, want %d: %s", method, path, w.Code, want, w.Body.Bytes())
	}
	var out struct {
		ID     string `json:"id"`
		Ticket struct {
			ID string `json:"id"`
		} `json:"ticket"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	if out.Ticket.ID != "" {
		return out.Ticket.ID
	}
	return out.ID
}

// checkAnswer fails on a 5xx, on an answer that is not JSON, and on an error answer without
// the documented {"error": {"code", "message"}} shape.
func checkAnswer(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("%s: status %d: %s", what, w.Code, w.Body.Bytes())
	}
	if !json.Valid(w.Body.Bytes()) {
		t.Fatalf("%s: status %d, answer is not JSON: %q", what, w.Code, w.Body.Bytes())
	}
	if w.Code >= 400 {
		var e errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s: status %d without an error code and message: %s", what, w.Code, w.Body.Bytes())
		}
		if got := statusOf[e.Error.Code]; got != w.Code {
			t.Fatalf("%s: status %d with code %q (which maps to %d)", what, w.Code, e.Error.Code, got)
		}
	}
}

const (
	fuzzNote    = "Customer's API key gets 401 after rotation; logs attached, needs integration team."
	fuzzTicket  = `{"subject":"API key rejected","priority":"high","channel":"email","issue_type":"api_integration","tags":["api"],"customer":{"id":"c1","name":"Jo Doe","email":"jo@example.test"},"account":{"id":"globex","name":"Globex","tier":"pro","attributes":{"plan":"pro","arr":12000}},"message":{"author":{"kind":"customer"},"body":"Our API key is rejected with 401 since this morning."}}`
	fuzzEscBody = `{"to":"integrations","reason":"complexity","note":"` + fuzzNote + `","by":"ana"}`
)

// jsonEndpoint is one route that takes a JSON body. needs says which object its path names:
// "" none, "ticket" a fresh open ticket, "pending" a pending escalation, "acked" an
// acknowledged one, "agent" the agent ana.
type jsonEndpoint struct {
	method, path, needs string
	seeds               []string
}

var jsonEndpoints = []jsonEndpoint{
	{"POST", "/v1/tickets", "", []string{fuzzTicket,
		`{"subject":"x","message":{"author":{"kind":"customer"},"body":"hi"}}`,
		`{"subject":"Webhooks","team":"billing","assignee":"bea","language":"pt-BR","custom_fields":{"order":"A-1","n":1.5,"ok":true,"z":null},"message":{"author":{"kind":"agent","id":"ana"},"body":"x","internal":true}}`}},
	{"PATCH", "/v1/tickets/{id}", "ticket", []string{
		`{"status":"pending","assignee":"ana","custom_fields":{"order_id":"A-1182"},"by":"ana"}`,
		`{"assignee":null,"priority":"urgent","tags":["vip"],"subject":"s","issue_type":"x","language":"en"}`,
		`{"status":"closed"}`, `{"custom_fields":{"a":{"b":[1,2]}}}`}},
	{"POST", "/v1/tickets/{id}/messages", "ticket", []string{
		`{"author":{"kind":"agent","id":"ana"},"body":"Checked the delivery log; the endpoint answers 410.","internal":true}`,
		`{"author":{"kind":"customer"},"body":"I want to talk to a lawyer"}`}},
	{"POST", "/v1/tickets/{id}/escalations", "ticket", []string{fuzzEscBody,
		`{"to":"next_tier","reason":"complexity","note":"` + fuzzNote + `","by":"ana"}`,
		`{"to":"account_team","reason":"customer_tier","note":"short"}`}},
	{"POST", "/v1/escalations/{id}/acknowledge", "pending", []string{`{"by":"ben"}`, `{"by":"ben","context_sufficient":false}`, `{}`, ``}},
	{"POST", "/v1/escalations/{id}/return", "acked", []string{
		`{"by":"ben","reason":"Customer's endpoint was moved; see the runbook on 410 answers.","necessary":false}`,
		`{"by":"ben","reason":"x","necessary":true}`}},
	{"POST", "/v1/escalations/{id}/resolve", "acked", []string{
		`{"by":"ben","resolution":"Re-registered the webhook endpoint; deliveries resumed."}`, `{"resolution":""}`}},
	{"POST", "/v1/handoffs", "", []string{
		`{"handoff_id":"h1","subject":"Charged twice for order 4417","priority":"high","channel":"chat","issue_type":"payments","customer":{"id":"cus_1","name":"Jo Doe","email":"jo@example.test"},"account":{"id":"globex","name":"Globex","tier":"pro"},"transcript":[{"author":"customer","body":"I was charged twice.","at":"2026-11-28T10:15:02Z"},{"author":"bot","body":"Let me try.","at":"2026-11-28T10:16:02Z"}],"bot_steps":[{"intent":"refund_request","action":"looked up order","outcome":"failed","confidence":0.71}],"recommendation":"Refund manually.","note":"Duplicate charge confirmed; automatic refund failed."}`,
		`{"ticket_id":"tkt_nope","transcript":[{"author":"customer","body":"Can a human help?"}],"requested_team":"billing"}`}},
	{"POST", "/v1/evaluate", "", []string{fuzzTicket,
		`{"subject":"x","transcript":[{"author":"customer","body":"hi","at":"1999-01-01T00:00:00Z"}],"note":"n"}`}},
	{"PATCH", "/v1/agents/{id}", "agent", []string{`{"status":"away"}`, `{"capacity":3}`, `{"status":"online","capacity":-1}`}},
}

// openAPIExamples returns each JSON request body example of docs/openapi.yaml, by
// "METHOD /path" (the document's own path template).
func openAPIExamples(f *testing.F) map[string][]string {
	b, err := os.ReadFile(openAPIPath)
	if err != nil {
		f.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		f.Fatal(err)
	}
	out := map[string][]string{}
	for path, ops := range doc.Paths {
		for method, node := range ops {
			var op struct {
				RequestBody struct {
					Content map[string]struct {
						Example any `yaml:"example"`
					} `yaml:"content"`
				} `yaml:"requestBody"`
			}
			if !slices.Contains(httpMethods, method) || node.Decode(&op) != nil {
				continue
			}
			ex := op.RequestBody.Content["application/json"].Example
			if ex == nil {
				continue
			}
			j, err := json.Marshal(ex)
			if err != nil {
				continue
			}
			key := strings.ToUpper(method) + " " + path
			out[key] = append(out[key], string(j))
		}
	}
	return out
}

// fuzzState holds the objects the endpoints' paths name. An object an input may have used up
// (a ticket closed or escalated, an escalation acknowledged, returned or resolved) is dropped
// after a success and made again for the next input, so that most inputs reach the service
// with an object in the state its action needs.
type fuzzState struct {
	s                    *fuzzServer
	ticket, pending, ack string
}

func (st *fuzzState) id(t testing.TB, needs string) string {
	switch needs {
	case "ticket":
		if st.ticket == "" {
			st.ticket = st.s.must(t, 201, "POST", "/v1/tickets", fuzzTicket)
		}
		return st.ticket
	case "pending":
		if st.pending == "" {
			tid := st.s.must(t, 201, "POST", "/v1/tickets", fuzzTicket)
			st.pending = st.s.must(t, 201, "POST", "/v1/tickets/"+tid+"/escalations", fuzzEscBody)
		}
		return st.pending
	case "acked":
		if st.ack == "" {
			tid := st.s.must(t, 201, "POST", "/v1/tickets", fuzzTicket)
			st.ack = st.s.must(t, 201, "POST", "/v1/tickets/"+tid+"/escalations", fuzzEscBody)
			st.s.must(t, 200, "POST", "/v1/escalations/"+st.ack+"/acknowledge", `{"by":"ben"}`)
		}
		return st.ack
	case "agent":
		return "ana"
	}
	return ""
}

func (st *fuzzState) usedUp(needs string) {
	switch needs {
	case "ticket":
		st.ticket = ""
	case "pending":
		st.pending = ""
	case "acked":
		st.ack = ""
	}
}

// FuzzAPIJSONBody sends arbitrary bodies to every route that takes a JSON body (tickets,
// ticket patch, messages, escalations, acknowledge, return, resolve, handoffs, evaluate, agent
// patch), chosen by the first argument, as an admin, with the object the path names in the
// state its action needs. The answer must never be a 5xx (a panic answers 500), must be JSON,
// and an error must carry the documented code and message with the status that code maps to.
// Seeds: valid bodies from the API tests and every request example of docs/openapi.yaml.
func FuzzAPIJSONBody(f *testing.F) {
	examples := openAPIExamples(f)
	for i, e := range jsonEndpoints {
		for _, s := range e.seeds {
			f.Add(uint8(i), s)
		}
		for _, s := range examples[e.method+" "+e.path] {
			f.Add(uint8(i), s)
		}
	}
	f.Add(uint8(0), `{"subject":"x","message":{"author":{"kind":"customer"},"body":"hi"}} {}`)
	f.Add(uint8(3), `{"to":1}`)
	s := newFuzzServer(f)
	st := &fuzzState{s: s}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		e := jsonEndpoints[int(which)%len(jsonEndpoints)]
		path := strings.Replace(e.path, "{id}", st.id(t, e.needs), 1)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		w := s.do(ctx, e.method, path, []byte(body), nil)
		checkAnswer(t, fmt.Sprintf("%s %s %q", e.method, e.path, body), w)
		if w.Code < 300 {
			st.usedUp(e.needs)
		}
	})
}

// FuzzAPIPolicyDocument sends arbitrary YAML documents to POST /v1/policy/check (the API's
// `escalated policy check`) and PUT /v1/policy, as an admin: never a 5xx or a panic, always
// JSON in the documented shape; a document the check calls valid is accepted by PUT (200) and
// one it calls invalid is refused (400), and a policy PUT makes live answers GET /v1/policy
// with the same hash. Seeds: the policies in the repository.
func FuzzAPIPolicyDocument(f *testing.F) {
	files, _ := filepath.Glob("../policy/testdata/*.yaml")
	files = append(files, "../demo/policy.yaml", fuzzPolicyPath)
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(src))
		f.Add(string(src[:len(src)/2]))
	}
	f.Add("version: 2\n")
	f.Add("\xff\xfe")
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, doc string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		w := s.do(ctx, "POST", "/v1/policy/check", []byte(doc), map[string]string{"Content-Type": "application/yaml"})
		checkAnswer(t, fmt.Sprintf("check %q", doc), w)
		var check struct {
			Valid bool `json:"valid"`
		}
		if w.Code == 200 {
			if err := json.Unmarshal(w.Body.Bytes(), &check); err != nil {
				t.Fatal(err)
			}
		}
		w = s.do(ctx, "PUT", "/v1/policy", []byte(doc), map[string]string{"Content-Type": "application/yaml"})
		checkAnswer(t, fmt.Sprintf("put %q", doc), w)
		if len(doc) == 0 || len(doc) > ticket.MaxPolicySize {
			return
		}
		if check.Valid != (w.Code == 200) {
			t.Fatalf("check says valid=%v, PUT answers %d: %s\n%q", check.Valid, w.Code, w.Body.Bytes(), doc)
		}
		if w.Code != 200 {
			return
		}
		var put struct {
			Hash string `json:"hash"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &put)
		g := s.do(ctx, "GET", "/v1/policy", nil, nil)
		checkAnswer(t, "get policy", g)
		var got struct {
			Hash string `json:"hash"`
		}
		_ = json.Unmarshal(g.Body.Bytes(), &got)
		if g.Code != 200 || got.Hash != put.Hash {
			t.Fatalf("PUT made %s live, GET answers %d %s", put.Hash, g.Code, g.Body.Bytes())
		}
	})
}

// flushCanceller records a stream and ends it at its first flush, which comes after the status
// and the first page: the handler then returns, so one input costs one feed read.
type flushCanceller struct {
	*httptest.ResponseRecorder
	cancel context.CancelFunc
}

func (w *flushCanceller) Flush() {
	w.ResponseRecorder.Flush()
	w.cancel()
}

// FuzzEventsLastEventID opens GET /v1/events with arbitrary Last-Event-ID headers (and
// last_event_id and team query values) against a store holding a few events: the answer is 200
// (a stream) or 400 (a cursor this store never issued, or an unknown team) in the documented
// error shape, never a 500 or a panic. The cursor parsing under test is the SQLite store's
// (store.FeedFilter.After through ticket.Service.ReadFeed).
func FuzzEventsLastEventID(f *testing.F) {
	for _, s := range []string{"", "0", "1", "3", "00", "-1", "+1", " 1", "1 ", "9223372036854775807",
		"9223372036854775808", "18446744073709551616", "1e3", "0x10", "abc", "1.0", "\u0661", "٣",
		"\x00", "evt_01JNQ8Z5Y4M3K2H1G0F9E8D7C7", "2026-11-28T10:00:00Z/5"} {
		f.Add(s, "", "")
	}
	f.Add("", "2", "")
	f.Add("1", "", "frontline")
	f.Add("", "x", "nope")
	s := newFuzzServer(f)
	for range 3 {
		s.must(f, 201, "POST", "/v1/tickets", fuzzTicket)
	}
	f.Fuzz(func(t *testing.T, lastEventID, query, team string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		q := "/v1/events"
		var params []string
		if query != "" {
			params = append(params, "last_event_id="+urlEscape(query))
		}
		if team != "" {
			params = append(params, "team="+urlEscape(team))
		}
		if len(params) > 0 {
			q += "?" + strings.Join(params, "&")
		}
		r := httptest.NewRequestWithContext(ctx, "GET", q, nil)
		r.Header.Set("Authorization", "Bearer "+s.token)
		if lastEventID != "" {
			r.Header.Set("Last-Event-ID", lastEventID)
		}
		w := &flushCanceller{ResponseRecorder: httptest.NewRecorder(), cancel: cancel}
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.h.ServeHTTP(w, r)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("GET %s with Last-Event-ID %q did not return", q, lastEventID)
		}
		what := fmt.Sprintf("GET %s Last-Event-ID %q", q, lastEventID)
		switch w.Code {
		case 200:
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Fatalf("%s: 200 with Content-Type %q", what, ct)
			}
		case 400:
			checkAnswer(t, what, w.ResponseRecorder)
		default:
			t.Fatalf("%s: status %d, want 200 or 400: %s", what, w.Code, w.Body.Bytes())
		}
	})
}

// urlEscape escapes a query value by hand, so that the request line stays parseable whatever
// the bytes.
func urlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
