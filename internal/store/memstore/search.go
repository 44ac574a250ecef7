package memstore

import (
	"context"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Search: an inverted index of resolved tickets ranked as SQLite's FTS5 ranks them (bm25 with
// column weights 2.5, 1, 2.5 over subject, first message and tags; k1 1.2, b 0.75; an idf at or
// below zero counts as 1e-6), over the same kind of tokens (words split as store.SearchTerms
// splits them, lower-cased, Latin diacritics removed, Porter-stemmed as FTS5's porter
// tokenizer stems).
//
//	search.docs    ticket id -> *searchEntry (the record and the stems it is posted under)
//	search.post    stem \x00 ticket id -> searchPosting (term frequencies, length, resolved_at)
//	search.stats   "" -> searchStats (rows and tokens, for idf and the average length)
//
// A query reads, for each of its terms, that term's posting list and nothing else: the cost
// is the postings of the query's terms, not the size of the index.
const (
	tSearchDocs  = "search.docs"
	tSearchPost  = "search.post"
	tSearchStats = "search.stats"
)

// searchColumns are the searched fields in FTS5's column order, with their bm25 weights.
var searchWeights = [3]float64{2.5, 1.0, 2.5}

const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// searchEntry is one indexed ticket. Never changed once stored (a re-index stores a new one).
type searchEntry struct {
	Doc   store.SearchDoc
	Stems []string // distinct, the keys of its postings
}

// searchPosting is one ticket under one stem: how often the stem occurs in each column, the
// ticket's length in tokens (all columns), and what ties are broken by.
type searchPosting struct {
	TF         [3]int32
	Len        int32
	ResolvedMS int64
}

type searchStats struct {
	Rows, Tokens int64
}

// IndexResolved stores or replaces the searchable record of a resolved ticket.
func (x *tx) IndexResolved(ctx context.Context, d *store.SearchDoc) error {
	if err := x.writable("index resolved ticket"); err != nil {
		return err
	}
	if d.TicketID == "" {
		return escalated.Invalid("ticket_id", "must name the resolved ticket")
	}
	stats, _ := get[searchStats](x, tSearchStats, "")
	if old, ok := get[*searchEntry](x, tSearchDocs, d.TicketID); ok {
		stats = x.unpostSearch(old, stats)
	}
	e := &searchEntry{Doc: *d}
	e.Doc.Tags = slices.Clone(d.Tags)
	e.Doc.ResolvedAt = escalated.Truncate(d.ResolvedAt)

	tf := map[string]*[3]int32{}
	var length int32
	add := func(col int, text string) {
		searchTokens(text, func(stem string) {
			length++
			c := tf[stem]
			if c == nil {
				c = new([3]int32)
				tf[stem] = c
				e.Stems = append(e.Stems, stem)
			}
			c[col]++
		})
	}
	add(0, d.Subject)
	add(1, d.FirstMessage)
	for _, tag := range d.Tags {
		add(2, tag)
	}
	ms := e.Doc.ResolvedAt.UnixMilli()
	for _, stem := range e.Stems {
		put(x, tSearchPost, stem+"\x00"+d.TicketID, searchPosting{TF: *tf[stem], Len: length, ResolvedMS: ms})
	}
	put(x, tSearchDocs, d.TicketID, e)
	stats.Rows++
	stats.Tokens += int64(length)
	put(x, tSearchStats, "", stats)
	return nil
}

// unpostSearch removes e's postings and returns stats without it (the caller stores them or
// replaces e).
func (x *tx) unpostSearch(e *searchEntry, stats searchStats) searchStats {
	var length int32
	for _, stem := range e.Stems {
		key := stem + "\x00" + e.Doc.TicketID
		if p, ok := get[searchPosting](x, tSearchPost, key); ok {
			length = p.Len
		}
		del[searchPosting](x, tSearchPost, key)
	}
	del[*searchEntry](x, tSearchDocs, e.Doc.TicketID)
	stats.Rows--
	stats.Tokens -= int64(length)
	return stats
}

// UnindexResolved removes a ticket's record; no error when absent.
func (x *tx) UnindexResolved(ctx context.Context, ticketID string) error {
	if err := x.writable("unindex resolved ticket"); err != nil {
		return err
	}
	if old, ok := get[*searchEntry](x, tSearchDocs, ticketID); ok {
		stats, _ := get[searchStats](x, tSearchStats, "")
		put(x, tSearchStats, "", x.unpostSearch(old, stats))
	}
	return nil
}

// SimilarResolved ranks indexed tickets by bm25 over the terms of text, any of them matching,
// best first; ties go to the newest resolution, then the ticket id. n < 1 asks for nothing; n
// above store.MaxLimit is cut to it.
func (x *tx) SimilarResolved(ctx context.Context, text, exclude string, n int) ([]store.SimilarTicket, error) {
	out := []store.SimilarTicket{}
	terms := store.SearchTerms(text)
	if len(terms) == 0 || n < 1 {
		return out, nil
	}
	n = min(n, store.MaxLimit)
	stats, _ := get[searchStats](x, tSearchStats, "")
	if stats.Rows <= 0 {
		return out, nil
	}
	avgdl := float64(stats.Tokens) / float64(stats.Rows)
	if avgdl <= 0 {
		avgdl = 1
	}

	// Each query term is one phrase of the FTS5 query, repeated terms (two words with one stem)
	// included; a stem's posting list is read once and counted as often as it occurs.
	phrases := map[string]int{}
	var order []string
	for _, term := range terms {
		searchTokens(term, func(stem string) {
			if phrases[stem] == 0 {
				order = append(order, stem)
			}
			phrases[stem]++
		})
	}

	var hits []searchHit
	at := map[string]int{} // ticket id -> index in hits
	var postings []searchPosting
	var ids []string
	for _, stem := range order {
		prefix := stem + "\x00"
		postings, ids = postings[:0], ids[:0]
		scan(x, tSearchPost, prefix, "", func(key string, p searchPosting) bool {
			postings = append(postings, p)
			ids = append(ids, key[len(prefix):])
			return true
		})
		if len(postings) == 0 {
			continue
		}
		nHit := float64(len(postings))
		idf := math.Log((float64(stats.Rows) - nHit + 0.5) / (nHit + 0.5))
		if idf <= 0 {
			idf = 1e-6
		}
		for i, p := range postings {
			if ids[i] == exclude {
				continue
			}
			var freq float64
			for c, w := range searchWeights {
				freq += w * float64(p.TF[c])
			}
			s := idf * (freq * (bm25K1 + 1)) / (freq + bm25K1*(1-bm25B+bm25B*float64(p.Len)/avgdl))
			j, ok := at[ids[i]]
			if !ok {
				j = len(hits)
				at[ids[i]] = j
				hits = append(hits, searchHit{id: ids[i], ms: p.ResolvedMS})
			}
			for range phrases[stem] {
				hits[j].score += s
			}
		}
	}
	ranked := topHits(hits, n)
	for _, h := range ranked {
		e, ok := get[*searchEntry](x, tSearchDocs, h.id)
		if !ok {
			continue
		}
		out = append(out, store.SimilarTicket{TicketID: e.Doc.TicketID, Subject: e.Doc.Subject,
			IssueType: e.Doc.IssueType, Resolution: e.Doc.Resolution, ResolvedAt: e.Doc.ResolvedAt, Score: h.score})
	}
	return out, nil
}

// searchHit is one ticket's score in a query.
type searchHit struct {
	id    string
	score float64
	ms    int64
}

// before orders hits best first: higher score, then the newer resolution, then the smaller id.
func (a *searchHit) before(b *searchHit) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	if a.ms != b.ms {
		return a.ms > b.ms
	}
	return a.id < b.id
}

// topHits returns the best n of hits, best first: by insertion into a short list when n is
// small (the usual 3), else by sorting them all.
func topHits(hits []searchHit, n int) []searchHit {
	if n > 16 || n >= len(hits) {
		slices.SortFunc(hits, func(a, b searchHit) int {
			switch {
			case a.before(&b):
				return -1
			case b.before(&a):
				return 1
			}
			return 0
		})
		return hits[:min(n, len(hits))]
	}
	top := make([]searchHit, 0, n+1)
	for i := range hits {
		h := &hits[i]
		if len(top) == n && !h.before(&top[n-1]) {
			continue
		}
		j := len(top)
		for j > 0 && h.before(&top[j-1]) {
			j--
		}
		top = slices.Insert(top, j, *h)
		if len(top) > n {
			top = top[:n]
		}
	}
	return top
}

// searchTokens calls fn with the stem of each word of text, in order: words are runs of
// letters, digits and marks (as store.SearchTerms splits them), lower-cased, with Latin
// diacritics removed (FTS5 unicode61's remove_diacritics), then Porter-stemmed.
func searchTokens(text string, fn func(stem string)) {
	for w := range strings.FieldsFuncSeq(text, searchSeparator) {
		w = foldWord(w)
		if w == "" {
			continue
		}
		fn(porterStem(w))
	}
}

func searchSeparator(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
}

// foldWord lower-cases w and removes Latin diacritics: a precomposed letter whose canonical
// decomposition is an ASCII letter and combining diacritical marks (U+0300-U+036F) becomes
// that letter, and such marks on their own are dropped. Other marks (the vowel signs of
// Devanagari, say) stay: they are part of their word.
func foldWord(w string) string {
	w = strings.ToLower(w)
	ascii := true
	for i := 0; i < len(w); i++ {
		if w[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return w
	}
	var b strings.Builder
	b.Grow(len(w))
	for _, r := range w {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case isLatinDiacritic(r):
			// dropped
		default:
			b.WriteRune(latinBase(r))
		}
	}
	return b.String()
}

func isLatinDiacritic(r rune) bool { return r >= 0x300 && r <= 0x36f }

// latinBase returns the ASCII letter r decomposes to with diacritics, or r.
func latinBase(r rune) rune {
	if r > 0x24f && (r < 0x1e00 || r > 0x1eff) { // outside the Latin blocks with precomposed letters
		return r
	}
	var buf [utf8.UTFMax]byte
	d := norm.NFD.Bytes(buf[:utf8.EncodeRune(buf[:], r)])
	if len(d) == 0 || d[0] >= utf8.RuneSelf || !unicode.IsLetter(rune(d[0])) {
		return r
	}
	for _, m := range string(d[1:]) {
		if !isLatinDiacritic(m) {
			return r
		}
	}
	return unicode.ToLower(rune(d[0]))
}

// porterStem is the Porter (1980) stemmer as FTS5's porter tokenizer applies it: to words of 3
// to 64 bytes, whose bytes other than ASCII letters all count as consonants.
func porterStem(w string) string {
	if len(w) < 3 || len(w) > 64 {
		return w
	}
	p := porter{b: []byte(w)}
	p.step1ab()
	p.step1c()
	p.replace(porterStep2, 0)
	p.replace(porterStep3, 0)
	p.replace(porterStep4, 1)
	p.step5()
	return string(p.b)
}

type porter struct{ b []byte }

// cons reports whether b[i] is a consonant: not a, e, i, o, u, and y only after a vowel (or at
// the start).
func (p *porter) cons(i int) bool {
	switch p.b[i] {
	case 'a', 'e', 'i', 'o', 'u':
		return false
	case 'y':
		return i == 0 || !p.cons(i-1)
	}
	return true
}

// measure is m of b[:n]: the number of vowel-consonant sequences in [C](VC)^m[V].
func (p *porter) measure(n int) int {
	m, i := 0, 0
	for i < n && p.cons(i) {
		i++
	}
	for i < n {
		for i < n && !p.cons(i) {
			i++
		}
		if i == n {
			break
		}
		for i < n && p.cons(i) {
			i++
		}
		m++
	}
	return m
}

// hasVowel reports whether b[:n] contains a vowel.
func (p *porter) hasVowel(n int) bool {
	for i := range n {
		if !p.cons(i) {
			return true
		}
	}
	return false
}

// cvc reports whether b[:n] ends consonant-vowel-consonant, the last not w, x or y (*o).
func (p *porter) cvc(n int) bool {
	if n < 3 || !p.cons(n-1) || p.cons(n-2) || !p.cons(n-3) {
		return false
	}
	c := p.b[n-1]
	return c != 'w' && c != 'x' && c != 'y'
}

func (p *porter) ends(s string) bool {
	return len(p.b) > len(s) && string(p.b[len(p.b)-len(s):]) == s
}

func (p *porter) last() byte { return p.b[len(p.b)-1] }

func (p *porter) step1ab() {
	// 1a: sses -> ss, ies -> i, ss -> ss, s -> "".
	if n := len(p.b); p.last() == 's' {
		switch {
		case n > 4 && string(p.b[n-4:]) == "sses", n > 3 && string(p.b[n-3:]) == "ies":
			p.b = p.b[:n-2]
		case p.b[n-2] != 's':
			p.b = p.b[:n-1]
		}
	}
	// 1b: (m>0) eed -> ee; (*v*) ed -> ""; (*v*) ing -> "", then tidy the stem.
	n := len(p.b)
	switch {
	case p.ends("eed"):
		if p.measure(n-3) > 0 {
			p.b = p.b[:n-1]
		}
		return
	case p.ends("ed") && p.hasVowel(n-2):
		p.b = p.b[:n-2]
	case p.ends("ing") && p.hasVowel(n-3):
		p.b = p.b[:n-3]
	default:
		return
	}
	n = len(p.b)
	switch {
	case p.ends("at"), p.ends("bl"), p.ends("iz"):
		p.b = append(p.b, 'e')
	case n >= 2 && p.b[n-1] == p.b[n-2] && p.cons(n-1) && !strings.ContainsRune("lsz", rune(p.b[n-1])):
		p.b = p.b[:n-1]
	case p.measure(n) == 1 && p.cvc(n):
		p.b = append(p.b, 'e')
	}
}

// step1c: (*v*) y -> i.
func (p *porter) step1c() {
	if n := len(p.b); p.last() == 'y' && p.hasVowel(n-1) {
		p.b[n-1] = 'i'
	}
}

type porterRule struct{ suffix, repl string }

// replace applies the first rule whose suffix ends the word (longer suffixes are listed before
// the shorter ones they end with) when the stem before it has m > minM, and stops there either
// way. Step 4's "ion" needs its stem to end in s or t as well.
func (p *porter) replace(rules []porterRule, minM int) {
	for _, r := range rules {
		if !p.ends(r.suffix) {
			continue
		}
		stem := len(p.b) - len(r.suffix)
		if p.measure(stem) > minM && (r.suffix != "ion" || p.b[stem-1] == 's' || p.b[stem-1] == 't') {
			p.b = append(p.b[:stem], r.repl...)
		}
		return
	}
}

var (
	porterStep2 = []porterRule{
		{"ational", "ate"}, {"tional", "tion"}, {"enci", "ence"}, {"anci", "ance"}, {"izer", "ize"},
		{"logi", "log"}, {"bli", "ble"}, {"alli", "al"}, {"entli", "ent"}, {"eli", "e"}, {"ousli", "ous"},
		{"ization", "ize"}, {"ation", "ate"}, {"ator", "ate"}, {"alism", "al"}, {"iveness", "ive"},
		{"fulness", "ful"}, {"ousness", "ous"}, {"aliti", "al"}, {"iviti", "ive"}, {"biliti", "ble"},
	}
	porterStep3 = []porterRule{
		{"icate", "ic"}, {"ative", ""}, {"alize", "al"}, {"iciti", "ic"}, {"ical", "ic"}, {"ful", ""}, {"ness", ""},
	}
	porterStep4 = []porterRule{
		{"al", ""}, {"ance", ""}, {"ence", ""}, {"er", ""}, {"ic", ""}, {"able", ""}, {"ible", ""}, {"ant", ""},
		{"ement", ""}, {"ment", ""}, {"ent", ""}, {"ion", ""}, {"ou", ""}, {"ism", ""}, {"ate", ""}, {"iti", ""},
		{"ous", ""}, {"ive", ""}, {"ize", ""},
	}
)

// step5: (m>1) e -> ""; (m=1 and not *o) e -> ""; (m>1 and *d and *L) -> single letter.
func (p *porter) step5() {
	if n := len(p.b); p.last() == 'e' {
		if m := p.measure(n - 1); m > 1 || m == 1 && !p.cvc(n-1) {
			p.b = p.b[:n-1]
		}
	}
	if n := len(p.b); n > 1 && p.b[n-1] == 'l' && p.b[n-2] == 'l' && p.measure(n-1) > 1 {
		p.b = p.b[:n-1]
	}
}
