package escalated

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes are the small, stable vocabulary every layer speaks. The HTTP layer maps each to
// one status in one place; the command line prints the message. Never match on message text.
const (
	EINVALID      = "invalid"      // the request is malformed or breaks a rule (400)
	EUNAUTHORIZED = "unauthorized" // no valid credentials (401)
	EFORBIDDEN    = "forbidden"    // valid credentials without the right role (403)
	ENOTFOUND     = "not_found"    // the object does not exist (404)
	ECONFLICT     = "conflict"     // the object's state does not allow this now (409)
	ETOOLARGE     = "too_large"    // the body or a field is over its limit (413)
	ERATELIMITED  = "rate_limited" // too many requests (429)
	EUNAVAILABLE  = "unavailable"  // the server cannot do it now (database not writable); retry later (503)
	EINTERNAL     = "internal"     // anything else; details go to the log, not the client (500)
)

// Error is the application error: a code, a message a person can act on, and for validation
// failures the offending fields with what is allowed.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	if len(e.Fields) == 1 {
		for _, v := range e.Fields {
			if strings.Contains(e.Message, v) {
				return e.Message // the message already says it (see Invalid)
			}
		}
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming one field and what is wrong with it.
func Invalid(field, problem string) *Error {
	return &Error{Code: EINVALID, Message: "invalid " + field + ": " + problem, Fields: map[string]string{field: problem}}
}

// FieldErrors collects validation problems per field so a client learns all of them at once.
type FieldErrors map[string]string

// Add records a problem for a field; the first problem per field wins.
func (f FieldErrors) Add(field, problem string) {
	if _, ok := f[field]; !ok {
		f[field] = problem
	}
}

// Err returns nil when no problem was recorded, else an EINVALID *Error listing every field.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	msg := "invalid request"
	if len(f) == 1 {
		for k, v := range f {
			msg = "invalid " + k + ": " + v
		}
	}
	return &Error{Code: EINVALID, Message: msg, Fields: map[string]string(f)}
}

// ErrorCode returns the code of an application error anywhere in err's chain, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message: the application error's message, or a generic
// text for internal errors (whatever their message) so that no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the field problems of an application error, if any.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
