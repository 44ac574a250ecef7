package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
)

// sseBlock is one dispatched block of a server-sent event stream: an event (Data set), an
// id-only block (ID moved, no data), or a comment (Comment set).
type sseBlock struct {
	ID, Event, Data, Comment string
}

// sseClient reads a stream the way EventSource does: fields per line, a blank line
// dispatches, and the last event id persists across blocks (an id-only block moves it).
type sseClient struct {
	resp   *http.Response
	cancel context.CancelFunc
	blocks chan sseBlock
	lastID string
}

// openStream opens GET /v1/events?query with Last-Event-ID lastID ("" for none). A non-200
// answer is returned as a reply and the client is nil.
func (s *testServer) openStream(t *testing.T, role escalated.Role, query, lastID string) (*sseClient, reply) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/events?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if tok, ok := s.tokens[role]; ok {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		r := reply{Status: resp.StatusCode, Raw: raw}
		_ = json.Unmarshal(raw, &r.Body)
		return nil, r
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("event stream Content-Type = %q", ct)
	}
	c := &sseClient{resp: resp, cancel: cancel, blocks: make(chan sseBlock, 1024), lastID: lastID}
	go c.read()
	t.Cleanup(c.close)
	return c, reply{Status: 200}
}

func (c *sseClient) read() {
	defer close(c.blocks)
	sc := bufio.NewScanner(c.resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var b sseBlock
	var data []string
	fields := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if fields {
				b.Data = strings.Join(data, "\n")
				c.blocks <- b
			}
			b, data, fields = sseBlock{ID: b.ID}, nil, false
			continue
		}
		if strings.HasPrefix(line, ":") {
			c.blocks <- sseBlock{Comment: strings.TrimSpace(line[1:])}
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		fields = true
		switch name {
		case "id":
			b.ID = value
		case "event":
			b.Event = value
		case "data":
			data = append(data, value)
		}
	}
}

func (c *sseClient) close() {
	c.cancel()
	c.resp.Body.Close()
}

// next returns the next block, or ok false when the stream ended or nothing came in time.
func (c *sseClient) next(timeout time.Duration) (sseBlock, bool) {
	select {
	case b, ok := <-c.blocks:
		if ok && b.Comment == "" && b.ID != "" {
			c.lastID = b.ID
		}
		return b, ok
	case <-time.After(timeout):
		return sseBlock{}, false
	}
}

// streamEvent is the data of one event block.
type streamEvent struct {
	ID       string `json:"id"`
	TicketID string `json:"ticket_id"`
	Seq      int64  `json:"seq"`
	Type     string `json:"type"`
	Team     string `json:"team"`
	FromTeam string `json:"from_team"`
}

func decodeEvent(t *testing.T, b sseBlock) streamEvent {
	t.Helper()
	var e streamEvent
	if err := json.Unmarshal([]byte(b.Data), &e); err != nil {
		t.Fatalf("event data is not JSON: %v\n%s", err, b.Data)
	}
	if e.Type != b.Event {
		t.Fatalf("SSE event name %q but data type %q", b.Event, e.Type)
	}
	return e
}

// waitID reads until the stream has given an id (the id-only block sent on connect).
func (c *sseClient) waitID(t *testing.T) {
	t.Helper()
	for c.lastID == "" {
		if _, ok := c.next(10 * time.Second); !ok {
			t.Fatal("no id block within 10s of connecting")
		}
	}
}

// post sends one API request from a goroutine that must not call t.Fatal; it returns the
// decoded answer or an error naming the status.
func (s *testServer) postAsync(path string, body any, want int) (map[string]any, error) {
	j, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", s.base+path, bytes.NewReader(j))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.tokens[agent])
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return nil, fmt.Errorf("POST %s: status %d, want %d: %s", path, resp.StatusCode, want, raw)
	}
	var out map[string]any
	return out, json.Unmarshal(raw, &out)
}

// TestEventStreamResumeMissesNothing: writers create tickets, add messages and escalate while a
// console reads the stream, drops the connection every few events and reconnects with
// Last-Event-ID, sometimes after a pause in which more was written. In the end every ticket's
// history arrived whole: each seq from 1 to the ticket's version exactly once, in order.
func TestEventStreamResumeMissesNothing(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		c, _ := s.openStream(t, escalated.RoleSupervisor, "", "")
		c.waitID(t)

		const writers, perWriter = 3, 5
		var mu sync.Mutex
		var ids []string
		errc := make(chan error, writers)
		for w := range writers {
			go func() {
				errc <- func() error {
					for i := range perWriter {
						tk, err := s.postAsync("/v1/tickets", newTicket(100*w+i), 201)
						if err != nil {
							return err
						}
						id := tk["id"].(string)
						mu.Lock()
						ids = append(ids, id)
						mu.Unlock()
						for m := range 2 {
							if _, err := s.postAsync("/v1/tickets/"+id+"/messages", map[string]any{
								"author": map[string]any{"kind": "customer"}, "body": fmt.Sprintf("Any news? (%d)", m)}, 201); err != nil {
								return err
							}
						}
						if i%2 == 0 {
							if _, err := s.postAsync("/v1/tickets/"+id+"/escalations", map[string]any{"to": "billing", "reason": "other", "note": longNote}, 201); err != nil {
								return err
							}
						}
					}
					return nil
				}()
			}()
		}

		seen := map[string][]int64{}
		events, reconnects := 0, 0
		reconnect := func(pause time.Duration) {
			c.close()
			time.Sleep(pause)
			var r reply
			c, r = s.openStream(t, escalated.RoleSupervisor, "", c.lastID)
			if c == nil {
				t.Fatalf("reconnect with Last-Event-ID: %s", r.Raw)
			}
			reconnects++
		}
		complete := func() bool {
			mu.Lock()
			defer mu.Unlock()
			if len(ids) < writers*perWriter {
				return false
			}
			for _, id := range ids {
				v := s.do(agent, "GET", "/v1/tickets/"+id, nil).must(t, 200).Body["version"].(float64)
				if int64(len(seen[id])) < int64(v) {
					return false
				}
			}
			return true
		}
		writersDone := 0
		deadline := time.Now().Add(60 * time.Second)
		for writersDone < writers || !complete() {
			if time.Now().After(deadline) {
				t.Fatalf("after 60s: %d events over %d reconnects, tickets incomplete: %v", events, reconnects, seen)
			}
			select {
			case err := <-errc:
				if err != nil {
					t.Fatal(err)
				}
				writersDone++
				continue
			default:
			}
			b, ok := c.next(200 * time.Millisecond)
			if !ok {
				if writersDone == writers {
					reconnect(0)
				}
				continue
			}
			if b.Data == "" {
				continue
			}
			e := decodeEvent(t, b)
			if e.ID == "" || b.ID == "" {
				t.Fatalf("event without id: %+v", b)
			}
			seen[e.TicketID] = append(seen[e.TicketID], e.Seq)
			events++
			if events%7 == 0 {
				reconnect(time.Duration(events%3) * 30 * time.Millisecond)
			}
		}
		for _, id := range ids {
			v := int64(s.do(agent, "GET", "/v1/tickets/"+id, nil).Body["version"].(float64))
			got := seen[id]
			ok := int64(len(got)) == v
			for i := range got {
				ok = ok && got[i] == int64(i+1)
			}
			if !ok {
				t.Errorf("ticket %s (version %d): the stream gave seqs %v, want 1..%d once each in order", id, v, got, v)
			}
		}
		t.Logf("%d events of %d tickets over %d reconnects, none missed or repeated", events, len(ids), reconnects)
	})
}

// TestEventStreamTeamFilter: a team's stream carries the events of tickets in the team,
// including the one that moves a ticket in and the one that moves it out, and none of other
// teams' tickets; its position still moves past them (id-only blocks), so a reconnect resumes
// from there.
func TestEventStreamTeamFilter(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *testServer) {
		c, _ := s.openStream(t, agent, "team=billing", "")
		c.waitID(t)
		start := c.lastID

		other := s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, 201).str("id")
		// Nothing of the frontline ticket arrives, but the position moves past it.
		for c.lastID == start {
			b, ok := c.next(10 * time.Second)
			if !ok {
				t.Fatal("the billing stream did not move past the frontline ticket's events within 10s")
			}
			if b.Data != "" {
				t.Fatalf("the billing stream gave an event of a frontline ticket: %s", b.Data)
			}
		}

		esc := s.do(agent, "POST", "/v1/tickets/"+other+"/escalations", map[string]any{"to": "billing", "reason": "other", "note": longNote}).must(t, 201).str("id")
		s.do(agent, "POST", "/v1/escalations/"+esc+"/acknowledge", map[string]any{"by": "bea"}).must(t, 200)
		s.do(agent, "POST", "/v1/escalations/"+esc+"/return", map[string]any{"by": "bea", "reason": "Wrong desk: the refund is already on its way.", "necessary": false}).must(t, 200)
		hist := s.do(agent, "GET", "/v1/tickets/"+other, nil).must(t, 200).Body["history"].([]any)
		var want []string
		for _, h := range hist {
			e := h.(map[string]any)
			if e["team"] == "billing" || e["from_team"] == "billing" {
				want = append(want, fmt.Sprintf("%v:%v", e["seq"], e["type"]))
			}
		}
		var got []string
		var moves []streamEvent
		for len(got) < len(want) {
			b, ok := c.next(10 * time.Second)
			if !ok {
				t.Fatalf("billing stream gave %v, want %v", got, want)
			}
			if b.Data == "" {
				continue
			}
			e := decodeEvent(t, b)
			got = append(got, fmt.Sprintf("%d:%s", e.Seq, e.Type))
			if e.Type == escalated.EventEscalationCreated || e.Type == escalated.EventEscalationReturned {
				moves = append(moves, e)
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("billing stream gave %v, want %v", got, want)
		}
		if len(moves) != 2 || moves[0].Team != "billing" || moves[0].FromTeam != "frontline" ||
			moves[1].Team != "frontline" || moves[1].FromTeam != "billing" {
			t.Errorf("the moves in and out of billing carry teams %+v, want billing from frontline, then frontline from billing", moves)
		}
	})
}

// TestEventStreamRefusals: a bad Last-Event-ID, an unknown team and a missing token get a
// clear JSON error before any stream starts.
func TestEventStreamRefusals(t *testing.T) {
	s := startServer(t)
	s.do(agent, "POST", "/v1/tickets", newTicket(1)).must(t, 201)
	for _, c := range []struct {
		query, lastID string
		status        int
		code, field   string
	}{
		{"", "not-an-id", 400, "invalid", ""},
		{"last_event_id=-3", "", 400, "invalid", ""},
		{"", "99999999", 400, "invalid", ""},
		{"team=nosuchteam", "", 400, "invalid", "team"},
	} {
		_, r := s.openStream(t, agent, c.query, c.lastID)
		r.refused(t, c.status, c.code, c.field)
	}
	_, r := s.openStream(t, "", "", "")
	r.refused(t, 401, "unauthorized", "")
	// FeedStart replays from the first event.
	c, _ := s.openStream(t, escalated.RoleReadonly, "last_event_id=0", "")
	b, ok := c.next(10 * time.Second)
	for ok && b.Data == "" {
		b, ok = c.next(10 * time.Second)
	}
	if !ok || decodeEvent(t, b).Type != escalated.EventTicketCreated {
		t.Fatalf("a stream from 0 should start with the first ticket.created: %+v", b)
	}
}

// TestEventStreamHeartbeatAndShutdown: an idle stream sends keepalive comments, and a node
// shutting down ends its streams at once instead of waiting out the shutdown timeout.
func TestEventStreamHeartbeatAndShutdown(t *testing.T) {
	cfg := config.Default()
	cfg.DB = "sqlite:" + filepath.Join(t.TempDir(), "escalated.db")
	cfg.Addr, cfg.PolicyPath, cfg.StreamHeartbeat = "127.0.0.1:0", "testdata/policy.yaml", 100*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.LoadPolicy(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	tok, _, err := a.Access.CreateToken(ctx, access.NewToken{Name: "console", Role: escalated.RoleReadonly}, "test")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, base: "http://" + a.Addr(), tokens: map[escalated.Role]string{escalated.RoleReadonly: tok}}
	c, _ := s.openStream(t, escalated.RoleReadonly, "team="+url.QueryEscape("frontline"), "")
	keepalives := 0
	for keepalives < 3 {
		b, ok := c.next(5 * time.Second)
		if !ok {
			t.Fatalf("idle stream: %d keepalives, then nothing for 5s", keepalives)
		}
		if b.Comment == "keepalive" {
			keepalives++
		}
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve with an open stream returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not return within 15s of shutdown with an event stream open")
	}
	for {
		if _, ok := c.next(5 * time.Second); !ok {
			break
		}
	}
	t.Logf("shutdown with an open stream took %v", time.Since(start).Round(time.Millisecond))
}
