// Package slack sends deliveries to Slack incoming webhooks: a JSON body with a plain `text`
// fallback (what notifications and old clients show) and `blocks` with the readable message
// and a link to the ticket, as https://api.slack.com/messaging/webhooks documents.
package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/store"
)

// Timeout bounds one attempt.
const Timeout = 10 * time.Second

// Message is the body of an incoming-webhook post.
type Message struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks"`
}

// Block is a layout block; escalated uses section blocks (mrkdwn text) and a context block.
type Block struct {
	Type     string `json:"type"`
	Text     *Text  `json:"text,omitempty"`
	Elements []Text `json:"elements,omitempty"`
}

// Text is a text object.
type Text struct {
	Type string `json:"type"` // mrkdwn or plain_text
	Text string `json:"text"`
}

// Sender posts deliveries to Slack channels.
type Sender struct {
	client    *http.Client
	publicURL string
}

// New returns a Slack sender whose ticket links start with publicURL (the server's address as
// people reach it). client nil means notify.NewHTTPClient(Timeout).
func New(publicURL string, client *http.Client) *Sender {
	if client == nil {
		client = notify.NewHTTPClient(Timeout)
	}
	return &Sender{client: client, publicURL: publicURL}
}

// Send posts one delivery. Slack answers 200 "ok", 4xx for a bad payload or a revoked hook
// (failed for good), 429 with Retry-After when rate limited.
func (s *Sender) Send(ctx context.Context, c *notify.Channel, d *store.Delivery) notify.Outcome {
	p, err := notify.ParsePayload(d.Payload)
	if err != nil {
		return notify.Fail(0, err)
	}
	body, err := json.Marshal(Render(p, s.publicURL))
	if err != nil {
		return notify.Fail(0, fmt.Errorf("render slack message: %v", err))
	}
	return notify.PostJSON(ctx, s.client, c.URL, body, nil)
}

// Render builds the Slack message for a payload.
func Render(p *notify.Payload, publicURL string) Message {
	headline := notify.Headline(p)
	link := notify.TicketURL(publicURL, p.Str("ticket_id"))
	var b strings.Builder
	fmt.Fprintf(&b, "*%s*", escape(headline))
	fmt.Fprintf(&b, "\nTeam %s · tier %s · priority %s", escape(p.Str("team")), escape(p.Str("tier")), escape(p.Str("priority")))
	if h := p.Handoff(); h != nil {
		fmt.Fprintf(&b, "\nFrom %s to %s, reason %s, package %.0f%% complete", escape(h.FromTeam), escape(h.ToTeam),
			escape(h.Reason), h.Completeness*100)
		if h.Note != "" {
			fmt.Fprintf(&b, "\n>%s", escape(oneLine(h.Note)))
		}
		if h.OriginalMessage != "" {
			fmt.Fprintf(&b, "\nCustomer wrote: _%s_", escape(oneLine(h.OriginalMessage)))
		}
		if h.Recommendation != "" {
			fmt.Fprintf(&b, "\nRecommended: %s", escape(h.Recommendation))
		}
	}
	blocks := []Block{
		{Type: "section", Text: &Text{Type: "mrkdwn", Text: b.String()}},
		{Type: "section", Text: &Text{Type: "mrkdwn", Text: fmt.Sprintf("<%s|Open ticket %s>", link, escape(p.Str("ticket_id")))}},
		{Type: "context", Elements: []Text{{Type: "mrkdwn", Text: escape(p.Type + " · " + p.OccurredAt)}}},
	}
	return Message{Text: headline + " " + link, Blocks: blocks}
}

// escape applies Slack's three control-character escapes to text shown in mrkdwn.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
