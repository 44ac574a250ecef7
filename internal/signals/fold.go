package signals

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// span is one token: a half-open byte range of the folded text.
type span struct{ start, end int32 }

// foldSpecial maps letters that compatibility decomposition leaves alone but that customers
// type interchangeably with plain ASCII ("straße" / "strasse", "Øre" / "ore"). Small and fixed,
// so a switch beats a map lookup on the hot path.
func foldSpecial(r rune) (string, bool) {
	switch r {
	case 'ß':
		return "ss", true
	case 'æ':
		return "ae", true
	case 'œ':
		return "oe", true
	case 'ø':
		return "o", true
	case 'đ', 'ð':
		return "d", true
	case 'ł':
		return "l", true
	case 'ı':
		return "i", true
	case 'þ':
		return "th", true
	}
	return "", false
}

// isApostrophe reports the characters people and keyboards use for an apostrophe, so that
// "don’t" typed on a phone matches "don't" typed on a desktop.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '\u2019', '\u2018', '\u02bc', '\uff07', '`', '\u00b4':
		return true
	}
	return false
}

// fold appends s to dst lower-cased, compatibility-decomposed (NFKD, so full-width letters and
// ligatures become plain ones) and without nonspacing marks (so "Café" becomes "cafe"), with
// every apostrophe variant written as an ASCII apostrophe. Matching compares folded text with
// folded phrases, which is what makes it case- and accent-insensitive.
func fold(dst []byte, s string) []byte {
	// ASCII bytes, the usual case, skip the normaliser; each other character is decomposed on
	// its own. Per-character NFKD is enough because the marks it would reorder across
	// characters are the nonspacing ones, which are dropped anyway: "é" may arrive
	// precomposed (U+00E9) or as "e" + U+0301, and both end as "e".
	var scratch [64]byte
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			} else if c == '`' {
				c = '\''
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			dst = append(dst, ' ') // invalid UTF-8 separates words instead of joining them
			i++
			continue
		}
		dec := norm.NFKD.AppendString(scratch[:0], s[i:i+n])
		i += n
		for len(dec) > 0 {
			r, m := utf8.DecodeRune(dec)
			dec = dec[m:]
			switch {
			case r < utf8.RuneSelf:
				if 'A' <= r && r <= 'Z' {
					r += 'a' - 'A'
				}
				dst = append(dst, byte(r))
			case unicode.Is(unicode.Mn, r):
				// accent: dropped
			case isApostrophe(r):
				dst = append(dst, '\'')
			default:
				r = unicode.ToLower(r)
				if rep, ok := foldSpecial(r); ok {
					dst = append(dst, rep...)
				} else {
					dst = utf8.AppendRune(dst, r)
				}
			}
		}
	}
	return dst
}

// isWordRune reports whether r belongs inside a token. Spacing marks stay with their letter
// (scripts such as Devanagari need them); everything else separates words.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiWord[r]
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// asciiWord is isWordRune for ASCII as a table: tokenising is a per-byte loop, and a table
// lookup is the cheapest test there is.
var asciiWord = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z'
	}
	return t
}()

// isJoiner reports characters kept inside a word when a word character follows them:
// apostrophes ("don't" is one token, so a phrase "don't" cannot match "don" + "t" elsewhere)
// and asterisks, which is how people write "f*ck" and which the profanity check unmasks.
func isJoiner(c byte) bool { return c == '\'' || c == '*' }

// tokenize appends the word spans of folded text b to dst. A word is a run of letters, digits
// and marks, with joiners inside it; leading and trailing joiners belong to no word, so
// "'quoted'" and "**bold**" tokenise to "quoted" and "bold".
func tokenize(dst []span, b []byte) []span {
	start := -1
	for i := 0; i < len(b); {
		if c := b[i]; c < utf8.RuneSelf && asciiWord[c] { // the common case, kept tight
			if start < 0 {
				start = i
			}
			i++
			continue
		}
		r, n := rune(b[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(b[i:])
		}
		switch {
		case isWordRune(r):
			if start < 0 {
				start = i
			}
			i += n
		case start >= 0 && isJoiner(b[i]):
			// keep the joiner run only if a word character follows it
			j := i
			for j < len(b) && isJoiner(b[j]) {
				j++
			}
			if j < len(b) && wordRuneAt(b, j) {
				i = j
				continue
			}
			dst = append(dst, span{int32(start), int32(i)})
			start = -1
			i = j
		default:
			if start >= 0 {
				dst = append(dst, span{int32(start), int32(i)})
				start = -1
			}
			i += n
		}
	}
	if start >= 0 {
		dst = append(dst, span{int32(start), int32(len(b))})
	}
	return dst
}

func wordRuneAt(b []byte, i int) bool {
	r := rune(b[i])
	if r >= utf8.RuneSelf {
		r, _ = utf8.DecodeRune(b[i:])
	}
	return isWordRune(r)
}

// words folds and tokenises s into separate strings; used for phrases at construction time,
// where clarity matters more than allocations.
func words(s string) []string {
	b := fold(nil, s)
	sp := tokenize(nil, b)
	out := make([]string, len(sp))
	for i, t := range sp {
		out[i] = string(b[t.start:t.end])
	}
	return out
}
