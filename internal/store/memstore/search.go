package memstore

import (
	"cmp"
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
//	search.docs    ticket id -> *searchEntry (the record, its stems and its number)
//	search.post    stem \x00 ticket id -> searchPosting (term frequencies, length, number,
//	               resolved_at)
//	search.terms   stem -> searchTerm (how many tickets hold it, and bounds of what it scores)
//	search.stats   "" -> searchStats (rows and tokens, for idf and the average length)
//
// Every indexing gives the ticket a new number from the "search.doc" sequence, so that a query
// tallies scores in an array by number rather than in a map by id.
//
// A query reads its terms' postings, the term that can add most to a score first, and may stop
// before the last: once the terms not read yet could not lift a ticket it has not seen into
// the results (MaxScore: what a term adds is bounded by its idf, its largest frequency and its
// shortest ticket), and reading on would cost more than looking up the unread terms of the
// tickets that may still rank. Those are then scored in full, each term's share added in the
// query's order with the same arithmetic as a scan of every posting, so scores and ranking
// are those of the exhaustive search to the bit (TestSimilarResolvedIsExhaustive).
const (
	tSearchDocs  = "search.docs"
	tSearchPost  = "search.post"
	tSearchTerms = "search.terms"
	tSearchStats = "search.stats"
	searchDocSeq = "search.doc"
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
	Len   int32    // its length in tokens (all columns)
	Num   int32    // its number (search.doc)
}

// searchPosting is one ticket under one stem: how often the stem occurs in each column, the
// ticket's length in tokens (all columns) and number, and what ties are broken by.
type searchPosting struct {
	TF         [3]int32
	Len        int32
	Num        int32
	ResolvedMS int64
}

// searchTerm is one stem of the index: how many tickets hold it (the length of its postings),
// and the largest weighted frequency and shortest length among them (bounds only: removing a
// ticket leaves them, still bounds, until no ticket holds the stem).
type searchTerm struct {
	Tickets int64
	MaxFreq float64
	MinLen  int32
}

type searchStats struct {
	Rows, Tokens int64
}

// weightedFreq is a posting's frequency as bm25 weighs it.
func weightedFreq(tf [3]int32) float64 {
	var freq float64
	for c, w := range searchWeights {
		freq += w * float64(tf[c])
	}
	return freq
}

// bm25Term is what one term adds to the score of a ticket of length n where it has weighted
// frequency freq.
func bm25Term(idf, freq float64, n int32, avgdl float64) float64 {
	return idf * (freq * (bm25K1 + 1)) / (freq + bm25K1*(1-bm25B+bm25B*float64(n)/avgdl))
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
	e := &searchEntry{Doc: *d, Num: int32(x.next(searchDocSeq))}
	e.Doc.Tags = slices.Clone(d.Tags)
	e.Doc.ResolvedAt = escalated.Truncate(d.ResolvedAt)

	at := map[string]int{} // stem -> index in e.Stems and tf
	var tf [][3]int32
	add := func(col int, text string) {
		searchTokens(text, func(stem string) {
			e.Len++
			i, ok := at[stem]
			if !ok {
				i = len(e.Stems)
				at[stem] = i
				e.Stems = append(e.Stems, stem)
				tf = append(tf, [3]int32{})
			}
			tf[i][col]++
		})
	}
	add(0, d.Subject)
	add(1, d.FirstMessage)
	for _, tag := range d.Tags {
		add(2, tag)
	}
	ms := e.Doc.ResolvedAt.UnixMilli()
	for i, stem := range e.Stems {
		put(x, tSearchPost, stem+"\x00"+d.TicketID, searchPosting{TF: tf[i], Len: e.Len, Num: e.Num, ResolvedMS: ms})
		freq := weightedFreq(tf[i])
		st, ok := get[searchTerm](x, tSearchTerms, stem)
		if !ok {
			st = searchTerm{MaxFreq: freq, MinLen: e.Len}
		}
		st.Tickets++
		st.MaxFreq, st.MinLen = max(st.MaxFreq, freq), min(st.MinLen, e.Len)
		put(x, tSearchTerms, stem, st)
	}
	put(x, tSearchDocs, d.TicketID, e)
	stats.Rows++
	stats.Tokens += int64(e.Len)
	put(x, tSearchStats, "", stats)
	return nil
}

// unpostSearch removes e's postings and returns stats without it (the caller stores them or
// replaces e).
func (x *tx) unpostSearch(e *searchEntry, stats searchStats) searchStats {
	for _, stem := range e.Stems {
		del[searchPosting](x, tSearchPost, stem+"\x00"+e.Doc.TicketID)
		if st, _ := get[searchTerm](x, tSearchTerms, stem); st.Tickets > 1 {
			st.Tickets--
			put(x, tSearchTerms, stem, st)
		} else {
			del[searchTerm](x, tSearchTerms, stem)
		}
	}
	del[*searchEntry](x, tSearchDocs, e.Doc.TicketID)
	stats.Rows--
	stats.Tokens -= int64(e.Len)
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

// queryTerm is one distinct stem of a query.
type queryTerm struct {
	stem string
	// phrases is how often the query holds it (each occurrence is a phrase of the FTS5 query
	// and scores again).
	phrases int
	idf     float64
	// most is the most it adds to a ticket's score, a little over (for rounding); tickets is
	// how many hold it (0: none, and the term adds nothing).
	most    float64
	tickets int64
}

// Rounding margins: a float sum of a few dozen positive terms is within a relative 1e-14 of
// the exact one, in whatever order it is added; bounds are widened by far more.
const (
	roundUp   = 1 + 1e-9
	roundDown = 1 - 1e-9
)

// lookupCost is what looking one posting up costs against reading one in a scan (a B-tree
// descent against a step), for deciding whether to read the next term's postings. (DB's
// lookupCost overrides it in tests: 0 stops reading as early as the results allow.)
const lookupCost = 16

// searchScratch is a query's working memory, reused across queries (a long query's lists
// would otherwise grow anew each time): slot[num] is 1 + the ticket's index in hits, 0 for a
// ticket not seen (a query puts back the zeros it changed); hits, nums and adds are as in
// SimilarResolved.
type searchScratch struct {
	slot []int32
	hits []searchHit
	nums []int32
	adds []float64
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
	// included: a stem is scored once and counted as often as it occurs. Terms keep the order
	// of their first occurrence, the order a score sums them in.
	var q []queryTerm
	at := map[string]int{} // stem -> index in q
	for _, term := range terms {
		searchTokens(term, func(stem string) {
			if i, ok := at[stem]; ok {
				q[i].phrases++
				return
			}
			at[stem] = len(q)
			q = append(q, queryTerm{stem: stem, phrases: 1})
		})
	}
	var byMost []int // the terms some ticket holds, the one that can add most first
	for i := range q {
		st, ok := get[searchTerm](x, tSearchTerms, q[i].stem)
		if !ok || st.Tickets <= 0 {
			continue
		}
		nHit := float64(st.Tickets)
		idf := math.Log((float64(stats.Rows) - nHit + 0.5) / (nHit + 0.5))
		if idf <= 0 {
			idf = 1e-6
		}
		q[i].idf, q[i].tickets = idf, st.Tickets
		q[i].most = bm25Term(idf, st.MaxFreq, st.MinLen, avgdl) * float64(q[i].phrases) * roundUp
		byMost = append(byMost, i)
	}
	slices.SortStableFunc(byMost, func(a, b int) int { return cmp.Compare(q[b].most, q[a].most) })
	// unread[k] is the most the terms after the k-th (in byMost) add to a score together, and
	// unreadPostings how many postings they hold.
	unread := make([]float64, len(byMost))
	unreadPostings := make([]int64, len(byMost))
	for k := len(byMost) - 2; k >= 0; k-- {
		unread[k] = (unread[k+1] + q[byMost[k+1]].most) * roundUp
		unreadPostings[k] = unreadPostings[k+1] + q[byMost[k+1]].tickets
	}
	excluded := int32(-1)
	if e, ok := get[*searchEntry](x, tSearchDocs, exclude); ok {
		excluded = e.Num
	}

	sc, _ := x.db.scratch.Get().(*searchScratch)
	if sc == nil {
		sc = &searchScratch{}
	}
	if need := int(x.s.counters[searchDocSeq]) + 1; len(sc.slot) < need {
		sc.slot = make([]int32, need+need/4)
	}
	slot := sc.slot

	// Read postings term by term, keeping what each term adds to each ticket's score and
	// summing them in reading order (a bound, not the score), until the tickets not seen
	// cannot make the best n and reading on costs more than looking the rest up.
	hits, nums := sc.hits[:0], sc.nums[:0]
	adds := sc.adds[:0] // what q[i] adds to hits[j]'s score at j*len(q)+i; 0: nothing
	var floor, rest float64
	read := 0
	for k, i := range byMost {
		prefix := q[i].stem + "\x00"
		idf, phrases := q[i].idf, float64(q[i].phrases)
		// The term's postings are the q[i].tickets rows from prefix on: read that many rather
		// than compare every key with the prefix (a cache miss per posting for the key's bytes).
		scanN(x, tSearchPost, prefix, int(q[i].tickets), func(key string, p searchPosting) bool {
			if p.Num == excluded {
				return true
			}
			j := slot[p.Num] - 1
			if j < 0 {
				j = int32(len(hits))
				slot[p.Num] = j + 1
				hits = append(hits, searchHit{id: key[len(prefix):], ms: p.ResolvedMS})
				nums = append(nums, p.Num)
				adds = append(adds, make([]float64, len(q))...)
			}
			s := bm25Term(idf, weightedFreq(p.TF), p.Len, avgdl)
			adds[int(j)*len(q)+i] = s
			hits[j].score += s * phrases
			return true
		})
		read, rest = k+1, unread[k]
		if len(hits) < n {
			continue
		}
		floor = nthLargest(hits, n) * roundDown
		if rest >= floor {
			continue // a ticket not seen may still rank
		}
		cands := 0
		for _, h := range hits {
			if h.score*roundUp+rest >= floor {
				cands++
			}
		}
		if int64(cands*(len(byMost)-read)*x.db.lookupCost) <= unreadPostings[k] {
			break
		}
	}
	for _, num := range nums {
		slot[num] = 0
	}
	defer func() {
		sc.hits, sc.nums, sc.adds = hits[:0], nums[:0], adds[:0]
		x.db.scratch.Put(sc)
	}()

	// The tickets seen whose score may reach the floor are scored in full, summing what each
	// term adds in the query's order (a term not read is looked up), and ranked.
	top := make([]searchHit, 0, min(n, len(hits))+1)
	for j, h := range hits {
		if h.score*roundUp+rest < floor {
			continue
		}
		add := adds[j*len(q) : (j+1)*len(q)]
		for _, i := range byMost[read:] {
			if p, ok := get[searchPosting](x, tSearchPost, q[i].stem+"\x00"+h.id); ok {
				add[i] = bm25Term(q[i].idf, weightedFreq(p.TF), p.Len, avgdl)
			}
		}
		var score float64
		for i, s := range add {
			if s != 0 {
				for range q[i].phrases {
					score += s
				}
			}
		}
		top = insertHit(top, searchHit{id: h.id, score: score, ms: h.ms}, n)
	}
	for _, h := range top {
		e, ok := get[*searchEntry](x, tSearchDocs, h.id)
		if !ok {
			continue
		}
		out = append(out, store.SimilarTicket{TicketID: e.Doc.TicketID, Subject: e.Doc.Subject,
			IssueType: e.Doc.IssueType, Resolution: e.Doc.Resolution, ResolvedAt: e.Doc.ResolvedAt, Score: h.score})
	}
	return out, nil
}

// nthLargest is the n-th largest score of hits (1 <= n <= len(hits)).
func nthLargest(hits []searchHit, n int) float64 {
	if n <= 16 {
		var best [16]float64 // the n largest so far, largest first
		m := 0
		for _, h := range hits {
			if m == n && h.score <= best[n-1] {
				continue
			}
			j := min(m, n-1)
			for j > 0 && best[j-1] < h.score {
				best[j] = best[j-1]
				j--
			}
			best[j] = h.score
			m = min(m+1, n)
		}
		return best[n-1]
	}
	scores := make([]float64, len(hits))
	for i, h := range hits {
		scores[i] = h.score
	}
	slices.Sort(scores)
	return scores[len(scores)-n]
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

// insertHit adds h to top (the best hits so far, best first, at most n) where it ranks.
func insertHit(top []searchHit, h searchHit, n int) []searchHit {
	if len(top) == n && !h.before(&top[n-1]) {
		return top
	}
	j, _ := slices.BinarySearchFunc(top, &h, func(a searchHit, h *searchHit) int {
		if a.before(h) {
			return -1
		}
		return 1
	})
	top = slices.Insert(top, j, h)
	if len(top) > n {
		top = top[:n]
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
