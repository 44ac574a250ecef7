package memstore

import (
	"context"
	"strconv"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// feedTable holds every event by its place in the feed: pad(pos) -> *escalated.Event, pos from
// the "feed" sequence (written by AppendEvent).
const feedTable = "feed"

// feedHead is the newest pos, 0 when the feed is empty (SQLite: MAX(pos)).
func (x *tx) feedHead() int64 {
	var head int64
	scanDesc(x, feedTable, "", "", func(key string, _ *escalated.Event) bool {
		head, _ = strconv.ParseInt(key, 10, 64)
		return false
	})
	return head
}

// ReadFeed reads events in pos order. A cursor is an event's pos in decimal, as on SQLite. The
// page is bounded by the newest pos read first, so Next may jump to it even when the filter
// matched nothing in between.
func (x *tx) ReadFeed(ctx context.Context, f store.FeedFilter) (store.FeedPage, error) {
	head := x.feedHead()
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
	limit := store.ClampLimit(f.Limit)
	evs := []store.FeedEvent{}
	var failed error
	scan(x, feedTable, "", pad(after+1), func(key string, e *escalated.Event) bool {
		pos, err := strconv.ParseInt(key, 10, 64)
		if err != nil || pos > head {
			return false
		}
		if f.Team != "" && e.Team != f.Team && e.FromTeam != f.Team {
			return true
		}
		if f.TicketID != "" && e.TicketID != f.TicketID {
			return true
		}
		ev, err := x.feedEvent(ctx, e)
		if err != nil {
			failed = err
			return false
		}
		evs = append(evs, store.FeedEvent{Cursor: strconv.FormatInt(pos, 10), Event: ev})
		return len(evs) < limit
	})
	if failed != nil {
		return store.FeedPage{}, failed
	}
	next := strconv.FormatInt(head, 10)
	if len(evs) == limit {
		next = evs[len(evs)-1].Cursor
	}
	return store.FeedPage{Events: evs, Next: next}, nil
}

// feedEvent is a copy of the stored event e with its message attached (message.added), as the
// SQLite store's LEFT JOIN of messages attaches it.
func (x *tx) feedEvent(ctx context.Context, e *escalated.Event) (*escalated.Event, error) {
	ev := clone(e)
	id := store.EventMessageID(ev)
	ev.Message = nil
	if id == "" {
		return ev, nil
	}
	m, err := x.GetMessage(ctx, id)
	switch {
	case err == nil:
		ev.Message = m
	case escalated.ErrorCode(err) != escalated.ENOTFOUND:
		return nil, err
	}
	return ev, nil
}

func parseFeedCursor(c string) (int64, error) {
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != c {
		return 0, store.BadFeedCursor(c, "a decimal number")
	}
	return n, nil
}

// ScanFeed calls fn for every event in the feed, in pos order, until fn returns false or ctx
// ends, on the state committed when it began. The events are the store's own, without copies
// with the messages the store attached to them: fn must not change one or anything it
// reaches. It is for a
// reader of the whole feed that only reads (the simulator's report, where copying every event
// out of ReadFeed was a tenth of a replay's time).
func (db *DB) ScanFeed(ctx context.Context, fn func(e *escalated.Event) bool) error {
	return db.View(ctx, func(stx store.Tx) error {
		x := stx.(*tx)
		var err error
		scan(x, feedTable, "", "", func(_ string, e *escalated.Event) bool {
			if err = ctx.Err(); err != nil {
				return false
			}
			return fn(e)
		})
		return err
	})
}
