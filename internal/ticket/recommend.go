package ticket

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/store"
)

// SimilarCount is how many similar resolved tickets a recommendation cites.
const SimilarCount = 3

// resolutionText bounds a resolution note quoted in a recommendation or kept in the index: a
// pointer to what worked, not the whole conversation.
const resolutionText = 600

// SetPublicURL sets where people reach this server; recommendations link similar tickets under
// it. Call it before serving.
func (s *Service) SetPublicURL(base string) { s.publicURL = strings.TrimRight(base, "/") }

// recommend combines what each source says about the next action (F12): the rule's recommend
// text (rule, may be nil), the chatbot's recommendation (from the ticket's latest handoff) and
// the most similar resolved tickets with their resolution notes. nil when no source says
// anything.
func (s *Service) recommend(ctx context.Context, tx store.Tx, live *Live, t *escalated.Ticket, rule *escalated.Recommendation, firstMessage string) (*escalated.Recommendation, error) {
	var r escalated.Recommendation
	var sources, lines []string
	if rule != nil && strings.TrimSpace(rule.Text) != "" {
		r.RuleText = rule.Text
		r.Rule = strings.TrimPrefix(rule.Source, "rule:")
		sources = append(sources, rule.Source)
		lines = append(lines, rule.Text)
	}
	if b := t.Bot; b != nil && strings.TrimSpace(b.Recommendation) != "" {
		r.Bot = b.Recommendation
		sources = append(sources, "bot")
		lines = append(lines, "The bot suggests: "+b.Recommendation)
	}
	var similar []store.SimilarTicket
	if !s.skipsSimilar(live) {
		var err error
		if similar, err = tx.SimilarResolved(ctx, searchText(t, firstMessage), t.ID, SimilarCount); err != nil {
			return nil, err
		}
	}
	if len(similar) > 0 {
		sources = append(sources, "similar")
		lines = append(lines, "Similar resolved tickets:")
	}
	for _, m := range similar {
		st := escalated.SimilarTicket{
			TicketID: m.TicketID, Subject: m.Subject, IssueType: m.IssueType,
			Resolution: m.Resolution, URL: notify.TicketURL(s.publicURL, m.TicketID), Score: m.Score,
		}
		r.Similar = append(r.Similar, st)
		line := "- " + m.TicketID + " \"" + m.Subject + "\""
		if m.Resolution != "" {
			line += ": " + clipText(m.Resolution, 200)
		}
		lines = append(lines, line)
	}
	if len(sources) == 0 {
		return nil, nil
	}
	r.Source = strings.Join(sources, ", ")
	r.Text = strings.Join(lines, "\n")
	return &r, nil
}

// skipsSimilar says the service keeps no similar-ticket index and runs no similar search: a
// replay (ForReplay), unless its policy requires the recommendation in every package. The
// similar tickets can then be all the recommendation holds, and a handoff without it refused,
// which the replay must decide as the live node would.
func (s *Service) skipsSimilar(live *Live) bool {
	return s.replay && !slices.Contains(live.Policy.Escalation.RequiredPackageFields, escalated.FieldRecommendation)
}

// searchText is what a ticket is matched on: subject, first customer message, tags.
func searchText(t *escalated.Ticket, firstMessage string) string {
	return t.Subject + "\n" + firstMessage + "\n" + strings.Join(t.Tags, " ")
}

// indexResolution keeps the similar-ticket index in step with ch's ticket: a ticket the change
// solved or closed is indexed with how it was resolved (the resolving escalation's note, else
// the last public agent reply); one it reopened leaves the index.
func (s *Service) indexResolution(ctx context.Context, tx store.Tx, ch *change, live *Live) error {
	if s.skipsSimilar(live) {
		return nil
	}
	t := ch.t
	was, is := ch.startStatus.Done(), t.Status.Done()
	switch {
	case is && !was:
	case was && !is:
		return tx.UnindexResolved(ctx, t.ID)
	default:
		return nil
	}
	// The document needs the first public customer message and, without a resolving
	// escalation's note, the last public agent reply: only those are read.
	first, err := tx.PickMessages(ctx, t.ID, store.MessagePick{Kind: escalated.AuthorCustomer, Public: true, Limit: 1})
	if err != nil {
		return err
	}
	resolution := ""
	for _, e := range ch.escs {
		if e.State == escalated.EscalationResolved && e.Resolution != "" {
			resolution = e.Resolution
		}
	}
	if resolution == "" {
		// A message's body is never blank (checkText), so the last reply is the one to show.
		reply, err := tx.PickMessages(ctx, t.ID, store.MessagePick{Kind: escalated.AuthorAgent, Public: true, Last: true, Limit: 1})
		if err != nil {
			return err
		}
		if len(reply) > 0 {
			resolution = reply[0].Body
		}
	}
	firstMessage := ""
	if len(first) > 0 {
		firstMessage = first[0].Body
	}
	return tx.IndexResolved(ctx, &store.SearchDoc{
		TicketID: t.ID, Subject: t.Subject, FirstMessage: firstMessage, Tags: t.Tags,
		IssueType: t.IssueType, Resolution: clipText(resolution, resolutionText), ResolvedAt: ch.now,
	})
}

// clipText shortens s to at most n runes, marking the cut.
func clipText(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
