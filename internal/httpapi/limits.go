package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
)

// Transport limits. The limits of the fields inside a body (lengths, counts, transcript lines,
// policy size) are the table in internal/ticket/limits.go; docs/security.md lists both.
const (
	// MaxBody is the largest JSON request body accepted; a larger one gets 413 too_large. The
	// largest legitimate body is a handoff: 500 transcript lines would not fit at their maximum
	// size, but a real conversation (a few dozen lines of a few hundred bytes) is far below.
	MaxBody = 1 << 20
	// maxTokenLimiters bounds the per-token rate limiters kept. Tokens are few (one per
	// integration and person), so this is never reached in practice; past it, limiters with a
	// full bucket are dropped (a fresh one behaves the same), and if that is not enough, all.
	maxTokenLimiters = 10_000
	// limiterSweep is how often idle limiters (full buckets) are forgotten.
	limiterSweep = time.Minute
)

// tokenLimits is a token bucket per authenticated API token: RateLimit requests per second
// sustained, RateBurst at once. A request is counted once, when it is authenticated, so a
// GET /v1/events stream counts once for the whole connection, not once per event.
type tokenLimits struct {
	rate  rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
	// limited counts refusals by role (nil without a Registerer).
	limited *prometheus.CounterVec
}

// newTokenLimits returns nil (no limit) when perSecond is 0.
func newTokenLimits(perSecond float64, burst int) *tokenLimits {
	if perSecond <= 0 {
		return nil
	}
	return &tokenLimits{rate: rate.Limit(perSecond), burst: max(burst, 1), buckets: map[string]*rate.Limiter{}}
}

// take spends one request of key's budget; when there is none left it spends nothing and says
// how long until there is.
func (l *tokenLimits) take(key string, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.buckets[key]
	if lim == nil {
		if now.Sub(l.lastSweep) >= limiterSweep || len(l.buckets) >= maxTokenLimiters {
			l.sweep(now)
		}
		lim = rate.NewLimiter(l.rate, l.burst)
		l.buckets[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets the limiters whose bucket has refilled: forgetting one changes nothing.
func (l *tokenLimits) sweep(now time.Time) {
	l.lastSweep = now
	for k, lim := range l.buckets {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxTokenLimiters {
		clear(l.buckets)
	}
}

// size is the number of limiters kept (for tests).
func (l *tokenLimits) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// register adds the refusal counter to reg.
func (l *tokenLimits) register(reg prometheus.Registerer) error {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "escalated_rate_limited_total",
		Help: "API requests refused with 429 because their token exceeded its rate limit, by the token's role.",
	}, []string{"role"})
	if err := reg.Register(c); err != nil {
		return err
	}
	l.limited = c
	return nil
}

// rateLimited answers 429 with Retry-After and reports true when p's token has no request left.
func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, p escalated.Principal) bool {
	l := s.limits
	if l == nil {
		return false
	}
	key := p.TokenID
	if key == "" {
		key = "name:" + p.Name
	}
	ok, wait := l.take(key, time.Now())
	if ok {
		return false
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	if l.limited != nil {
		l.limited.WithLabelValues(string(p.Role)).Inc()
	}
	s.log.Debug("rate limited", "request_id", requestID(r.Context()), "token", p.Name, "role", p.Role, "retry_after_s", secs)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.error(w, r, escalated.Errorf(escalated.ERATELIMITED,
		"rate limit exceeded for token %q: at most %s requests/s per token, bursts of %d (serve --rate-limit, --rate-burst); retry after %d s",
		p.Name, formatRate(float64(l.rate)), l.burst, secs))
	return true
}

func formatRate(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// bodyTooLarge is the error of a body over limit bytes; what names the body ("request body",
// "policy"). The size sent is named when the client declared it.
func bodyTooLarge(r *http.Request, what string, limit int64) error {
	msg := fmt.Sprintf("%s is larger than the limit of %d bytes (%d KiB)", what, limit, limit>>10)
	if r.ContentLength > limit {
		msg += fmt.Sprintf("; Content-Length was %d", r.ContentLength)
	}
	return escalated.Errorf(escalated.ETOOLARGE, "%s", msg)
}

// Failed authentication is limited per client address: a client sending a wrong, revoked or
// expired token in a loop gets failBurst 401s, then 429 with Retry-After at more than one a
// second. A request whose token is valid is never refused for its address's failures. The limiters are bounded like the tokens' (forgotten past
// maxTokenLimiters: the worst case is a fresh budget).
const (
	failBurst  = 20
	failRefill = time.Second
)

type failLimits struct {
	mu    sync.Mutex
	addrs map[string]*rate.Limiter
}

// blocked says whether addr has no failures left, and how long until it has.
func (f *failLimits) blocked(addr string, now time.Time) (bool, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	lim := f.addrs[addr]
	if lim == nil || lim.TokensAt(now) >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - lim.TokensAt(now)) * float64(failRefill))
}

// failed spends one failure of addr.
func (f *failLimits) failed(addr string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.addrs == nil || len(f.addrs) >= maxTokenLimiters {
		f.addrs = map[string]*rate.Limiter{}
	}
	lim := f.addrs[addr]
	if lim == nil {
		lim = rate.NewLimiter(rate.Every(failRefill), failBurst)
		f.addrs[addr] = lim
	}
	lim.AllowN(now, 1)
}

// routeActions is the right each authenticated route needs, checked as soon as the token is
// known and before the body is read: a role that may not call a route gets 403 whatever it
// sent (not a 400 about a body it had no business sending, nor a 413 after a megabyte read).
// The services check again, with what only they know (a solve needs escalations.handle, the
// policy source is shown to managers only). docs/security.md has the same rights per role.
var routeActions = map[string]access.Action{
	"POST /v1/tickets":                      access.WriteTickets,
	"GET /v1/tickets":                       access.ReadTickets,
	"GET /v1/tickets/{id}":                  access.ReadTickets,
	"PATCH /v1/tickets/{id}":                access.WriteTickets,
	"POST /v1/tickets/{id}/messages":        access.WriteTickets,
	"POST /v1/tickets/{id}/escalations":     access.CreateEscalation,
	"GET /v1/escalations":                   access.ReadTickets,
	"GET /v1/escalations/{id}":              access.ReadTickets,
	"POST /v1/escalations/{id}/acknowledge": access.HandleEscalation,
	"POST /v1/escalations/{id}/return":      access.HandleEscalation,
	"POST /v1/escalations/{id}/resolve":     access.HandleEscalation,
	"GET /v1/audit":                         access.ReadAudit,
	"GET /v1/policy":                        access.ReadTickets,
	"PUT /v1/policy":                        access.ManagePolicy,
	"POST /v1/policy/check":                 access.ManagePolicy,
	"GET /v1/policy/versions":               access.ReadTickets,
	"GET /v1/tickets/{id}/explain":          access.ReadTickets,
	"GET /v1/teams":                         access.ReadTickets,
	"GET /v1/teams/{id}/queue":              access.ReadTickets,
	"GET /v1/agents":                        access.ReadTickets,
	"PATCH /v1/agents/{id}":                 access.ManageAgents,
	"GET /v1/deliveries":                    access.ManageDeliveries,
	"POST /v1/deliveries/{id}/retry":        access.ManageDeliveries,
	"GET /v1/events":                        access.ReadTickets,
	"POST /v1/handoffs":                     access.Handoff,
	"GET /v1/handoffs/{id}":                 access.Handoff,
	"POST /v1/evaluate":                     access.Evaluate,
	"GET /v1/reports/escalations":           access.ReadReports,
	"GET /v1/insights":                      access.ReadReports,
	"GET /v1/tokens":                        access.ManageTokens,
	"POST /v1/tokens":                       access.ManageTokens,
	"DELETE /v1/tokens/{id}":                access.ManageTokens,
}

// requires refuses a request whose principal may not perform a, before next reads anything.
func (s *Server) requires(a access.Action, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := access.Authorize(r.Context(), a); err != nil {
			s.error(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
