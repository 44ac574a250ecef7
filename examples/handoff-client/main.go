// Command handoff-client is a minimal chatbot-side client of escalated's handoff API: it hands
// a conversation to people with POST /v1/handoffs, prints where it landed, and then follows
// GET /v1/handoffs/{id} until a person picks it up (or -wait runs out), the way a bot tells the
// customer "you are number 3 in line, about 4 minutes".
//
//	ESCALATED_URL=http://127.0.0.1:8080 ESCALATED_TOKEN=esctok_... go run ./examples/handoff-client
//
// Create a bot token with `escalated token create --role bot --name my-bot`.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Handoff is the request body (see docs/handoff.md for every field).
type Handoff struct {
	HandoffID      string           `json:"handoff_id"`
	Subject        string           `json:"subject,omitempty"`
	Priority       string           `json:"priority,omitempty"`
	Channel        string           `json:"channel,omitempty"`
	IssueType      string           `json:"issue_type,omitempty"`
	Customer       *Customer        `json:"customer,omitempty"`
	Account        *Account         `json:"account,omitempty"`
	Transcript     []TranscriptLine `json:"transcript"`
	BotSteps       []BotStep        `json:"bot_steps"`
	Recommendation string           `json:"recommendation,omitempty"`
	RequestedTeam  string           `json:"requested_team,omitempty"`
	Note           string           `json:"note,omitempty"`
}

type Customer struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Tier string `json:"tier"`
}

type TranscriptLine struct {
	Author string    `json:"author"` // customer or bot
	Body   string    `json:"body"`
	At     time.Time `json:"at"`
}

type BotStep struct {
	Intent     string  `json:"intent"`
	Action     string  `json:"action"`
	Outcome    string  `json:"outcome"` // resolved, failed or abandoned
	Confidence float64 `json:"confidence"`
}

// Result is the answer.
type Result struct {
	HandoffID            string   `json:"handoff_id"`
	TicketID             string   `json:"ticket_id"`
	EscalationID         string   `json:"escalation_id"`
	Team                 string   `json:"team"`
	Position             int      `json:"position"`
	EstimatedWaitSeconds *int64   `json:"estimated_wait_seconds"`
	EstimateBasis        string   `json:"estimate_basis"`
	State                string   `json:"state"`
	Completeness         float64  `json:"completeness"`
	Missing              []string `json:"missing"`
	Flagged              bool     `json:"flagged"`
}

// APIError is escalated's error body.
type APIError struct {
	Status int
	Code   string            `json:"code"`
	Msg    string            `json:"message"`
	Fields map[string]string `json:"fields"`
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Msg)
	for k, v := range e.Fields {
		s += fmt.Sprintf("\n  %s: %s", k, v)
	}
	return s
}

// Client talks to one escalated server with one bot token.
type Client struct {
	Base, Token string
	HTTP        *http.Client
}

// Handoff posts h. Retrying with the same HandoffID after a timeout or a 5xx is safe: the
// server answers the first answer again and creates nothing twice.
func (c *Client) Handoff(ctx context.Context, h *Handoff) (*Result, error) {
	var res Result
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		err = c.call(ctx, "POST", "/v1/handoffs", h, &res)
		var apiErr *APIError
		if err == nil || (errors.As(err, &apiErr) && apiErr.Status < 500) {
			break
		}
		time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// Status reads where a handoff stands now.
func (c *Client) Status(ctx context.Context, handoffID string) (*Result, error) {
	var res Result
	if err := c.call(ctx, "GET", "/v1/handoffs/"+handoffID, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error APIError }
		_ = json.Unmarshal(raw, &e)
		e.Error.Status = resp.StatusCode
		return &e.Error
	}
	return json.Unmarshal(raw, out)
}

// sample is the conversation this example hands off.
func sample(id string, now time.Time) *Handoff {
	return &Handoff{
		HandoffID: id, Subject: "Charged twice for order 4417", Priority: "high", Channel: "chat", IssueType: "billing",
		Customer: &Customer{ID: "cus_4417", Name: "Jo Doe", Email: "jo@example.test"},
		Account:  &Account{ID: "globex", Name: "Globex", Tier: "pro"},
		Transcript: []TranscriptLine{
			{Author: "customer", Body: "I was charged twice for order 4417.", At: now.Add(-3 * time.Minute)},
			{Author: "bot", Body: "I can see two payments. Let me try to refund one.", At: now.Add(-2 * time.Minute)},
			{Author: "customer", Body: "It still shows twice. I want to talk to a person.", At: now.Add(-1 * time.Minute)},
		},
		BotSteps: []BotStep{
			{Intent: "refund_request", Action: "looked up order 4417", Outcome: "resolved", Confidence: 0.93},
			{Intent: "refund_request", Action: "issued refund via payments API", Outcome: "failed", Confidence: 0.71},
		},
		Recommendation: "Refund the duplicate charge manually in the payments console.",
		Note:           "Duplicate charge confirmed; the automatic refund failed with a gateway error.",
	}
}

// pollEvery is how often the client asks where its handoff stands.
var pollEvery = 5 * time.Second

// run hands off the sample conversation and follows it for up to wait.
func run(ctx context.Context, c *Client, wait time.Duration, out io.Writer) error {
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := "example-" + hex.EncodeToString(b[:])
	res, err := c.Handoff(ctx, sample(id, time.Now().UTC()))
	if err != nil {
		return fmt.Errorf("handoff: %w", err)
	}
	fmt.Fprintf(out, "handed off: ticket %s, escalation %s, team %s\n", res.TicketID, res.EscalationID, res.Team)
	say(out, res)
	deadline := time.Now().Add(wait)
	for res.State == "pending" && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(pollEvery, time.Until(deadline))):
		}
		if res, err = c.Status(ctx, id); err != nil {
			return fmt.Errorf("status: %w", err)
		}
		say(out, res)
	}
	return nil
}

// say is what the bot would tell the customer.
func say(out io.Writer, r *Result) {
	switch {
	case r.State != "pending":
		fmt.Fprintf(out, "state %s: a person from %s has it now\n", r.State, r.Team)
	case r.EstimatedWaitSeconds != nil:
		fmt.Fprintf(out, "position %d in %s's line, about %s (%s)\n", r.Position, r.Team,
			(time.Duration(*r.EstimatedWaitSeconds) * time.Second).String(), r.EstimateBasis)
	default:
		fmt.Fprintf(out, "position %d in %s's line\n", r.Position, r.Team)
	}
}

func main() {
	wait := flag.Duration("wait", 0, "follow the handoff this long until a person picks it up")
	flag.Parse()
	base, token := os.Getenv("ESCALATED_URL"), os.Getenv("ESCALATED_TOKEN")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	if token == "" {
		fmt.Fprintln(os.Stderr, "set ESCALATED_TOKEN to a bot token (escalated token create --role bot --name my-bot)")
		os.Exit(2)
	}
	c := &Client{Base: base, Token: token, HTTP: &http.Client{Timeout: 15 * time.Second}}
	if err := run(context.Background(), c, *wait, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
