package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/ticket"
)

// startTuned is startServer with the configuration and the HTTP limits changed before the node
// listens.
func startTuned(t *testing.T, tune func(*config.Config), tuneHTTP func(*app.HTTPLimits)) *testServer {
	t.Helper()
	return startNode(t, "sqlite:"+filepath.Join(t.TempDir(), "escalated.db"), "testdata/policy.yaml", tune, tuneHTTP)
}

// limitedReply checks a 429: Retry-After in whole seconds and the API's JSON error naming the
// limit. It returns Retry-After.
func limitedReply(t *testing.T, s *testServer, role escalated.Role, path string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.tokens[role])
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("GET %s as %s: status %d, want 429: %s", path, role, resp.StatusCode, raw)
	}
	r := reply{Status: resp.StatusCode, Raw: raw}
	r.Body = map[string]any{}
	if err := json.Unmarshal(raw, &r.Body); err != nil {
		t.Fatalf("429 body is not JSON: %v: %s", err, raw)
	}
	r.refused(t, 429, "rate_limited", "")
	msg := r.str("error.message")
	for _, want := range []string{"rate limit", "test-" + string(role), "--rate-limit", "retry after"} {
		if !strings.Contains(msg, want) {
			t.Errorf("429 message %q does not say %q", msg, want)
		}
	}
	if r.str("error.request_id") == "" {
		t.Errorf("429 without request_id: %s", raw)
	}
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After = %q, want whole seconds >= 1", resp.Header.Get("Retry-After"))
	}
	return secs
}

// TestRateLimitPerToken: a token over its burst gets 429 with Retry-After and the usual JSON
// error; another token is unaffected; after the refill the first is served again; the refusal is
// counted by role.
func TestRateLimitPerToken(t *testing.T) {
	s := startTuned(t, func(c *config.Config) { c.RateLimit, c.RateBurst = 2, 3 }, nil)
	for range 3 {
		s.do(agent, "GET", "/v1/teams", nil).must(t, 200)
	}
	if secs := limitedReply(t, s, agent, "/v1/teams"); secs != 1 {
		t.Errorf("Retry-After = %d, want 1 (a token every 0.5 s, rounded up)", secs)
	}
	// A refused request does not spend the budget, and the message names the figures.
	r := s.do(agent, "GET", "/v1/tickets", nil)
	if r.Status != 429 || !strings.Contains(r.str("error.message"), "at most 2 requests/s per token, bursts of 3") {
		t.Fatalf("second refusal: %d %s", r.Status, r.Raw)
	}
	// Another token has its own bucket.
	for range 3 {
		s.do(readonly, "GET", "/v1/teams", nil).must(t, 200)
	}
	// Unauthenticated requests are not counted against anyone (and still get 401).
	s.do("nobody", "GET", "/v1/teams", nil).refused(t, 401, "unauthorized", "")
	// One token refills every 0.5 s.
	time.Sleep(600 * time.Millisecond)
	s.do(agent, "GET", "/v1/teams", nil).must(t, 200)

	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `escalated_rate_limited_total{role="supervisor"} 2`; !strings.Contains(string(metrics), want) {
		t.Errorf("metrics lack %s", want)
	}
}

// TestRateLimitZeroDisables: --rate-limit 0 lets a token make as many requests as it likes.
func TestRateLimitZeroDisables(t *testing.T) {
	s := startTuned(t, func(c *config.Config) { c.RateLimit, c.RateBurst = 0, 0 }, nil)
	for i := range 300 {
		if r := s.do(agent, "GET", "/v1/teams", nil); r.Status != 200 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Raw)
		}
	}
}

// TestRateLimitDefaultsOn: a node started with the defaults limits a runaway loop and not a
// client within the documented figures.
func TestRateLimitDefaultsOn(t *testing.T) {
	if c := config.Default(); c.RateLimit != config.DefaultRateLimit || c.RateBurst != config.DefaultRateBurst || c.RateLimit == 0 {
		t.Fatalf("defaults: %v/s burst %d", c.RateLimit, c.RateBurst)
	}
	s := startTuned(t, nil, nil)
	limited := 0
	start := time.Now()
	for range config.DefaultRateBurst + 100 {
		if r := s.do(agent, "GET", "/v1/teams", nil); r.Status == 429 {
			limited++
		}
	}
	// The loop ran burst+100 requests; in its time the bucket refilled by at most elapsed*rate.
	refill := int(time.Since(start).Seconds()*config.DefaultRateLimit) + 1
	if limited == 0 && refill < 100 {
		t.Fatalf("a loop of %d requests in %s was never limited", config.DefaultRateBurst+100, time.Since(start))
	}
	if limited > 100 {
		t.Fatalf("%d of the loop's requests were limited; at most 100 are over the burst", limited)
	}
}

// TestRateLimitEventStreamCountsOnce: an event stream costs its token one request for the whole
// connection, however many events it carries.
func TestRateLimitEventStreamCountsOnce(t *testing.T) {
	// A burst of 2 and (practically) no refill: the stream takes one, one request is left.
	s := startTuned(t, func(c *config.Config) { c.RateLimit, c.RateBurst = 0.01, 2 }, nil)
	c, r := s.openStream(t, agent, "", "")
	if c == nil {
		t.Fatalf("stream: %d %s", r.Status, r.Raw)
	}
	c.waitID(t)
	// Written through the service: every token here has a budget of two requests.
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "test", Role: admin})
	for i := range 3 {
		if _, err := s.app.Tickets.CreateTicket(ctx, ticket.CreateInput{Subject: fmt.Sprint("stream ", i), Message: &ticket.MessageInput{Body: "hello"}}); err != nil {
			t.Fatal(err)
		}
	}
	events := 0
	for events < 3 {
		b, ok := c.next(10 * time.Second)
		if !ok {
			t.Fatalf("stream ended or went quiet after %d events", events)
		}
		if b.Data != "" {
			events++
		}
	}
	s.do(agent, "GET", "/v1/teams", nil).must(t, 200)
	if secs := limitedReply(t, s, agent, "/v1/teams"); secs < 90 || secs > 100 {
		t.Errorf("Retry-After = %d, want about 100 (one request per 100 s)", secs)
	}
}

// TestRequestLimits: each limit of what a request may carry is refused with an error naming the
// field, the limit and what was sent.
func TestRequestLimits(t *testing.T) {
	s := startTuned(t, func(c *config.Config) { c.RateLimit = 0 }, nil)
	long := func(n int) string { return strings.Repeat("a", n) }
	tagList := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("tag-%d", i)
		}
		return out
	}
	fields := func(n int) map[string]any {
		out := map[string]any{}
		for i := range n {
			out[fmt.Sprintf("f%d", i)] = "v"
		}
		return out
	}
	ticketWith := func(k string, v any) map[string]any {
		b := map[string]any{"subject": "Limits", "message": map[string]any{"body": "hello"}}
		b[k] = v
		return b
	}
	handoffWith := func(k string, v any) map[string]any {
		b := handoffBody("lim-" + k)
		b[k] = v
		return b
	}
	lines := make([]map[string]any, ticket.MaxTranscript+1)
	for i := range lines {
		lines[i] = map[string]any{"author": "customer", "body": "hi"}
	}
	steps := make([]map[string]any, ticket.MaxBotSteps+1)
	for i := range steps {
		steps[i] = map[string]any{"intent": "x", "action": "y", "outcome": "failed", "confidence": 0.5}
	}
	cases := []struct {
		name       string
		role       escalated.Role
		method     string
		path       string
		body       any
		status     int
		field      string   // "" for a whole-body error
		wantInText []string // in the field's message (or the error message)
	}{
		{"subject", admin, "POST", "/v1/tickets", ticketWith("subject", long(ticket.MaxSubject+1)), 400, "subject", []string{"300", "got 301"}},
		{"message body", admin, "POST", "/v1/tickets", ticketWith("message", map[string]any{"body": long(ticket.MaxBody + 1)}), 400, "message.body", []string{"65536", "got 65537"}},
		{"message body on add", admin, "POST", "/v1/tickets/T-NONE/messages", map[string]any{"author": map[string]any{"kind": "customer"}, "body": long(ticket.MaxBody + 1)}, 400, "body", []string{"65536"}},
		{"number of tags", admin, "POST", "/v1/tickets", ticketWith("tags", tagList(ticket.MaxTags+1)), 400, "tags", []string{"51", "at most 50"}},
		{"tag length", admin, "POST", "/v1/tickets", ticketWith("tags", []string{long(ticket.MaxTagLen + 1)}), 400, "tags[0]", []string{"1-64", "65 bytes"}},
		{"number of custom fields", admin, "POST", "/v1/tickets", ticketWith("custom_fields", fields(ticket.MaxCustomFields+1)), 400, "custom_fields", []string{"51", "at most 50"}},
		{"custom field value", admin, "POST", "/v1/tickets", ticketWith("custom_fields", map[string]any{"k": long(ticket.MaxCustomFieldValue + 1)}), 400, "custom_fields.k", []string{"4096", "got 4097"}},
		{"custom field name", admin, "POST", "/v1/tickets", ticketWith("custom_fields", map[string]any{"Bad Key": 1}), 400, "custom_fields.Bad Key", []string{"1-64", `"Bad Key"`}},
		{"account attributes", admin, "POST", "/v1/tickets", ticketWith("account", map[string]any{"id": "acme", "attributes": fields(ticket.MaxCustomFields + 1)}), 400, "account.attributes", []string{"51", "at most 50"}},
		{"customer name", admin, "POST", "/v1/tickets", ticketWith("customer", map[string]any{"id": "c1", "name": long(ticket.MaxNameLen + 1)}), 400, "customer.name", []string{"200", "got 201"}},
		{"account name", admin, "POST", "/v1/tickets", ticketWith("account", map[string]any{"id": "acme", "name": long(ticket.MaxNameLen + 1)}), 400, "account.name", []string{"200", "got 201"}},
		{"customer id", admin, "POST", "/v1/tickets", ticketWith("customer", map[string]any{"id": long(ticket.MaxIDLen + 1)}), 400, "customer.id", []string{"1-128", "129 bytes"}},
		{"escalation note", admin, "POST", "/v1/tickets/T-NONE/escalations", map[string]any{"to": "next_tier", "reason": "complexity", "note": long(ticket.MaxNote + 1)}, 400, "note", []string{"10000", "got 10001"}},
		{"return reason", admin, "POST", "/v1/escalations/E-NONE/return", map[string]any{"reason": long(ticket.MaxNote + 1), "necessary": true}, 400, "reason", []string{"10000", "got 10001"}},
		{"resolution", admin, "POST", "/v1/escalations/E-NONE/resolve", map[string]any{"resolution": long(ticket.MaxNote + 1)}, 400, "resolution", []string{"10000", "got 10001"}},
		{"transcript lines", bot, "POST", "/v1/handoffs", handoffWith("transcript", lines), 400, "transcript", []string{"501 lines", "at most 500"}},
		{"transcript line body", bot, "POST", "/v1/handoffs", handoffWith("transcript", []map[string]any{{"author": "customer", "body": long(ticket.MaxBody + 1)}}), 400, "transcript[0].body", []string{"65536"}},
		{"bot steps", bot, "POST", "/v1/handoffs", handoffWith("bot_steps", steps), 400, "bot_steps", []string{"51 steps", "at most 50"}},
		{"bot step text", bot, "POST", "/v1/handoffs", handoffWith("bot_steps", []map[string]any{{"intent": long(ticket.MaxBotStepText + 1), "action": "y", "outcome": "failed", "confidence": 0.5}}), 400, "bot_steps[0].intent", []string{"200", "got 201"}},
		{"recommendation", bot, "POST", "/v1/handoffs", handoffWith("recommendation", long(ticket.MaxRecommendation+1)), 400, "recommendation", []string{"2000", "got 2001"}},
		{"handoff note", bot, "POST", "/v1/handoffs", handoffWith("note", long(ticket.MaxNote+1)), 400, "note", []string{"10000", "got 10001"}},
		{"evaluate transcript", bot, "POST", "/v1/evaluate", handoffWith("transcript", lines), 400, "transcript", []string{"501 lines"}},
		{"body size", admin, "POST", "/v1/tickets", ticketWith("subject", long(1<<20)), 413, "", []string{"request body", "1048576"}},
		{"policy size", admin, "PUT", "/v1/policy", "# " + long(ticket.MaxPolicySize), 413, "", []string{"policy", "1048576"}},
		{"policy check size", admin, "POST", "/v1/policy/check", "# " + long(ticket.MaxPolicySize), 413, "", []string{"policy", "1048576"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(tc.role, tc.method, tc.path, tc.body)
			code := "invalid"
			if tc.status == 413 {
				code = "too_large"
			}
			r.refused(t, tc.status, code, tc.field)
			text := r.str("error.message")
			if tc.field != "" {
				text = fmt.Sprint(get(r.Body, "error.fields").(map[string]any)[tc.field])
			}
			for _, w := range tc.wantInText {
				if !strings.Contains(text, w) {
					t.Errorf("%s: message %q does not say %q", tc.field, text, w)
				}
			}
			if len(r.Raw) > 4096 {
				t.Errorf("the error echoes the request back: %d bytes", len(r.Raw))
			}
		})
	}
}

// TestSlowHeadersCutOff: a client that sends its headers a byte at a time is disconnected at
// ReadHeaderTimeout, before it has finished.
func TestSlowHeadersCutOff(t *testing.T) {
	s := startTuned(t, nil, func(h *app.HTTPLimits) { h.ReadHeaderTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", s.app.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 100) + "\r\n\r\n"
	start := time.Now()
	cut := false
	for i := 0; i < len(req); i++ {
		if _, err := conn.Write([]byte{req[i]}); err != nil {
			cut = true
			break
		}
		time.Sleep(20 * time.Millisecond) // the whole request would take over 2.5 s
	}
	if !cut {
		// The server may close without our writes failing yet: it must not have answered.
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil && resp.StatusCode == 200 {
			t.Fatalf("a slow client was served after %s", time.Since(start))
		}
		if err != nil && !isClosed(err) {
			t.Fatalf("want the connection closed, got %v", err)
		}
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("cut off after %s", el)
	}
}

func isClosed(err error) bool {
	s := err.Error()
	return err == io.EOF || err == io.ErrUnexpectedEOF || strings.Contains(s, "reset") || strings.Contains(s, "closed") || strings.Contains(s, "broken pipe")
}

// TestHeaderSizeLimit: headers over MaxHeaderBytes get 431; a large but reasonable set passes.
func TestHeaderSizeLimit(t *testing.T) {
	s := startServer(t)
	send := func(headerBytes int) int {
		t.Helper()
		conn, err := net.Dial("tcp", s.app.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		req := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", headerBytes) + "\r\n\r\n"
		go func() { _, _ = conn.Write([]byte(req)) }()
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%d header bytes: %v", headerBytes, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(32 << 10); code != 200 {
		t.Errorf("32 KiB of headers: %d, want 200", code)
	}
	if code := send(app.MaxHeaderBytes + 8<<10); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("%d bytes of headers: %d, want 431", app.MaxHeaderBytes+8<<10, code)
	}
}

// TestEventStreamOutlivesServerTimeouts: the stream lifts the server's read and write deadlines,
// so it keeps delivering after both have passed.
func TestEventStreamOutlivesServerTimeouts(t *testing.T) {
	s := startTuned(t, nil, func(h *app.HTTPLimits) {
		h.ReadTimeout, h.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	})
	c, r := s.openStream(t, agent, "", "")
	if c == nil {
		t.Fatalf("stream: %d %s", r.Status, r.Raw)
	}
	c.waitID(t)
	time.Sleep(time.Second)
	// Through the service: an API request here would itself be bound by the short timeouts.
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "test", Role: admin})
	if _, err := s.app.Tickets.CreateTicket(ctx, ticket.CreateInput{Subject: "late", Message: &ticket.MessageInput{Body: "hello"}}); err != nil {
		t.Fatal(err)
	}
	for {
		b, ok := c.next(10 * time.Second)
		if !ok {
			t.Fatal("the stream ended or went quiet after the server's timeouts passed")
		}
		if b.Data != "" {
			return
		}
	}
}

// TestNodeSQLitePageCache: the node's SQLite writer gets the page cache its configuration
// names, and the default when it names none.
func TestNodeSQLitePageCache(t *testing.T) {
	for _, tc := range []struct{ set, want int }{{0, app.DefaultSQLiteCacheMB}, {16, 16}} {
		cfg := config.Default()
		cfg.DB, cfg.Addr, cfg.SQLiteCacheMB = "sqlite:"+filepath.Join(t.TempDir(), "cache.db"), "127.0.0.1:0", tc.set
		a, err := app.New(t.Context(), cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Store.(*sqlite.DB).WriterPageCache(t.Context())
		a.Store.Close()
		if err != nil || got != tc.want {
			t.Errorf("SQLiteCacheMB %d: writer page cache %d MiB (%v), want %d", tc.set, got, err, tc.want)
		}
	}
}
