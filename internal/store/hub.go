package store

import (
	"context"
	"sync"
)

// Hub fans committed changes out to subscribers. Both stores use it: SQLite publishes after its
// own commits, PostgreSQL after each notification its listener receives (so a node hears its
// own changes the same way it hears other nodes'). Publishing never blocks: a subscriber whose
// buffer is full loses changes, and a Lagged marker is queued behind what it has at once, in a
// slot kept for it. Queued later, on the next publish with room, the marker could wait for an
// unrelated commit: a dispatcher that skips history events and missed a delivery's
// announcement slept until then (found in review).
type Hub struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	// ch holds up to SubscriberBuffer changes plus the Lagged marker's slot.
	ch chan Change
	// lagged: changes were dropped and the marker is queued after the last change delivered;
	// more drops need no second marker until a change is delivered after it.
	lagged bool
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[*subscriber]struct{}{}} }

// Subscribe registers a subscriber until ctx is done or the hub closes.
func (h *Hub) Subscribe(ctx context.Context) (<-chan Change, error) {
	s := &subscriber{ch: make(chan Change, SubscriberBuffer+1)}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		ch := make(chan Change)
		close(ch)
		return ch, nil
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		if _, ok := h.subs[s]; ok {
			delete(h.subs, s)
			close(s.ch)
		}
		h.mu.Unlock()
	}()
	return s.ch, nil
}

// Publish delivers changes, in order, to every subscriber.
func (h *Hub) Publish(changes ...Change) {
	if len(changes) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	// Only Publish sends, under mu, so a length below SubscriberBuffer guarantees room for the
	// change, and at most one marker ever takes the spare slot.
	for s := range h.subs {
		for _, c := range changes {
			if len(s.ch) < SubscriberBuffer {
				s.ch <- c
				s.lagged = false
				continue
			}
			if !s.lagged {
				s.ch <- Change{Lagged: true}
				s.lagged = true
			}
		}
	}
}

// Close ends every subscription; later subscriptions get a closed channel.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
}
