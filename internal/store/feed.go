package store

import (
	"context"

	"github.com/escalated/escalated"
)

// Feed reads the events of every ticket in one order for the live event stream (GET
// /v1/events). The order never changes, and nothing committed later ever sorts before an event
// a reader has already been given, so a client that resumes after the last cursor it saw
// misses nothing and sees nothing twice. Cursors are opaque strings in a store's own format.
type Feed interface {
	// ReadFeed returns up to f.Limit events after f.After that match f's filters, oldest
	// first. With f.After "" it returns no events, only the cursor of the newest event (to
	// stream from now on); FeedStart reads from the first event. A cursor this store cannot
	// have issued is invalid; one beyond the newest event (a database restored from an older
	// backup, or another database) is invalid too, so the client starts over rather than
	// silently missing the events that will reuse its positions.
	ReadFeed(ctx context.Context, f FeedFilter) (FeedPage, error)
}

// FeedStart is the cursor before the first event, in every store.
const FeedStart = "0"

// FeedFilter selects events for ReadFeed. Empty fields do not filter.
type FeedFilter struct {
	After string
	// Team matches events whose Team or FromTeam is this team.
	Team     string
	TicketID string
	Limit    int
}

// FeedPage is one read of the feed.
type FeedPage struct {
	Events []FeedEvent
	// Next is the cursor to read on from: the last event's when the page is full, else the
	// newest position the read covered, so that a filtered reader does not scan again the
	// events its filter skipped.
	Next string
}

// FeedEvent is an event with its place in the feed.
type FeedEvent struct {
	Cursor string
	Event  *escalated.Event
}

// BadFeedCursor is the error for a cursor a store cannot parse; format says what its cursors
// look like.
func BadFeedCursor(c, format string) error {
	return escalated.Errorf(escalated.EINVALID,
		"event id %.40q is not one this stream issued: expected the id of an event received from GET /v1/events (%s), or %s to read from the first event",
		c, format, FeedStart)
}

// FeedCursorAhead is the error for a cursor beyond the newest event.
func FeedCursorAhead(c string) error {
	return escalated.Errorf(escalated.EINVALID,
		"event id %.40q is beyond the newest event of this database (restored from an older backup, or another database?): reconnect without Last-Event-ID, or with %s to read from the first event",
		c, FeedStart)
}
