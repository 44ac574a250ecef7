package simulate

import (
	"context"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/history"
	"github.com/escalated/escalated/internal/ticket"
)

// ahead computes the signals of the history's messages (ticket.created and message.added) on
// a goroutine of its own, in history order, while the replay's one goroutine decides: the
// signals were a tenth of a replay's CPU, and they are a pure function of the message's text
// and the policy, so the result is the same byte for byte. The replay asks for each event's
// signals in history order and passes them to the service (ticket.MessageInput.Signals).
type ahead struct {
	out <-chan []aheadSignals
	// chunk is the chunk being read, from its next unread entry.
	chunk []aheadSignals
}

// aheadSignals are the signals of events[i].Message.
type aheadSignals struct {
	i   int
	sig escalated.Signals
}

// aheadOff turns the goroutine off (the replay's goroutine then computes every message's
// signals in the service): set only by a test, to compare.
var aheadOff bool

// aheadDepth is how many messages the goroutine may compute before the replay reaches them.
// They go over in chunks of aheadChunk: the goroutine runs far ahead, so a channel of single
// results was full nearly always, and every receive woke the goroutine for one message and
// put it to sleep again (the futex calls were 3% of a replay's CPU).
const (
	aheadDepth = 1024
	aheadChunk = 64
)

// startAhead starts computing the signals of events' messages with live's policy; the
// goroutine ends with the history or with ctx.
func startAhead(ctx context.Context, live *ticket.Live, events []history.Event) *ahead {
	if aheadOff {
		return nil
	}
	out := make(chan []aheadSignals, aheadDepth/aheadChunk)
	go func() {
		defer close(out)
		chunk := make([]aheadSignals, 0, aheadChunk)
		send := func() bool {
			select {
			case out <- chunk:
				chunk = make([]aheadSignals, 0, aheadChunk)
				return true
			case <-ctx.Done():
				return false
			}
		}
		for i := range events {
			if !carriesMessage(&events[i]) {
				continue
			}
			if ctx.Err() != nil {
				return // the replay ended: not even the chunk's rest
			}
			chunk = append(chunk, aheadSignals{i: i, sig: live.MessageSignals(events[i].Message.Body)})
			if len(chunk) == aheadChunk && !send() {
				return
			}
		}
		if len(chunk) > 0 {
			send()
		}
	}()
	return &ahead{out: out}
}

// carriesMessage says whether e is one whose message the replay hands the service.
func carriesMessage(e *history.Event) bool {
	return e.Message != nil && (e.Type == history.TicketCreated || e.Type == history.MessageAdded)
}

// signals returns the signals of events[i]'s message, nil when there are none for it (the
// service then computes them itself). Calls come in history order; the signals of events the
// replay passed over without asking are dropped.
func (a *ahead) signals(i int) *escalated.Signals {
	if a == nil {
		return nil
	}
	for {
		if len(a.chunk) == 0 {
			c, ok := <-a.out
			if !ok {
				return nil
			}
			a.chunk = c
		}
		head := &a.chunk[0]
		switch {
		case head.i == i:
			sig := head.sig
			a.chunk = a.chunk[1:]
			return &sig
		case head.i > i:
			return nil
		}
		a.chunk = a.chunk[1:]
	}
}
