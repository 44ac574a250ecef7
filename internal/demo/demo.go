// Package demo holds the built-in demo data that `escalated serve --demo` loads so that a
// newcomer sees the product working in one command: a commented policy for Brightcart, a
// fictional online shop (policy.yaml), and about 300 tickets derived from the Bitext
// customer-support sample (tickets.jsonl; see README.md for its origin and licence, and gen/ for
// the program that regenerates it).
//
// The tickets are scenarios rather than stored records: each says how long ago it arrived, who
// wrote what and when relative to that, and whether frontline escalated it and what happened to
// the escalation afterwards. A loader replays them through the normal services against the
// current clock.
package demo

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/escalated/escalated"
)

//go:embed policy.yaml
var policyYAML []byte

//go:embed tickets.jsonl
var ticketsJSONL []byte

// Policy returns the demo policy document (YAML, the format of PRODUCT.md section 4). The
// result is a copy; callers may keep or change it.
func Policy() []byte { return slices.Clone(policyYAML) }

// Ticket is one demo scenario: the ticket as the customer opened it, its conversation, its age,
// and the manual escalation frontline made, if any.
type Ticket struct {
	Subject   string             `json:"subject"`
	Priority  escalated.Priority `json:"priority"`
	Channel   escalated.Channel  `json:"channel"`
	IssueType string             `json:"issue_type"` // the Bitext intent, e.g. cancel_order
	Category  string             `json:"category"`   // the Bitext category in lower case, e.g. order
	Language  string             `json:"language"`
	Tags      []string           `json:"tags"`
	Customer  Customer           `json:"customer"`
	Account   Account            `json:"account"`
	// Messages are in order; the first is the customer's opening message at offset 0.
	Messages []Message `json:"messages"`
	// AgeMinutes is how long before "now" the ticket was created.
	AgeMinutes int `json:"age_minutes"`
	// Escalate is the manual escalation frontline makes after the messages, or nil. Tickets that
	// a policy rule escalates by itself (legal or fraud keywords, urgent enterprise tickets) have
	// none, so replaying them never escalates twice.
	Escalate *Escalation `json:"escalate"`
}

// CreatedAt is when the ticket was opened, counted back from now.
func (t Ticket) CreatedAt(now time.Time) time.Time {
	return now.Add(-time.Duration(t.AgeMinutes) * time.Minute)
}

// Customer is the person who wrote in.
type Customer struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Domain returns the customer as the domain type, tied to the given account.
func (c Customer) Domain(accountID string) escalated.Customer {
	return escalated.Customer{ID: c.ID, Name: c.Name, Email: c.Email, AccountID: accountID}
}

// Account is the customer's organisation. Tier is the customer tier (free, pro, enterprise);
// every enterprise account is served by the enterprise-desk team of the demo policy.
type Account struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Tier       string     `json:"tier"`
	Attributes Attributes `json:"attributes"`
}

// Attributes are the account facts rules may read.
type Attributes struct {
	Plan   string `json:"plan"`   // freemium, standard, premium, gold or platinum
	ARR    int    `json:"arr"`    // annual recurring revenue in US dollars
	Region string `json:"region"` // eu, us or apac
}

// Domain returns the account as the domain type, with the attributes as free-form values.
func (a Account) Domain() escalated.Account {
	return escalated.Account{ID: a.ID, Name: a.Name, Tier: a.Tier, Attributes: map[string]any{
		"plan":   a.Attributes.Plan,
		"arr":    a.Attributes.ARR,
		"region": a.Attributes.Region,
	}}
}

// Message is one public message of the conversation.
type Message struct {
	Author Author `json:"author"`
	Body   string `json:"body"`
	// OffsetMinutes is when the message was written, in minutes after the ticket was created.
	OffsetMinutes int `json:"offset_minutes"`
}

// Author says who wrote a message: the ticket's customer, or an agent of the demo policy by id.
type Author struct {
	Kind escalated.AuthorKind `json:"kind"`
	ID   string               `json:"id,omitempty"`
}

// Escalation is a manual escalation by a frontline agent, and how it ended.
type Escalation struct {
	To     string           `json:"to"` // a team that the demo policy's paths allow from frontline
	Reason escalated.Reason `json:"reason"`
	Note   string           `json:"note"`
	By     string           `json:"by"` // the frontline agent escalating
	Then   Outcome          `json:"then"`
}

// Outcome is what the receiving team did with an escalation.
type Outcome string

// Outcomes. OutcomePending (JSON null) leaves the escalation waiting for the receiving team.
const (
	OutcomePending     Outcome = ""
	OutcomeAcknowledge Outcome = "acknowledge"
	OutcomeResolve     Outcome = "resolve"
	OutcomeReturn      Outcome = "return"
)

// Valid reports whether o is a known outcome.
func (o Outcome) Valid() bool {
	switch o {
	case OutcomePending, OutcomeAcknowledge, OutcomeResolve, OutcomeReturn:
		return true
	}
	return false
}

// Tickets decodes the embedded demo tickets, oldest first.
func Tickets() ([]Ticket, error) { return decodeTickets(ticketsJSONL) }

// decodeTickets reads JSON Lines strictly: unknown fields, trailing data and invalid values are
// errors that name the line.
func decodeTickets(data []byte) ([]Ticket, error) {
	var out []Ticket
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var t Ticket
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("demo tickets line %d: %w", line, err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("demo tickets line %d: more than one JSON value on the line", line)
		}
		if err := t.validate(); err != nil {
			return nil, fmt.Errorf("demo tickets line %d: %w", line, err)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("demo tickets: %w", err)
	}
	return out, nil
}

// validate checks what the JSON decoder cannot: enumerations, required values and message order.
func (t *Ticket) validate() error {
	switch {
	case t.Subject == "":
		return errors.New("subject is empty")
	case !t.Priority.Valid():
		return fmt.Errorf("priority %q is not one of %v", t.Priority, escalated.Priorities)
	case !t.Channel.Valid():
		return fmt.Errorf("channel %q is not one of %v", t.Channel, escalated.Channels)
	case t.Customer.ID == "" || t.Account.ID == "":
		return errors.New("customer.id and account.id are required")
	case t.AgeMinutes <= 0:
		return fmt.Errorf("age_minutes %d must be positive", t.AgeMinutes)
	case len(t.Messages) == 0 || t.Messages[0].Author.Kind != escalated.AuthorCustomer:
		return errors.New("the first message must be the customer's")
	}
	prev := 0
	for i, m := range t.Messages {
		switch {
		case !m.Author.Kind.Valid():
			return fmt.Errorf("messages[%d].author.kind %q is not one of %v", i, m.Author.Kind, escalated.AuthorKinds)
		case m.Author.Kind == escalated.AuthorAgent && m.Author.ID == "":
			return fmt.Errorf("messages[%d]: an agent message needs author.id", i)
		case m.Body == "":
			return fmt.Errorf("messages[%d].body is empty", i)
		case m.OffsetMinutes < prev || m.OffsetMinutes > t.AgeMinutes:
			return fmt.Errorf("messages[%d].offset_minutes %d must be between the previous message (%d) and age_minutes (%d)", i, m.OffsetMinutes, prev, t.AgeMinutes)
		}
		prev = m.OffsetMinutes
	}
	if e := t.Escalate; e != nil {
		switch {
		case e.To == "" || e.By == "":
			return errors.New("escalate.to and escalate.by are required")
		case !e.Reason.Valid():
			return fmt.Errorf("escalate.reason %q is not one of %v", e.Reason, escalated.Reasons)
		case !e.Then.Valid():
			return fmt.Errorf(`escalate.then %q is not one of null, "acknowledge", "resolve", "return"`, e.Then)
		}
	}
	return nil
}
