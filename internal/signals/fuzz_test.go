package signals

import (
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMessage feeds arbitrary text to Message: it must never panic, must report keyword ids
// sorted, unique and from the configured lists, and a sentiment within [-1, 1].
func FuzzMessage(f *testing.F) {
	for _, s := range []string{
		"", benchMessage, "I want to speak to a human", "f*ck sh1t fuuuck", "Café CRÈME!!!",
		"don't work'", "**'**", "lawyer\xff\xfesue", "ǅ ﬁ ß İ ı", "legal\u0301 action", "😡😡 terrible",
		strings.Repeat("sue ", 100), "ＳＵＥ", "a'b*c'*'d", "talk to to to a a human human",
	} {
		f.Add(s)
	}
	x := mustNew(f, benchConfig())
	known := x.Lists()
	f.Fuzz(func(t *testing.T, body string) {
		s := x.Message(body)
		if s.Keywords == nil {
			t.Fatal("Keywords is nil")
		}
		if !slices.IsSorted(s.Keywords) || len(slices.Compact(slices.Clone(s.Keywords))) != len(s.Keywords) {
			t.Fatalf("Keywords %q not sorted and unique", s.Keywords)
		}
		for _, k := range s.Keywords {
			if !slices.Contains(known, k) {
				t.Fatalf("Keywords has %q, not a configured list", k)
			}
		}
		if math.IsNaN(s.Sentiment) || s.Sentiment < -1 || s.Sentiment > 1 {
			t.Fatalf("Sentiment %v outside [-1, 1]", s.Sentiment)
		}
		// Folding is what makes matching case-insensitive, so changing the case of valid
		// UTF-8 text must not change what is found. (Only ASCII case is changed: Unicode
		// case mapping is not one-to-one for a few letters such as 'İ'.)
		if utf8.ValidString(body) {
			up := x.text(asciiUpper(body))
			if !slices.Equal(up.Keywords, s.Keywords) || up.WantsHuman != s.WantsHuman || up.Profanity != s.Profanity {
				t.Fatalf("upper-casing changed the result: %+v vs %+v", up, s)
			}
		}
	})
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
