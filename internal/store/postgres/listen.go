package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated/internal/store"
)

// Listener timing. The idle check finds a connection that died silently (a server restart
// behind a NAT that dropped the RST, say) which would otherwise leave WaitForNotification
// blocked forever.
const (
	listenIdleCheck   = 30 * time.Second
	listenPingTimeout = 5 * time.Second
	reconnectMin      = 100 * time.Millisecond
	reconnectMax      = 5 * time.Second
)

// listener holds the dedicated connection that LISTENs on the schema's channel and publishes
// every notification to the hub. It is not a pool connection: LISTEN belongs to a session, and
// a pooled connection would carry it into whatever borrowed it next.
type listener struct {
	cfg       *pgx.ConnConfig
	channel   string
	idleCheck time.Duration
	hub       *store.Hub
	log       *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	conn *pgx.Conn // the current connection, for tests that cut it

	reconnects atomic.Int64
}

// startListener connects and LISTENs before it returns, so that a Subscribe right after Open
// already hears the next commit, this node's own included.
func startListener(ctx context.Context, db *DB, idleCheck time.Duration) (*listener, error) {
	l := &listener{
		cfg:       db.pool.Config().ConnConfig, // a copy, with the schema's search_path
		channel:   db.channel,
		idleCheck: idleCheck,
		hub:       db.hub,
		log:       db.log,
		done:      make(chan struct{}),
	}
	conn, err := l.connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("listen for changes on %s: %w", l.channel, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.run(runCtx, conn)
	return l, nil
}

func (l *listener) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, l.cfg)
	if err != nil {
		return nil, err
	}
	// dialect: LISTEN/NOTIFY (SQLite has one node; its store publishes to the hub after commit).
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	l.mu.Lock()
	l.conn = conn
	l.mu.Unlock()
	return conn, nil
}

// stop ends the listener and waits for its goroutine to close the connection.
func (l *listener) stop() {
	l.cancel()
	<-l.done
}

// pid returns the server process id of the current connection (tests terminate it).
func (l *listener) pid() uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conn.PgConn().PID()
}

// run receives notifications until ctx ends. When the connection is lost it reconnects with
// backoff and then publishes a Lagged change: whatever was committed while nobody listened was
// never heard, and subscribers must reload what they show. Lagged comes after LISTEN is in place
// again, so a subscriber that reloads on it misses nothing committed after its reload.
func (l *listener) run(ctx context.Context, conn *pgx.Conn) {
	defer close(l.done)
	for {
		err := l.receive(ctx, conn)
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("change listener lost its connection; reconnecting", "channel", l.channel, "err", err)
		if conn = l.reconnect(ctx); conn == nil {
			return
		}
		l.reconnects.Add(1)
		l.log.Info("change listener reconnected; subscribers may have missed changes", "channel", l.channel)
		l.hub.Publish(store.Change{Lagged: true})
	}
}

// receive publishes notifications until the connection fails or ctx ends.
func (l *listener) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, l.idleCheck)
		n, err := conn.WaitForNotification(wctx)
		idle := wctx.Err() != nil && ctx.Err() == nil
		cancel()
		if err != nil {
			if !idle {
				return err
			}
			// Nothing arrived for a while: make sure the connection is still alive. A deadline
			// interrupts the wait without closing the connection.
			pctx, cancel := context.WithTimeout(ctx, listenPingTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping after %s idle: %w", l.idleCheck, err)
			}
			continue
		}
		var c store.Change
		if err := json.Unmarshal([]byte(n.Payload), &c); err != nil || c.TicketID == "" {
			l.log.Error("ignoring a malformed change notification", "channel", l.channel, "payload", n.Payload, "err", err)
			continue
		}
		// A deadline's due time arrives as RFC 3339 in UTC ("...Z", see ScheduleDeadline); UTC()
		// keeps it comparable with == to the times the store reads back, should a server ever
		// send an offset instead.
		if !c.Due.IsZero() {
			c.Due = c.Due.UTC()
		}
		l.hub.Publish(c)
	}
}

// reconnect tries until it has a listening connection or ctx ends (then it returns nil).
func (l *listener) reconnect(ctx context.Context) *pgx.Conn {
	wait := reconnectMin
	for {
		// Half fixed, half random: nodes that lost the server together do not all knock at once.
		pause := wait/2 + time.Duration(rand.Int64N(int64(wait/2)+1))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		cctx, cancel := context.WithTimeout(ctx, reconnectMax)
		conn, err := l.connect(cctx)
		cancel()
		if err == nil {
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		l.log.Warn("change listener cannot reconnect yet", "channel", l.channel, "err", err, "retry_in", min(2*wait, reconnectMax))
		wait = min(2*wait, reconnectMax)
	}
}
