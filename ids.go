package escalated

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// ID prefixes make ids self-describing in logs and URLs.
const (
	PrefixTicket     = "tkt_"
	PrefixMessage    = "msg_"
	PrefixEvent      = "evt_"
	PrefixEscalation = "esc_"
	PrefixAudit      = "aud_"
	PrefixToken      = "tok_"
	PrefixDeadline   = "dl_"
	PrefixDelivery   = "dlv_"
)

// idGen makes ULIDs that grow strictly in the order they are made within the process. The
// monotonic entropy alone only orders ids made in the same millisecond one after another; when
// concurrent requests interleave ids for different milliseconds, an id may be stamped with the
// newest millisecond already used instead of its own, so that the order of records made by one
// operation (an escalation closed, then another created) is the order of their ids.
type idGen struct {
	mu      sync.Mutex
	entropy *ulid.MonotonicEntropy
	last    uint64
}

var ids = &idGen{entropy: ulid.Monotonic(rand.Reader, 0)}

// NewID returns prefix + a ULID for time t (or for a slightly later time, see idGen). ULIDs sort
// by time, which is what makes id-ordered cursor pagination stable.
func NewID(prefix string, t time.Time) string {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	// A time outside what a ULID can hold (before 1970, after 10889) must not reach the shared
	// state: ulid.Timestamp wraps it, and a wrapped "last" would make every later id panic.
	var stamp uint64
	switch {
	case t.Before(time.UnixMilli(0)):
	case t.After(ulid.Time(ulid.MaxTime())):
		stamp = ulid.MaxTime()
	default:
		stamp = ulid.Timestamp(t)
	}
	ms := max(stamp, ids.last)
	ids.last = ms
	return prefix + ulid.MustNew(ms, ids.entropy).String()
}
