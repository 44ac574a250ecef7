package ticket_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/sqlite"
	"github.com/escalated/escalated/internal/ticket"
)

const outboxPolicy = `version: 1
intake: frontline
calendars:
  - {id: always, timezone: UTC, hours: {mon-sun: "00:00-24:00"}}
tiers:
  - {id: t1, name: Frontline, level: 1}
  - {id: t2, name: Specialists, level: 2}
teams:
  - {id: frontline, tier: t1, calendar: always}
  - {id: billing, tier: t2, calendar: always}
agents:
  - {id: ana, name: Ana, teams: [frontline]}
paths:
  - {from: frontline, to: [billing]}
escalation:
  note_min_length: 10
signals:
  keywords:
    legal: ["lawyer"]
rules:
  - id: legal-threat
    on: [message.added]
    when: message.author == "customer" && "legal" in message.keywords
    do:
      - notify: {channel: legal-alerts, message: "Customer mentions a lawyer"}
channels:
  - {id: legal-alerts, type: slack, url: "https://hooks.example.test/legal", events: [sla.breached]}
  - {id: ops, type: webhook, url: "https://ops.example.test/escalated", secret_env: OPS_SECRET, events: [escalation.created]}
  - {id: firehose, type: webhook, url: "https://ops.example.test/all", secret_env: OPS_SECRET}
`

// TestDeliveriesEnqueuedWithTheChange: each event goes to every channel whose events list
// names it (all of them without a list), a rule's notify action goes to its channel only, and
// the rows are written by the change's own transaction, with the ticket's final state and the
// handoff summary in the payload.
func TestDeliveriesEnqueuedWithTheChange(t *testing.T) {
	ctx := escalated.WithPrincipal(context.Background(), escalated.Principal{Name: "test", Role: escalated.RoleAdmin})
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	svc := ticket.New(st, func() time.Time { return now }, nil)
	pol, err := policy.Parse("outbox.yaml", []byte(outboxPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.LoadPolicy(ctx, pol, "test"); err != nil {
		t.Fatal(err)
	}
	d, err := svc.CreateTicket(ctx, ticket.CreateInput{Subject: "Invoice wrong", Team: "frontline",
		Message: &ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: "My lawyer will call you."}})
	if err != nil {
		t.Fatal(err)
	}
	id := d.Ticket.ID
	if _, err := svc.Escalate(ctx, id, ticket.EscalateInput{To: "billing", Reason: escalated.ReasonComplexity,
		Note: "Refund needs a billing specialist", By: "ana"}); err != nil {
		t.Fatal(err)
	}
	var all []*store.Delivery
	if err := st.View(ctx, func(tx store.Tx) error {
		var err error
		all, _, err = tx.ListDeliveries(ctx, store.DeliveryFilter{TicketID: id, Limit: store.MaxLimit})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	byChannel := map[string][]string{}
	for _, dl := range all {
		byChannel[dl.Channel] = append(byChannel[dl.Channel], dl.EventType)
		if dl.State != store.DeliveryPending || dl.TicketID != id || dl.Seq == 0 || dl.EventID == "" {
			t.Errorf("delivery %+v", dl)
		}
	}
	if got := byChannel["legal-alerts"]; !slices.Equal(got, []string{escalated.EventNotificationRequested}) {
		t.Errorf("legal-alerts got %v; want only the rule's notification (its events list names sla.breached only)", got)
	}
	if got := byChannel["ops"]; !slices.Equal(got, []string{escalated.EventEscalationCreated}) {
		t.Errorf("ops got %v, want [escalation.created]", got)
	}
	fire := byChannel["firehose"]
	for _, want := range []string{escalated.EventTicketCreated, escalated.EventMessageAdded, escalated.EventRuleFired, escalated.EventEscalationCreated} {
		if !slices.Contains(fire, want) {
			t.Errorf("firehose (no events list) got %v, missing %s", fire, want)
		}
	}
	if slices.Contains(fire, escalated.EventNotificationRequested) {
		t.Error("firehose got notification.requested, which goes only to the channel a rule names")
	}
	for _, dl := range all {
		if dl.Channel != "ops" {
			continue
		}
		var p struct {
			ID, Type, OccurredAt string         `json:"-"`
			Data                 map[string]any `json:"data"`
		}
		if err := json.Unmarshal(dl.Payload, &p); err != nil {
			t.Fatal(err)
		}
		h, _ := p.Data["handoff"].(map[string]any)
		if p.Data["team"] != "billing" || p.Data["tier"] != "t2" || h == nil || h["note"] != "Refund needs a billing specialist" ||
			h["original_message"] != "My lawyer will call you." {
			t.Errorf("escalation.created payload data = %v", p.Data)
		}
	}
}
