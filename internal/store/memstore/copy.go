package memstore

import (
	"slices"
	"time"

	"github.com/escalated/escalated"
)

// Typed deep copies of the hot stored types, for clone. Each starts from a copy of the whole
// struct (so a field added later is at least copied by value) and then replaces every field
// that reaches shared memory with a copy of its own. They keep nil apart from empty, as
// cloneReflect does (JSON renders them differently). TestTypedCopies fails when one of these
// types gains a field that reaches shared memory and is not copied here.

func copyTicket(t *escalated.Ticket) *escalated.Ticket {
	if t == nil {
		return nil
	}
	c := *t
	c.Tags = slices.Clone(t.Tags)
	c.CustomFields = copyJSONMap(t.CustomFields)
	c.Signals.Trend = slices.Clone(t.Signals.Trend)
	c.Signals.Keywords = slices.Clone(t.Signals.Keywords)
	c.Recommendation = copyRecommendation(t.Recommendation)
	c.Bot = copyBotHandoff(t.Bot)
	c.Analytics.SolvedAt = escalated.ClonePtr(t.Analytics.SolvedAt)
	c.Analytics.FirstEscalatedAt = escalated.ClonePtr(t.Analytics.FirstEscalatedAt)
	c.SLA.Clocks = slices.Clone(t.SLA.Clocks)
	c.Customer = copyCustomer(t.Customer)
	c.Account = copyAccount(t.Account)
	return &c
}

func copyEvent(e *escalated.Event) *escalated.Event {
	if e == nil {
		return nil
	}
	c := *e
	c.Data = copyJSONMap(e.Data)
	c.Message = copyMessage(e.Message)
	return &c
}

func copyMessage(m *escalated.Message) *escalated.Message {
	if m == nil {
		return nil
	}
	c := *m
	c.Signals.Keywords = slices.Clone(m.Signals.Keywords)
	return &c
}

func copyCustomer(cu *escalated.Customer) *escalated.Customer {
	if cu == nil {
		return nil
	}
	c := *cu
	return &c
}

func copyAccount(a *escalated.Account) *escalated.Account {
	if a == nil {
		return nil
	}
	c := *a
	c.Attributes = copyJSONMap(a.Attributes)
	return &c
}

func copyDecision(d *escalated.Decision) *escalated.Decision {
	if d == nil {
		return nil
	}
	c := *d
	c.Trace = slices.Clone(d.Trace)
	return &c
}

func copyEscalation(e *escalated.Escalation) *escalated.Escalation {
	if e == nil {
		return nil
	}
	c := *e
	c.ContextSufficient = escalated.ClonePtr(e.ContextSufficient)
	c.Necessary = escalated.ClonePtr(e.Necessary)
	c.Package = copyPackage(e.Package)
	c.AcknowledgedAt = escalated.ClonePtr(e.AcknowledgedAt)
	c.ClosedAt = escalated.ClonePtr(e.ClosedAt)
	return &c
}

// copyPackage is the domain's own deep copy, which the SQLite store uses too.
func copyPackage(p *escalated.Package) *escalated.Package { return p.Clone() }

func copyRecommendation(r *escalated.Recommendation) *escalated.Recommendation {
	if r == nil {
		return nil
	}
	c := *r
	c.Similar = slices.Clone(r.Similar)
	return &c
}

func copyBotHandoff(b *escalated.BotHandoff) *escalated.BotHandoff {
	if b == nil {
		return nil
	}
	c := *b
	c.Steps = slices.Clone(b.Steps)
	return &c
}

// copyJSONMap copies a map of JSON values (what the stores keep in custom fields, attributes
// and event data); a value of any other type is copied by reflection.
func copyJSONMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = copyJSON(v)
	}
	return c
}

func copyJSON(v any) any {
	switch v := v.(type) {
	case nil, string, float64, bool, int, int64, time.Time:
		return v
	case map[string]any:
		return copyJSONMap(v)
	case []any:
		if v == nil {
			return v
		}
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = copyJSON(e)
		}
		return c
	}
	return cloneReflect(v)
}
