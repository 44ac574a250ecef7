package store

import (
	"context"
	"strings"
	"time"
	"unicode"
)

// Search indexes resolved tickets for the similar-ticket ranking of the recommended next action (F12).
type Search interface {
	// IndexResolved stores or replaces the searchable record of a resolved ticket.
	IndexResolved(ctx context.Context, d *SearchDoc) error
	// UnindexResolved removes a ticket's record (the ticket was reopened); no error when absent.
	UnindexResolved(ctx context.Context, ticketID string) error
	// SimilarResolved returns at most n indexed tickets ranked by full-text relevance to text over
	// subject, first customer message and tags, best first, leaving out the ticket `exclude`
	// ("" excludes none). No usable term in text, or nothing matching: an empty, non-nil list.
	SimilarResolved(ctx context.Context, text, exclude string, n int) ([]SimilarTicket, error)
}

// SearchDoc is what the index keeps of a resolved ticket: the text a new ticket is matched
// against (subject, first message, tags) and what a match shows (issue type, resolution note).
type SearchDoc struct {
	TicketID, Subject, FirstMessage string
	Tags                            []string
	IssueType                       string
	Resolution                      string // the resolution note shown with a match
	ResolvedAt                      time.Time
}

// SimilarTicket is one match of SimilarResolved.
type SimilarTicket struct {
	TicketID, Subject, IssueType, Resolution string
	ResolvedAt                               time.Time
	Score                                    float64 // higher is more similar; comparable only within one answer
}

// MaxSearchTerms bounds the terms of one query: a pasted log or e-mail thread must not turn
// into a query that touches every posting list of the index. The first terms of a ticket (its
// subject, the start of the message) are the ones that say what it is about.
const MaxSearchTerms = 32

// SearchTerms turns free text into the terms both stores query with: lower-cased words (runs of
// Unicode letters and digits; combining marks stay inside the word, as Devanagari or Arabic
// vowel signs are part of it, not separators), without stop words and one-character tokens,
// each once in order of first occurrence, at most MaxSearchTerms.
//
// The stores tokenise and stem again (FTS5's porter unicode61, PostgreSQL's english config);
// this step exists so that nothing of the user's text but plain words ever reaches their query
// syntax, and so that both stores drop the same noise words.
func SearchTerms(text string) []string {
	terms := []string{}
	seen := map[string]bool{}
	// Word by word, stopping at the cap: a very long text costs only as much as its first terms.
	for w := range strings.FieldsFuncSeq(text, notWordRune) {
		if len(terms) == MaxSearchTerms {
			break
		}
		w = strings.ToLower(w)
		if !hasLetterOrDigit(w) || oneRune(w) || stopWords[w] || seen[w] {
			continue
		}
		seen[w] = true
		terms = append(terms, w)
	}
	return terms
}

func notWordRune(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
}

// hasLetterOrDigit is false for a run of stray combining marks, which is not a word.
func hasLetterOrDigit(w string) bool {
	return strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

func oneRune(w string) bool {
	n := 0
	for range w {
		if n++; n > 1 {
			return false
		}
	}
	return true
}

// stopWords are English function words plus the greetings and courtesies of support mail ("hi",
// "please", "thanks"), which say nothing about what the problem is. Negations are in the list
// too: in a match on any word, "not" joins every ticket saying "not working" whatever is not
// working. The leftovers of contractions split at the apostrophe ("don't" gives "don") are
// listed; single letters ("t", "s") are dropped by length. Particles that make a support verb
// ("sign up", "log out", "turned off") are not listed, unlike in general-purpose lists.
//
// Kept short on purpose: a word listed here can never be searched for. Request phrasing
// ("help", "need", "want", "get") was tried in the list, since PostgreSQL's ts_rank has no idf
// to damp such words (SQLite's bm25 has), and cost SQLite hit@1 and PostgreSQL hit@3 on the
// Bitext sample: it tells "I want to cancel" from "how do I track".
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		a about after again all also am an and any are as at
		be because been before being between both but by
		can could did do does doing during each few for from
		had has have having he her here hers herself him himself his how
		if in into is it its itself just me more most my myself
		no nor not now of on only or other our ours ourselves own
		same she should so some such than that the their theirs them themselves then there these
		they this those through to too until very was we were what when where which
		while who whom why will with would you your yours yourself yourselves
		don doesn didn isn aren wasn weren haven hasn hadn couldn shouldn wouldn won ll ve re
		hi hello hey dear please thanks thank regards`) {
		m[w] = true
	}
	return m
}()
