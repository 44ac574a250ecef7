package ticket

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/escalated/escalated"
)

// Field limits. They keep one request from bloating history, which is never deleted.
const (
	MaxSubject      = 300
	MaxBody         = 64 << 10
	MaxNote         = 10000
	MaxTags         = 50
	MaxCustomFields = 50
	MaxNameLen      = 200
)

var (
	slugRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	languageRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
	extIDRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}$`)
)

func checkSlug(fe escalated.FieldErrors, field, v string) {
	if v != "" && !slugRE.MatchString(v) {
		fe.Add(field, "must be 1-64 lowercase letters, digits, '_', '.' or '-', starting with a letter or digit")
	}
}

func checkText(fe escalated.FieldErrors, field, v string, required bool, max int) {
	switch {
	case required && strings.TrimSpace(v) == "":
		fe.Add(field, "is required")
	case len(v) > max:
		fe.Add(field, fmt.Sprintf("must be at most %d bytes (got %d)", max, len(v)))
	case !utf8.ValidString(v):
		fe.Add(field, "must be valid UTF-8")
	case strings.ContainsRune(v, 0):
		// PostgreSQL cannot store NUL in text; refusing it here keeps both stores alike.
		fe.Add(field, "must not contain NUL characters")
	}
}

// normTags lowercases, trims and de-duplicates tags, keeping first-seen order.
func normTags(fe escalated.FieldErrors, field string, tags []string) []string {
	out := make([]string, 0, len(tags))
	for i, tag := range tags {
		tag = strings.ToLower(strings.TrimSpace(tag))
		if !slugRE.MatchString(tag) {
			fe.Add(fmt.Sprintf("%s[%d]", field, i), "must be 1-64 lowercase letters, digits, '_', '.' or '-'")
			continue
		}
		if !slices.Contains(out, tag) {
			out = append(out, tag)
		}
	}
	if len(out) > MaxTags {
		fe.Add(field, fmt.Sprintf("at most %d tags", MaxTags))
	}
	return out
}

func checkCustomFields(fe escalated.FieldErrors, field string, m map[string]any) {
	if len(m) > MaxCustomFields {
		fe.Add(field, fmt.Sprintf("at most %d custom fields", MaxCustomFields))
	}
	for k, v := range m {
		if !slugRE.MatchString(k) {
			fe.Add(field+"."+k, "custom field names must be 1-64 lowercase letters, digits, '_', '.' or '-'")
		}
		switch x := v.(type) {
		case nil, bool, float64, int, int64:
		case string:
			if len(x) > 4096 {
				fe.Add(field+"."+k, "string values must be at most 4096 bytes")
			} else if strings.ContainsRune(x, 0) || !utf8.ValidString(x) {
				fe.Add(field+"."+k, "must be valid UTF-8 without NUL characters")
			}
		default:
			fe.Add(field+"."+k, "must be a string, number, boolean or null")
		}
	}
}

func oneOf[T ~string](vals []T) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = string(v)
	}
	return "must be one of " + strings.Join(s, ", ")
}
