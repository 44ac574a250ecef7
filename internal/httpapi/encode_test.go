package httpapi

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/escalated/escalated"
)

// randomText draws strings with what JSON escaping treats specially: quotes, backslashes,
// controls, HTML characters, multi-byte and invalid UTF-8, U+2028.
func randomText(r *rand.Rand) string {
	pieces := []string{"", "a", "Kim", `"`, `\`, "\n", "\t", "\x00", "\x1f", "<", ">", "&", "é", "日本",
		"\u2028", "\u2029", "\xff", "\xe2\x80", "🙂", " ", "refund", "ü\u0301"}
	var b []byte
	for range r.IntN(8) {
		b = append(b, pieces[r.IntN(len(pieces))]...)
	}
	return string(b)
}

func randomMessage(r *rand.Rand) *escalated.Message {
	m := &escalated.Message{
		ID: randomText(r), TicketID: randomText(r), Seq: r.Int64N(1<<40) - 1<<20,
		Author: escalated.Author{Kind: escalated.AuthorKind(randomText(r)), ID: randomText(r), Name: randomText(r)},
		Body:   randomText(r), Internal: r.IntN(2) == 0,
		Signals: escalated.Signals{WantsHuman: r.IntN(2) == 0, Shouting: r.IntN(2) == 0, Profanity: r.IntN(2) == 0},
	}
	switch r.IntN(3) {
	case 0: // nil keywords: written as []
	case 1:
		m.Signals.Keywords = []string{}
	default:
		for range 1 + r.IntN(4) {
			m.Signals.Keywords = append(m.Signals.Keywords, randomText(r))
		}
	}
	sentiments := []float64{0, 1, -1, 0.5, -0.3427, 1e-7, -2.5e-9, 1e21, math.Copysign(0, -1), r.Float64()*2 - 1}
	m.Signals.Sentiment = sentiments[r.IntN(len(sentiments))]
	if r.IntN(5) > 0 {
		zone := time.FixedZone("z", (r.IntN(48)-24)*1800)
		m.CreatedAt = time.Unix(r.Int64N(4e9), r.Int64N(1e9)).In(zone)
	}
	return m
}

// TestAppendMessageAsMarshalJSON: the answer to POST /v1/tickets/{id}/messages is the same
// bytes written directly as through encoding/json and escalated.Message.MarshalJSON, for
// random messages, falling back to encoding/json for what the direct writer declines.
func TestAppendMessageAsMarshalJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	direct := 0
	for range 5000 {
		m := randomMessage(r)
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := appendMessage(nil, m); ok {
			direct++
			if !bytes.Equal(got, want) {
				t.Fatalf("message %#v:\ndirect  %s\nlibrary %s", m, got, want)
			}
		}
		a, b := httptest.NewRecorder(), httptest.NewRecorder()
		writeMessage(a, 201, m)
		writeJSON(b, 201, m)
		if a.Code != b.Code || a.Header().Get("Content-Type") != b.Header().Get("Content-Type") || !bytes.Equal(a.Body.Bytes(), b.Body.Bytes()) {
			t.Fatalf("message %#v: writeMessage answered %d %q %s, writeJSON %d %q %s", m,
				a.Code, a.Header().Get("Content-Type"), a.Body.Bytes(), b.Code, b.Header().Get("Content-Type"), b.Body.Bytes())
		}
	}
	if direct < 2000 {
		t.Errorf("only %d of 5,000 messages written directly; the test would not see the direct writer", direct)
	}
}

// TestAppendMessageKnowsEveryField: a message with every field set, through reflection, is
// written the same both ways; a field added to escalated.Message (or its Author or Signals)
// and not to appendMessage fails here.
func TestAppendMessageKnowsEveryField(t *testing.T) {
	var m escalated.Message
	fill(reflect.ValueOf(&m).Elem())
	want, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := appendMessage(nil, &m)
	if !ok || !bytes.Equal(got, want) {
		t.Fatalf("every field set:\ndirect  %s (written: %v)\nlibrary %s", got, ok, want)
	}
}

// fill sets every field of v to a value that is not its zero value.
func fill(v reflect.Value) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Date(2026, 11, 29, 10, 30, 0, 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.String:
		v.SetString("set")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(0.25)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem())
		v.Set(p)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
	}
}

// BenchmarkWriteMessage answers with the benchmarks' customer message, directly and through
// encoding/json (the baseline).
//
//	go test ./internal/httpapi -run '^$' -bench WriteMessage -benchmem
func BenchmarkWriteMessage(b *testing.B) {
	m := &escalated.Message{ID: "msg_01M8MJQSR1T6NKXPV7G5ADEE7R", TicketID: "tkt_01M8MJQSR1T6NKXPV7G5ADEE7Q", Seq: 12,
		Author:    escalated.Author{Kind: escalated.AuthorCustomer, ID: "cus_1", Name: "Kim"},
		Body:      "I was charged twice for my order and nobody answers; please refund the second payment.",
		Signals:   escalated.Signals{Keywords: []string{"refund", "charged twice"}, Sentiment: -0.4767},
		CreatedAt: time.Now()}
	for _, c := range []struct {
		name  string
		write func(*httptest.ResponseRecorder)
	}{
		{"direct", func(w *httptest.ResponseRecorder) { writeMessage(w, 201, m) }},
		{"encoding-json", func(w *httptest.ResponseRecorder) { writeJSON(w, 201, m) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.write(httptest.NewRecorder())
			}
		})
	}
}
