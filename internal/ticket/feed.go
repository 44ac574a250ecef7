package ticket

import (
	"context"
	"fmt"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/store"
)

// ReadFeed reads committed ticket and escalation events of every ticket in feed order, for the
// live event stream (see store.Feed for the cursor rules). A team filter must name a team of
// the live policy: a console subscribed to a misspelt team would wait forever in silence.
func (s *Service) ReadFeed(ctx context.Context, f store.FeedFilter) (store.FeedPage, error) {
	if _, err := access.Authorize(ctx, access.ReadTickets); err != nil {
		return store.FeedPage{}, err
	}
	if f.Team != "" {
		live := s.Policy()
		if live == nil {
			return store.FeedPage{}, escalated.Errorf(escalated.EINTERNAL, "no policy is loaded")
		}
		if _, ok := live.Policy.Team(f.Team); !ok {
			return store.FeedPage{}, escalated.Invalid("team", fmt.Sprintf("no team %q in the policy; teams: %s", f.Team, teamIDs(live.Policy)))
		}
	}
	// A principal limited to some teams reads one ticket it may see, or one of its teams.
	sc := s.scope(ctx)
	if f.TicketID == "" {
		var err error
		if f.Team, err = sc.team("team", f.Team); err != nil {
			return store.FeedPage{}, err
		}
	}
	f.Limit = store.ClampLimit(f.Limit)
	var p store.FeedPage
	err := s.store.View(ctx, func(tx store.Tx) error {
		if f.TicketID != "" && !sc.All {
			if _, err := s.getTicket(ctx, tx, f.TicketID); escalated.ErrorCode(err) == escalated.ENOTFOUND {
				return sc.hidden(f.TicketID)
			} else if err != nil {
				return err
			}
		}
		var err error
		p, err = tx.ReadFeed(ctx, f)
		return err
	})
	return p, err
}

// Changes announces committed changes from every node (store.Store.Subscribe) until ctx is
// done; the event stream wakes on them instead of polling.
func (s *Service) Changes(ctx context.Context) (<-chan store.Change, error) {
	return s.store.Subscribe(ctx)
}
