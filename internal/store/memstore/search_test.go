package memstore

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/store"
)

// TestSimilarResolvedIsExhaustive checks that the pruned search (postings read rarest first,
// stopping when unread terms cannot change the result) returns exactly what scoring every
// indexed ticket returns: the same tickets in the same order with bit-identical scores, for
// random texts over a skewed vocabulary (a few very common words, many rare ones), after
// re-indexing and unindexing, for several n and with a ticket excluded; also when the search
// stops reading postings as early as it may (lookupCost 0).
func TestSimilarResolvedIsExhaustive(t *testing.T) {
	t.Parallel()
	for _, cost := range []int{lookupCost, 0} {
		t.Run(fmt.Sprintf("lookupCost=%d", cost), func(t *testing.T) {
			t.Parallel()
			testSimilarExhaustive(t, cost)
		})
	}
}

func testSimilarExhaustive(t *testing.T, cost int) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 11))
	vocab := make([]string, 400)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%sx", strings.Repeat(string(rune('a'+i%26)), 1+i/26))
	}
	word := func() string { return vocab[int(math.Min(float64(len(vocab)-1), r.ExpFloat64()*40))] }
	text := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = word()
		}
		return strings.Join(ws, " ")
	}
	db := New()
	db.lookupCost = cost
	defer db.Close()
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	const docs = 600
	err := db.Update(ctx, func(tx store.Tx) error {
		for i := range docs {
			d := &store.SearchDoc{TicketID: fmt.Sprintf("tkt_%04d", i), Subject: text(1 + r.IntN(6)), FirstMessage: text(r.IntN(40)),
				Tags: []string{word(), word()}, ResolvedAt: base.Add(time.Duration(r.IntN(50)) * time.Hour)}
			if err := tx.IndexResolved(ctx, d); err != nil {
				return err
			}
		}
		for i := range docs / 10 { // re-indexed with other text, and removed
			d := &store.SearchDoc{TicketID: fmt.Sprintf("tkt_%04d", i*7), Subject: text(3), FirstMessage: text(10), ResolvedAt: base}
			if err := tx.IndexResolved(ctx, d); err != nil {
				return err
			}
			if err := tx.UnindexResolved(ctx, fmt.Sprintf("tkt_%04d", i*5)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, func(stx store.Tx) error {
		x := stx.(*tx)
		for i := range 300 {
			query, exclude, n := text(1+r.IntN(30)), "", []int{1, 3, 3, 10, 500}[i%5]
			if i%4 == 0 {
				exclude = fmt.Sprintf("tkt_%04d", r.IntN(docs))
			}
			got, err := x.SimilarResolved(ctx, query, exclude, n)
			if err != nil {
				return err
			}
			want := exhaustiveSimilar(x, query, exclude, n)
			if !slices.Equal(got, want) {
				t.Fatalf("query %q (exclude %q, n %d):\n got %v\nwant %v", query, exclude, n, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// exhaustiveSimilar is SimilarResolved without pruning: every indexed ticket holding a query
// stem is scored, term by term in the query's order, and all are ranked.
func exhaustiveSimilar(x *tx, text, exclude string, n int) []store.SimilarTicket {
	out := []store.SimilarTicket{}
	stats, _ := get[searchStats](x, tSearchStats, "")
	avgdl := float64(stats.Tokens) / float64(stats.Rows)
	var entries []*searchEntry
	scan(x, tSearchDocs, "", "", func(_ string, e *searchEntry) bool { entries = append(entries, e); return true })
	phrases := map[string]int{}
	var order []string
	for _, term := range store.SearchTerms(text) {
		searchTokens(term, func(stem string) {
			if phrases[stem] == 0 {
				order = append(order, stem)
			}
			phrases[stem]++
		})
	}
	scores := map[string]*searchHit{}
	for _, stem := range order {
		var holding []*searchEntry
		var tfs [][3]int32
		for _, e := range entries {
			if p, ok := get[searchPosting](x, tSearchPost, stem+"\x00"+e.Doc.TicketID); ok {
				holding, tfs = append(holding, e), append(tfs, p.TF)
			}
		}
		if len(holding) == 0 {
			continue
		}
		nHit := float64(len(holding))
		idf := math.Log((float64(stats.Rows) - nHit + 0.5) / (nHit + 0.5))
		if idf <= 0 {
			idf = 1e-6
		}
		for k, e := range holding {
			if e.Doc.TicketID == exclude {
				continue
			}
			var freq float64
			for c, w := range searchWeights {
				freq += w * float64(tfs[k][c])
			}
			s := idf * (freq * (bm25K1 + 1)) / (freq + bm25K1*(1-bm25B+bm25B*float64(e.Len)/avgdl))
			h := scores[e.Doc.TicketID]
			if h == nil {
				h = &searchHit{id: e.Doc.TicketID, ms: e.Doc.ResolvedAt.UnixMilli()}
				scores[e.Doc.TicketID] = h
			}
			for range phrases[stem] {
				h.score += s
			}
		}
	}
	var hits []searchHit
	for _, h := range scores {
		hits = append(hits, *h)
	}
	slices.SortFunc(hits, func(a, b searchHit) int {
		if a.before(&b) {
			return -1
		}
		return 1
	})
	for _, h := range hits[:min(n, len(hits))] {
		e, _ := get[*searchEntry](x, tSearchDocs, h.id)
		out = append(out, store.SimilarTicket{TicketID: e.Doc.TicketID, Subject: e.Doc.Subject,
			IssueType: e.Doc.IssueType, Resolution: e.Doc.Resolution, ResolvedAt: e.Doc.ResolvedAt, Score: h.score})
	}
	return out
}
