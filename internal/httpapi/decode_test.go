package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/escalated/escalated"
)

func decodeString(body string, v any) error {
	r := httptest.NewRequest("POST", "/v1/tickets", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return decode(httptest.NewRecorder(), r, v)
}

func TestDecodeNamesTheField(t *testing.T) {
	cases := []struct {
		body, field, code string
	}{
		{`{"subject": 1}`, "subject", escalated.EINVALID},
		{`{"message": {"author": {"kind": 3}}}`, "message.author.kind", escalated.EINVALID},
		{`{"message": {"author": {"nick": "x"}}}`, "message.author.nick", escalated.EINVALID},
		{`{"account": {"attributes": {"a": 1}, "tierr": "pro"}}`, "account.tierr", escalated.EINVALID},
		{`{"tags": [1]}`, "tags", escalated.EINVALID},
		{`{"zzz": 1, "aaa": 2}`, "aaa", escalated.EINVALID},
		{`[]`, "", escalated.EINVALID},
		{`null`, "", escalated.EINVALID},
		{`{"Subject": "x"}`, "Subject", escalated.EINVALID},
		{`{"message": {"Body": "x"}}`, "message.Body", escalated.EINVALID},
		{`{"subject": "a"} x`, "", escalated.EINVALID},
		{`{"subject": "a"`, "", escalated.EINVALID},
		{``, "", escalated.EINVALID},
		{`{"subject": "` + strings.Repeat("x", MaxBody) + `"}`, "", escalated.ETOOLARGE},
	}
	for _, c := range cases {
		var in createTicketIn
		err := decodeString(c.body, &in)
		if got := escalated.ErrorCode(err); got != c.code {
			t.Errorf("%.40q: code %q, want %q (%v)", c.body, got, c.code, err)
			continue
		}
		if c.field != "" && escalated.ErrorFields(err)[c.field] == "" {
			t.Errorf("%.40q: error %v does not name field %q", c.body, err, c.field)
		}
	}
}

// FuzzDecode feeds arbitrary bodies to the strict decoder: it must never panic and must answer
// either success or a client error (invalid or too_large), never an internal one.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"subject":"x","message":{"author":{"kind":"customer"},"body":"hi"}}`,
		`{"account":{"id":"a","attributes":{"x":[1,2,{"y":null}]}}}`,
		`{"tags":["a","b"],"custom_fields":{"k":1.5}}`, `{"message":{"author":{"kind":"agent","zz":1}}}`,
		`[1,2]`, `null`, `"x"`, `{"a":`, "\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, v := range []any{&createTicketIn{}, &patchTicketIn{}, &escalateIn{}, &returnIn{}} {
			err := decodeString(body, v)
			if code := escalated.ErrorCode(err); err != nil && code != escalated.EINVALID && code != escalated.ETOOLARGE {
				t.Fatalf("body %q: code %s (%v)", body, code, err)
			}
		}
	})
}
