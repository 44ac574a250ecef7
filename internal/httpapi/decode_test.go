package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"reflect"
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

// exactKeysTypes are request bodies with nested objects, arrays of objects and free-form maps.
var exactKeysTypes = []reflect.Type{reflect.TypeFor[createTicketIn](), reflect.TypeFor[handoffIn](),
	reflect.TypeFor[patchTicketIn](), reflect.TypeFor[messageIn]()}

// TestExactKeysAgreesWithUnknownPath: decode's one-pass check passes a body exactly when
// unknownPath finds no key to name, and passes nothing it would name.
func TestExactKeysAgreesWithUnknownPath(t *testing.T) {
	ct, ho := reflect.TypeFor[createTicketIn](), reflect.TypeFor[handoffIn]()
	cases := []struct {
		t     reflect.Type
		body  string
		exact bool
	}{
		{ct, `{"subject":"x","message":{"author":{"kind":"customer"},"body":"hi"}}`, true},
		{ct, `{"subject":"x","message":{"author":{"kind":"customer","Name":"K"},"body":"hi"}}`, false},
		{ct, `{"Subject":"x"}`, false},
		{ct, `{"account":{"id":"a","attributes":{"Any":[1,{"Key":null}]}}}`, true}, // a map: not looked into
		{ct, `{"custom_fields":{"Plan":"pro"},"tags":["a"]}`, true},
		{ct, `{"message":null,"account":null}`, true},
		{ct, `{"\u0073ubject":"x"}`, true}, // an escaped name is the name
		{ho, `{"transcript":[{"author":"customer","body":"hi"},{"author":"bot","Body":"yes"}]}`, false},
		{ho, `{"transcript":[{"author":"customer","body":"hi"}],"bot_steps":[]}`, true},
		// The tokenizer refuses duplicate names, which encoding/json takes: unknownPath decides.
		{ct, `{"subject":"x","subject":"y"}`, false},
	}
	for _, c := range cases {
		got := exactKeys([]byte(c.body), c.t)
		if got != c.exact {
			t.Errorf("exactKeys(%s, %s) = %v, want %v", c.body, c.t, got, c.exact)
		}
		if path := unknownPath([]byte(c.body), c.t, ""); got && path != "" {
			t.Errorf("exactKeys passed %s, where unknownPath names %q", c.body, path)
		}
	}
}

// FuzzExactKeys: whatever the body, a body decode's one-pass check passes holds no key
// unknownPath would name (the check may send a body on to unknownPath that has none, never the
// other way round).
func FuzzExactKeys(f *testing.F) {
	for _, s := range []string{
		`{"subject":"x","message":{"author":{"kind":"customer"},"body":"hi"}}`,
		`{"transcript":[{"author":"customer","body":"hi"},{"author":"bot","Body":"yes"}]}`,
		`{"account":{"id":"a","attributes":{"x":[1,2,{"y":null}]}}}`, `{"Subject":"x"}`,
		`{"tags":["a","b"],"custom_fields":{"k":1.5}}`, `[1,2]`, `null`, `{"a":`, "\xff\xfe",
		`{"status":"solved","assignee":null,"Tags":[]}`,
	} {
		for i := range exactKeysTypes {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		typ := exactKeysTypes[int(which)%len(exactKeysTypes)]
		if json.Unmarshal([]byte(body), reflect.New(typ).Interface()) != nil {
			return // decode answers before it looks at the keys
		}
		if exactKeys([]byte(body), typ) {
			if path := unknownPath([]byte(body), typ, ""); path != "" {
				t.Fatalf("exactKeys passed %q as a %s, where unknownPath names %q", body, typ, path)
			}
		}
	})
}

// BenchmarkDecodeMessage decodes the body of POST /v1/tickets/{id}/messages as the API does
// (strictly, names checked exactly), the benchmarks' customer message.
//
//	go test ./internal/httpapi -run '^$' -bench DecodeMessage
func BenchmarkDecodeMessage(b *testing.B) {
	body := []byte(`{"author":{"kind":"customer","id":"cus_1","name":"Kim"},"body":"I was charged twice for my order and nobody answers; please refund the second payment."}`)
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1/tickets/tkt_1/messages", nil)
	for b.Loop() {
		r.Body = io.NopCloser(bytes.NewReader(body))
		var in messageIn
		if err := decode(w, r, &in); err != nil {
			b.Fatal(err)
		}
	}
}
