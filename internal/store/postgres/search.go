package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// sqlIndexResolved writes a ticket's record, replacing it when the ticket was indexed before;
// PostgreSQL recomputes the generated search vector of migration 0007.
// dialect: $n placeholders, jsonb tags (SQLite: ?, TEXT JSON; its triggers move the FTS5 index).
const sqlIndexResolved = `INSERT INTO resolved_tickets
	(ticket_id, subject, first_message, tags, issue_type, resolution, resolved_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7)
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
		d.TicketID, d.Subject, d.FirstMessage, tags, d.IssueType, d.Resolution, ts(d.ResolvedAt))
	return writeErr(err, "index resolved ticket "+d.TicketID, "", "")
}

// UnindexResolved removes a ticket's record; no error when absent.
func (t *tx) UnindexResolved(ctx context.Context, ticketID string) error {
	if !storable(ticketID) {
		return nil // names no record: absent
	}
	_, err := t.exec(ctx, `DELETE FROM resolved_tickets WHERE ticket_id = $1`, ticketID)
	return writeErr(err, "unindex resolved ticket "+ticketID, "", "")
}

// sqlSimilarResolved ranks with ts_rank over the weighted vector of migration 0007: an A word
// (subject, tags) counts 2.5 times a B word (message), ts_rank's default weights {0.1, 0.2,
// 0.4, 1.0}, the ratio the SQLite store's bm25 weights copy. Normalisation 1 divides by
// 1 + log(document length), so a long message that happens to hold many of the query's words
// does not outrank a short one that is about them: on the Bitext sample it lifts hit@3 from
// 0.952 to 0.975 (hit@1 0.919 to 0.924). ts_rank_cd (cover density) ranked no better there and
// took three times as long per query.
//
// Unlike bm25, ts_rank has no idf: a common word weighs as much as a rare one. Ties go to the
// newest resolution, then the ticket id (byte order, COLLATE "C", as SQLite compares).
// dialect: to_tsquery and the @@ match through the GIN index, ts_rank descending (SQLite: FTS5
// MATCH, bm25 ascending); the rank is real, cast so it scans as float64.
const sqlSimilarResolved = `SELECT r.ticket_id, r.subject, r.issue_type, r.resolution, r.resolved_at,
		ts_rank(r.search, q, 1)::float8 AS score
	FROM resolved_tickets r, to_tsquery('english', $1) q
	WHERE r.search @@ q AND r.ticket_id <> $2
	ORDER BY score DESC, r.resolved_at DESC, r.ticket_id
	LIMIT $3`

// SimilarResolved ranks indexed tickets by ts_rank over the terms of text, any of them
// matching. n < 1 asks for nothing; n above store.MaxLimit is cut to it.
func (t *tx) SimilarResolved(ctx context.Context, text, exclude string, n int) ([]store.SimilarTicket, error) {
	query := tsQuery(store.SearchTerms(text))
	if query == "" || n < 1 {
		return []store.SimilarTicket{}, nil
	}
	if !storable(exclude) {
		exclude = "" // names no record: excludes none
	}
	out, err := list(ctx, t, sqlSimilarResolved, []any{query, exclude, min(n, store.MaxLimit)},
		func(s scanner) (store.SimilarTicket, error) {
			var (
				m  store.SimilarTicket
				at time.Time
			)
			err := s.Scan(&m.TicketID, &m.Subject, &m.IssueType, &m.Resolution, &at, &m.Score)
			m.ResolvedAt = fromTS(at)
			return m, err
		})
	if err != nil {
		return nil, fmt.Errorf("similar resolved tickets: %w", interpretError(err))
	}
	return out, nil
}

// storable reports whether PostgreSQL text can hold s. An id it cannot hold (a NUL byte,
// invalid UTF-8) names no record, and is checked before the statement because PostgreSQL's
// refusal would abort the caller's transaction, where SQLite just finds nothing.
// dialect: SQLite stores any string.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// tsQuery is a to_tsquery expression matching any of terms: each one a quoted lexeme joined by
// |, so that no word can act as tsquery syntax (& ! <-> :* weights). store.SearchTerms leaves
// only letters, digits and marks; escaping quotes and backslashes keeps this true should that
// ever change. PostgreSQL drops its own stop words from the query (with a NOTICE, not an
// error); a query left with none matches nothing.
func tsQuery(terms []string) string {
	quoted := make([]string, len(terms))
	esc := strings.NewReplacer(`\`, `\\`, `'`, `''`)
	for i, w := range terms {
		quoted[i] = "'" + esc.Replace(w) + "'"
	}
	return strings.Join(quoted, " | ")
}
