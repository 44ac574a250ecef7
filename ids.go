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
)

var (
	idMu      sync.Mutex
	idEntropy = ulid.Monotonic(rand.Reader, 0)
)

// NewID returns prefix + a ULID for time t. ULIDs sort by time, and within one process the
// monotonic entropy keeps ids made in the same millisecond in creation order, which is what
// makes id-ordered cursor pagination stable.
func NewID(prefix string, t time.Time) string {
	idMu.Lock()
	defer idMu.Unlock()
	return prefix + ulid.MustNew(ulid.Timestamp(t), idEntropy).String()
}
