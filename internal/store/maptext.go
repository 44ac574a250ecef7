package store

import (
	"slices"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/jsonenc"
)

// The JSON object columns (MapText) written without encoding/json's reflection: every event
// writes its data through here, and encoding/json was several percent of a message's CPU.

// appendMap appends m as encoding/json writes it when every value, at any depth, is one
// directWriter.value writes; it reports !ok for anything else, which the library then
// writes. That covers the data of the events and the audit records the service writes: a message's
// ({"author_kind":"customer","internal":false,"message_id":"msg_..."}), a rule's firing
// ({"actions":["..."],"event":"message.added","event_seq":14,"rule":"..."}), a change's
// ({"changes":{"team":{"from":"frontline","to":"billing"}}}) and a routing decision's (a list
// of maps, an agent that may be null).
func appendMap(b []byte, m map[string]any) (_ []byte, ok bool) {
	e := directWriter{b: b, ok: true}
	e.value(m, 0)
	if !e.ok {
		return b, false
	}
	return e.b, true
}

// maxDepth bounds the nesting directWriter.value follows (the service's data nests two or
// three levels; a deeper value goes to the library).
const maxDepth = 6

// value writes v as encoding/json does, for the types of the service's data: nil, strings (and
// the domain's status, priority and channel, which have no marshalling methods of their own),
// bools, ints, floats without exponents, lists of strings or of values, maps of values by
// string, and changes (escalated.Change) alone or by field. Maps' keys are sorted, as
// encoding/json sorts them. Anything else, or deeper than maxDepth, turns ok false.
func (e *directWriter) value(v any, depth int) {
	if depth > maxDepth {
		e.ok = false
		return
	}
	switch v := v.(type) {
	case nil:
		e.raw("null")
	case string:
		e.b = jsonenc.AppendString(e.b, v)
	case escalated.Status: // a ticket.updated event's change of status, priority or channel
		e.b = jsonenc.AppendString(e.b, string(v))
	case escalated.Priority:
		e.b = jsonenc.AppendString(e.b, string(v))
	case escalated.Channel:
		e.b = jsonenc.AppendString(e.b, string(v))
	case bool:
		e.bool(v)
	case int:
		e.int(int64(v))
	case int64:
		e.int(v)
	case float64:
		e.float(v)
	case []string:
		e.b = jsonenc.AppendStrings(e.b, v)
	case []any:
		appendList(e, v, func(x any) { e.value(x, depth+1) })
	case map[string]any:
		appendObject(e, v, func(x any) { e.value(x, depth+1) })
	case escalated.Change:
		e.change(v, depth)
	case map[string]escalated.Change:
		appendObject(e, v, func(c escalated.Change) { e.change(c, depth+1) })
	default:
		e.ok = false
	}
}

func (e *directWriter) change(c escalated.Change, depth int) {
	e.raw(`{"from":`)
	e.value(c.From, depth+1)
	e.raw(`,"to":`)
	e.value(c.To, depth+1)
	e.raw("}")
}

// appendObject writes m as a JSON object (nil as null), its keys sorted as encoding/json sorts
// them, each value with each.
func appendObject[V any](e *directWriter, m map[string]V, each func(V)) {
	if m == nil {
		e.raw("null")
		return
	}
	e.raw("{")
	for i, k := range sortedKeys(m) {
		if i > 0 {
			e.raw(",")
		}
		e.b = jsonenc.AppendString(e.b, k)
		e.raw(":")
		each(m[k])
	}
	e.raw("}")
}

// sortedKeys are m's keys in the order encoding/json writes them (bytewise).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
