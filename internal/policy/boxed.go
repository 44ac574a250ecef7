package policy

// boxedEnv mirrors Env field for field, in the same order, with every leaf an `any`.
//
// Why it exists: the expr VM reads a struct field by its index path and hands the value on as
// an interface; for a string, a float or a slice that conversion allocates, on every read.
// A hundred rules reading a few fields each made a decision spend most of its time in the
// allocator. Conditions are type-checked and compiled against Env, and run against this mirror
// instead: its fields already hold interfaces, so a read is a copy. The VM follows the index
// path the compiler recorded without looking at the type again, so the layouts must match;
// TestBoxedEnvMirrorsEnv keeps them in step, and every condition test runs through it.
type boxedEnv struct {
	Ticket     boxedTicket
	Account    boxedAccount
	Customer   boxedCustomer
	Message    boxedMessage
	Signals    boxedSignals
	SLA        boxedSLA
	Escalation boxedEscalation
	Event      boxedEvent
	Now        any
}

type boxedTicket struct {
	ID, Subject, Status, Priority, Channel, IssueType, Tags, Language, Team, Tier, TierLevel,
	Assignee, CustomFields, Reopens, Reassignments, CustomerContacts, Messages, Escalations,
	CreatedAt, AgeMinutes any
}

type boxedAccount struct{ ID, Name, Tier, Attributes any }

type boxedCustomer struct{ ID, Name, Email any }

type boxedMessage struct {
	ID, Author, AuthorID, Body, Internal, Keywords, Sentiment, WantsHuman, Shouting, Profanity any
}

type boxedSignals struct{ Sentiment, Trend, Keywords, WantsHuman, Frustration any }

type boxedSLA struct{ Target, State, DueAt, Breached any }

type boxedEscalation struct {
	ID, FromTeam, ToTeam, FromTier, ToTier, Reason, Trigger, State, Note any
}

type boxedEvent struct{ Type, Actor, Changed any }

// fill boxes every field of e. Empty strings, booleans, small integers and nil slices box
// without allocating, so a sparse Env costs little.
func (b *boxedEnv) fill(e *Env) {
	t := &e.Ticket
	b.Ticket = boxedTicket{
		ID: t.ID, Subject: t.Subject, Status: t.Status, Priority: t.Priority, Channel: t.Channel,
		IssueType: t.IssueType, Tags: t.Tags, Language: t.Language, Team: t.Team, Tier: t.Tier,
		TierLevel: t.TierLevel, Assignee: t.Assignee, CustomFields: t.CustomFields, Reopens: t.Reopens,
		Reassignments: t.Reassignments, CustomerContacts: t.CustomerContacts, Messages: t.Messages,
		Escalations: t.Escalations, CreatedAt: t.CreatedAt, AgeMinutes: t.AgeMinutes,
	}
	a := &e.Account
	b.Account = boxedAccount{ID: a.ID, Name: a.Name, Tier: a.Tier, Attributes: a.Attributes}
	c := &e.Customer
	b.Customer = boxedCustomer{ID: c.ID, Name: c.Name, Email: c.Email}
	m := &e.Message
	b.Message = boxedMessage{
		ID: m.ID, Author: m.Author, AuthorID: m.AuthorID, Body: m.Body, Internal: m.Internal,
		Keywords: m.Keywords, Sentiment: m.Sentiment, WantsHuman: m.WantsHuman, Shouting: m.Shouting,
		Profanity: m.Profanity,
	}
	s := &e.Signals
	b.Signals = boxedSignals{Sentiment: s.Sentiment, Trend: s.Trend, Keywords: s.Keywords, WantsHuman: s.WantsHuman, Frustration: s.Frustration}
	l := &e.SLA
	b.SLA = boxedSLA{Target: l.Target, State: l.State, DueAt: l.DueAt, Breached: l.Breached}
	x := &e.Escalation
	b.Escalation = boxedEscalation{
		ID: x.ID, FromTeam: x.FromTeam, ToTeam: x.ToTeam, FromTier: x.FromTier, ToTier: x.ToTier,
		Reason: x.Reason, Trigger: x.Trigger, State: x.State, Note: x.Note,
	}
	v := &e.Event
	b.Event = boxedEvent{Type: v.Type, Actor: v.Actor, Changed: v.Changed}
	b.Now = e.Now
}
