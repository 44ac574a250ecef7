package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/store"
)

// Event stream defaults (Config may change them, tests do).
const (
	// DefaultStreamHeartbeat is how often an idle stream sends a comment line, so that proxies
	// and load balancers that close quiet connections keep it open and a dead client is noticed.
	DefaultStreamHeartbeat = 15 * time.Second
	// DefaultStreamPoll is how often a stream reads the feed without being woken: the safety
	// net under the change announcements (a subscriber that lagged, or a PostgreSQL event held
	// back behind a long transaction).
	DefaultStreamPoll = 5 * time.Second
	// streamPage is how many events one read of the feed takes; a client far behind gets them
	// page after page without waiting.
	streamPage = 500
	// streamRetryMillis is the reconnection delay the stream suggests to EventSource clients.
	streamRetryMillis = 2000
	// streamWriteTimeout bounds each write to the client: the server's WriteTimeout would end
	// every stream after a minute, so the stream lifts it and sets its own per write instead.
	streamWriteTimeout = 30 * time.Second
)

// events serves GET /v1/events: committed ticket and escalation events as server-sent events.
// Each event is one history entry (the JSON of GET /v1/tickets/{id}'s history) with the event
// type as the SSE event name and its feed cursor as the SSE id. A client resumes by sending the
// last id it saw as Last-Event-ID (EventSource does so itself) or ?last_event_id=; without one
// the stream starts at the newest event. The stream also sends an id-only block whenever its
// position moves past events the filter skipped, and right after connecting, so that a client
// reconnecting after a quiet spell resumes from there, not from "now", and misses nothing.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	p, _ := escalated.PrincipalFrom(r.Context())
	if !s.openStream(p.TokenID) {
		w.Header().Set("Retry-After", "10")
		s.error(w, r, escalated.Errorf(escalated.ERATELIMITED,
			"token %q already has %d event streams open, the most one token may; close one first", p.Name, MaxStreamsPerToken))
		return
	}
	defer s.closeStream(p.TokenID)
	// The token is checked again while the stream is open: revoked or expired, it ends.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	secret := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	go func() {
		tick := time.NewTicker(time.Duration(streamRecheck.Load()))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := s.cfg.Access.Authenticate(ctx, secret); err != nil {
					cancel()
					return
				}
			}
		}
	}()
	s.stream(w, r.WithContext(ctx), true)
}

// streamRecheck is how often an open API event stream checks its token again, in nanoseconds
// (SetStreamRecheck). Authenticate answers from a 10 s cache that revocation on this node clears.
var streamRecheck atomic.Int64

func init() { streamRecheck.Store(int64(5 * time.Second)) }

// SetStreamRecheck sets how often open event streams check their token, for tests, and returns
// the previous value.
func SetStreamRecheck(d time.Duration) time.Duration {
	return time.Duration(streamRecheck.Swap(int64(d)))
}

// MaxStreamsPerToken is how many event streams one token may hold open at once: a console or
// integration needs one or a few; each costs a goroutine and a feed read per commit.
const MaxStreamsPerToken = 10

func (s *Server) openStream(tokenID string) bool {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	if s.streams == nil {
		s.streams = map[string]int{}
	}
	if s.streams[tokenID] >= MaxStreamsPerToken {
		return false
	}
	s.streams[tokenID]++
	return true
}

func (s *Server) closeStream(tokenID string) {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	if s.streams[tokenID]--; s.streams[tokenID] <= 0 {
		delete(s.streams, tokenID)
	}
}

// stream serves the event stream; named says whether each event carries its type as the SSE
// event name (the API's stream does, so a client can listen to one type; the console's does
// not, since a browser's EventSource has no listener for every name).
func (s *Server) stream(w http.ResponseWriter, r *http.Request, named bool) {
	q := r.URL.Query()
	after := r.Header.Get("Last-Event-ID")
	if after == "" {
		after = q.Get("last_event_id")
	}
	f := store.FeedFilter{After: after, Team: q.Get("team"), TicketID: q.Get("ticket"), Limit: streamPage}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// Subscribe before the first read, so that nothing committed in between goes unannounced.
	changes, err := s.cfg.Tickets.Changes(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	page, err := s.cfg.Tickets.ReadFeed(ctx, f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	// A stream reads no body and writes for as long as the client stays: lift the server's
	// whole-request deadlines (each write sets its own below).
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// Tell nginx-style proxies not to buffer the stream.
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	st := &stream{w: bufio.NewWriter(w), rc: rc, named: named}
	st.begin()
	fmt.Fprintf(st.w, "retry: %d\n\n", streamRetryMillis)
	if f.After == "" {
		st.id(page.Next)
	}
	for _, e := range page.Events {
		if err := st.event(e); err != nil {
			s.log.Error("event stream: encode event", "event_id", e.Event.ID, "err", err)
			return
		}
	}
	if len(page.Events) == 0 && f.After != "" && page.Next != f.After {
		st.id(page.Next)
	}
	f.After = page.Next
	if err := st.flush(); err != nil {
		return
	}
	heartbeat := time.NewTicker(s.heartbeat)
	defer heartbeat.Stop()
	poll := time.NewTicker(s.poll)
	defer poll.Stop()
	// retry re-reads soon after a wake-up that found nothing new: on PostgreSQL an announced
	// event can be held back for a moment behind an older transaction (see store.Feed).
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	var backoff time.Duration
	for {
		woke := false
		if len(page.Events) < streamPage {
		wait:
			for {
				select {
				case <-ctx.Done():
					return
				case <-s.closing:
					return
				case c, ok := <-changes:
					if !ok {
						return // the store closed: the node is shutting down
					}
					if c.Type == store.ChangeDeadline || c.Type == store.ChangeDelivery {
						continue
					}
					drainChanges(changes)
					woke = true
					break wait
				case <-retry.C:
					woke = true
					break wait
				case <-poll.C:
					break wait
				case <-heartbeat.C:
					st.begin()
					st.w.WriteString(": keepalive\n\n")
					if st.flush() != nil {
						return
					}
				}
			}
		}
		page, err = s.cfg.Tickets.ReadFeed(ctx, f)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("event stream ended: reading the feed failed; the client reconnects and resumes",
					"request_id", requestID(r.Context()), "err", err)
			}
			return
		}
		moved := page.Next != f.After
		switch {
		case moved:
			backoff = 0
			retry.Stop()
		case woke && backoff < time.Second:
			// Woken but nothing new is visible yet: look again shortly, backing off.
			backoff = max(2*backoff, 20*time.Millisecond)
			retry.Reset(backoff)
		}
		st.begin()
		for _, e := range page.Events {
			if err := st.event(e); err != nil {
				s.log.Error("event stream: encode event", "event_id", e.Event.ID, "err", err)
				return
			}
		}
		if len(page.Events) == 0 && moved {
			st.id(page.Next)
		}
		f.After = page.Next
		if err := st.flush(); err != nil {
			return
		}
	}
}

// drainChanges takes the announcements already queued: one read of the feed covers them all.
func drainChanges(ch <-chan store.Change) {
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// stream writes server-sent events through a buffer, one flush per round.
type stream struct {
	w     *bufio.Writer
	rc    *http.ResponseController
	named bool
}

// begin sets the deadline for the writes of one round.
func (st *stream) begin() {
	_ = st.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
}

// id sends an id-only block: EventSource takes it as the last event id without firing an
// event, so a reconnect resumes from this position.
func (st *stream) id(cursor string) {
	st.w.WriteString("id: " + cursor + "\n\n")
}

// event sends one history entry. JSON never contains a raw newline, so the data fits one line.
func (st *stream) event(e store.FeedEvent) error {
	data, err := json.Marshal(e.Event)
	if err != nil {
		return err
	}
	st.w.WriteString("id: " + e.Cursor + "\n")
	if st.named {
		st.w.WriteString("event: " + e.Event.Type + "\n")
	}
	st.w.WriteString("data: ")
	st.w.Write(data)
	st.w.WriteString("\n\n")
	return nil
}

func (st *stream) flush() error {
	if err := st.w.Flush(); err != nil {
		return err
	}
	return st.rc.Flush()
}

// Events serves the live event stream to a request whose principal the caller has already put
// in its context (the console's session): the same stream, filters and resumption as
// GET /v1/events, with unnamed events (the type is in each event's data), which a browser's
// EventSource hands to onmessage.
func (s *Server) Events(w http.ResponseWriter, r *http.Request) {
	if _, err := access.Authorize(r.Context(), access.ReadTickets); err != nil {
		s.error(w, r, err)
		return
	}
	s.stream(w, r, false)
}
