package history

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
)

// fullCSV uses every column, in an order and case of its own, with a first message spanning
// lines, custom fields, and tickets whose events interleave in time.
const fullCSV = `ID,Created_At,Subject,Body,Channel,Priority,Issue_Type,Language,Tags,Team,Customer_ID,Customer_Name,Customer_Email,Account_ID,Account_Name,Account_Tier,Assignee,First_Response_At,Solved_At,Closed_At,Escalated_At,Escalated_To,Escalation_Reason,Escalated_By,Escalation_Note,Acknowledged_At,CF_Plan,cf_region
T-1,2026-10-01T09:00:00Z,Refund not received,"I returned the order on the 3rd.
Where is my refund?",Email,High,Refund,en,billing;refund,frontline,c-1,Ana Lima,ana@example.com,a-1,Acme,Enterprise,alice,2026-10-01 09:45,2026-10-02 10:00:00,2026-10-05,2026-10-01T12:00:00+02:00,billing,complexity,alice,"Refund stuck in the payment provider, needs billing access to re-issue it.",2026-10-01 10:30:00,gold,eu
T-2,2026-10-01 08:30,Cannot log in,Password reset mail never arrives.,web,,,,,,,,bob@example.com,,,,,,,,,,,,,,,
T-3,2026-10-01T09:15:00.123456Z,Invoice copy,Please send last month's invoice.,,,,,,,,,,,,,carol,,2026-10-01T09:50:00Z,,,,,,,,,
`

func mustFromCSV(t *testing.T, text string) []Event {
	t.Helper()
	events, err := FromCSV(strings.NewReader(text))
	if err != nil {
		t.Fatalf("FromCSV: %v", err)
	}
	return events
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return escalated.Truncate(t)
}

func TestFromCSVRoundTrip(t *testing.T) {
	events := mustFromCSV(t, fullCSV)
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, e := range events {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	back, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("Read of what FromCSV made: %v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(back, events) {
		t.Fatalf("round trip changed the events:\n got %+v\nwant %+v\n%s", back, events, buf.String())
	}
}

// TestFromCSVOrder checks that the tickets' events interleave by time, and that events at the
// same time keep the order in which they happen (assignment, reply; assignment, solving).
func TestFromCSVOrder(t *testing.T) {
	var got []string
	for _, e := range mustFromCSV(t, fullCSV) {
		what := e.Type
		if e.Update != nil {
			switch {
			case e.Update.Assignee != nil:
				what += " assignee=" + *e.Update.Assignee
			default:
				what += " status=" + e.Update.Status
			}
		}
		got = append(got, fmt.Sprintf("%s %s %s", escalated.FormatTime(e.At), e.Ticket, what))
	}
	want := []string{
		"2026-10-01T08:30:00.000Z T-2 ticket.created",
		"2026-10-01T09:00:00.000Z T-1 ticket.created",
		"2026-10-01T09:15:00.123Z T-3 ticket.created",
		"2026-10-01T09:45:00.000Z T-1 ticket.updated assignee=alice",
		"2026-10-01T09:45:00.000Z T-1 message.added",
		"2026-10-01T09:50:00.000Z T-3 ticket.updated assignee=carol",
		"2026-10-01T09:50:00.000Z T-3 ticket.updated status=solved",
		"2026-10-01T10:00:00.000Z T-1 escalation.created",
		"2026-10-01T10:30:00.000Z T-1 escalation.acknowledged",
		"2026-10-02T10:00:00.000Z T-1 ticket.updated status=solved",
		"2026-10-05T00:00:00.000Z T-1 ticket.updated status=closed",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

func TestFromCSVFields(t *testing.T) {
	events := mustFromCSV(t, fullCSV)
	byType := func(ticket, typ string) Event {
		for _, e := range events {
			if e.Ticket == ticket && e.Type == typ {
				return e
			}
		}
		t.Fatalf("no %s for %s", typ, ticket)
		return Event{}
	}

	created := byType("T-1", TicketCreated)
	wantNew := &NewTicket{
		Subject: "Refund not received", Priority: "high", Channel: "email", IssueType: "refund", Language: "en",
		Tags: []string{"billing", "refund"}, Team: "frontline",
		Customer:     &escalated.Customer{ID: "c-1", Name: "Ana Lima", Email: "ana@example.com", AccountID: "a-1"},
		Account:      &escalated.Account{ID: "a-1", Name: "Acme", Tier: "enterprise"},
		CustomFields: map[string]any{"plan": "gold", "region": "eu"},
	}
	if !reflect.DeepEqual(created.New, wantNew) {
		t.Errorf("new:\n got %+v\nwant %+v", created.New, wantNew)
	}
	wantMsg := &Message{Author: escalated.Author{Kind: escalated.AuthorCustomer, ID: "c-1", Name: "Ana Lima"},
		Body: "I returned the order on the 3rd.\nWhere is my refund?"}
	if !reflect.DeepEqual(created.Message, wantMsg) {
		t.Errorf("first message: got %+v, want %+v", created.Message, wantMsg)
	}

	reply := byType("T-1", MessageAdded).Message
	if reply.Author.Kind != escalated.AuthorAgent || reply.Author.ID != "alice" || reply.Body != importedFirstReply {
		t.Errorf("first reply: %+v", reply)
	}

	esc := byType("T-1", EscalationCreated)
	if esc.To != "billing" || esc.Reason != "complexity" || esc.By != "alice" || esc.Trigger != "manual" ||
		esc.Escalation != 1 || !strings.HasPrefix(esc.Note, "Refund stuck") {
		t.Errorf("escalation: %+v", esc)
	}
	if ack := byType("T-1", EscalationAcknowledged); ack.Escalation != 1 {
		t.Errorf("acknowledgement: %+v", ack)
	}

	// Without customer_id the email is the customer's id; no account, tags or fields.
	t2 := byType("T-2", TicketCreated)
	if t2.New.Customer == nil || t2.New.Customer.ID != "bob@example.com" || t2.Message.Author.ID != "bob@example.com" {
		t.Errorf("T-2 customer: %+v, author %+v", t2.New.Customer, t2.Message.Author)
	}
	if t2.New.Account != nil || t2.New.Tags != nil || t2.New.CustomFields != nil || t2.New.Priority != "" {
		t.Errorf("T-2 has fields its row left empty: %+v", t2.New)
	}
	if t3 := byType("T-3", TicketCreated); t3.New.Customer != nil || t3.Message.Author.ID != "" {
		t.Errorf("T-3 names no customer but got %+v", t3.New.Customer)
	}
}

func TestFromCSVDefaultEscalation(t *testing.T) {
	events := mustFromCSV(t, "id,created_at,subject,body,escalated_at,escalated_to\n"+
		"7,2026-10-01,Broken,It broke.,2026-10-01 12:00,tier2\n")
	e := events[1]
	if e.Type != EscalationCreated || e.Reason != "other" || e.Note != importedNote || e.By != "" || e.To != "tier2" {
		t.Fatalf("escalation: %+v", e)
	}
	if n := len([]rune(importedNote)); n < 60 {
		t.Fatalf("the default note has %d characters; policies may require up to about 40, keep it at 60 or more", n)
	}
}

func TestFromCSVCustomFields(t *testing.T) {
	events := mustFromCSV(t, "id,created_at,subject,body,CF_Order_Number,cf_plan,cf_empty\n"+
		"1,2026-10-01,S,B, 4711 ,pro,\n"+
		"2,2026-10-01,S,B,,,\n")
	if got, want := events[0].New.CustomFields, map[string]any{"order_number": "4711", "plan": "pro"}; !reflect.DeepEqual(got, want) {
		t.Errorf("custom fields: got %v, want %v", got, want)
	}
	if got := events[1].New.CustomFields; got != nil {
		t.Errorf("a row with empty cf_ cells has custom fields %v", got)
	}
}

func TestFromCSVTags(t *testing.T) {
	for cell, want := range map[string][]string{
		"billing":                     {"billing"},
		"billing;refund":              {"billing", "refund"},
		"billing|refund":              {"billing", "refund"},
		" VIP ; billing|refund;;vip|": {"vip", "billing", "refund"},
		"":                            nil,
		";|":                          nil,
	} {
		events := mustFromCSV(t, "id,created_at,subject,body,tags\n1,2026-10-01,S,B,\""+cell+"\"\n")
		if got := events[0].New.Tags; !reflect.DeepEqual(got, want) {
			t.Errorf("tags %q: got %q, want %q", cell, got, want)
		}
	}
}

func TestFromCSVTimes(t *testing.T) {
	for cell, want := range map[string]string{
		"2026-10-01T09:30:00Z":             "2026-10-01T09:30:00Z",
		"2026-10-01T11:30:00+02:00":        "2026-10-01T09:30:00Z",
		"2026-10-01T09:30:00.123456789Z":   "2026-10-01T09:30:00.123Z",
		"2026-10-01T09:30:00.5-01:00":      "2026-10-01T10:30:00.5Z",
		"2026-10-01 09:30:05":              "2026-10-01T09:30:05Z",
		"2026-10-01 09:30":                 "2026-10-01T09:30:00Z",
		"2026-10-01":                       "2026-10-01T00:00:00Z",
		" 2026-10-01 09:30 ":               "2026-10-01T09:30:00Z",
		"2026-10-01T09:30:00.000000+00:00": "2026-10-01T09:30:00Z",
	} {
		events := mustFromCSV(t, "id,created_at,subject,body\n1,"+cell+",S,B\n")
		if got := events[0].At; !got.Equal(utc(want)) || got.Location() != time.UTC {
			t.Errorf("time %q: got %v, want %s in UTC", cell, got, want)
		}
	}
}

// TestFromCSVBOM accepts the byte order mark spreadsheets put before the header.
func TestFromCSVBOM(t *testing.T) {
	if events := mustFromCSV(t, "\ufeffid,created_at,subject,body\n1,2026-10-01,S,B\n"); events[0].Ticket != "1" {
		t.Fatalf("ticket %q", events[0].Ticket)
	}
}

func TestFromCSVEmptyBody(t *testing.T) {
	events := mustFromCSV(t, "id,created_at,subject,body\n")
	if len(events) != 0 {
		t.Fatalf("a header alone gives %d events", len(events))
	}
}

func TestFromCSVRefuses(t *testing.T) {
	const head = "id,created_at,subject,body,solved_at,escalated_at,escalated_to,acknowledged_at\n"
	for name, c := range map[string]struct {
		csv  string
		want []string // substrings of the error
	}{
		"empty file": {"", []string{"empty", "header", "id, created_at, subject, body"}},
		"unknown columns": {"id,created_at,subject,body,Status,owner\n",
			[]string{"line 1", `unknown columns "status", "owner"`, "allowed: id, created_at", "acknowledged_at", "cf_<name>"}},
		"missing column": {"id,created_at,subject\n1,2026-10-01,S\n",
			[]string{"line 1", `missing column "body"`, "required: id, created_at, subject, body"}},
		"duplicate column": {"id,ID,created_at,subject,body\n", []string{"line 1", `"id" appears twice`}},
		"bare cf_":         {"id,created_at,subject,body,cf_\n", []string{"line 1", "column 5", "names no custom field"}},
		"empty id":         {head + ",2026-10-01,S,B,,,,\n", []string{"line 2, column id", "empty"}},
		"empty created_at": {head + "1,,S,B,,,,\n", []string{"line 2, column created_at", "empty", "every row needs created_at"}},
		"empty subject":    {head + "1,2026-10-01, ,B,,,,\n", []string{"line 2, column subject", "empty", "required"}},
		"empty body":       {head + "1,2026-10-01,S,\"\",,,,\n", []string{"line 2, column body", "empty", "required"}},
		"bad time": {head + "1,2026-10-01,S,B,01/10/2026,,,\n",
			[]string{"line 2, column solved_at", `"01/10/2026" is not a time`, "RFC 3339", "2026-10-01 09:30", "UTC"}},
		"bad created_at": {head + "1,2026-13-01,S,B,,,,\n", []string{"line 2, column created_at", `"2026-13-01"`, "allowed"}},
		"time without zone": {head + "1,2026-10-01T09:00:00,S,B,,,,\n",
			[]string{"line 2, column created_at", `"2026-10-01T09:00:00" is not a time`}},
		"solved before created": {head + "1,2026-10-02,S,B,2026-10-01 23:59,,,\n",
			[]string{"line 2, column solved_at", `"2026-10-01 23:59" is before created_at "2026-10-02"`}},
		"escalated before created": {head + "1,2026-10-02T10:00:00Z,S,B,,2026-10-02T11:00:00+02:00,tier2,\n",
			[]string{"line 2, column escalated_at", "is before created_at"}},
		"acknowledged before escalated": {head + "1,2026-10-01,S,B,,2026-10-01 12:00,tier2,2026-10-01 11:00\n",
			[]string{"line 2, column acknowledged_at", `"2026-10-01 11:00" is before escalated_at "2026-10-01 12:00"`}},
		"closed before solved": {"id,created_at,subject,body,solved_at,closed_at\n1,2026-10-01,S,B,2026-10-03,2026-10-02\n",
			[]string{"line 2, column closed_at", "is before solved_at"}},
		"duplicate id": {head + "1,2026-10-01,S,B,,,,\n2,2026-10-01,S,B,,,,\n1,2026-10-02,S,B,,,,\n",
			[]string{"line 4, column id", `ticket "1" again (first on line 2)`, "unique"}},
		"escalated_to without escalated_at": {head + "1,2026-10-01,S,B,,,tier2,\n",
			[]string{"line 2, column escalated_to", `"tier2" needs escalated_at`}},
		"escalated_at without escalated_to": {head + "1,2026-10-01,S,B,,2026-10-01 12:00,,\n",
			[]string{"line 2, column escalated_at", `"2026-10-01 12:00" needs escalated_to`}},
		"acknowledged_at without escalated_at": {head + "1,2026-10-01,S,B,,,,2026-10-01 12:00\n",
			[]string{"line 2, column acknowledged_at", "needs escalated_at and escalated_to"}},
		"escalation note without escalation": {"id,created_at,subject,body,escalation_note\n1,2026-10-01,S,B,Needs billing.\n",
			[]string{"line 2, column escalation_note", "no escalated_at"}},
		"bad reason": {"id,created_at,subject,body,escalated_at,escalated_to,escalation_reason\n1,2026-10-01,S,B,2026-10-01,tier2,angry\n",
			[]string{"line 2, column escalation_reason", `"angry" is not allowed`, "complexity", "other"}},
		"bad priority": {"id,created_at,subject,body,priority\n1,2026-10-01,S,B,P1\n",
			[]string{"line 2, column priority", `"P1" is not allowed`, "low, normal, high, urgent"}},
		"bad channel": {"id,created_at,subject,body,channel\n1,2026-10-01,S,B,fax\n",
			[]string{"line 2, column channel", `"fax"`, "chat, email, web, phone, api"}},
		"customer without id": {"id,created_at,subject,body,customer_name\n1,2026-10-01,S,B,Ana\n",
			[]string{"line 2, column customer_name", "customer_id or customer_email"}},
		"account without id": {"id,created_at,subject,body,account_tier\n1,2026-10-01,S,B,pro\n",
			[]string{"line 2, column account_tier", `"pro"`, "account_id"}},
		"short row": {head + "1,2026-10-01,S,B\n", []string{"line 2", "wrong number of fields", "8 columns"}},
		"long row":  {head + "1,2026-10-01,S,B,,,,,extra\n", []string{"line 2", "wrong number of fields"}},
		"bare quote": {head + "1,2026-10-01,S,say \"hi\",,,,\n",
			[]string{"line 2", `bare " in non-quoted-field`, "double the quotes"}},
		// A first message over several lines: the error names the line the bad cell is on.
		"line of a cell after a long body": {head + "1,2026-10-01,S,\"one\ntwo\nthree\",soon,,,\n",
			[]string{"line 4, column solved_at", `"soon"`}},
	} {
		t.Run(name, func(t *testing.T) {
			events, err := FromCSV(strings.NewReader(c.csv))
			if err == nil {
				t.Fatalf("accepted, with %d events", len(events))
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
