package store

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/escalated/escalated"
)

// randomTicket fills the parts of a ticket the extra column keeps, each present or not, with
// values that exercise the encoding: escapes and non-ASCII text, fractional and negative
// numbers, times with and without sub-second parts and zones, durations.
func randomTicket(r *rand.Rand) *escalated.Ticket { return randomTicketOf(r, false) }

// randomTicketOf is randomTicket; plain keeps to what the direct codec (extracodec.go) writes:
// ASCII words, numbers without exponents, no recommendation or bot handoff.
func randomTicketOf(r *rand.Rand, plain bool) *escalated.Ticket {
	texts := []string{"", "refund", "Zahlung \"doppelt\" <b>&</b>", "naïve café ☕", "line\nbreak\ttab", "\u2028\u2029"}
	if plain {
		texts = []string{"", "refund", "first_response", "esc_01M8M997NM73HNT9F708S6QRMP", "t1", "a b/c:d;e=f+g'h|i~"}
	}
	text := func() string { return texts[r.IntN(len(texts))] }
	num := func() float64 { return math.Round((r.Float64()*2-1)*1e6) / 1e6 }
	at := func() time.Time {
		t := time.Date(2026, time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(3)*123_456_789, time.UTC)
		if r.IntN(3) == 0 {
			t = t.In(time.FixedZone("x", 3600*(r.IntN(25)-12)))
		}
		return t
	}
	t := &escalated.Ticket{}
	t.Signals.Sentiment, t.Signals.Frustration, t.Signals.WantsHuman = num(), num(), r.IntN(2) == 0
	for range r.IntN(6) {
		t.Signals.Trend = append(t.Signals.Trend, num())
	}
	for range r.IntN(4) {
		t.Signals.Keywords = append(t.Signals.Keywords, text())
	}
	if r.IntN(2) == 0 {
		t.SLA = escalated.SLA{Plan: text(), Tier: text(), Replied: r.IntN(2) == 0}
		for range r.IntN(4) {
			c := escalated.Clock{Target: text(), Plan: text(), Escalation: text(), Budget: time.Duration(r.Int64N(1e14)),
				WarnAt: num(), Elapsed: time.Duration(r.Int64N(1e12)), State: text()}
			if r.IntN(2) == 0 {
				c.Since, c.DueAt = at(), at()
			}
			if r.IntN(2) == 0 {
				c.WarnDue = at()
			}
			if r.IntN(2) == 0 {
				c.WarnFired, c.StoppedAt = true, at()
			}
			t.SLA.Clocks = append(t.SLA.Clocks, c)
		}
	}
	if r.IntN(2) == 0 && !plain {
		rec := &escalated.Recommendation{Text: text(), Source: text(), Rule: text(), RuleText: text(), Bot: text()}
		for range r.IntN(3) {
			rec.Similar = append(rec.Similar, escalated.SimilarTicket{TicketID: text(), Subject: text(), IssueType: text(), Resolution: text(), URL: text(), Score: num()})
		}
		t.Recommendation = rec
	}
	if r.IntN(2) == 0 && !plain {
		t.Bot = &escalated.BotHandoff{HandoffID: text(), Bot: text(), Recommendation: text(), RequestedTeam: text(), At: text()}
		for range r.IntN(3) {
			t.Bot.Steps = append(t.Bot.Steps, escalated.BotStep{Intent: text(), Action: text(), Outcome: text(), Confidence: num()})
		}
	}
	if r.IntN(2) == 0 {
		solved, escalatedAt := at(), at()
		t.Analytics = escalated.TicketAnalytics{IntakeTeam: text(), IntakeTier: text(), FirstAgent: text(), SolvedAt: &solved,
			BreachesBeforeEscalation: r.IntN(3), SolvedInTier1: r.IntN(2) == 0, ReopenedAfterT1: r.IntN(2) == 0,
			ReopenedAfterT1Solve: r.IntN(2) == 0, MaxFrustration: num(), PingPongs: r.IntN(3)}
		if r.IntN(2) == 0 {
			t.Analytics.FirstEscalatedAt = &escalatedAt
		}
	}
	return t
}

// TestTicketExtraAsEncodingJSON: the extra column is written byte for byte as encoding/json
// wrote it, and a column encoding/json wrote (every row stored before) decodes to what
// encoding/json decodes it to.
func TestTicketExtraAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 29))
	for i := range 4000 {
		// Half of them of the shape the direct codec writes and reads itself.
		tk := randomTicketOf(r, i%2 == 0)
		got, err := EncodeTicketExtra(tk)
		if err != nil {
			t.Fatal(err)
		}
		x := ticketExtra{Signals: tk.Signals, Recommendation: tk.Recommendation, Bot: tk.Bot}
		if tk.Analytics != (escalated.TicketAnalytics{}) {
			x.Analytics = &tk.Analytics
		}
		if tk.SLA.Plan != "" || len(tk.SLA.Clocks) > 0 || tk.SLA.Replied || tk.SLA.Tier != "" {
			x.SLA = &tk.SLA
		}
		want, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Fatalf("ticket %d: encoded\n%s\nencoding/json:\n%s", i, got, want)
		}
		var viaStd ticketExtra
		if err := json.Unmarshal(want, &viaStd); err != nil {
			t.Fatal(err)
		}
		var dec, std escalated.Ticket
		if err := DecodeTicketExtra(want, &dec); err != nil {
			t.Fatal(err)
		}
		std.Signals, std.Recommendation, std.Bot = viaStd.Signals, viaStd.Recommendation, viaStd.Bot
		if std.Signals.Trend == nil {
			std.Signals.Trend = []float64{}
		}
		if std.Signals.Keywords == nil {
			std.Signals.Keywords = []string{}
		}
		if viaStd.Analytics != nil {
			std.Analytics = *viaStd.Analytics
		}
		if viaStd.SLA != nil {
			std.SLA = *viaStd.SLA
		}
		if !reflect.DeepEqual(dec, std) {
			t.Fatalf("ticket %d: decoded %+v\nencoding/json: %+v", i, dec, std)
		}
	}
}

// TestTicketExtraDirectCodec: the column's common shape is written and read by the direct
// codec rather than the library (the test above holds the results to encoding/json), and what
// it declines it declines at once, whatever it had read.
func TestTicketExtraDirectCodec(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for i := range 2000 {
		tk := randomTicketOf(r, true)
		if i%7 == 0 {
			tk.Signals.Trend, tk.Signals.Keywords = nil, nil // written as null
		}
		b, ok := appendExtra(nil, tk)
		if !ok {
			t.Fatalf("ticket %d: the direct encoder declined %+v", i, tk)
		}
		var x ticketExtra
		if !decodeExtra(b, &x) {
			t.Fatalf("ticket %d: the direct decoder declined what the encoder wrote:\n%s", i, b)
		}
		var lib ticketExtra
		if err := jsonv2.Unmarshal(b, &lib, extraJSON); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(x, lib) {
			t.Fatalf("ticket %d: %s\ndirect %+v\nlibrary %+v", i, b, x, lib)
		}
	}
	// The ingest benchmark's ticket: three running clocks and the analytics.
	col := `{"signals":{"sentiment":0.128,"trend":[0.128,0.128,0.128,0.128,0.128],"keywords":["fraud"],"wants_human":false,"frustration":0.3495},"sla":{"plan":"default","clocks":[{"target":"first_response","plan":"default","budget":14400000000000,"warn_at":0.8,"elapsed":0,"since":"2026-11-29T18:32:38.324Z","state":"running","due_at":"2026-11-30T12:00:00Z","warn_due":"2026-11-30T11:12:00Z"},{"target":"acknowledge","plan":"default","escalation":"esc_01M8M997NM73HNT9F708S6QRMP","budget":3600000000000,"warn_at":0.8,"elapsed":0,"since":"2026-11-29T18:32:38.324+01:00","state":"running","due_at":"2026-11-30T09:00:00Z","warn_due":"2026-11-30T08:48:00Z"}]},"analytics":{"intake_team":"frontline","intake_tier":"t1","first_escalated_at":"2026-11-29T18:32:38.324Z","max_frustration":0.3495}}`
	var x ticketExtra
	if !decodeExtra([]byte(col), &x) {
		t.Fatal("the direct decoder declined the ingest benchmark's column")
	}
	var tk escalated.Ticket
	if err := DecodeTicketExtra([]byte(col), &tk); err != nil {
		t.Fatal(err)
	}
	if b, ok := appendExtra(nil, &tk); !ok || string(b) != col {
		t.Fatalf("re-encoded (direct: %v):\n%s\nwant\n%s", ok, b, col)
	}
	// Declined by the encoder: a recommendation, a bot handoff, text that is not UTF-8, an
	// exponent, negative zero, a time RFC 3339 cannot hold; by the decoder: whitespace, escapes,
	// another key order, a repeated or unknown key. Written directly: escapes and non-ASCII.
	for _, kw := range []string{"<b>&amp;", "café ☕", "line\nbreak", "\u2028"} {
		tk := &escalated.Ticket{Signals: escalated.TicketSignals{Keywords: []string{kw}}}
		b, ok := appendExtra(nil, tk)
		want, _ := json.Marshal(ticketExtra{Signals: tk.Signals})
		if !ok || string(b) != string(want) {
			t.Errorf("%q: direct %v %s, encoding/json %s", kw, ok, b, want)
		}
	}
	for _, tk := range []*escalated.Ticket{
		{Recommendation: &escalated.Recommendation{Text: "x"}},
		{Bot: &escalated.BotHandoff{Bot: "x"}},
		{Signals: escalated.TicketSignals{Keywords: []string{"caf\xe9"}}}, // not UTF-8
		{Signals: escalated.TicketSignals{Sentiment: 1e-7}},
		{Signals: escalated.TicketSignals{Sentiment: math.Copysign(0, -1)}},
		{SLA: escalated.SLA{Clocks: []escalated.Clock{{DueAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}}},
		{SLA: escalated.SLA{Clocks: []escalated.Clock{{DueAt: time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("", 24*3600))}}}},
		{SLA: escalated.SLA{Clocks: []escalated.Clock{{DueAt: time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("", -100*3600))}}}},
	} {
		if b, ok := appendExtra(nil, tk); ok {
			t.Errorf("the direct encoder wrote %s", b)
		}
	}
	for _, col := range []string{
		`{ "signals":{"sentiment":0,"trend":[],"keywords":[],"wants_human":false,"frustration":0}}`,
		`{"signals":{"trend":[],"sentiment":0,"keywords":[],"wants_human":false,"frustration":0}}`,
		`{"signals":{"sentiment":0,"trend":[],"keywords":["a\u0062"],"wants_human":false,"frustration":0}}`,
		`{"signals":{"sentiment":0,"trend":[],"keywords":[],"wants_human":false,"frustration":0},"sla":{},"sla":{}}`,
		`{"signals":{"sentiment":0,"trend":[],"keywords":[],"wants_human":false,"frustration":0},"bot":null}`,
		`{"signals":{"sentiment":01,"trend":[],"keywords":[],"wants_human":false,"frustration":0}}`,
		`{"signals":{"sentiment":0,"trend":[],"keywords":[],"wants_human":false,"frustration":0}} `,
		`{"signals":{"sentiment":0,"trend":[],"keywords":[],"wants_human":false,"frustration":0},"sla":{"clocks":[{"target":"a","plan":"b","budget":1.5,"warn_at":0,"elapsed":0,"state":""}]}}`,
	} {
		var x ticketExtra
		if decodeExtra([]byte(col), &x) {
			t.Errorf("the direct decoder read %s", col)
		}
	}
}

// TestMapTextAsEncodingJSON: event data and other JSON object columns are written byte for byte
// as encoding/json writes them, by the direct path where it applies (the plain values the
// service's data holds, nested) and by the library otherwise.
func TestMapTextAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 19))
	words := []string{"", "message_id", "msg_01M8M997NM73HNT9F708S6QRMP", "customer", "a b", "<b>", "café", "x\"y", "\u2028"}
	values := []func() any{
		func() any { return words[r.IntN(len(words))] },
		func() any { return r.IntN(2) == 0 },
		func() any { return r.IntN(2000) - 1000 },
		func() any { return int64(r.Int64()) },
		func() any { return math.Round((r.Float64()*2-1)*1e6) / 1e3 },
		func() any { return []float64{1e-9, 1e22, 0.5, -3}[r.IntN(4)] },
		func() any {
			return []string{"escalate suppressed: not possible: the ticket is already in team \"billing\"", "<b>", "\xff"}
		},
		func() any { return []string(nil) },
		func() any { return []string{} },
		func() any { return []any{"x", nil, 1.5, map[string]any{"agent": nil, "reason": "<busy>"}} },
		func() any { return []any(nil) },
		func() any { return map[string]any{"a": 1, "b": map[string]any{"c": []string{"d"}}} },
		func() any { return map[string]any(nil) },
		func() any {
			return map[string]escalated.Change{"team": {From: "frontline", To: "billing"}, "tags": {From: []string{}, To: []string{"vip"}}}
		},
		func() any { return escalated.Change{From: nil, To: 3} },
		func() any {
			return map[string]escalated.Change{"status": {From: escalated.StatusNew, To: escalated.StatusOpen},
				"priority": {From: escalated.Priority("high"), To: escalated.Priority("<urgent>")}, "channel": {From: escalated.Channel("email"), To: nil}}
		},
		func() any { return escalated.Trigger("rule") }, // no direct case: the library writes it
		func() any { return map[string]escalated.Change(nil) },
		func() any { return map[string]int{"x": 1} },
		func() any { return struct{ A int }{1} },
		func() any { return []string{"x"} },
		func() any { return nil },
	}
	direct := 0
	for i := range 5000 {
		m := map[string]any{}
		for range 1 + r.IntN(9) {
			m[words[r.IntN(len(words))]] = values[r.IntN(len(values))]()
		}
		switch i % 6 { // the shapes of the data of a message's events
		case 0:
			m = map[string]any{"message_id": words[2], "author_kind": words[3], "internal": r.IntN(2) == 0}
		case 1: // a routing decision's
			m = map[string]any{"team": "billing", "outcome": "assigned", "agent": nil, "reason": "least loaded",
				"passed": []any{map[string]any{"agent": "ag_1", "reason": "at capacity (5/5)"}}}
		case 3:
			m = map[string]any{"actions": []string{"escalate suppressed: not possible: the ticket is already in team \"billing\""},
				"event": "message.added", "event_seq": int64(r.IntN(100)), "rule": "possible-fraud"}
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := MapText(m)
		if err != nil || got != string(want) {
			t.Fatalf("MapText(%#v) = %s, %v; encoding/json %s", m, got, err, want)
		}
		if _, ok := appendMap(nil, m); ok {
			direct++
		}
	}
	if direct < 2500 {
		t.Fatalf("only %d of 5000 maps took the direct path", direct)
	}
}

// TestSignalsTextAsEncodingJSON: a message's signals column is what encoding/json writes, nil
// keywords as [].
func TestSignalsTextAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 31))
	kws := [][]string{nil, {}, {"fraud"}, {"legal", "<b>", "caf\xe9"}}
	for range 2000 {
		s := escalated.Signals{Keywords: kws[r.IntN(len(kws))], Sentiment: []float64{0, 0.128, -0.9, 1e-9, 1e22, math.Copysign(0, -1)}[r.IntN(6)],
			WantsHuman: r.IntN(2) == 0, Shouting: r.IntN(2) == 0, Profanity: r.IntN(2) == 0}
		std := s
		if std.Keywords == nil {
			std.Keywords = []string{}
		}
		want, err := json.Marshal(std)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := SignalsText(s); err != nil || got != string(want) {
			t.Fatalf("%+v: %s, %v; encoding/json %s", s, got, err, want)
		}
	}
}

// TestDirectWritersKnowEveryField: the direct writers name their structs' fields one by one, so a
// field added to one of them later must not be left out silently: each struct filled in every
// field (fill) is written as encoding/json writes it.
func TestDirectWritersKnowEveryField(t *testing.T) {
	var sig escalated.Signals
	fill(reflect.ValueOf(&sig).Elem())
	want, _ := json.Marshal(sig)
	if got, err := SignalsText(sig); err != nil || got != string(want) {
		t.Errorf("SignalsText of every field:\n%s\nencoding/json:\n%s", got, want)
	}
	var tk escalated.Ticket
	for _, f := range []any{&tk.Signals, &tk.SLA, &tk.Analytics} {
		fill(reflect.ValueOf(f).Elem())
	}
	b, ok := appendExtra(nil, &tk)
	want, _ = json.Marshal(ticketExtra{Signals: tk.Signals, SLA: &tk.SLA, Analytics: &tk.Analytics})
	if !ok || string(b) != string(want) {
		t.Errorf("the extra column of every field (direct: %v):\n%s\nencoding/json:\n%s", ok, b, want)
	}
	var x ticketExtra
	if !decodeExtra(want, &x) || !reflect.DeepEqual(x.Signals, tk.Signals) || !reflect.DeepEqual(*x.SLA, tk.SLA) || !reflect.DeepEqual(*x.Analytics, tk.Analytics) {
		t.Errorf("the extra column of every field read back as %+v", x)
	}
}

// fill sets every exported field of v, at any depth, to a value JSON writes (and omitempty does
// not leave out): words, true, 7, 0.5, a time, one element in each list, pointers to filled values.
func fill(v reflect.Value) {
	if v.Type() == reflect.TypeOf(time.Time{}) {
		v.Set(reflect.ValueOf(time.Date(2026, 11, 29, 18, 32, 38, 324_000_000, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	}
}

// FuzzTicketExtraDecode: whatever the direct decoder reads, the library reads without error
// and to the same value.
func FuzzTicketExtraDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 13))
	for i := range 40 {
		b, err := EncodeTicketExtra(randomTicketOf(r, i%2 == 0))
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, col []byte) {
		var x ticketExtra
		if !decodeExtra(col, &x) {
			return
		}
		var lib ticketExtra
		if err := jsonv2.Unmarshal(col, &lib, extraJSON); err != nil {
			t.Fatalf("direct decoder read %q, the library refuses it: %v", col, err)
		}
		if !reflect.DeepEqual(x, lib) {
			t.Fatalf("%q: direct %+v, library %+v", col, x, lib)
		}
	})
}

// FuzzTicketExtraEncode: whatever the direct encoder writes, encoding/json writes byte for byte
// (and what it refuses, the direct encoder declines).
func FuzzTicketExtraEncode(f *testing.F) {
	f.Add(0.128, 1e-7, "first_response", int64(1764441158324000000), 3600, int64(14400000000000), 3)
	f.Add(-1e21, 0.0, "<b>", int64(-62135596800000000), 24*3600, int64(-1), -1)
	f.Fuzz(func(t *testing.T, sentiment, frustration float64, word string, unixNano int64, offset int, budget int64, pingPongs int) {
		at := time.Unix(0, unixNano).In(time.FixedZone("", offset))
		tk := &escalated.Ticket{}
		tk.Signals = escalated.TicketSignals{Sentiment: sentiment, Trend: []float64{frustration, sentiment}, Keywords: []string{word}, Frustration: frustration}
		tk.SLA = escalated.SLA{Plan: word, Clocks: []escalated.Clock{{Target: word, Plan: word, Budget: time.Duration(budget), WarnAt: frustration,
			Since: at, State: word, DueAt: at, StoppedAt: at}}}
		tk.Analytics = escalated.TicketAnalytics{IntakeTeam: word, FirstEscalatedAt: &at, MaxFrustration: sentiment, PingPongs: pingPongs}
		b, ok := appendExtra(nil, tk)
		if !ok {
			return
		}
		want, err := json.Marshal(ticketExtra{Signals: tk.Signals, SLA: &tk.SLA, Analytics: &tk.Analytics})
		if err != nil {
			t.Fatalf("direct encoder wrote %s, encoding/json refuses it: %v", b, err)
		}
		if string(b) != string(want) {
			t.Fatalf("direct %s\nencoding/json %s", b, want)
		}
	})
}

// BenchmarkTicketExtra: the column of the ingest benchmark's ticket encoded and decoded, and a
// message's event data encoded, by the direct codec (direct) and by the library (library),
// which did all of it before.
//
//	go test ./internal/store -run '^$' -bench TicketExtra
func BenchmarkTicketExtra(b *testing.B) {
	col := []byte(`{"signals":{"sentiment":0.128,"trend":[0.128,0.128,0.128,0.128,0.128],"keywords":["fraud"],"wants_human":false,"frustration":0.3495},"sla":{"plan":"default","clocks":[{"target":"first_response","plan":"default","budget":14400000000000,"warn_at":0.8,"elapsed":0,"since":"2026-11-29T18:32:38.324Z","state":"running","due_at":"2026-11-30T12:00:00Z","warn_due":"2026-11-30T11:12:00Z"},{"target":"resolution","plan":"default","budget":259200000000000,"warn_at":0.8,"elapsed":0,"since":"2026-11-29T18:32:38.324Z","state":"running","due_at":"2026-12-10T16:00:00Z","warn_due":"2026-12-09T09:36:00Z"},{"target":"acknowledge","plan":"default","escalation":"esc_01M8M997NM73HNT9F708S6QRMP","budget":3600000000000,"warn_at":0.8,"elapsed":0,"since":"2026-11-29T18:32:38.324Z","state":"running","due_at":"2026-11-30T09:00:00Z","warn_due":"2026-11-30T08:48:00Z"}]},"analytics":{"intake_team":"frontline","intake_tier":"t1","first_escalated_at":"2026-11-29T18:32:38.324Z","max_frustration":0.3495}}`)
	var tk escalated.Ticket
	if err := DecodeTicketExtra(col, &tk); err != nil {
		b.Fatal(err)
	}
	x := ticketExtra{Signals: tk.Signals, SLA: &tk.SLA, Analytics: &tk.Analytics}
	b.Run("encode/direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := EncodeTicketExtra(&tk); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jsonv2.Marshal(x, extraJSON); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var t escalated.Ticket
			if err := DecodeTicketExtra(col, &t); err != nil {
				b.Fatal(err)
			}
		}
	})
	data := map[string]any{"message_id": "msg_01M8M997NM73HNT9F708S6QRMP", "author_kind": "customer", "internal": false}
	b.Run("eventdata/direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := MapText(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("eventdata/library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := JSONText(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var y ticketExtra
			if err := jsonv2.Unmarshal(col, &y, extraJSON); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestTicketExtraInvalidUTF8: a string that is not UTF-8 is written with U+FFFD in place of each
// bad byte, as encoding/json wrote it, but as the character itself where encoding/json wrote the
// \ufffd escape: both read back the same.
func TestTicketExtraInvalidUTF8(t *testing.T) {
	tk := &escalated.Ticket{}
	tk.Signals.Keywords = []string{"a\xffb", "\xc3"}
	tk.Bot = &escalated.BotHandoff{Recommendation: "bad \xe2\x82 byte"}
	got, err := EncodeTicketExtra(tk)
	if err != nil {
		t.Fatal(err)
	}
	std, err := json.Marshal(ticketExtra{Signals: tk.Signals, Bot: tk.Bot})
	if err != nil {
		t.Fatal(err)
	}
	var a, b escalated.Ticket
	if err := DecodeTicketExtra([]byte(got), &a); err != nil {
		t.Fatal(err)
	}
	if err := DecodeTicketExtra(std, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) || a.Signals.Keywords[0] != "a\ufffdb" {
		t.Fatalf("read back %+v and %+v", a, b)
	}
}

// TestTicketExtraRefusesWhatEncodingJSONRefuses: a damaged column is an error, as it was.
func TestTicketExtraRefusesWhatEncodingJSONRefuses(t *testing.T) {
	for _, col := range []string{``, `{`, `[]`, `{"signals": 3}`, `{"sla": {"clocks": [{"budget": "1h"}]}}`, `{"signals": {"trend": [1, "x"]}}`} {
		var tk escalated.Ticket
		var x ticketExtra
		stdErr := json.Unmarshal([]byte(col), &x)
		err := DecodeTicketExtra([]byte(col), &tk)
		if (err == nil) != (stdErr == nil) || err == nil {
			t.Errorf("%q: error %v, encoding/json %v; want both to refuse it", col, err, stdErr)
		}
	}
}

// The JSON column codecs' shortcuts for empty values write and read exactly what going through
// encoding/json does, and never hand out nil.
func TestEmptyColumnShortcuts(t *testing.T) {
	for _, m := range []map[string]any{nil, {}, {"a": 1.5, "b": []any{"x"}}} {
		got, err := MapText(m)
		want := "{}"
		if len(m) > 0 {
			b, _ := json.Marshal(m)
			want = string(b)
		}
		if err != nil || got != want {
			t.Fatalf("MapText(%v) = %q, %v; want %q", m, got, err, want)
		}
	}
	for _, s := range [][]string{nil, {}, {"vip", "<b>"}} {
		got, err := SliceText(s)
		want := "[]"
		if len(s) > 0 {
			b, _ := json.Marshal(s)
			want = string(b)
		}
		if err != nil || got != want {
			t.Fatalf("SliceText(%v) = %q, %v; want %q", s, got, err, want)
		}
	}
	for _, text := range []string{"{}", "null", ` {} `, `{"a":1}`} {
		m, err := ParseMap([]byte(text))
		var want map[string]any
		json.Unmarshal([]byte(text), &want)
		if want == nil {
			want = map[string]any{}
		}
		if err != nil || m == nil || !reflect.DeepEqual(m, want) {
			t.Fatalf("ParseMap(%q) = %#v, %v; want %#v", text, m, err, want)
		}
	}
	for _, text := range []string{"[]", "null", ` [] `, `["a"]`} {
		s, err := ParseStrings([]byte(text))
		var want []string
		json.Unmarshal([]byte(text), &want)
		if want == nil {
			want = []string{}
		}
		if err != nil || s == nil || !reflect.DeepEqual(s, want) {
			t.Fatalf("ParseStrings(%q) = %#v, %v; want %#v", text, s, err, want)
		}
	}
	// A fresh value each time: a caller may add to what it read.
	a, _ := ParseMap([]byte("{}"))
	a["x"] = 1
	if b, _ := ParseMap([]byte("{}")); len(b) != 0 {
		t.Fatal("ParseMap handed out a shared map")
	}
}
