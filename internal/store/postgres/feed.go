package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated/internal/store"
)

// feedPos is a place in the feed: the inserting transaction's id, then the event's identity
// (see migration 0006). Its cursor is "tx.pos" in decimal.
type feedPos struct{ tx, pos uint64 }

func (p feedPos) String() string {
	return strconv.FormatUint(p.tx, 10) + "." + strconv.FormatUint(p.pos, 10)
}

func (p feedPos) less(q feedPos) bool {
	return p.tx < q.tx || p.tx == q.tx && p.pos < q.pos
}

func parseFeedCursor(c string) (feedPos, error) {
	if c == store.FeedStart {
		return feedPos{}, nil
	}
	txs, poss, ok := strings.Cut(c, ".")
	tx, err1 := strconv.ParseUint(txs, 10, 64)
	pos, err2 := strconv.ParseUint(poss, 10, 63)
	p := feedPos{tx, pos}
	if !ok || err1 != nil || err2 != nil || p.String() != c {
		return feedPos{}, store.BadFeedCursor(c, "two decimal numbers joined by a dot")
	}
	return p, nil
}

// sqlFeedHead finds the newest event no running transaction can sort before: only rows
// inserted by transactions older than the oldest one still running count (their transactions
// have ended). The events query is then bounded by this head rather than by the snapshot
// again, so the page and Next agree even if the two statements saw different snapshots.
// dialect: xid8 and pg_snapshot_xmin (PostgreSQL 13+); SQLite's single writer needs none.
const sqlFeedHead = `SELECT tx::text, pos FROM events
	WHERE tx < pg_snapshot_xmin(pg_current_snapshot())
	ORDER BY tx DESC, pos DESC LIMIT 1`

// ReadFeed reads events in (tx, pos) order up to the head (see sqlFeedHead).
func (t *tx) ReadFeed(ctx context.Context, f store.FeedFilter) (store.FeedPage, error) {
	var head feedPos
	var headTx string
	err := t.queryRow(ctx, sqlFeedHead).Scan(&headTx, &head.pos)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return store.FeedPage{}, fmt.Errorf("read feed head: %w", interpretError(err))
	default:
		if head.tx, err = strconv.ParseUint(headTx, 10, 64); err != nil {
			return store.FeedPage{}, fmt.Errorf("read feed head: transaction id %q: %w", headTx, err)
		}
	}
	if f.After == "" {
		return store.FeedPage{Events: []store.FeedEvent{}, Next: head.String()}, nil
	}
	after, err := parseFeedCursor(f.After)
	if err != nil {
		return store.FeedPage{}, err
	}
	if head.less(after) {
		return store.FeedPage{}, store.FeedCursorAhead(f.After)
	}
	var q strings.Builder
	q.WriteString(`SELECT e.tx::text, e.pos, ` + eventColumns + `
		FROM events e
		LEFT JOIN messages m ON m.id = e.message_id
		WHERE (e.tx, e.pos) > ($1::text::xid8, $2) AND (e.tx, e.pos) <= ($3::text::xid8, $4)`)
	args := []any{strconv.FormatUint(after.tx, 10), int64(after.pos), strconv.FormatUint(head.tx, 10), int64(head.pos)}
	if f.Team != "" {
		args = append(args, f.Team)
		fmt.Fprintf(&q, ` AND (e.team = $%d OR e.from_team = $%[1]d)`, len(args))
	}
	if f.TicketID != "" {
		args = append(args, f.TicketID)
		fmt.Fprintf(&q, ` AND e.ticket_id = $%d`, len(args))
	}
	limit := store.ClampLimit(f.Limit)
	args = append(args, limit)
	fmt.Fprintf(&q, ` ORDER BY e.tx, e.pos LIMIT $%d`, len(args))
	evs, err := list(ctx, t, q.String(), args, func(s scanner) (store.FeedEvent, error) {
		var txs string
		var pos int64
		e, err := scanEvent(prefixScanner{s, []any{&txs, &pos}})
		return store.FeedEvent{Cursor: txs + "." + strconv.FormatInt(pos, 10), Event: e}, err
	})
	if err != nil {
		return store.FeedPage{}, fmt.Errorf("read feed after %s: %w", f.After, interpretError(err))
	}
	next := head.String()
	if len(evs) == limit {
		next = evs[len(evs)-1].Cursor
	}
	return store.FeedPage{Events: evs, Next: next}, nil
}

// prefixScanner scans leading columns into first, then hands the rest to the wrapped scan.
type prefixScanner struct {
	s     scanner
	first []any
}

func (p prefixScanner) Scan(dest ...any) error {
	return p.s.Scan(append(p.first, dest...)...)
}
