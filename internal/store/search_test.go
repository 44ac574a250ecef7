package store

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSearchTerms(t *testing.T) {
	t.Parallel()
	var many []string
	for i := range 40 {
		many = append(many, fmt.Sprintf("w%02d", i))
	}
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"empty", "", []string{}},
		{"only stop words and letters", "Hi, could you please tell me? Is it to be a b c", []string{"tell"}},
		{"only stop words", "Hi, could you please ... is it to be a b c?", []string{}},
		{"lower-cased, punctuation splits", "Refund for ORDER #12345 (damaged)!", []string{"refund", "order", "12345", "damaged"}},
		{"first occurrence kept", "refund Refund REFUND order refund", []string{"refund", "order"}},
		{"contractions leave no fragments", "I can't log in and don't get the e-mail", []string{"log", "get", "mail"}},
		{"query syntax is just separators", `"refund" NEAR/2 (order*) AND pass:word -x ^y 'z' &|! \`,
			[]string{"refund", "near", "order", "pass", "word"}},
		{"unicode letters and digits", "Возврат денег, ЗАКАЗ №42 — 退款 ٣٤", []string{"возврат", "денег", "заказ", "42", "退款", "٣٤"}},
		{"combining marks stay in the word", "नमस्ते दुनिया", []string{"नमस्ते", "दुनिया"}},
		{"accents kept (the stores fold them)", "Café déjà vu", []string{"café", "déjà", "vu"}},
		{"stray marks are not words", "x \u0301\u0301 ok", []string{"ok"}},
		{"invalid UTF-8 and NUL separate", "pay\xffment\x00card", []string{"pay", "ment", "card"}},
		{"capped", strings.Join(many, " "), many[:MaxSearchTerms]},
		{"cap counts distinct terms", strings.Repeat("refund ", 100) + "order", []string{"refund", "order"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := SearchTerms(tc.text)
			if got == nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("SearchTerms(%q)\n  got  %#v\n  want %#v", tc.text, got, tc.want)
			}
		})
	}
}

func TestSearchTermsLongInputStopsAtTheCap(t *testing.T) {
	// Not parallel: it measures the bytes allocated while it runs. A megabyte of words: only the first MaxSearchTerms distinct ones count, and getting them
	// must not depend on the length of the rest.
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "word%d ", i)
	}
	got := SearchTerms(b.String())
	if len(got) != MaxSearchTerms || got[0] != "word0" || got[MaxSearchTerms-1] != fmt.Sprintf("word%d", MaxSearchTerms-1) {
		t.Errorf("SearchTerms of 1 MiB: %d terms %v, want word0..word%d", len(got), got, MaxSearchTerms-1)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	SearchTerms(b.String())
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Errorf("SearchTerms of 1 MiB allocated %d bytes: it should stop reading at the cap", n)
	}
}

// FuzzSearchTerms checks what the stores rely on to keep user text out of their query syntax:
// every term is a lower-case run of letters, digits and marks, at least two runes long, not a
// stop word, listed once, and there are at most MaxSearchTerms.
func FuzzSearchTerms(f *testing.F) {
	for _, s := range []string{"", "Refund my order", `"a" OR b* NEAR(c d) 'e':f & g | !h`, "Возврат 退款 नमस्ते", "\xff\x00x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		terms := SearchTerms(text)
		if terms == nil || len(terms) > MaxSearchTerms {
			t.Fatalf("SearchTerms(%q) = %#v: want a non-nil list of at most %d", text, terms, MaxSearchTerms)
		}
		seen := map[string]bool{}
		for _, w := range terms {
			if seen[w] || stopWords[w] || utf8.RuneCountInString(w) < 2 || !utf8.ValidString(w) || w != strings.ToLower(w) {
				t.Fatalf("SearchTerms(%q): bad term %q in %q", text, w, terms)
			}
			for _, r := range w {
				if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
					t.Fatalf("SearchTerms(%q): term %q holds %q, which query syntax could read", text, w, r)
				}
			}
			seen[w] = true
		}
	})
}
