// Package jsonenc appends JSON values byte for byte as encoding/json writes them, for the few
// hot columns written on every change of a ticket (event data, the decision's trace, a
// message's signals), where encoding/json's reflection was several percent of a message's CPU.
// Each function handles what it reproduces exactly and says so; a caller goes through
// encoding/json for anything else. The tests hold every function to encoding/json on random and
// fuzzed input.
package jsonenc

import (
	"math"
	"strconv"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// AppendString appends s quoted as encoding/json writes a string: with its HTML escaping
// (<, > and & as \u003c, \u003e, \u0026), \b, \f, \n, \r and \t for those controls and \u00XX
// for the others, \ufffd for each byte that is not UTF-8, and U+2028 and U+2029 escaped.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendStrings appends a []string as encoding/json writes it (nil as null).
func AppendStrings(dst []byte, s []string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, v := range s {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, v)
	}
	return append(dst, ']')
}

// AppendFloat appends f as encoding/json writes a float64 where that needs no exponent (the
// shortest decimal that reads back as f), and reports false, appending nothing, for what it
// writes otherwise: magnitudes outside [1e-6, 1e21) (exponents), NaN and the infinities (which
// it refuses) and negative zero.
func AppendFloat(dst []byte, f float64) ([]byte, bool) {
	if a := math.Abs(f); math.IsNaN(f) || a >= 1e21 || (a != 0 && a < 1e-6) || (f == 0 && math.Signbit(f)) {
		return dst, false
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64), true
}
