// Package webhook sends deliveries as signed JSON POSTs.
//
// Every request carries the delivery's payload as its body and these headers:
//
//	Escalated-Event:     the event type (escalation.created, ...)
//	Escalated-Delivery:  the delivery id: the idempotency key, the same on every retry
//	Escalated-Timestamp: unix seconds when this attempt was signed
//	Escalated-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret>
//
// A receiver recomputes the HMAC over the timestamp header, a dot and the raw body, compares
// it in constant time (Verify does exactly that), refuses stale timestamps, and ignores a
// delivery id it has already processed.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/store"
)

// Headers of a delivery.
const (
	HeaderEvent     = "Escalated-Event"
	HeaderDelivery  = "Escalated-Delivery"
	HeaderTimestamp = "Escalated-Timestamp"
	HeaderSignature = "Escalated-Signature"
)

// Timeout bounds one attempt, connection and answer included.
const Timeout = 10 * time.Second

// Sender posts deliveries to webhook channels.
type Sender struct {
	client *http.Client
	now    func() time.Time
	getenv func(string) string
}

// Option configures a Sender.
type Option func(*Sender)

// WithClock sets the clock the timestamps are taken from (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Sender) { s.now = now } }

// WithEnv sets how secret_env is looked up (default os.Getenv).
func WithEnv(getenv func(string) string) Option { return func(s *Sender) { s.getenv = getenv } }

// WithClient replaces the HTTP client (default notify.NewHTTPClient(Timeout)).
func WithClient(c *http.Client) Option { return func(s *Sender) { s.client = c } }

// New returns a webhook sender.
func New(opts ...Option) *Sender {
	s := &Sender{client: notify.NewHTTPClient(Timeout), now: time.Now, getenv: os.Getenv}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Send signs and posts one delivery. A channel whose secret variable is unset fails at once:
// an unsigned webhook would be refused by a careful receiver and accepted by a careless one.
func (s *Sender) Send(ctx context.Context, c *notify.Channel, d *store.Delivery) notify.Outcome {
	secret := s.getenv(c.SecretEnv)
	if secret == "" {
		return notify.Fail(0, fmt.Errorf("channel %s: the environment variable %s (secret_env) is not set on this node; set it and retry the delivery", c.ID, c.SecretEnv))
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	h := http.Header{}
	h.Set(HeaderEvent, d.EventType)
	h.Set(HeaderDelivery, d.ID)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign(secret, ts, d.Payload))
	return notify.PostJSON(ctx, s.client, c.URL, d.Payload, h)
}

// Sign returns the Escalated-Signature value for body sent at timestamp ts (unix seconds).
func Sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: no v1 signature")
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: timestamp outside the tolerance")
)

// Verify checks a received delivery the way a receiver should: the v1 signature recomputed over
// "<timestamp>.<raw body>" and compared in constant time, and the timestamp within tolerance of
// now (0 skips the age check). Several signatures, comma separated, are accepted while a secret
// is rotated.
func Verify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts := header.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook: bad %s %q", HeaderTimestamp, ts)
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
			return ErrStale
		}
	}
	want := []byte(Sign(secret, ts, body))
	found := false
	for _, sig := range strings.Split(header.Get(HeaderSignature), ",") {
		sig = strings.TrimSpace(sig)
		if !strings.HasPrefix(sig, "v1=") {
			continue
		}
		found = true
		if hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	if !found {
		return ErrNoSignature
	}
	return ErrBadSignature
}
