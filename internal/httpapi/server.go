// Package httpapi serves the JSON API (v1) on a standard net/http ServeMux. Handlers are
// straight lines: decode strictly, call a service, write the answer. Authorisation lives in the
// services; this package only authenticates the token and maps errors to statuses in one place.
package httpapi

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/clientip"
	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/ticket"
)

// Config wires the server to its services.
type Config struct {
	Tickets *ticket.Service
	Access  *access.Service
	Log     *slog.Logger
	// ClientIP tells the client address the bad-token limit counts by (nil: the peer's).
	ClientIP *clientip.Resolver
	// Ready reports whether the node can serve traffic (store reachable, policy loaded).
	Ready func(context.Context) error
	// Metrics serves GET /metrics (Prometheus text format); nil answers 404.
	Metrics http.Handler
	// Deliveries serves the outbox routes; nil answers 404.
	Deliveries *notify.Service
	// Analytics serves the report routes; nil answers 404.
	Analytics *analytics.Service
	// Registerer, when set, gets the request latency histogram by route.
	Registerer prometheus.Registerer
	// StreamHeartbeat and StreamPoll tune GET /v1/events (zero: DefaultStreamHeartbeat and
	// DefaultStreamPoll).
	StreamHeartbeat, StreamPoll time.Duration
	// RateLimit is the requests per second each API token may make, sustained, and RateBurst
	// how many it may make at once; over them a request gets 429 with Retry-After. 0 means no
	// limit (serve turns it on by default: see config.DefaultRateLimit).
	RateLimit float64
	RateBurst int
}

// Server is the API's http.Handler.
type Server struct {
	cfg Config
	mux *http.ServeMux
	// paths holds every route's path without its method, to tell 405 from 404.
	paths   *http.ServeMux
	allow   map[string][]string
	noRoute http.Handler
	log     *slog.Logger
	// heartbeat and poll pace the event streams; closing ends them (CloseStreams).
	heartbeat, poll time.Duration
	closing         chan struct{}
	closeOnce       sync.Once
	// latency is the request duration histogram by route and status (nil without Registerer).
	latency *prometheus.HistogramVec
	// limits is the per-token rate limit (nil: none).
	limits *tokenLimits
	// fails limits failed authentications per client address.
	fails failLimits
	// streams counts the open event streams per token (MaxStreamsPerToken).
	streamsMu sync.Mutex
	streams   map[string]int
}

// New builds the handler with every route registered.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), paths: http.NewServeMux(), allow: map[string][]string{}, log: cfg.Log,
		heartbeat: cmp.Or(cfg.StreamHeartbeat, DefaultStreamHeartbeat), poll: cmp.Or(cfg.StreamPoll, DefaultStreamPoll),
		closing: make(chan struct{}), limits: newTokenLimits(cfg.RateLimit, cfg.RateBurst)}
	for _, r := range s.routes() {
		var h http.Handler = r.h
		if r.auth {
			a, ok := routeActions[r.pattern]
			if !ok {
				panic("httpapi: route " + r.pattern + " has no action in routeActions")
			}
			h = s.authenticate(s.requires(a, h))
		}
		s.mux.Handle(r.pattern, h)
		method, path, _ := strings.Cut(r.pattern, " ")
		if _, seen := s.allow[path]; !seen {
			s.paths.Handle(path, http.NotFoundHandler())
		}
		s.allow[path] = append(s.allow[path], method)
	}
	s.noRoute = s.authenticate(http.HandlerFunc(s.noRouteFound))
	if cfg.Registerer != nil {
		s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "escalated_http_request_duration_seconds",
			Help:    "API request latency by route and status code (event streams are left out: they last as long as the client stays).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route", "code"})
		if err := cfg.Registerer.Register(s.latency); err != nil {
			cfg.Log.Warn("request latency metric not registered", "err", err)
			s.latency = nil
		}
		if s.limits != nil {
			if err := s.limits.register(cfg.Registerer); err != nil {
				cfg.Log.Warn("rate limit metric not registered", "err", err)
			}
		}
	}
	return s
}

// CloseStreams ends every open event stream (and any opened later). http.Server.Shutdown waits
// for handlers to return and a stream never does by itself, so the app registers this with
// RegisterOnShutdown; clients reconnect to another node and resume from their last event id.
func (s *Server) CloseStreams() {
	s.closeOnce.Do(func() { close(s.closing) })
}

// noRouteFound answers a request no route serves: 405 with Allow when the path exists under
// other methods, else 404. On /v1 it runs after authentication, so the API does not tell an
// anonymous caller which paths exist.
func (s *Server) noRouteFound(w http.ResponseWriter, r *http.Request) {
	if _, path := s.paths.Handler(r); path != "" {
		w.Header().Set("Allow", strings.Join(s.allow[path], ", "))
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
			Code: escalated.EINVALID, Message: fmt.Sprintf("method %s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(s.allow[path], ", ")),
			RequestID: requestID(r.Context()),
		}})
		return
	}
	s.error(w, r, escalated.Errorf(escalated.ENOTFOUND, "no route %s %s; see docs/openapi.yaml", r.Method, r.URL.Path))
}

type route struct {
	pattern string
	auth    bool
	h       http.HandlerFunc
}

// Routes returns every "METHOD /path" pattern the server answers; the OpenAPI test reads it.
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.routes() {
		out = append(out, r.pattern)
	}
	return out
}

func (s *Server) routes() []route {
	return []route{
		{"GET /healthz", false, s.healthz},
		{"GET /readyz", false, s.readyz},
		{"GET /metrics", false, s.metrics},
		{"POST /v1/tickets", true, s.createTicket},
		{"GET /v1/tickets", true, s.listTickets},
		{"GET /v1/tickets/{id}", true, s.getTicket},
		{"PATCH /v1/tickets/{id}", true, s.patchTicket},
		{"POST /v1/tickets/{id}/messages", true, s.addMessage},
		{"POST /v1/tickets/{id}/escalations", true, s.escalate},
		{"GET /v1/escalations", true, s.listEscalations},
		{"GET /v1/escalations/{id}", true, s.getEscalation},
		{"POST /v1/escalations/{id}/acknowledge", true, s.acknowledge},
		{"POST /v1/escalations/{id}/return", true, s.returnEscalation},
		{"POST /v1/escalations/{id}/resolve", true, s.resolve},
		{"GET /v1/audit", true, s.listAudit},
		{"GET /v1/policy", true, s.getPolicy},
		{"PUT /v1/policy", true, s.putPolicy},
		{"POST /v1/policy/check", true, s.checkPolicy},
		{"GET /v1/policy/versions", true, s.policyVersions},
		{"GET /v1/tickets/{id}/explain", true, s.explain},
		{"GET /v1/teams", true, s.listTeams},
		{"GET /v1/teams/{id}/queue", true, s.teamQueue},
		{"GET /v1/agents", true, s.agents},
		{"PATCH /v1/agents/{id}", true, s.patchAgent},
		{"GET /v1/deliveries", true, s.listDeliveries},
		{"POST /v1/deliveries/{id}/retry", true, s.retryDelivery},
		{"GET /v1/events", true, s.events},
		{"POST /v1/handoffs", true, s.createHandoff},
		{"GET /v1/handoffs/{id}", true, s.getHandoff},
		{"POST /v1/evaluate", true, s.evaluate},
		{"GET /v1/reports/escalations", true, s.reportEscalations},
		{"GET /v1/insights", true, s.insights},
		{"GET /v1/tokens", true, s.listTokens},
		{"POST /v1/tokens", true, s.createToken},
		{"DELETE /v1/tokens/{id}", true, s.revokeToken},
	}
}

// ServeHTTP tags the request with an id, recovers panics and serves the route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
	start := time.Now()
	_, pattern := s.mux.Handler(r)
	var rec *statusRecorder
	if s.latency != nil && pattern != "GET /v1/events" {
		rec = &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		w = rec
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic in handler", "request_id", id, "method", r.Method, "path", r.URL.Path, "panic", v)
			s.error(w, r, errors.New("panic"))
		}
		// After the recovery, so that a panicking request is recorded with the 500 it got.
		if rec != nil {
			route := pattern
			if route == "" {
				route = "unmatched"
			}
			s.latency.WithLabelValues(route, strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
		}
		s.log.Debug("request", "request_id", id, "method", r.Method, "path", r.URL.Path, "duration_ms", time.Since(start).Milliseconds())
	}()
	if pattern == "" {
		if r.URL.Path == "/v1" || strings.HasPrefix(r.URL.Path, "/v1/") {
			s.noRoute.ServeHTTP(w, r)
		} else {
			s.noRouteFound(w, r)
		}
		return
	}
	s.mux.ServeHTTP(w, r)
}

// statusRecorder remembers the status a handler wrote, for the latency metric.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's deadlines and flusher.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// authenticate resolves the bearer token to a principal and applies its rate limit; services
// check its role.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || secret == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="escalated"`)
			s.error(w, r, escalated.Errorf(escalated.EUNAUTHORIZED, "missing bearer token: send Authorization: Bearer <token> (create one with `escalated token create`)"))
			return
		}
		p, err := s.cfg.Access.Authenticate(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			if escalated.ErrorCode(err) == escalated.EUNAUTHORIZED {
				// A client looping on a bad token is told to back off; a valid token from the
				// same address is never refused for it.
				addr, now := s.cfg.ClientIP.Addr(r), time.Now()
				if blocked, wait := s.fails.blocked(addr, now); blocked {
					secs := max(1, int(math.Ceil(wait.Seconds())))
					w.Header().Set("Retry-After", strconv.Itoa(secs))
					s.error(w, r, escalated.Errorf(escalated.ERATELIMITED,
						"too many requests with a wrong, revoked or expired token from this address: at most %d, then one a second; retry after %d s", failBurst, secs))
					return
				}
				s.fails.failed(addr, now)
				w.Header().Set("WWW-Authenticate", `Bearer realm="escalated", error="invalid_token"`)
			}
			s.error(w, r, err)
			return
		}
		if s.rateLimited(w, r, p) {
			return
		}
		next.ServeHTTP(w, r.WithContext(escalated.WithPrincipal(r.Context(), p)))
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// metrics serves the node's Prometheus metrics. Like the health checks it needs no token: the
// figures are counts and latencies, never ticket content or secrets.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Metrics == nil {
		s.error(w, r, escalated.Errorf(escalated.ENOTFOUND, "metrics are not enabled on this node"))
		return
	}
	s.cfg.Metrics.ServeHTTP(w, r)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": escalated.ErrorMessage(err)})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
