package policy

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a policy document, positioned at the node that caused it so an editor
// or a person can jump straight to it.
type Error struct {
	File   string
	Line   int
	Column int
	Msg    string
}

// Error renders the compiler-style "file:line:col: msg" that editors and CI annotators parse.
func (e *Error) Error() string {
	pos := strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Column) + ": " + e.Msg
	if e.File == "" {
		return pos
	}
	return e.File + ":" + pos
}

// ErrorList is every problem found in one document. Parse reports all of them at once because a
// policy author fixing one error per run would need as many runs as there are mistakes.
type ErrorList []*Error

// Error joins the problems one per line, in document order.
func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Err returns nil for an empty list and the list as a *ErrorList otherwise, so that a caller
// never holds a non-nil error interface wrapping zero problems.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return &l
}

// Unwrap exposes the individual problems to errors.As and errors.Is.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// As lets errors.As fill an ErrorList target as well as a *ErrorList one: Parse returns a
// *ErrorList, and callers naturally declare either form.
func (l ErrorList) As(target any) bool {
	if t, ok := target.(*ErrorList); ok {
		*t = l
		return true
	}
	return false
}

// sort orders problems by position; stable so that two problems at one node keep the order in
// which they were found, which is also the order that reads best.
func (l ErrorList) sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Column, b.Column)
	})
}
