package notify_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/notify/email"
	"github.com/escalated/escalated/internal/notify/slack"
	"github.com/escalated/escalated/internal/store"
)

// TestSlackIncomingWebhookFormat: the body is what Slack's incoming webhooks document
// (https://api.slack.com/messaging/webhooks): a JSON object with a `text` fallback and `blocks`,
// here section blocks with mrkdwn text objects and a context block of mrkdwn elements, with a
// readable message and a link to the ticket in Slack's <url|label> syntax.
func TestSlackIncomingWebhookFormat(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	rc := startReceiver(t, func(n int, r received, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok") // what Slack answers
	})
	startDispatcher(t, notify.Config{Store: s,
		Channels: channels(notify.Channel{ID: "legal-alerts", Type: notify.TypeSlack, URL: rc.URL}),
		Senders:  map[string]notify.Sender{notify.TypeSlack: slack.New("https://escalated.example.test/", nil)}})
	tk := createTicket(t, s)
	d := enqueue(t, s, tk, "legal-alerts", 1)
	waitState(t, s, d.ID, store.DeliveryDelivered)
	req := rc.waitRequests(t, 1)[0]
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}

	// Strict decoding: only the documented top-level fields and block shapes.
	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
			Elements []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&msg); err != nil {
		t.Fatalf("body is not a Slack incoming-webhook message: %v\n%s", err, req.Body)
	}
	if msg.Text == "" || !strings.Contains(msg.Text, tk.Subject) {
		t.Errorf("text fallback %q does not say what happened to %q", msg.Text, tk.Subject)
	}
	if len(msg.Blocks) == 0 || len(msg.Blocks) > 50 {
		t.Fatalf("%d blocks; Slack takes 1 to 50", len(msg.Blocks))
	}
	link := "<https://escalated.example.test/v1/tickets/" + tk.ID + "|"
	var all strings.Builder
	for i, b := range msg.Blocks {
		switch b.Type {
		case "section":
			if b.Text == nil || b.Text.Type != "mrkdwn" || b.Text.Text == "" || len(b.Text.Text) > 3000 {
				t.Errorf("block %d: a section needs a mrkdwn text of 1 to 3000 characters, got %+v", i, b.Text)
			} else {
				all.WriteString(b.Text.Text + "\n")
			}
		case "context":
			if len(b.Elements) == 0 || b.Elements[0].Type != "mrkdwn" {
				t.Errorf("block %d: a context needs mrkdwn elements, got %+v", i, b.Elements)
			}
		default:
			t.Errorf("block %d has type %q; want section or context", i, b.Type)
		}
	}
	text := all.String()
	for _, want := range []string{"Escalated to integrations", link, "Check the SAML audience URI",
		"&lt;again&gt; &amp; again"} {
		if !strings.Contains(text, want) {
			t.Errorf("blocks do not contain %q:\n%s", want, text)
		}
	}
}

// smtpBackend is an in-process SMTP server that keeps every message it accepts.
type smtpBackend struct {
	mu   sync.Mutex
	msgs []smtpMessage
}

type smtpMessage struct {
	From string
	To   []string
	Data []byte
}

type smtpSession struct {
	be  *smtpBackend
	cur smtpMessage
}

func (be *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{be: be}, nil }

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error { s.cur.From = from; return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.be.mu.Lock()
	s.be.msgs = append(s.be.msgs, s.cur)
	s.be.mu.Unlock()
	return nil
}
func (s *smtpSession) Reset()        { s.cur = smtpMessage{} }
func (s *smtpSession) Logout() error { return nil }

func startSMTP(t *testing.T) (*smtpBackend, string) {
	t.Helper()
	be := &smtpBackend{}
	srv := smtp.NewServer(be)
	srv.Domain = "mx.example.test"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return be, ln.Addr().String()
}

// TestEmailOverSMTP: a real SMTP conversation with an in-process server: the envelope goes
// from the configured sender to the channel's recipients, and the message has a plain-text and
// an HTML part, both with the handoff summary and the ticket link.
func TestEmailOverSMTP(t *testing.T) {
	t.Parallel()
	be, addr := startSMTP(t)
	s := openStore(t, "")
	to := []string{"tier2@example.test", "oncall@example.test"}
	startDispatcher(t, notify.Config{Store: s,
		Channels: channels(notify.Channel{ID: "tier2-mail", Type: notify.TypeEmail, To: to}),
		Senders: map[string]notify.Sender{notify.TypeEmail: email.New(
			email.Settings{Addr: addr, From: "escalated@support.example.test"}, "https://escalated.example.test")}})
	tk := createTicket(t, s)
	d := enqueue(t, s, tk, "tier2-mail", 1)
	waitState(t, s, d.ID, store.DeliveryDelivered)

	be.mu.Lock()
	msgs := slices.Clone(be.msgs)
	be.mu.Unlock()
	if len(msgs) != 1 {
		t.Fatalf("SMTP server got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "escalated@support.example.test" {
		t.Errorf("MAIL FROM %q", m.From)
	}
	if !slices.Equal(m.To, to) {
		t.Errorf("RCPT TO %v, want %v", m.To, to)
	}
	parsed, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, m.Data)
	}
	if subj := parsed.Header.Get("Subject"); !strings.Contains(subj, "Escalated to integrations") {
		t.Errorf("Subject %q", subj)
	}
	if got := parsed.Header.Get("X-Escalated-Delivery"); got != d.ID {
		t.Errorf("X-Escalated-Delivery %q, want %s", got, d.ID)
	}
	parts := mimeParts(t, parsed)
	for _, ct := range []string{"text/plain", "text/html"} {
		body, ok := parts[ct]
		if !ok {
			t.Errorf("no %s part (parts: %v)", ct, keys(parts))
			continue
		}
		for _, want := range []string{"Customer's SSO loops after the IdP change", "Check the SAML audience URI",
			"Globex", "75%", "https://escalated.example.test/v1/tickets/" + tk.ID} {
			if ct == "text/html" {
				want = strings.ReplaceAll(want, "'", "&#39;")
			}
			if !strings.Contains(body, want) {
				t.Errorf("%s part does not contain %q:\n%s", ct, want, body)
			}
		}
	}
}

// mimeParts returns the decoded text parts of a message by content type.
func mimeParts(t *testing.T, m *mail.Message) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(ct string, h map[string][]string, r io.Reader)
	walk = func(ct string, h map[string][]string, r io.Reader) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("content type %q: %v", ct, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(r, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				walk(p.Header.Get("Content-Type"), p.Header, p)
			}
		}
		if enc := strings.ToLower(first(h["Content-Transfer-Encoding"])); enc == "quoted-printable" {
			r = quotedprintable.NewReader(r)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		out[mt] = string(b)
	}
	walk(m.Header.Get("Content-Type"), m.Header, m.Body)
	return out
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestEmailWithoutSMTPFails: an email channel on a node without SMTP settings fails its
// deliveries at once with an error that says what to set.
func TestEmailWithoutSMTPFails(t *testing.T) {
	t.Parallel()
	s := openStore(t, "")
	startDispatcher(t, notify.Config{Store: s,
		Channels: channels(notify.Channel{ID: "tier2-mail", Type: notify.TypeEmail, To: []string{"tier2@example.test"}}),
		Senders:  map[string]notify.Sender{notify.TypeEmail: email.New(email.Settings{}, "http://127.0.0.1:8080")}})
	d := enqueue(t, s, createTicket(t, s), "tier2-mail", 1)
	got := waitState(t, s, d.ID, store.DeliveryFailed)
	if !strings.Contains(got.LastError, "ESCALATED_SMTP_ADDR") || got.Attempts != 1 {
		t.Errorf("failed delivery: attempts %d, error %q; want one attempt naming ESCALATED_SMTP_ADDR", got.Attempts, got.LastError)
	}
}
