package ticket

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/escalated/escalated"
)

var (
	slugRE     = regexp.MustCompile(fmt.Sprintf(`^[a-z0-9][a-z0-9_.-]{0,%d}$`, MaxTagLen-1))
	languageRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
	extIDRE    = regexp.MustCompile(fmt.Sprintf(`^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,%d}$`, MaxIDLen-1))
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
			fe.Add(fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("must be 1-%d lowercase letters, digits, '_', '.' or '-' (got %s)", MaxTagLen, sent(tag)))
			continue
		}
		if !slices.Contains(out, tag) {
			out = append(out, tag)
		}
	}
	if len(out) > MaxTags {
		fe.Add(field, fmt.Sprintf("has %d distinct tags; at most %d are accepted", len(out), MaxTags))
	}
	return out
}

func checkCustomFields(fe escalated.FieldErrors, field string, m map[string]any) {
	if len(m) > MaxCustomFields {
		fe.Add(field, fmt.Sprintf("has %d fields; at most %d are accepted", len(m), MaxCustomFields))
	}
	for k, v := range m {
		if !slugRE.MatchString(k) {
			fe.Add(field+"."+clip(k), fmt.Sprintf("custom field names must be 1-%d lowercase letters, digits, '_', '.' or '-' (got %s)", MaxTagLen, sent(k)))
		}
		switch x := v.(type) {
		case nil, bool, float64, int, int64:
		case string:
			if len(x) > MaxCustomFieldValue {
				fe.Add(field+"."+k, fmt.Sprintf("string values must be at most %d bytes (got %d)", MaxCustomFieldValue, len(x)))
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

// sent shows a refused value in an error: quoted when short, else only its size, so that an
// error never echoes a megabyte back.
func sent(v string) string {
	if len(v) > 64 {
		return fmt.Sprintf("%d bytes", len(v))
	}
	return fmt.Sprintf("%q", v)
}

// clip shortens a client's key for use in an error's field name.
func clip(k string) string {
	if len(k) > 64 {
		return k[:64] + "..."
	}
	return k
}
