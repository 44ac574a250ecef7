package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// base is the fixtures' clock origin. It is deliberately not UTC and not on a millisecond, so
// every round trip also checks that stores normalise times the way escalated.Truncate says.
var base = time.Date(2025, 6, 1, 9, 30, 0, 123_456_789, time.FixedZone("CEST", 2*60*60))

// fx builds fixtures for one test. Its clock moves one second per object, so ids made from it
// are strictly increasing in creation order (newest first = reverse creation order), whatever
// other tests running in parallel do with the id generator.
type fx struct {
	t   *testing.T
	s   store.Store
	ctx context.Context
	clk *clock
}

type clock struct {
	mu sync.Mutex
	n  int
}

func newFx(t *testing.T, open func(t *testing.T) store.Store) *fx {
	t.Helper()
	s := open(t)
	return &fx{t: t, s: s, ctx: t.Context(), clk: &clock{}}
}

// in returns the fixtures for a subtest: same store and clock, but failures are reported to
// (and stop) the subtest, as FailNow must run on the subtest's own goroutine.
func (f *fx) in(t *testing.T) *fx {
	c := *f
	c.t = t
	return &c
}

// tick returns the next fixture time.
func (f *fx) tick() time.Time {
	f.clk.mu.Lock()
	defer f.clk.mu.Unlock()
	f.clk.n++
	return base.Add(time.Duration(f.clk.n) * time.Second)
}

func (f *fx) id(prefix string) string { return escalated.NewID(prefix, f.tick()) }

// update runs fn in an Update and fails the test on error.
func (f *fx) update(fn func(tx store.Tx) error) {
	f.t.Helper()
	if err := f.s.Update(f.ctx, fn); err != nil {
		f.t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a View and fails the test on error.
func (f *fx) view(fn func(tx store.Tx) error) {
	f.t.Helper()
	if err := f.s.View(f.ctx, fn); err != nil {
		f.t.Fatalf("View: %v", err)
	}
}

func (f *fx) account(mods ...func(*escalated.Account)) *escalated.Account {
	a := &escalated.Account{
		ID: "acc_" + f.id(""), Name: "Globex", Tier: "enterprise",
		Attributes: map[string]any{"plan": "enterprise", "arr": 120000.5, "regions": []any{"eu", "us"}, "dpa": true},
	}
	for _, m := range mods {
		m(a)
	}
	return a
}

func (f *fx) customer(accountID string, mods ...func(*escalated.Customer)) *escalated.Customer {
	c := &escalated.Customer{ID: "cus_" + f.id(""), Name: "Hank Scorpio", Email: "hank@globex.example", AccountID: accountID}
	for _, m := range mods {
		m(c)
	}
	return c
}

// ticket returns a ticket with every field set to a non-zero value.
func (f *fx) ticket(mods ...func(*escalated.Ticket)) *escalated.Ticket {
	now := f.tick()
	u := now.UTC()
	t := &escalated.Ticket{
		ID: escalated.NewID(escalated.PrefixTicket, now), Subject: "Cannot log in with SSO",
		Status: escalated.StatusOpen, Priority: escalated.PriorityHigh, Channel: escalated.ChannelChat,
		IssueType: "login", Tags: []string{"sso", "vip"}, Language: "de",
		CustomerID: "cus_1", AccountID: "acc_1", Team: "frontline", Tier: "t1", Assignee: "ana",
		CustomFields: map[string]any{
			"plan": "pro", "seats": 12.0, "trial": false,
			"nested": map[string]any{"region": "eu", "ids": []any{"a", 1.5}},
		},
		Counters:         escalated.Counters{Reopens: 1, Reassignments: 2, CustomerContacts: 3, Messages: 4, Escalations: 1},
		ActiveEscalation: "esc_active", Version: 1,
		Signals: escalated.TicketSignals{Sentiment: -0.42, Trend: []float64{0.1, -0.3, -0.42}, Keywords: []string{"churn", "legal"},
			WantsHuman: true, Frustration: 0.61},
		Recommendation: &escalated.Recommendation{Text: "Offer the SSO reset runbook", Source: "rule:sso"},
		// Every clock field set, so a round trip proves the stored SLA state is complete. The
		// service keeps clock times in UTC.
		SLA: escalated.SLA{Plan: "enterprise", Replied: true, Clocks: []escalated.Clock{
			{Target: "next_reply", Plan: "enterprise", Budget: 2 * time.Hour, WarnAt: 0.8, Elapsed: 90 * time.Second,
				Since: u, State: "running", DueAt: u.Add(118*time.Minute + 30*time.Second), WarnDue: u.Add(94*time.Minute + 30*time.Second)},
			{Target: "ackuledge", Plan: "enterprise", Escalation: "esc_active", Budget: 10 * time.Minute, WarnAt: 0.8,
				Elapsed: 11 * time.Minute, State: "breached", DueAt: u.Add(-time.Minute), StoppedAt: u},
		}},
		CreatedAt: now, UpdatedAt: now.Add(1500 * time.Microsecond),
	}
	for _, m := range mods {
		m(t)
	}
	return t
}

func (f *fx) message(ticketID string, seq int64, mods ...func(*escalated.Message)) *escalated.Message {
	now := f.tick()
	m := &escalated.Message{
		ID: escalated.NewID(escalated.PrefixMessage, now), TicketID: ticketID, Seq: seq,
		Author:   escalated.Author{Kind: escalated.AuthorCustomer, ID: "cus_1", Name: "Hank"},
		Body:     "I still cannot log in!! Let me talk to a human.",
		Internal: true,
		Signals: escalated.Signals{Keywords: []string{"login", "human"}, Sentiment: -0.75,
			WantsHuman: true, Shouting: true, Profanity: true},
		CreatedAt: now,
	}
	for _, mod := range mods {
		mod(m)
	}
	return m
}

func (f *fx) event(ticketID string, seq int64, typ string, mods ...func(*escalated.Event)) *escalated.Event {
	now := f.tick()
	e := &escalated.Event{
		ID: escalated.NewID(escalated.PrefixEvent, now), TicketID: ticketID, Seq: seq, Type: typ,
		Actor: "agent:ana", Data: map[string]any{"changes": map[string]any{"status": map[string]any{"from": "new", "to": "open"}}},
		Team: "sso-experts", FromTeam: "frontline", CreatedAt: now,
	}
	for _, m := range mods {
		m(e)
	}
	return e
}

// escalation returns an escalation with every field set, package included.
func (f *fx) escalation(ticketID string, mods ...func(*escalated.Escalation)) *escalated.Escalation {
	now := f.tick()
	ack := now.Add(90 * time.Second)
	closed := now.Add(3 * time.Hour)
	// false, not true, for both optional booleans: a store that wrote false as NULL (or read
	// NULL as false) would pass a round trip of true.
	necessary, sufficient := false, false
	e := &escalated.Escalation{
		ID: escalated.NewID(escalated.PrefixEscalation, now), TicketID: ticketID,
		FromTeam: "frontline", ToTeam: "sso-experts", FromTier: "t1", ToTier: "t2",
		By: "ana", Actor: "agent:ana", Trigger: escalated.TriggerRule, RuleID: "vip-sso",
		Reason: escalated.ReasonComplexity, Note: "needs SAML debugging", State: escalated.EscalationReturned,
		PolicyVersion: 3, AcknowledgedBy: "bob", ContextSufficient: &sufficient, ClosedBy: "bob", ReturnReason: "config issue on customer side",
		Necessary: &necessary, Resolution: "customer fixed IdP metadata", NextID: "esc_next",
		Package: &escalated.Package{
			SchemaVersion: escalated.PackageSchemaVersion,
			Ticket: escalated.PackageTicket{ID: ticketID, Subject: "Cannot log in", Status: escalated.StatusOpen,
				Priority: escalated.PriorityHigh, Channel: escalated.ChannelChat, IssueType: "login",
				Tags: []string{"sso"}, Language: "de", CreatedAt: escalated.FormatTime(now)},
			OriginalMessage: &escalated.PackageMessage{ID: "msg_1", Author: escalated.Author{Kind: escalated.AuthorCustomer, ID: "cus_1", Name: "Hank"}, Body: "help", At: escalated.FormatTime(now)},
			Conversation:    []escalated.PackageMessage{{ID: "msg_2", Body: "still broken", Internal: true}},
			BotSteps:        []escalated.BotStep{{Intent: "reset_password", Action: "sent link", Outcome: "failed", Confidence: 0.82}},
			Account:         &escalated.Account{ID: "acc_1", Name: "Globex", Tier: "enterprise", Attributes: map[string]any{"arr": 1000.0}},
			Customer:        &escalated.Customer{ID: "cus_1", Name: "Hank", Email: "hank@globex.example"},
			CustomerTier:    "enterprise",
			SLA:             []escalated.ClockStatus{{Target: "first_response", DueAt: escalated.TimePtr(closed), State: "running"}},
			Signals:         &escalated.PackageSignals{SentimentTrend: []float64{-0.1, -0.5}, Frustration: 0.7, Keywords: []string{"human"}, WantsHuman: true},
			PriorEscalations: []escalated.PriorEscalation{{ID: "esc_0", FromTeam: "bot", ToTeam: "frontline",
				Reason: escalated.ReasonBotHandoff, State: escalated.EscalationResolved, Outcome: "resolved"}},
			Note:           "customer is VIP",
			EscalatedBy:    &escalated.Author{Kind: escalated.AuthorAgent, ID: "ana", Name: "Ana"},
			Recommendation: &escalated.Recommendation{Text: "check IdP metadata", Source: "rule:vip-sso"},
			Completeness:   0.9,
			Missing:        []string{escalated.FieldBotSteps},
		},
		Version: 1, CreatedAt: now, AcknowledgedAt: &ack, ClosedAt: &closed,
	}
	for _, m := range mods {
		m(e)
	}
	return e
}

func (f *fx) audit(mods ...func(*escalated.AuditRecord)) *escalated.AuditRecord {
	now := f.tick()
	a := &escalated.AuditRecord{
		ID: escalated.NewID(escalated.PrefixAudit, now), Actor: "token:admin", Action: escalated.AuditEscalationCreated,
		ObjectKind: "escalation", ObjectID: "esc_1", Details: map[string]any{"reason": "sla", "minutes": 30.0}, CreatedAt: now,
	}
	for _, m := range mods {
		m(a)
	}
	return a
}

func (f *fx) token(mods ...func(*escalated.Token)) *escalated.Token {
	now := f.tick()
	used := now.Add(time.Minute)
	tok := &escalated.Token{
		ID: escalated.NewID(escalated.PrefixToken, now), Name: "frontline-bot", Role: escalated.RoleBot,
		Hash: "sha256:" + escalated.NewID("", now), CreatedAt: now, LastUsedAt: &used,
	}
	for _, m := range mods {
		m(tok)
	}
	return tok
}

// createTickets stores tickets in one Update.
func (f *fx) createTickets(ts ...*escalated.Ticket) {
	f.t.Helper()
	f.update(func(tx store.Tx) error {
		for _, t := range ts {
			if err := tx.CreateTicket(f.ctx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// Normalisation: what a store gives back for what was written. Times are truncated to UTC
// milliseconds and nil slices and maps read back empty.

func tp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := escalated.Truncate(*t)
	return &v
}

func emptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func emptySlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func wantTicket(t *escalated.Ticket, c *escalated.Customer, a *escalated.Account) *escalated.Ticket {
	w := *t
	w.Tags = emptySlice(w.Tags)
	w.CustomFields = emptyMap(w.CustomFields)
	w.Signals.Keywords = emptySlice(w.Signals.Keywords)
	if w.Signals.Trend == nil {
		w.Signals.Trend = []float64{}
	}
	w.CreatedAt, w.UpdatedAt = escalated.Truncate(w.CreatedAt), escalated.Truncate(w.UpdatedAt)
	w.Customer = c
	w.Account = wantAccount(a)
	return &w
}

func wantAccount(a *escalated.Account) *escalated.Account {
	if a == nil {
		return nil
	}
	w := *a
	w.Attributes = emptyMap(w.Attributes)
	return &w
}

func wantMessage(m *escalated.Message) *escalated.Message {
	w := *m
	w.Signals.Keywords = emptySlice(w.Signals.Keywords)
	w.CreatedAt = escalated.Truncate(w.CreatedAt)
	return &w
}

func wantEvent(e *escalated.Event, m *escalated.Message) *escalated.Event {
	w := *e
	w.Data = emptyMap(w.Data)
	w.CreatedAt = escalated.Truncate(w.CreatedAt)
	w.Message = nil
	if m != nil {
		w.Message = wantMessage(m)
	}
	return &w
}

func wantEscalation(e *escalated.Escalation) *escalated.Escalation {
	w := *e
	w.CreatedAt = escalated.Truncate(w.CreatedAt)
	w.AcknowledgedAt, w.ClosedAt = tp(w.AcknowledgedAt), tp(w.ClosedAt)
	return &w
}

func wantAudit(a *escalated.AuditRecord) *escalated.AuditRecord {
	w := *a
	w.Details = emptyMap(w.Details)
	w.CreatedAt = escalated.Truncate(w.CreatedAt)
	return &w
}

func wantToken(t *escalated.Token) *escalated.Token {
	w := *t
	w.CreatedAt = escalated.Truncate(w.CreatedAt)
	w.LastUsedAt, w.RevokedAt, w.ExpiresAt = tp(w.LastUsedAt), tp(w.RevokedAt), tp(w.ExpiresAt)
	return &w
}

func wantPolicy(p *escalated.PolicyVersion) *escalated.PolicyVersion {
	w := *p
	w.CreatedAt = escalated.Truncate(w.CreatedAt)
	return &w
}

// equal fails the test with a field-by-field report when got differs from want.
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := diff(want, got); len(d) > 0 {
		t.Errorf("%s differs from what was written:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// diff compares two values and names every differing path, so a round-trip failure says which
// field the store lost instead of dumping two structs.
func diff(want, got any) []string {
	var out []string
	diffValue("", reflect.ValueOf(want), reflect.ValueOf(got), &out)
	return out
}

func diffValue(path string, w, g reflect.Value, out *[]string) {
	if len(*out) > 20 {
		return
	}
	if !w.IsValid() || !g.IsValid() {
		if w.IsValid() != g.IsValid() {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", orRoot(path), show(w), show(g)))
		}
		return
	}
	if w.Type() != g.Type() {
		*out = append(*out, fmt.Sprintf("%s: want %s %v, got %s %v", orRoot(path), w.Type(), show(w), g.Type(), show(g)))
		return
	}
	if w.Type() == reflect.TypeOf(time.Time{}) {
		wt, gt := w.Interface().(time.Time), g.Interface().(time.Time)
		// == rather than Equal: a store must give back UTC, not merely the same instant.
		if wt != gt {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", orRoot(path), wt.Format(time.RFC3339Nano+" MST"), gt.Format(time.RFC3339Nano+" MST")))
		}
		return
	}
	switch w.Kind() {
	case reflect.Pointer, reflect.Interface:
		if w.IsNil() || g.IsNil() {
			if w.IsNil() != g.IsNil() {
				*out = append(*out, fmt.Sprintf("%s: want %v, got %v", orRoot(path), show(w), show(g)))
			}
			return
		}
		diffValue(path, w.Elem(), g.Elem(), out)
	case reflect.Struct:
		for i := range w.NumField() {
			diffValue(path+"."+w.Type().Field(i).Name, w.Field(i), g.Field(i), out)
		}
	case reflect.Slice:
		if w.IsNil() != g.IsNil() {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", orRoot(path), nilOrEmpty(w), nilOrEmpty(g)))
			return
		}
		if w.Len() != g.Len() {
			*out = append(*out, fmt.Sprintf("%s: want %d elements %v, got %d %v", orRoot(path), w.Len(), show(w), g.Len(), show(g)))
			return
		}
		for i := range w.Len() {
			diffValue(fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i), out)
		}
	case reflect.Map:
		if w.IsNil() != g.IsNil() {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", orRoot(path), nilOrEmpty(w), nilOrEmpty(g)))
			return
		}
		keys := map[string]reflect.Value{}
		for _, k := range append(w.MapKeys(), g.MapKeys()...) {
			keys[fmt.Sprint(k.Interface())] = k
		}
		names := make([]string, 0, len(keys))
		for n := range keys {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			diffValue(fmt.Sprintf("%s[%q]", path, n), w.MapIndex(keys[n]), g.MapIndex(keys[n]), out)
		}
	default:
		if !reflect.DeepEqual(w.Interface(), g.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", orRoot(path), show(w), show(g)))
		}
	}
}

func orRoot(p string) string {
	if p == "" {
		return "(value)"
	}
	return p
}

func nilOrEmpty(v reflect.Value) string {
	if v.IsNil() {
		return "nil"
	}
	return fmt.Sprintf("non-nil %v", show(v))
}

func show(v reflect.Value) string {
	if !v.IsValid() {
		return "<missing>"
	}
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && !v.IsNil() {
		return fmt.Sprintf("&%+v", v.Elem().Interface())
	}
	return fmt.Sprintf("%+v", v.Interface())
}

// wantCode fails the test unless err carries the application error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want code %s", code)
	}
	if got := escalated.ErrorCode(err); got != code {
		t.Fatalf("got error %q with code %s, want code %s", err, got, code)
	}
}

// wantMessageNames fails the test unless err's message names every word (an object kind and
// id, say), which is what makes a not_found actionable.
func wantMessageNames(t *testing.T, err error, words ...string) {
	t.Helper()
	msg := escalated.ErrorMessage(err)
	for _, w := range words {
		if !strings.Contains(msg, w) {
			t.Errorf("error message %q does not name %q", msg, w)
		}
	}
}

var errBoom = errors.New("boom: the caller's function failed")

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

func ticketID(t *escalated.Ticket) string         { return t.ID }
func escalationID(e *escalated.Escalation) string { return e.ID }
func auditID(a *escalated.AuditRecord) string     { return a.ID }
func eventSeq(e *escalated.Event) string          { return fmt.Sprint(e.Seq) }
func messageIDOf(m *escalated.Message) string     { return m.ID }
func tokenIDOf(t *escalated.Token) string         { return t.ID }
func policyVer(p *escalated.PolicyVersion) string { return fmt.Sprint(p.Version) }

// newestFirst returns the ids of items in reverse order (fixtures are created oldest first).
func newestFirst(idsInCreationOrder ...string) []string {
	out := make([]string, len(idsInCreationOrder))
	for i, id := range idsInCreationOrder {
		out[len(out)-1-i] = id
	}
	return out
}

func equalIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n  got  %v\n  want %v", what, got, want)
	}
}

func boolp(b bool) *bool { return &b }
