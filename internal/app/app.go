// Package app is the composition root: it opens the store, builds the services and the HTTP
// server, and starts and stops them in order. It is the only package that knows the concrete
// store implementations.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/clientip"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/demo"
	"github.com/escalated/escalated/internal/engine"
	"github.com/escalated/escalated/internal/httpapi"
	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/observe"
	"github.com/escalated/escalated/internal/store/postgres"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/ticket"
	"github.com/escalated/escalated/internal/web"
)

// App is one running node.
type App struct {
	Config  config.Config
	Log     *slog.Logger
	Now     func() time.Time
	Store   store.Store
	Tickets *ticket.Service
	Access  *access.Service
	API     *httpapi.Server
	// Engine fires SLA and acknowledgement deadlines; Serve runs it.
	Engine *engine.Engine
	// Metrics is the node's Prometheus registry, served at GET /metrics.
	Metrics *prometheus.Registry
	// Dispatcher sends the outbox's deliveries; Serve runs it. Deliveries is the outbox API.
	Dispatcher *notify.Dispatcher
	Deliveries *notify.Service
	// Analytics answers reports and insights over the facts the ticket service keeps.
	Analytics *analytics.Service
	// Console is the web console for people (every path but the API's); Handler routes
	// between the two.
	Console *web.Server
	Handler http.Handler
	// HTTP are the server's slow-client limits; New sets DefaultHTTPLimits and Listen applies
	// them (tests shorten them).
	HTTP HTTPLimits

	srv *http.Server
	ln  net.Listener
	// engineDone is closed when the engine's loop has returned; stopEngine ends it.
	engineDone chan struct{}
	stopEngine context.CancelFunc
	// dispatcherDone is closed when the dispatcher's loop has returned; stopDispatcher ends it.
	dispatcherDone chan struct{}
	stopDispatcher context.CancelFunc
}

// DefaultSQLiteCacheMB is the page cache of a SQLite node's writer connection in MiB when the
// configuration leaves it at 0.
const DefaultSQLiteCacheMB = sqlite.DefaultPageCache

// OpenStore opens the database a DB setting names, creating and migrating it when needed.
func OpenStore(ctx context.Context, db string, log *slog.Logger) (store.Store, error) {
	return openStore(ctx, db, log, 0)
}

// openStore is OpenStore with a SQLite writer page cache of cacheMB MiB (0: the default).
func openStore(ctx context.Context, db string, log *slog.Logger, cacheMB int) (store.Store, error) {
	kind, target, err := config.ParseDB(db)
	if err != nil {
		return nil, err
	}
	switch kind {
	case config.SQLite:
		opts := []sqlite.Option{sqlite.WithLogger(log)}
		if cacheMB > 0 {
			opts = append(opts, sqlite.WithPageCache(cacheMB))
		}
		st, err := sqlite.Open(ctx, target, opts...)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", target, err)
		}
		return st, nil
	case config.Postgres:
		st, err := postgres.Open(ctx, target, postgres.WithLogger(log))
		if err != nil {
			return nil, fmt.Errorf("open postgres %s: %w", redact(target), err)
		}
		return st, nil
	}
	return nil, escalated.Invalid("db", "use sqlite:PATH or postgres://...")
}

// redact hides the password of a database URL, so that it never reaches a log or a terminal.
func redact(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "postgres://(unparseable URL)"
	}
	return u.Redacted()
}

// EngineClaimers is how many transactions a node's deadline engine claims and fires with at
// once on the store db names: one on SQLite (one writer; more would only queue), and on
// PostgreSQL, whose claims skip each other's rows and tickets, half the default connection
// pool (max(4, cores)) up to four, leaving the other half to requests. One claimer fired a
// backlog of escalating breaches one connection round trip at a time, using about half of a
// 2-core machine (BENCHMARKS.md, deadlines). A pool made smaller with pool_max_conns in the URL
// is not looked at: claimers then wait for connections like requests do.
func EngineClaimers(db string) int {
	if kind, _, err := config.ParseDB(db); err == nil && kind == config.Postgres {
		return min(4, max(4, runtime.NumCPU())/2)
	}
	return 1
}

// New opens the store and builds the services. It does not load a policy or listen yet.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, now func() time.Time) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	if kind, _, _ := config.ParseDB(cfg.DB); kind == config.Postgres && cfg.SQLiteCacheMB != 0 {
		log.Warn("the SQLite page cache setting (--sqlite-cache-mb) has no effect on PostgreSQL", "sqlite_cache_mb", cfg.SQLiteCacheMB)
	}
	st, err := openStore(ctx, cfg.DB, log, cfg.SQLiteCacheMB)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Log: log, Now: now, Store: st, Metrics: prometheus.NewRegistry(), HTTP: DefaultHTTPLimits()}
	a.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if sq, ok := st.(*sqlite.DB); ok {
		a.Metrics.MustRegister(sq.Collectors()...)
	}
	// The services write through a store that counts what commits (events, escalations, store
	// errors); a.Store stays the store itself for the tools that need its own methods.
	obs, err := observe.New(st, a.Metrics)
	if err != nil {
		st.Close()
		return nil, err
	}
	st = obs
	a.Tickets = ticket.New(st, now, log)
	a.Tickets.SetPublicURL(cfg.PublicBase())
	a.Access = access.NewService(st, now, log)
	a.Engine, err = engine.New(engine.Config{Store: st, Firer: a.Tickets, Log: log, Registerer: a.Metrics, Claimers: EngineClaimers(cfg.DB)})
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Dispatcher, err = newDispatcher(cfg, st, a.Tickets, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Metrics.MustRegister(a.Dispatcher.Collectors()...)
	a.Deliveries = notify.NewService(st, now, a.Dispatcher.Kick)
	a.Analytics = analytics.New(st, now, a.livePolicy, cfg.Analytics)
	proxies, err := clientip.ParsePrefixes(cfg.TrustedProxies)
	if err != nil {
		st.Close()
		return nil, escalated.Invalid("trusted-proxies", err.Error())
	}
	clientIP := clientip.New(proxies)
	a.API = httpapi.New(httpapi.Config{Tickets: a.Tickets, Access: a.Access, Log: log, Ready: a.ready, Deliveries: a.Deliveries,
		Analytics: a.Analytics, ClientIP: clientIP,
		StreamHeartbeat: cfg.StreamHeartbeat, Registerer: a.Metrics, RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst,
		Metrics: promhttp.HandlerFor(a.Metrics, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)})})
	a.Console, err = web.New(web.Config{Tickets: a.Tickets, Analytics: a.Analytics, Store: st, Events: a.API.Events, Log: log, Now: now,
		NotFound: a.API, ClientIP: clientIP})
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Handler = route(a.API, a.Console)
	return a, nil
}

// route sends the API's paths (/v1/..., health, metrics) to the API and every other path to
// the console.
func route(api, console http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/v1/") || p == "/v1" || p == "/healthz" || p == "/readyz" || p == "/metrics" {
			api.ServeHTTP(w, r)
			return
		}
		console.ServeHTTP(w, r)
	})
}

// livePolicy is the policy now live, or nil before one is.
func (a *App) livePolicy() *policy.Policy {
	if l := a.Tickets.Policy(); l != nil {
		return l.Policy
	}
	return nil
}

// LoadPolicy makes the configured policy live: the file given, the demo policy, escalated.yaml
// in the working directory, or else the newest version stored in the database.
func (a *App) LoadPolicy(ctx context.Context) error {
	path := a.Config.PolicyPath
	var src []byte
	var err error
	switch {
	case path != "":
		if src, err = os.ReadFile(path); err != nil {
			return fmt.Errorf("read policy: %w", err)
		}
	case a.Config.Demo:
		path, src = "demo-policy.yaml", demo.Policy()
	default:
		src, err = os.ReadFile(config.DefaultPolicy)
		switch {
		case err == nil:
			path = config.DefaultPolicy
		case errors.Is(err, fs.ErrNotExist):
			return a.loadStoredPolicy(ctx)
		default:
			return fmt.Errorf("read policy: %w", err)
		}
	}
	p, err := policy.Parse(path, src)
	if err != nil {
		return fmt.Errorf("policy %s is not valid:\n%w", path, err)
	}
	_, err = a.Tickets.LoadPolicy(ctx, p, "system:serve")
	return err
}

// ReloadPolicy re-reads the policy file the node was started from (SIGHUP). A file with
// problems is refused and logged; the live policy keeps running.
func (a *App) ReloadPolicy(ctx context.Context) error {
	path := a.Config.PolicyPath
	if path == "" {
		if _, err := os.Stat(config.DefaultPolicy); err != nil || a.Config.Demo {
			return escalated.Errorf(escalated.EINVALID, "the node was not started from a policy file; nothing to reload (use PUT /v1/policy)")
		}
		path = config.DefaultPolicy
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reload policy: %w", err)
	}
	p, err := policy.Parse(path, src)
	if err != nil {
		return fmt.Errorf("policy %s refused, the live policy keeps running:\n%w", path, err)
	}
	v, err := a.Tickets.LoadPolicy(ctx, p, "system:sighup")
	if err != nil {
		return err
	}
	a.Log.Info("policy reloaded", "path", path, "version", v)
	return nil
}

func (a *App) loadStoredPolicy(ctx context.Context) error {
	var pv *escalated.PolicyVersion
	err := a.Store.View(ctx, func(tx store.Tx) error {
		var err error
		pv, err = tx.LatestPolicy(ctx)
		return err
	})
	if escalated.ErrorCode(err) == escalated.ENOTFOUND {
		return escalated.Errorf(escalated.EINVALID, "no policy: pass --policy FILE, put an %s in the working directory, or run with --demo", config.DefaultPolicy)
	} else if err != nil {
		return err
	}
	p, err := policy.Parse(fmt.Sprintf("stored policy v%d", pv.Version), []byte(pv.Source))
	if err != nil {
		return fmt.Errorf("stored policy v%d is not valid:\n%w", pv.Version, err)
	}
	_, err = a.Tickets.LoadPolicy(ctx, p, "system:serve")
	return err
}

func (a *App) ready(ctx context.Context) error {
	if a.Tickets.Policy() == nil {
		return escalated.Errorf(escalated.EINTERNAL, "no policy loaded")
	}
	return a.Store.View(ctx, func(tx store.Tx) error {
		_, err := tx.LatestPolicy(ctx)
		return err
	})
}

// Slow-client protection: a client that trickles its request or never reads its answer holds
// a connection and a goroutine; these bound how long. The event stream (GET /v1/events and the
// console's) lifts the read and write deadlines itself and sets its own per write.
const (
	// ReadHeaderTimeout is the time to send the request line and headers: a well-behaved client
	// sends them in one packet, a slowloris one byte at a time.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout is the time to send the whole request: the largest body (1 MiB) takes under
	// 3 s even at 3 Mbit/s.
	ReadTimeout = 30 * time.Second
	// WriteTimeout is the time from the end of the headers to the end of the answer: room for
	// the slowest answer (a report over a long window, a page of 500) to reach a slow reader.
	WriteTimeout = 60 * time.Second
	// IdleTimeout is how long a kept-alive connection waits for its next request.
	IdleTimeout = 120 * time.Second
	// MaxHeaderBytes bounds the request line and headers (net/http answers 431 over it, with
	// some slack): a token and a console session cookie take a few hundred bytes, so 64 KiB
	// leaves room for any proxy's additions and little for abuse (net/http's default is 1 MiB).
	MaxHeaderBytes = 64 << 10
)

// HTTPLimits are the http.Server's timeouts and header limit.
type HTTPLimits struct {
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	MaxHeaderBytes                                            int
}

// DefaultHTTPLimits returns the limits serve runs with.
func DefaultHTTPLimits() HTTPLimits {
	return HTTPLimits{ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout, WriteTimeout: WriteTimeout,
		IdleTimeout: IdleTimeout, MaxHeaderBytes: MaxHeaderBytes}
}

// Listen binds the HTTP address; Addr then reports the bound address (useful with port 0).
func (a *App) Listen() error {
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Config.Addr, err)
	}
	a.ln = ln
	a.srv = &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: a.HTTP.ReadHeaderTimeout,
		ReadTimeout:       a.HTTP.ReadTimeout,
		WriteTimeout:      a.HTTP.WriteTimeout,
		IdleTimeout:       a.HTTP.IdleTimeout,
		MaxHeaderBytes:    a.HTTP.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	a.srv.RegisterOnShutdown(a.API.CloseStreams)
	return nil
}

// Addr is the bound address after Listen.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Serve answers requests until ctx is done, then shuts down gracefully: it stops accepting,
// lets in-flight requests finish (each waits for its commit), and closes the store, which
// commits whatever is still queued. No write that got a 2xx is lost.
func (a *App) Serve(ctx context.Context) error {
	a.StartEngine(ctx)
	a.StartDispatcher(ctx)
	errc := make(chan error, 1)
	go func() { errc <- a.srv.Serve(a.ln) }()
	a.Log.Info("serving", "addr", a.Addr())
	select {
	case err := <-errc:
		a.waitEngine()
		a.waitDispatcher()
		a.Store.Close()
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	return a.Shutdown(context.Background())
}

// Shutdown stops the HTTP server and closes the store.
func (a *App) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var err error
	if a.srv != nil {
		err = a.srv.Shutdown(ctx)
	}
	// The engine stops after the last request: a firing in flight commits or rolls back whole
	// (a rolled-back one fires again at the next start).
	a.waitEngine()
	a.waitDispatcher()
	return errors.Join(err, a.Store.Close())
}

// StartEngine runs the deadline engine until ctx is done or Shutdown; overdue deadlines fire
// at once. The policy must be live. Calling it again does nothing.
func (a *App) StartEngine(ctx context.Context) {
	if a.engineDone != nil {
		return
	}
	ctx, a.stopEngine = context.WithCancel(ctx)
	a.engineDone = make(chan struct{})
	go func() {
		defer close(a.engineDone)
		if err := a.Engine.Run(ctx); err != nil {
			a.Log.Error("deadline engine stopped", "err", err)
		}
	}()
}

// waitEngine stops the engine and waits for its loop to return.
func (a *App) waitEngine() {
	if a.engineDone == nil {
		return
	}
	a.stopEngine()
	<-a.engineDone
}
