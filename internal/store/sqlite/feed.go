package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/escalated/escalated/internal/store"
)

// ReadFeed reads events in pos order (see migration 0006). A cursor is an event's pos in
// decimal. The page is bounded by the newest pos read first, so Next may jump to it even when
// the filter matched nothing in between.
func (t *tx) ReadFeed(ctx context.Context, f store.FeedFilter) (store.FeedPage, error) {
	var head int64
	if err := t.queryRow(ctx, `SELECT COALESCE(MAX(pos), 0) FROM events`).Scan(&head); err != nil {
		return store.FeedPage{}, fmt.Errorf("read feed head: %w", err)
	}
	if f.After == "" {
		return store.FeedPage{Events: []store.FeedEvent{}, Next: strconv.FormatInt(head, 10)}, nil
	}
	after, err := parseFeedCursor(f.After)
	if err != nil {
		return store.FeedPage{}, err
	}
	if after > head {
		return store.FeedPage{}, store.FeedCursorAhead(f.After)
	}
	q := strings.Builder{}
	q.WriteString(`SELECT e.pos, ` + eventColumns + `
		FROM events e
		LEFT JOIN messages m ON m.id = e.message_id
		WHERE e.pos > ? AND e.pos <= ?`)
	args := []any{after, head}
	if f.Team != "" {
		q.WriteString(` AND (e.team = ? OR e.from_team = ?)`)
		args = append(args, f.Team, f.Team)
	}
	if f.TicketID != "" {
		q.WriteString(` AND e.ticket_id = ?`)
		args = append(args, f.TicketID)
	}
	limit := store.ClampLimit(f.Limit)
	q.WriteString(` ORDER BY e.pos LIMIT ?`)
	args = append(args, limit)
	evs, err := list(ctx, t, q.String(), args, func(s scanner) (store.FeedEvent, error) {
		var pos int64
		e, err := scanEvent(prefixScanner{s, []any{&pos}})
		return store.FeedEvent{Cursor: strconv.FormatInt(pos, 10), Event: e}, err
	})
	if err != nil {
		return store.FeedPage{}, fmt.Errorf("read feed after %s: %w", f.After, err)
	}
	next := strconv.FormatInt(head, 10)
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

func parseFeedCursor(c string) (int64, error) {
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != c {
		return 0, store.BadFeedCursor(c, "a decimal number")
	}
	return n, nil
}
