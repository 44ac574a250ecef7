package history

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

const good = `{"type":"ticket.created","at":"2026-10-01T09:00:00Z","ticket":"T1","new":{"subject":"API key rejected","issue_type":"api_integration","account":{"id":"acme","name":"Acme","tier":"enterprise"}},"message":{"author":{"kind":"customer","id":"c1"},"body":"Our key gets 401."}}
{"type":"message.added","at":"2026-10-01T09:05:00.250Z","ticket":"T1","message":{"author":{"kind":"agent","id":"ana"},"body":"Looking."}}

{"type":"escalation.created","at":"2026-10-01T09:10:00Z","ticket":"T1","to":"engineering","reason":"complexity","note":"Key valid, gateway answers 401; needs engineering.","by":"ana"}
{"type":"escalation.acknowledged","at":"2026-10-01T09:30:00Z","ticket":"T1","escalation":1,"by":"ben","context_sufficient":true}
{"type":"ticket.updated","at":"2026-10-01T11:00:00Z","ticket":"T1","update":{"status":"solved"}}
`

func TestReadWriteRoundTrip(t *testing.T) {
	evs, err := Read(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 5 || evs[2].Escalation != 1 || evs[1].At != time.Date(2026, 10, 1, 9, 5, 0, 250e6, time.UTC) || *evs[3].ContextSufficient != true {
		t.Fatalf("read %+v", evs)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, e := range evs {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `{"type":"ticket.created","at":"2026-10-01T09:00:00.000Z","ticket":"T1"`) {
		t.Errorf("written line does not start with type, at, ticket: %.80s", buf.String())
	}
	again, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(evs) {
		t.Fatalf("%d events after a round trip, want %d", len(again), len(evs))
	}
	for i := range evs {
		a, b := evs[i], again[i]
		if a.Type != b.Type || !a.At.Equal(b.At) || a.Ticket != b.Ticket || a.Escalation != b.Escalation || a.By != b.By {
			t.Errorf("event %d: %+v became %+v", i, a, b)
		}
	}
}

func TestReadRefuses(t *testing.T) {
	created := `{"type":"ticket.created","at":"2026-10-01T09:00:00Z","ticket":"T1","new":{"subject":"s"},"message":{"author":{"kind":"customer"},"body":"b"}}` + "\n"
	for _, c := range []struct{ name, in, want string }{
		{"not JSON", "nope\n", "line 1"},
		{"unknown field", `{"type":"ticket.created","at":"2026-10-01T09:00:00Z","ticket":"T1","nwe":{}}`, `unknown field "nwe"`},
		{"no time", `{"type":"message.added","ticket":"T1"}`, "at is required"},
		{"bad time", `{"type":"message.added","at":"yesterday","ticket":"T1"}`, `"yesterday" is not an RFC 3339 time`},
		{"unknown type", `{"type":"ticket.deleted","at":"2026-10-01T09:00:00Z","ticket":"T1"}`, `unknown type "ticket.deleted" (allowed: ticket.created`},
		{"no ticket", `{"type":"message.added","at":"2026-10-01T09:00:00Z"}`, "ticket is required"},
		{"created without message", `{"type":"ticket.created","at":"2026-10-01T09:00:00Z","ticket":"T1","new":{"subject":"s"}}`, "needs new (the ticket's fields) and message"},
		{"empty body", created + `{"type":"message.added","at":"2026-10-01T09:01:00Z","ticket":"T1","message":{"author":{"kind":"agent"},"body":"  "}}`, "line 2: message.body is required"},
		{"bad author", created + `{"type":"message.added","at":"2026-10-01T09:01:00Z","ticket":"T1","message":{"author":{"kind":"robot"},"body":"x"}}`, `"robot" is not customer, agent, bot or system`},
		{"out of order", created + `{"type":"message.added","at":"2026-10-01T08:59:00Z","ticket":"T1","message":{"author":{"kind":"agent"},"body":"x"}}`, "line 2: at 2026-10-01T08:59:00.000Z is before the line above"},
		{"never opened", `{"type":"message.added","at":"2026-10-01T09:00:00Z","ticket":"T9","message":{"author":{"kind":"agent"},"body":"x"}}`, "ticket T9, which no earlier ticket.created"},
		{"opened twice", created + created, "line 2: ticket T1 is opened twice"},
		{"empty update", created + `{"type":"ticket.updated","at":"2026-10-01T09:01:00Z","ticket":"T1","update":{}}`, "needs update with at least one of"},
		{"bad status", created + `{"type":"ticket.updated","at":"2026-10-01T09:01:00Z","ticket":"T1","update":{"status":"done"}}`, `update.status "done" is not a status`},
		{"bad reason", created + `{"type":"escalation.created","at":"2026-10-01T09:01:00Z","ticket":"T1","to":"b","reason":"bored"}`, `reason "bored" is not a reason`},
		{"ack of nothing", created + `{"type":"escalation.acknowledged","at":"2026-10-01T09:01:00Z","ticket":"T1","escalation":1}`, "names escalation 1 of ticket T1, which has 0 so far"},
		{"ack without number", created + `{"type":"escalation.acknowledged","at":"2026-10-01T09:01:00Z","ticket":"T1"}`, "needs escalation: which of the ticket's escalations"},
		{"escalations numbered out of order", created + `{"type":"escalation.created","at":"2026-10-01T09:01:00Z","ticket":"T1","to":"b","escalation":2}`, "escalation 2 of ticket T1 comes after its escalation 0"},
		{"handoff without transcript", `{"type":"handoff.received","at":"2026-10-01T09:00:00Z","ticket":"T1","new":{"subject":"s"},"handoff":{"transcript":[]}}`, "needs handoff with a transcript"},
	} {
		_, err := Read(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	long := created + `{"type":"message.added","at":"2026-10-01T09:01:00Z","ticket":"T1","message":{"author":{"kind":"agent"},"body":"` + strings.Repeat("x", MaxLine) + `"}}`
	if _, err := Read(strings.NewReader(long)); err == nil || !strings.Contains(err.Error(), "line 2 is longer than") {
		t.Errorf("a line over MaxLine: %v", err)
	}
}

func TestSortIsStable(t *testing.T) {
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	evs := []Event{{Ticket: "b", At: at.Add(time.Minute)}, {Ticket: "a1", At: at}, {Ticket: "a2", At: at}}
	Sort(evs)
	if evs[0].Ticket != "a1" || evs[1].Ticket != "a2" || evs[2].Ticket != "b" {
		t.Errorf("sorted %v", evs)
	}
}
