package escalated

import "slices"

// Clone returns a deep copy of p that shares no memory with it (nil stays nil, empty stays
// empty: JSON renders them differently). Stores hand out clones of a package they keep
// decoded, instead of decoding its JSON for every read. Account attributes hold JSON values
// (strings, numbers, booleans, nil, maps and lists of them); a value of another type is copied
// as is.
func (p *Package) Clone() *Package {
	if p == nil {
		return nil
	}
	c := *p
	c.Ticket.Tags = slices.Clone(p.Ticket.Tags)
	c.OriginalMessage = ClonePtr(p.OriginalMessage)
	c.Conversation = slices.Clone(p.Conversation)
	c.BotSteps = slices.Clone(p.BotSteps)
	c.Account = p.Account.Clone()
	c.Customer = ClonePtr(p.Customer)
	if p.SLA != nil {
		c.SLA = make([]ClockStatus, len(p.SLA))
		for i, s := range p.SLA {
			s.DueAt, s.WarningAt = ClonePtr(s.DueAt), ClonePtr(s.WarningAt)
			s.StoppedAt, s.EscalationID = ClonePtr(s.StoppedAt), ClonePtr(s.EscalationID)
			c.SLA[i] = s
		}
	}
	if p.Signals != nil {
		s := *p.Signals
		s.SentimentTrend = slices.Clone(s.SentimentTrend)
		s.Keywords = slices.Clone(s.Keywords)
		c.Signals = &s
	}
	c.PriorEscalations = slices.Clone(p.PriorEscalations)
	c.EscalatedBy = ClonePtr(p.EscalatedBy)
	if p.Recommendation != nil {
		r := *p.Recommendation
		r.Similar = slices.Clone(p.Recommendation.Similar)
		c.Recommendation = &r
	}
	c.Missing = slices.Clone(p.Missing)
	return &c
}

// Clone returns a deep copy of a (attributes as in Package.Clone).
func (a *Account) Clone() *Account {
	if a == nil {
		return nil
	}
	c := *a
	c.Attributes = cloneJSONMap(a.Attributes)
	return &c
}

// ClonePtr returns a pointer to a copy of *p, or nil: for pointers to values that hold no
// references (times, durations, numbers, flat structs).
func ClonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

func cloneJSONMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = cloneJSON(v)
	}
	return c
}

func cloneJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneJSONMap(v)
	case []any:
		if v == nil {
			return v
		}
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = cloneJSON(e)
		}
		return c
	}
	return v
}
