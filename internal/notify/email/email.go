// Package email sends deliveries as email through the server's SMTP relay with
// github.com/wneessen/go-mail: STARTTLS whenever the server offers it, authentication when a
// user is configured, and a message with a plain-text body and an HTML alternative, both
// carrying the handoff summary and a link to the ticket.
package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/store"
)

// Timeout bounds connecting to the relay and each command of the conversation.
const Timeout = 15 * time.Second

// Settings are the server's SMTP settings (ESCALATED_SMTP_* or the serve flags).
type Settings struct {
	// Addr is the relay's host:port.
	Addr string
	// From is the sender address of every notification.
	From string
	// User and Password authenticate to the relay when User is set.
	User     string
	Password string
}

// Configured reports whether email can be sent at all.
func (s Settings) Configured() bool { return s.Addr != "" && s.From != "" }

// Sender sends deliveries to email channels.
type Sender struct {
	settings  Settings
	publicURL string
	timeout   time.Duration
}

// New returns an email sender. Without Addr and From every delivery fails with an error that
// says which settings to give.
func New(settings Settings, publicURL string) *Sender {
	return &Sender{settings: settings, publicURL: publicURL, timeout: Timeout}
}

// Send mails one delivery to the channel's recipients. A relay's permanent refusal (5xx) fails
// the delivery for good; a temporary one (4xx), a timeout or a connection error is retried.
func (s *Sender) Send(ctx context.Context, c *notify.Channel, d *store.Delivery) notify.Outcome {
	if !s.settings.Configured() {
		return notify.Fail(0, fmt.Errorf("email channel %s: no SMTP server configured on this node: set ESCALATED_SMTP_ADDR and ESCALATED_SMTP_FROM (or serve --smtp-addr and --smtp-from) and retry the delivery", c.ID))
	}
	p, err := notify.ParsePayload(d.Payload)
	if err != nil {
		return notify.Fail(0, err)
	}
	m, err := s.message(c, d, p)
	if err != nil {
		return notify.Fail(0, err)
	}
	client, err := s.client()
	if err != nil {
		return notify.Fail(0, err)
	}
	if err := client.DialAndSendWithContext(ctx, m); err != nil {
		var se *mail.SendError
		if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
			return notify.Fail(0, fmt.Errorf("smtp relay refused the message: %v", err))
		}
		return notify.Retry(0, fmt.Errorf("smtp: %v", err))
	}
	return notify.Delivered(0)
}

func (s *Sender) client() (*mail.Client, error) {
	host, portText, err := net.SplitHostPort(s.settings.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtp address %q must be host:port: %v", s.settings.Addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("smtp address %q: bad port", s.settings.Addr)
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTLSPolicy(mail.TLSOpportunistic), mail.WithTimeout(s.timeout)}
	if s.settings.User != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(s.settings.User), mail.WithPassword(s.settings.Password))
	}
	c, err := mail.NewClient(host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %v", err)
	}
	return c, nil
}

func (s *Sender) message(c *notify.Channel, d *store.Delivery, p *notify.Payload) (*mail.Msg, error) {
	m := mail.NewMsg()
	if err := m.From(s.settings.From); err != nil {
		return nil, fmt.Errorf("sender address %q: %v", s.settings.From, err)
	}
	if err := m.To(c.To...); err != nil {
		return nil, fmt.Errorf("channel %s recipients: %v", c.ID, err)
	}
	m.Subject("[escalated] " + notify.Headline(p))
	// The delivery id as Message-ID: a message sent twice (at least once) is the same message
	// to every mail client that deduplicates.
	m.SetMessageIDWithValue(d.ID + "@escalated")
	m.SetGenHeader(mail.Header("X-Escalated-Delivery"), d.ID)
	m.SetGenHeader(mail.Header("X-Escalated-Event"), d.EventType)
	text, html, err := Render(p, s.publicURL)
	if err != nil {
		return nil, err
	}
	m.SetBodyString(mail.TypeTextPlain, text)
	m.AddAlternativeString(mail.TypeTextHTML, html)
	return m, nil
}

// view is what both bodies show.
type view struct {
	Headline, Link, TicketID, Team, Tier, Priority, Type, OccurredAt string
	Handoff                                                          *notify.Summary
	Percent                                                          string
}

func viewOf(p *notify.Payload, publicURL string) view {
	v := view{
		Headline: notify.Headline(p), Link: notify.TicketURL(publicURL, p.Str("ticket_id")), TicketID: p.Str("ticket_id"),
		Team: p.Str("team"), Tier: p.Str("tier"), Priority: p.Str("priority"), Type: p.Type, OccurredAt: p.OccurredAt,
		Handoff: p.Handoff(),
	}
	if v.Handoff != nil {
		v.Percent = strconv.Itoa(int(v.Handoff.Completeness*100+0.5)) + "%"
	}
	return v
}

const textBody = `{{.Headline}}

Ticket {{.TicketID}} · team {{.Team}} · tier {{.Tier}} · priority {{.Priority}}
{{with .Handoff}}
Handoff summary
  From {{.FromTeam}} to {{.ToTeam}}, reason {{.Reason}} ({{.Trigger}})
  Package complete: {{$.Percent}}
{{- if .Account}}
  Account: {{.Account}}{{if .CustomerTier}} ({{.CustomerTier}}){{end}}{{end}}
{{- if .Note}}
  Note: {{.Note}}{{end}}
{{- if .OriginalMessage}}
  Customer wrote: {{.OriginalMessage}}{{end}}
{{- range .BotTried}}
  Bot tried: {{.}}{{end}}
{{- if .Recommendation}}
  Recommended next action: {{.Recommendation}}{{end}}
{{end}}
Open the ticket: {{.Link}}

-- 
{{.Type}} at {{.OccurredAt}}, sent by escalated
`

const htmlBody = `<!doctype html>
<html><body style="font-family: sans-serif">
<h2 style="margin-bottom: 4px">{{.Headline}}</h2>
<p style="color: #555">Ticket {{.TicketID}} · team {{.Team}} · tier {{.Tier}} · priority {{.Priority}}</p>
{{with .Handoff}}<h3>Handoff summary</h3>
<table cellpadding="4">
<tr><th align="left">From → to</th><td>{{.FromTeam}} → {{.ToTeam}}</td></tr>
<tr><th align="left">Reason</th><td>{{.Reason}} ({{.Trigger}})</td></tr>
<tr><th align="left">Package complete</th><td>{{$.Percent}}</td></tr>
{{if .Account}}<tr><th align="left">Account</th><td>{{.Account}}{{if .CustomerTier}} ({{.CustomerTier}}){{end}}</td></tr>{{end}}
{{if .Note}}<tr><th align="left">Note</th><td>{{.Note}}</td></tr>{{end}}
{{if .OriginalMessage}}<tr><th align="left">Customer wrote</th><td><blockquote>{{.OriginalMessage}}</blockquote></td></tr>{{end}}
{{if .BotTried}}<tr><th align="left">Bot tried</th><td><ul>{{range .BotTried}}<li>{{.}}</li>{{end}}</ul></td></tr>{{end}}
{{if .Recommendation}}<tr><th align="left">Recommended next action</th><td>{{.Recommendation}}</td></tr>{{end}}
</table>{{end}}
<p><a href="{{.Link}}">Open the ticket</a></p>
<p style="color: #888; font-size: small">{{.Type}} at {{.OccurredAt}}, sent by escalated</p>
</body></html>
`

// The HTML body escapes what it shows (html/template); the plain-text one must not.
var (
	htmlTmpl = template.Must(template.New("html").Parse(htmlBody))
	textTmpl = texttemplate.Must(texttemplate.New("text").Parse(textBody))
)

// Render returns the plain-text and HTML bodies for a payload.
func Render(p *notify.Payload, publicURL string) (text, html string, err error) {
	v := viewOf(p, publicURL)
	var hb, tb bytes.Buffer
	if err := htmlTmpl.Execute(&hb, v); err != nil {
		return "", "", fmt.Errorf("render email html: %v", err)
	}
	if err := textTmpl.Execute(&tb, v); err != nil {
		return "", "", fmt.Errorf("render email text: %v", err)
	}
	return strings.TrimSpace(tb.String()) + "\n", hb.String(), nil
}
