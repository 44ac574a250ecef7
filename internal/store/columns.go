package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/jsonenc"
)

// extraJSON is how the tickets.extra column is encoded and decoded: the JSON v2 implementation
// (what encoding/json/v2 grew from) with every option set to encoding/json's behaviour, so the
// column is written byte for byte as encoding/json wrote it (but for a string that is not
// UTF-8: its U+FFFD is written as the character, not as \ufffd) and rows encoding/json wrote
// read back the same. It is read and written with every change of a ticket, and this cut the
// column's encoding and decoding from about 24 to 16 µs and from 47 to 22 allocations
// (BENCHMARKS.md, E11). The column's common shape no longer goes through it at all
// (extracodec.go); what that codec declines still does.
var extraJSON = jsonv1.DefaultOptionsV1()

// ticketExtra is what both stores keep in the tickets.extra JSON column: ticket state that is
// read and written with the ticket but never filtered on.
type ticketExtra struct {
	Signals        escalated.TicketSignals    `json:"signals"`
	Recommendation *escalated.Recommendation  `json:"recommendation,omitempty"`
	SLA            *escalated.SLA             `json:"sla,omitempty"`
	Bot            *escalated.BotHandoff      `json:"bot,omitempty"`
	Analytics      *escalated.TicketAnalytics `json:"analytics,omitempty"`
}

// EncodeTicketExtra returns the tickets.extra column of t.
func EncodeTicketExtra(t *escalated.Ticket) (string, error) {
	if b, ok := appendExtra(make([]byte, 0, 1024), t); ok {
		return unsafe.String(unsafe.SliceData(b), len(b)), nil // b is not written again
	}
	x := ticketExtra{Signals: t.Signals, Recommendation: t.Recommendation, Bot: t.Bot}
	if t.Analytics != (escalated.TicketAnalytics{}) {
		x.Analytics = &t.Analytics
	}
	if t.SLA.Plan != "" || len(t.SLA.Clocks) > 0 || t.SLA.Replied || t.SLA.Tier != "" {
		x.SLA = &t.SLA
	}
	b, err := jsonv2.Marshal(x, extraJSON)
	return string(b), err
}

// DecodeTicketExtra fills t's signals and recommendation from the column, with empty lists
// rather than nil so that round trips compare equal.
func DecodeTicketExtra(col []byte, t *escalated.Ticket) error {
	var x ticketExtra
	if !decodeExtra(col, &x) {
		x = ticketExtra{}
		if err := jsonv2.Unmarshal(col, &x, extraJSON); err != nil {
			return fmt.Errorf("ticket extra: %w", err)
		}
	}
	if x.Signals.Trend == nil {
		x.Signals.Trend = []float64{}
	}
	if x.Signals.Keywords == nil {
		x.Signals.Keywords = []string{}
	}
	t.Signals, t.Recommendation, t.Bot = x.Signals, x.Recommendation, x.Bot
	t.Analytics = escalated.TicketAnalytics{}
	if x.Analytics != nil {
		t.Analytics = *x.Analytics
	}
	t.SLA = escalated.SLA{}
	if x.SLA != nil {
		t.SLA = *x.SLA
	}
	return nil
}

// JSON column codecs shared by both stores. Nil maps and slices are written as {} and [], and
// read back as empty values, so that what a store returns is never nil. Numbers read back as
// float64 (encoding/json's default, and what an API client decodes anyway).

// JSONText encodes v for a JSON column; a value JSON cannot hold is invalid input.
func JSONText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", escalated.Errorf(escalated.EINVALID, "value cannot be stored as JSON: %v", err)
	}
	return string(b), nil
}

// Qualified prefixes each column of a list written "a, b, c" with a table's alias: "m.a, m.b,
// m.c". A join then selects what the plain list names, and the two cannot drift apart.
func Qualified(alias, columns string) string {
	cols := strings.Split(columns, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

// MapText encodes a JSON object column. An empty map, the usual custom fields, is written
// without going through encoding/json: every ticket update writes that column. So is a map
// of the plain values the service's event and audit data hold (appendMap): every event
// writes one.
func MapText(m map[string]any) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	if b, ok := appendMap(make([]byte, 0, 128), m); ok {
		return unsafe.String(unsafe.SliceData(b), len(b)), nil // b is not written again
	}
	return JSONText(m)
}

// SignalsText encodes a message's signals column, its keywords written as [] when nil (a
// message's signals are read back with a list). Every message writes one, so it is written
// without encoding/json's reflection where that gives the same bytes (AppendSignals).
func SignalsText(s escalated.Signals) (string, error) {
	b, ok := AppendSignals(make([]byte, 0, 96), s)
	if !ok {
		if s.Keywords == nil {
			s.Keywords = []string{}
		}
		return JSONText(s)
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), nil // b is not written again
}

// AppendSignals appends s as encoding/json writes it, its keywords as [] when nil (as the
// column and the API write a message's signals), and reports false, b as it was, for a
// sentiment jsonenc.AppendFloat does not write: the caller then goes through encoding/json.
func AppendSignals(b []byte, s escalated.Signals) ([]byte, bool) {
	start := len(b)
	b = append(b, `{"keywords":`...)
	if s.Keywords == nil {
		b = append(b, "[]"...)
	} else {
		b = jsonenc.AppendStrings(b, s.Keywords)
	}
	b = append(b, `,"sentiment":`...)
	b, ok := jsonenc.AppendFloat(b, s.Sentiment)
	if !ok {
		return b[:start], false
	}
	b = append(b, `,"wants_human":`...)
	b = strconv.AppendBool(b, s.WantsHuman)
	b = append(b, `,"shouting":`...)
	b = strconv.AppendBool(b, s.Shouting)
	b = append(b, `,"profanity":`...)
	b = strconv.AppendBool(b, s.Profanity)
	return append(b, '}'), true
}

// SliceText encodes a JSON array-of-strings column.
func SliceText(s []string) (string, error) {
	if len(s) == 0 {
		return "[]", nil
	}
	return JSONText(s)
}

// ParseMap decodes a JSON object column ("null" reads as an empty map).
func ParseMap(text []byte) (map[string]any, error) {
	if string(text) == "{}" { // the usual custom fields: every ticket read decodes them
		return map[string]any{}, nil
	}
	m := map[string]any{}
	if err := json.Unmarshal(text, &m); err != nil {
		return nil, fmt.Errorf("decode JSON column: %w", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// ParseStrings decodes a JSON array-of-strings column ("null" reads as an empty slice).
func ParseStrings(text []byte) ([]string, error) {
	if string(text) == "[]" {
		return []string{}, nil
	}
	s := []string{}
	if err := json.Unmarshal(text, &s); err != nil {
		return nil, fmt.Errorf("decode JSON column: %w", err)
	}
	if s == nil {
		s = []string{}
	}
	return s, nil
}

// EventMessageID names the message an event announces, for the events.message_id column:
// the message attached to the event, else "message_id" in its data (the ticket service sets
// both). ListEvents uses it to attach the message on reads.
func EventMessageID(e *escalated.Event) string {
	if e.Message != nil && e.Message.ID != "" {
		return e.Message.ID
	}
	if id, ok := e.Data["message_id"].(string); ok {
		return id
	}
	return ""
}
