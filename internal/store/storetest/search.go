package storetest

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var searchTests = []test{
	{"RoundTripsEveryField", testSearchRoundTrip},
	{"ReindexReplaces", testSearchReindex},
	{"Unindex", testSearchUnindex},
	{"Exclude", testSearchExclude},
	{"LimitsToN", testSearchLimit},
	{"NoUsableTermGivesEmptyList", testSearchNoTerms},
	{"HostileTextNeverErrors", testSearchHostile},
	{"TiesGoToNewestThenID", testSearchTies},
	{"FollowsTheTransaction", testSearchTransactions},
	{"RanksSimilarTicketsFirst", testSearchRanking},
}

// searchDoc returns a record with every field set; ResolvedAt comes from the fixture clock (not
// UTC, not on a millisecond), so round trips check the stores' time normalisation too.
func (f *fx) searchDoc(mods ...func(*store.SearchDoc)) *store.SearchDoc {
	d := &store.SearchDoc{
		TicketID:     f.id(escalated.PrefixTicket),
		Subject:      "Refund for a damaged blender",
		FirstMessage: "The blender arrived cracked and leaks everywhere. I would like my money back.",
		Tags:         []string{"billing", "damaged-goods"},
		IssueType:    "product_return",
		Resolution:   "Credited 49.90 EUR to the original card; courier claim opened.",
		ResolvedAt:   f.tick(),
	}
	for _, m := range mods {
		m(d)
	}
	return d
}

// index stores docs in one Update.
func (f *fx) index(docs ...*store.SearchDoc) {
	f.t.Helper()
	f.update(func(tx store.Tx) error {
		for _, d := range docs {
			if err := tx.IndexResolved(f.ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

// similar runs SimilarResolved in a View and fails the test on error or a nil list.
func (f *fx) similar(text, exclude string, n int) []store.SimilarTicket {
	f.t.Helper()
	var got []store.SimilarTicket
	f.view(func(tx store.Tx) error {
		var err error
		got, err = tx.SimilarResolved(f.ctx, text, exclude, n)
		return err
	})
	if got == nil {
		f.t.Fatalf("SimilarResolved(%.60q) returned a nil list: want a non-nil one, empty when nothing matches", text)
	}
	return got
}

func similarIDs(ms []store.SimilarTicket) []string {
	return ids(ms, func(m store.SimilarTicket) string { return m.TicketID })
}

func testSearchRoundTrip(t *testing.T, f *fx) {
	d := f.searchDoc()
	f.index(d)
	got := f.similar("blender refund", "", 3)
	if len(got) != 1 {
		t.Fatalf("got %d matches %v, want the one indexed ticket", len(got), similarIDs(got))
	}
	if got[0].Score <= 0 {
		t.Errorf("score %v, want > 0 (higher is more similar)", got[0].Score)
	}
	got[0].Score = 0
	equal(t, "similar ticket", got[0], store.SimilarTicket{TicketID: d.TicketID, Subject: d.Subject,
		IssueType: d.IssueType, Resolution: d.Resolution, ResolvedAt: escalated.Truncate(d.ResolvedAt)})

	// Each searchable field is searched on its own, stemmed: a word found only in the subject,
	// only in the message, only in a tag (in any case and word form) finds the ticket.
	for what, text := range map[string]string{
		"subject":       "BLENDERS",
		"first message": "it leaked, cracked on arrival",
		"tag":           "billed",
		"tag word":      "goods",
	} {
		if got := f.similar(text, "", 3); len(got) != 1 || got[0].TicketID != d.TicketID {
			t.Errorf("a word of the %s (%q) found %v, want %s", what, text, similarIDs(got), d.TicketID)
		}
	}
	// Issue type and resolution are shown, not searched.
	for _, text := range []string{"product_return", "courier claim original card credited"} {
		if got := f.similar(text, "", 3); len(got) != 0 {
			t.Errorf("%q found %v: issue type and resolution must not be searched", text, similarIDs(got))
		}
	}
	// Empty optional fields round trip too.
	bare := f.searchDoc(func(d *store.SearchDoc) {
		d.Subject, d.Tags, d.IssueType, d.Resolution = "", nil, "", ""
		d.FirstMessage = "kettle whistles constantly"
	})
	f.index(bare)
	got = f.similar("kettle", "", 3)
	if len(got) != 1 {
		t.Fatalf("got %v, want only %s", similarIDs(got), bare.TicketID)
	}
	got[0].Score = 0
	equal(t, "similar ticket with empty fields", got[0],
		store.SimilarTicket{TicketID: bare.TicketID, ResolvedAt: escalated.Truncate(bare.ResolvedAt)})

	err := f.s.Update(f.ctx, func(tx store.Tx) error {
		return tx.IndexResolved(f.ctx, f.searchDoc(func(d *store.SearchDoc) { d.TicketID = "" }))
	})
	wantCode(t, err, escalated.EINVALID)
	wantMessageNames(t, err, "ticket_id")
}

func testSearchReindex(t *testing.T, f *fx) {
	first := f.searchDoc(func(d *store.SearchDoc) {
		d.Subject, d.FirstMessage, d.Tags = "Printer jams", "the printer jams on every page", []string{"hardware"}
	})
	f.index(first)
	second := *first
	second.Subject, second.FirstMessage, second.Tags = "Invoice address wrong", "please fix the invoice address", []string{"billing"}
	second.IssueType, second.Resolution, second.ResolvedAt = "check_invoice", "Reissued the invoice.", f.tick()
	f.index(&second)

	for _, text := range []string{"printer jams", "hardware"} {
		if got := f.similar(text, "", 5); len(got) != 0 {
			t.Errorf("%q still finds %v after the ticket was re-indexed without it", text, similarIDs(got))
		}
	}
	got := f.similar("invoice address billing", "", 5)
	if len(got) != 1 {
		t.Fatalf("got %v, want the re-indexed ticket once", similarIDs(got))
	}
	got[0].Score = 0
	equal(t, "re-indexed ticket", got[0], store.SimilarTicket{TicketID: first.TicketID, Subject: second.Subject,
		IssueType: second.IssueType, Resolution: second.Resolution, ResolvedAt: escalated.Truncate(second.ResolvedAt)})

	// The same record indexed again, in one transaction and in two, is still one record.
	f.index(&second, &second)
	f.index(&second)
	if got := f.similar("invoice", "", 5); len(got) != 1 {
		t.Errorf("after indexing the same ticket again: %v, want it once", similarIDs(got))
	}
}

func testSearchUnindex(t *testing.T, f *fx) {
	a, b := f.searchDoc(), f.searchDoc()
	f.index(a, b)
	f.update(func(tx store.Tx) error { return tx.UnindexResolved(f.ctx, a.TicketID) })
	equalIDs(t, "after unindexing one of two", similarIDs(f.similar("blender", "", 5)), []string{b.TicketID})

	// Absent: never indexed, already removed, or an id no store could hold.
	for _, id := range []string{"tkt_never_indexed", a.TicketID, "", "tkt_\x00\xff"} {
		if err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.UnindexResolved(f.ctx, id) }); err != nil {
			t.Errorf("UnindexResolved(%q) of an absent ticket: %v, want no error", id, err)
		}
	}
	// A reopened ticket resolved again is found again (b, resolved later, first).
	f.index(a)
	equalIDs(t, "after indexing again", similarIDs(f.similar("blender", "", 5)), []string{b.TicketID, a.TicketID})
}

func testSearchExclude(t *testing.T, f *fx) {
	a, b := f.searchDoc(), f.searchDoc() // b is newer, so it ranks first
	f.index(a, b)
	for _, tc := range []struct {
		exclude string
		want    []string
	}{
		{"", []string{b.TicketID, a.TicketID}},
		{a.TicketID, []string{b.TicketID}},
		{b.TicketID, []string{a.TicketID}},
		{"tkt_not_indexed", []string{b.TicketID, a.TicketID}},
		{"tkt_\x00\xff", []string{b.TicketID, a.TicketID}},
	} {
		equalIDs(t, fmt.Sprintf("exclude %q", tc.exclude), similarIDs(f.similar("blender", tc.exclude, 5)), tc.want)
	}
}

func testSearchLimit(t *testing.T, f *fx) {
	var all []string
	for range 5 {
		d := f.searchDoc()
		f.index(d)
		all = append([]string{d.TicketID}, all...) // same text: newest first
	}
	for _, n := range []int{1, 3, 5, 6, 1000} {
		equalIDs(t, fmt.Sprintf("n=%d", n), similarIDs(f.similar("blender", "", n)), all[:min(n, len(all))])
	}
	for _, n := range []int{0, -1} {
		if got := f.similar("blender", "", n); len(got) != 0 {
			t.Errorf("n=%d: got %v, want none", n, similarIDs(got))
		}
	}
}

func testSearchNoTerms(t *testing.T, f *fx) {
	// The indexed text is made of stop words too, so a store that searched them would match.
	f.index(f.searchDoc(func(d *store.SearchDoc) {
		d.Subject = "Hi, please: is it not you and me, now?"
	}))
	for _, text := range []string{"", "   ", "?!", "a b c", "the and of to", "Hi, please: is it not you and me, now?", "I", "x y z 1 2 3"} {
		if got := f.similar(text, "", 3); len(got) != 0 {
			t.Errorf("%q: got %v, want an empty list", text, similarIDs(got))
		}
	}
	if got := f.similar("unrelated xylophone", "", 3); len(got) != 0 {
		t.Errorf("a text matching nothing: got %v, want an empty list", similarIDs(got))
	}
}

func testSearchHostile(t *testing.T, f *fx) {
	refund := f.searchDoc()
	other := f.searchDoc(func(d *store.SearchDoc) {
		d.Subject, d.FirstMessage, d.Tags, d.IssueType = "Password reset", "reset link never arrives", nil, "recover_password"
	})
	f.index(refund, other)
	long := strings.Repeat(`refund "NEAR( AND* ' : & | ! `, 10_000) // ~300 KB
	hostile := []string{
		`"`, `""`, `"refund`, `refund"`, `"refund" OR "x`, `refund*`, `*`, `^refund`, `-refund`, `+refund`,
		`NEAR(refund blender)`, `NEAR(refund blender, 2)`, `refund NEAR/2 blender`, `refund AND NOT password`,
		`AND`, `OR`, `NOT`, `NEAR`, `(`, `)`, `((refund)`, `subject:refund`, `{subject tags}: refund`,
		`'`, `''`, `'refund'`, `refund:*`, `refund:A`, `refund & blender`, `refund | password`, `!refund`,
		`&|!`, `refund <-> blender`, `refund <2> blender`, `\`, `\'refund`, `refund\`, `%_`,
		`'; DROP TABLE resolved_tickets; --`, `") OR 1=1 --`,
		long, strings.Repeat("x", 100_000), strings.Repeat("refundrefund", 5000),
		"Возврат денег за заказ", "退款申请", "नमस्ते", "استرداد المبلغ", "\u0301\u0301", "🙂💸 refund",
		"refund\x00blender", "\xff\xfe refund", "ｒｅｆｕｎｄ",
	}
	for _, text := range hostile {
		for _, exclude := range []string{"", "\x00", text} {
			var got []store.SimilarTicket
			err := f.s.View(f.ctx, func(tx store.Tx) error {
				var err error
				got, err = tx.SimilarResolved(f.ctx, text, exclude, 3)
				return err
			})
			if err != nil || got == nil {
				t.Errorf("SimilarResolved(%.60q, exclude %.20q): %v, %v: want a list and no error", text, exclude, got, err)
			}
		}
	}
	// Query syntax is read as words: these find the refund ticket by its words, and the
	// password ticket only by its own.
	for _, text := range []string{`"refund`, `refund*`, `NEAR(refund blender)`, `subject:refund`,
		`'refund'`, `refund:*`, `!refund`, long} {
		if got := f.similar(text, "", 3); len(got) == 0 || got[0].TicketID != refund.TicketID {
			t.Errorf("%.60q: got %v, want %s first", text, similarIDs(got), refund.TicketID)
		}
	}
	if got := f.similar(`refund AND NOT password`, "", 3); len(got) != 2 {
		t.Errorf("NOT is a word, not an operator: got %v, want both tickets", similarIDs(got))
	}
	// The index is intact and still usable in a write transaction.
	f.update(func(tx store.Tx) error {
		if _, err := tx.SimilarResolved(f.ctx, `'; DROP TABLE resolved_tickets; -- " NEAR(`, "", 3); err != nil {
			return err
		}
		return tx.IndexResolved(f.ctx, f.searchDoc(func(d *store.SearchDoc) { d.Subject = "Возврат денег" }))
	})
	if got := f.similar("возврат", "", 3); len(got) != 1 {
		t.Errorf("a Cyrillic word found %v, want the ticket with it in its subject", similarIDs(got))
	}
}

func testSearchTies(t *testing.T, f *fx) {
	at := f.tick()
	older := f.searchDoc(func(d *store.SearchDoc) { d.ResolvedAt = at.Add(-time.Hour) })
	// Same text, same time: the ids decide (byte order). "b" < "c" but the ids are made so that
	// creation order and id order disagree, which catches a store ordering by insertion.
	sameC := f.searchDoc(func(d *store.SearchDoc) { d.TicketID, d.ResolvedAt = "tkt_c", at })
	sameB := f.searchDoc(func(d *store.SearchDoc) { d.TicketID, d.ResolvedAt = "tkt_b", at })
	newest := f.searchDoc(func(d *store.SearchDoc) { d.ResolvedAt = at.Add(time.Hour) })
	f.index(older, sameC, sameB, newest)
	got := f.similar("blender refund", "", 10)
	equalIDs(t, "identical text", similarIDs(got), []string{newest.TicketID, "tkt_b", "tkt_c", older.TicketID})
	for _, m := range got[1:] {
		if m.Score != got[0].Score {
			t.Errorf("identical text scored %v and %v: want equal scores", got[0].Score, m.Score)
		}
	}
}

func testSearchTransactions(t *testing.T, f *fx) {
	d := f.searchDoc()
	// Own writes are visible inside the transaction; a failed fn leaves no record behind.
	err := f.s.Update(f.ctx, func(tx store.Tx) error {
		if err := tx.IndexResolved(f.ctx, d); err != nil {
			return err
		}
		got, err := tx.SimilarResolved(f.ctx, "blender", "", 3)
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].TicketID != d.TicketID {
			t.Errorf("inside the transaction that indexed it: got %v, want %s", similarIDs(got), d.TicketID)
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update: %v, want the fn's error", err)
	}
	if got := f.similar("blender", "", 3); len(got) != 0 {
		t.Errorf("after the rollback: got %v, want nothing", similarIDs(got))
	}
	// Nor does a rolled back unindex or re-index change what is committed.
	f.index(d)
	err = f.s.Update(f.ctx, func(tx store.Tx) error {
		if err := tx.UnindexResolved(f.ctx, d.TicketID); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update: %v, want the fn's error", err)
	}
	err = f.s.Update(f.ctx, func(tx store.Tx) error {
		if err := tx.IndexResolved(f.ctx, f.searchDoc(func(x *store.SearchDoc) {
			x.TicketID, x.Subject, x.FirstMessage, x.Tags = d.TicketID, "kettle", "kettle", nil
		})); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update: %v, want the fn's error", err)
	}
	equalIDs(t, "after rolled back changes", similarIDs(f.similar("blender", "", 3)), []string{d.TicketID})
	if got := f.similar("kettle", "", 3); len(got) != 0 {
		t.Errorf("a rolled back re-index is searchable: %v", similarIDs(got))
	}
}

//go:embed testdata/bitext_similar.csv
var bitextSimilar []byte

// BitextRow is one customer message of the Bitext customer-support sample with its intent.
type BitextRow struct {
	Instruction, Intent, Category, Response string
}

// ReadBitext parses Bitext CSV (the full sample or the fixture): the columns are found by name
// in the header, lines starting with # are comments.
func ReadBitext(r io.Reader) ([]BitextRow, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read bitext header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, name := range []string{"instruction", "intent", "category", "response"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("read bitext: no column %q in header %v", name, header)
		}
	}
	var rows []BitextRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read bitext: %w", err)
		}
		rows = append(rows, BitextRow{Instruction: strings.TrimSpace(rec[col["instruction"]]), Intent: rec[col["intent"]],
			Category: rec[col["category"]], Response: rec[col["response"]]})
	}
}

// bitextDoc is the resolved ticket made of row i: the message is the customer's first, the
// intent its issue type, the assistant's reply the resolution. Bitext has no subjects; the
// stand-in is the message's first three search terms ("cancel purchase 113542617735902"), which
// is about what people type as a subject. (The message's first words, "I need help to", would
// put filler in the heaviest field, which no subject does.)
func bitextDoc(i int, r BitextRow, at time.Time) *store.SearchDoc {
	terms := store.SearchTerms(r.Instruction)
	return &store.SearchDoc{
		TicketID:     fmt.Sprintf("tkt_bitext_%05d", i),
		Subject:      strings.Join(terms[:min(3, len(terms))], " "),
		FirstMessage: r.Instruction,
		IssueType:    r.Intent,
		Resolution:   r.Response,
		ResolvedAt:   at.Add(time.Duration(i) * time.Minute),
	}
}

func testSearchRanking(t *testing.T, f *fx) {
	rows, err := ReadBitext(bytes.NewReader(bitextSimilar))
	if err != nil {
		t.Fatal(err)
	}
	docs := make([]*store.SearchDoc, len(rows))
	for i, r := range rows {
		docs[i] = bitextDoc(i, r, base)
	}
	f.index(docs...)

	// Requests phrased unlike any fixture row: the best match must have the request's intent,
	// and rank above every ticket of the intent it could be confused with.
	for _, tc := range []struct{ text, want, not string }{
		{"I would like my money back for this purchase, can I get a refund?", "get_refund", "recover_password"},
		{"Forgot my password and cannot log in to my profile", "recover_password", "get_refund"},
		{"Please cancel order 5550123, I ordered the wrong size", "cancel_order", "track_order"},
		{"Where is my order? What is its status and ETA?", "track_order", "cancel_order"},
		{"We moved: please update the shipping address on my order", "change_shipping_address", "track_order"},
		{"Close my account and delete my profile for good", "delete_account", "recover_password"},
	} {
		got := f.similar(tc.text, "", len(rows))
		if len(got) == 0 {
			t.Errorf("%q found nothing, want %s first", tc.text, tc.want)
			continue
		}
		if got[0].IssueType != tc.want {
			t.Errorf("%q: best match %s %q (%s), want one of intent %s", tc.text, got[0].TicketID, got[0].Subject, got[0].IssueType, tc.want)
		}
		best := map[string]int{}
		for i, m := range got {
			if _, ok := best[m.IssueType]; !ok {
				best[m.IssueType] = i
			}
		}
		if w, ok := best[tc.not]; ok && w < best[tc.want] {
			t.Errorf("%q: a %s ticket ranks %d, above the best %s ticket (%d)", tc.text, tc.not, w+1, tc.want, best[tc.want]+1)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Score > got[i-1].Score {
				t.Fatalf("%q: scores not descending at %d: %v then %v", tc.text, i, got[i-1].Score, got[i].Score)
			}
		}
	}

	// A ticket's own text finds itself first; excluded, it is gone and a ticket of the same
	// intent is among the best three.
	for _, i := range []int{0, 25, 47} {
		d := docs[i]
		got := f.similar(d.FirstMessage, "", 3)
		if len(got) == 0 || got[0].TicketID != d.TicketID {
			t.Errorf("%q: got %v, want %s (the ticket with this very text) first", d.FirstMessage, similarIDs(got), d.TicketID)
		}
		got = f.similar(d.FirstMessage, d.TicketID, 3)
		for _, m := range got {
			if m.TicketID == d.TicketID {
				t.Errorf("%q excluding %s: it is still in %v", d.FirstMessage, d.TicketID, similarIDs(got))
			}
		}
		if !slices.ContainsFunc(got, func(m store.SimilarTicket) bool { return m.IssueType == d.IssueType }) {
			t.Errorf("%q excluding itself: got %v, want a %s ticket among them", d.FirstMessage, got, d.IssueType)
		}
	}
}

// SimilarQuality is how well SimilarResolved finds tickets of the query's intent in the Bitext
// sample: of Queries held-out messages, the share whose best match (Hit1) or any of the best
// three (Hit3) has the message's intent.
type SimilarQuality struct {
	Indexed, Queries int
	Hit1, Hit3       float64
	// PerQuery is the mean time of one SimilarResolved call (n = 3).
	PerQuery time.Duration
}

func (q SimilarQuality) String() string {
	return fmt.Sprintf("hit@1 %.3f, hit@3 %.3f over %d queries against %d resolved tickets (%v per query)",
		q.Hit1, q.Hit3, q.Queries, q.Indexed, q.PerQuery.Round(time.Microsecond))
}

// MeasureSimilar indexes a deterministic 80% of the Bitext sample at path as resolved tickets
// on s (an empty store) and queries with the other 20% (every fifth row; the sample is grouped
// by intent, so each intent is split 80/20 too). It skips t when the file is absent.
func MeasureSimilar(t *testing.T, s store.Store, path string) SimilarQuality {
	t.Helper()
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("the Bitext sample is not at %s (the project's shared/data/bitext/, beside the repository): "+
			"the similar-ticket quality measurement needs it", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	rows, err := ReadBitext(file)
	if err != nil {
		t.Fatal(err)
	}
	var docs []*store.SearchDoc
	var queries []BitextRow
	for i, r := range rows {
		if i%5 == 4 {
			queries = append(queries, r)
		} else {
			docs = append(docs, bitextDoc(i, r, base))
		}
	}
	ctx := t.Context()
	err = s.Update(ctx, func(tx store.Tx) error {
		for _, d := range docs {
			if err := tx.IndexResolved(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("index %d resolved tickets: %v", len(docs), err)
	}
	var hit1, hit3 int
	start := time.Now()
	err = s.View(ctx, func(tx store.Tx) error {
		for _, q := range queries {
			got, err := tx.SimilarResolved(ctx, q.Instruction, "", 3)
			if err != nil {
				return err
			}
			for i, m := range got {
				if m.IssueType == q.Intent {
					if i == 0 {
						hit1++
					}
					hit3++
					break
				}
			}
		}
		return nil
	})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	n := len(queries)
	return SimilarQuality{Indexed: len(docs), Queries: n, Hit1: float64(hit1) / float64(n), Hit3: float64(hit3) / float64(n),
		PerQuery: elapsed / time.Duration(n)}
}
