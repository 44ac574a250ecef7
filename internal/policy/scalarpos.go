package policy

import (
	"bytes"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// scalarPos returns the line and column (1-based, in characters as yaml.v3 counts them) in
// src of the character at rune offset off of scalar node n's value. A condition's error sits
// somewhere inside the expression, and "line 14 column 12" is only useful if column 12 is
// where the mistake is, not where the string starts.
//
// Flow scalars (plain, 'single' or "double" quoted) are walked through the source, so escape
// sequences and folded line breaks are accounted for; block scalars (| and >) are mapped line
// by line. When the source does not look as expected (a hand-built node) the start of the
// scalar is the answer.
func scalarPos(src []byte, n *yaml.Node, off int) (int, int) {
	line, col := max(n.Line, 1), max(n.Column, 1)
	if off <= 0 && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle|yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
		return line, col
	}
	lines := sourceLines(src)
	if line > len(lines) {
		return line, col
	}
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return blockPos(lines, line, off)
	case n.Style&yaml.DoubleQuotedStyle != 0:
		return flowPos(lines, line, col+1, off, '"')
	case n.Style&yaml.SingleQuotedStyle != 0:
		return flowPos(lines, line, col+1, off, '\'')
	}
	return flowPos(lines, line, col, off, 0)
}

// sourceLines splits src into lines of runes, without line terminators.
func sourceLines(src []byte) [][]rune {
	raw := bytes.Split(src, []byte("\n"))
	out := make([][]rune, len(raw))
	for i, l := range raw {
		l = bytes.TrimSuffix(l, []byte("\r"))
		if utf8.Valid(l) {
			out[i] = []rune(string(l))
		} else {
			out[i] = bytes.Runes(l)
		}
	}
	return out
}

func isBlank(r rune) bool { return r == ' ' || r == '\t' }

// firstNonBlank is the index of the first rune of l that is not a space or tab.
func firstNonBlank(l []rune) int {
	i := 0
	for i < len(l) && isBlank(l[i]) {
		i++
	}
	return i
}

// flowPos walks a flow scalar that starts at line, col (the first character of its value) to
// the value's rune off. quote is the quote character, or 0 for a plain scalar.
func flowPos(lines [][]rune, line, col, off int, quote rune) (int, int) {
	l, i, v := line-1, col-1, 0
	for {
		rs := lines[l]
		end := len(rs)
		for end > i && isBlank(rs[end-1]) {
			end-- // trailing blanks are not part of a value that continues on the next line
		}
		if i >= end {
			// A line break folds into one character (a space), or into one newline per blank
			// line that follows; the next line's indentation is not part of the value.
			if l+1 >= len(lines) {
				return l + 1, i + 1
			}
			if v >= off {
				return l + 1, min(i, len(rs)) + 1
			}
			blank := 0
			for l+1 < len(lines) && firstNonBlank(lines[l+1]) == len(lines[l+1]) {
				l++
				blank++
			}
			if l+1 >= len(lines) {
				return l + 1, 1
			}
			l++
			i = firstNonBlank(lines[l])
			v += max(blank, 1)
			continue
		}
		r := rs[i]
		switch quote {
		case '"':
			if r == '"' {
				return l + 1, i + 1 // the closing quote: the offset is at the end of the value
			}
			if r == '\\' {
				if i+1 >= len(rs) {
					// An escaped line break joins the lines without a character.
					if l+1 >= len(lines) {
						return l + 1, i + 1
					}
					l++
					i = firstNonBlank(lines[l])
					continue
				}
				if v >= off {
					return l + 1, i + 1
				}
				width := 2
				switch rs[i+1] {
				case 'x':
					width = 4
				case 'u':
					width = 6
				case 'U':
					width = 10
				}
				i += width
				v++
				continue
			}
		case '\'':
			if r == '\'' {
				if i+1 < len(rs) && rs[i+1] == '\'' {
					if v >= off {
						return l + 1, i + 1
					}
					i += 2
					v++
					continue
				}
				return l + 1, i + 1
			}
		}
		if v >= off {
			return l + 1, i + 1
		}
		i++
		v++
	}
}

// blockPos maps rune off of a block scalar whose indicator (| or >) is on line header to the
// source. Each content line contributes its text after the block's indentation and one
// character for its line break (a newline in a literal block, a space in a folded one).
func blockPos(lines [][]rune, header, off int) (int, int) {
	indent := -1
	v := 0
	lastLine, lastCol := header, 1
	for l := header; l < len(lines); l++ { // lines[header] is the line after the indicator
		rs := lines[l]
		nb := firstNonBlank(rs)
		if nb == len(rs) {
			v++ // a blank line is one newline of the value
			continue
		}
		if indent < 0 {
			indent = nb
		} else if nb < indent {
			break // the block ended
		}
		text := len(rs) - indent
		if off < v+text {
			return l + 1, indent + (off - v) + 1
		}
		v += text + 1
		lastLine, lastCol = l+1, len(rs)+1
	}
	return lastLine, lastCol
}
