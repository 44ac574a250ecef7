package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// sqlIndexResolved writes a ticket's record, updating it in place when the ticket was indexed
// before; the triggers of migration 0007 move the full-text index along.
const sqlIndexResolved = `INSERT INTO resolved_tickets
	(ticket_id, subject, first_message, tags, issue_type, resolution, resolved_at)
	VALUES (?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (ticket_id) DO UPDATE SET subject = excluded.subject,
		first_message = excluded.first_message, tags = excluded.tags, issue_type = excluded.issue_type,
		resolution = excluded.resolution, resolved_at = excluded.resolved_at`

// IndexResolved stores or replaces the searchable record of a resolved ticket.
func (t *tx) IndexResolved(ctx context.Context, d *store.SearchDoc) error {
	if d.TicketID == "" {
		return escalated.Invalid("ticket_id", "must name the resolved ticket")
	}
	tags, err := sliceText(d.Tags)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, sqlIndexResolved,
		d.TicketID, d.Subject, d.FirstMessage, tags, d.IssueType, d.Resolution, ms(d.ResolvedAt))
	return writeErr(err, "index resolved ticket "+d.TicketID, "", "")
}

// UnindexResolved removes a ticket's record; no error when absent.
func (t *tx) UnindexResolved(ctx context.Context, ticketID string) error {
	_, err := t.exec(ctx, `DELETE FROM resolved_tickets WHERE ticket_id = ?`, ticketID)
	return writeErr(err, "unindex resolved ticket "+ticketID, "", "")
}

// sqlSimilarResolved ranks with bm25, which is lower for better matches (hence ascending, and a
// negated Score). Its column weights, in the order of the index (subject, first_message, tags),
// are 2.5, 1, 2.5: a word found in the subject (a person's one-line summary of the problem) or a
// tag (a label someone chose) says more about what the ticket is about than one found in the
// message, which holds the whole story with greetings, order numbers and side remarks. 2.5 is
// the ratio of PostgreSQL's default A and B weights, so both stores weigh the fields alike. On
// the Bitext sample any subject weight from 1 to 4 ranks within half a point of hit@1 (its
// subjects are made from the message, so it cannot judge them); the weights are a judgement,
// not a fit. bm25's idf still decides between words, so a rare word in the message can
// outweigh a common one in the subject.
//
// Ties (identical text) go to the newest resolution, then the ticket id, so that the answer is
// the same on every call.
const sqlSimilarResolved = `SELECT r.ticket_id, r.subject, r.issue_type, r.resolution, r.resolved_at,
		bm25(resolved_tickets_fts, 2.5, 1.0, 2.5) AS rank
	FROM resolved_tickets_fts JOIN resolved_tickets r ON r.doc = resolved_tickets_fts.rowid
	WHERE resolved_tickets_fts MATCH ? AND r.ticket_id <> ?
	ORDER BY rank, r.resolved_at DESC, r.ticket_id
	LIMIT ?`

// SimilarResolved ranks indexed tickets by bm25 over the terms of text, any of them matching.
// n < 1 asks for nothing; n above store.MaxLimit is cut to it.
func (t *tx) SimilarResolved(ctx context.Context, text, exclude string, n int) ([]store.SimilarTicket, error) {
	match := ftsQuery(store.SearchTerms(text))
	if match == "" || n < 1 {
		return []store.SimilarTicket{}, nil
	}
	if t.resolvedSeen == nil || !t.resolvedSeen.Load() {
		// No resolved ticket, no match: one look at the table (which sees this transaction's
		// own writes) spares the FTS5 query. A row found means the look is not needed again.
		var found bool
		if err := t.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM resolved_tickets)`).Scan(&found); err != nil {
			return nil, fmt.Errorf("similar resolved tickets: %w", err)
		}
		if !found {
			return []store.SimilarTicket{}, nil
		}
		if t.resolvedSeen != nil {
			t.resolvedSeen.Store(true)
		}
	}
	out, err := list(ctx, t, sqlSimilarResolved, []any{match, exclude, min(n, store.MaxLimit)},
		func(s scanner) (store.SimilarTicket, error) {
			var (
				m    store.SimilarTicket
				at   int64
				rank float64
			)
			err := s.Scan(&m.TicketID, &m.Subject, &m.IssueType, &m.Resolution, &at, &rank)
			m.ResolvedAt, m.Score = fromMS(at), -rank
			return m, err
		})
	if err != nil {
		return nil, fmt.Errorf("similar resolved tickets: %w", err)
	}
	return out, nil
}

// ftsQuery is an FTS5 query matching any of terms: each one a quoted string, so that no word can
// act as FTS5 syntax (NEAR, AND, a trailing *, a column filter). store.SearchTerms leaves only
// letters, digits and marks; the doubling of quotes is there so that this stays true should
// that ever change.
func ftsQuery(terms []string) string {
	quoted := make([]string, len(terms))
	for i, w := range terms {
		quoted[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
	}
	return strings.Join(quoted, " OR ")
}
