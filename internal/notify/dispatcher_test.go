package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{"0", 0, true},
		{"Sat, 28 Nov 2026 09:01:30 GMT", 90 * time.Second, true},
		{"Sat, 28 Nov 2026 08:59:00 GMT", 0, true}, // in the past: at once
		{"", 0, false},
		{"soon", 0, false},
		{"-5", 0, false},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestBackoffFullJitter: attempt n waits a random time in [0, min(MaxDelay, MinDelay*2^(n-1))].
func TestBackoffFullJitter(t *testing.T) {
	t.Parallel()
	d := &Dispatcher{retry: RetryPolicy{}.withDefaults()}
	var ceilings []time.Duration
	d.rand = func(n int64) int64 { ceilings = append(ceilings, time.Duration(n-1)); return n - 1 }
	for n := 1; n <= 12; n++ {
		d.Backoff(n)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, 64 * time.Second, 128 * time.Second, 256 * time.Second, 512 * time.Second, 10 * time.Minute, 10 * time.Minute}
	for i := range want {
		if ceilings[i] != want[i] {
			t.Errorf("attempt %d: ceiling %s, want %s", i+1, ceilings[i], want[i])
		}
	}
	d.rand = func(int64) int64 { return 0 }
	if got := d.Backoff(3); got != 0 {
		t.Errorf("full jitter's floor is 0, got %s", got)
	}
}

const channelsPolicy = `version: 1
calendars:
  - {id: always, timezone: UTC, hours: {mon-sun: "00:00-24:00"}}
tiers:
  - {id: t1, name: Frontline, level: 1}
teams:
  - {id: frontline, tier: t1, calendar: always}
channels:
  - {id: legal-alerts, type: slack, url: "https://hooks.example.test/legal"}
  - {id: ops, type: webhook, url: "https://ops.example.test/escalated", secret_env: OPS_SECRET, events: [escalation.created, escalation.acknowledged]}
  - {id: tier2-mail, type: email, to: ["tier2@example.test"], events: [escalation.created]}
`

func TestParseChannels(t *testing.T) {
	t.Parallel()
	p, err := policy.Parse("p.yaml", []byte(channelsPolicy))
	if err != nil {
		t.Fatal(err)
	}
	chans, err := ParseChannels(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(chans) != 3 {
		t.Fatalf("got %d channels, want 3", len(chans))
	}
	slack, ops, mail := chans[0], chans[1], chans[2]
	if slack.Type != TypeSlack || slack.Events != nil || !slack.Wants(escalated.EventMessageAdded) {
		t.Errorf("slack channel without events = %+v; want every event type", slack)
	}
	if slack.Wants(escalated.EventNotificationRequested) {
		t.Error("notification.requested must go only to the channel a rule names, never broadcast")
	}
	if ops.SecretEnv != "OPS_SECRET" || !ops.Wants(escalated.EventEscalationCreated) || ops.Wants(escalated.EventMessageAdded) {
		t.Errorf("ops channel = %+v", ops)
	}
	if len(mail.To) != 1 || mail.To[0] != "tier2@example.test" {
		t.Errorf("mail channel = %+v", mail)
	}
}

func TestParseChannelsErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		channel, want string
	}{
		{`{id: a, type: pager, url: "https://x.test"}`, `unknown type "pager"`},
		{`{id: a, type: webhook, url: "https://x.test"}`, "secret_env is required"},
		{`{id: a, type: slack, url: "ftp://x.test"}`, "must be an http:// or https:// URL"},
		{`{id: a, type: email}`, "to is required"},
		{`{id: a, type: email, to: [nobody]}`, "is not an email address"},
		{`{id: a, type: slack, url: "https://x.test", events: [escalation.created, ticket.exploded]}`, `unknown event "ticket.exploded"`},
		{`{id: a, type: slack, url: "https://x.test", colour: red}`, `unknown key "colour"`},
	} {
		src := strings.Replace(channelsPolicy, `  - {id: legal-alerts, type: slack, url: "https://hooks.example.test/legal"}`, "  - "+tc.channel, 1)
		p, err := policy.Parse("p.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%s: policy.Parse: %v", tc.channel, err)
		}
		_, err = ParseChannels(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "9:") {
			t.Errorf("%s: error %v; want it to say %q at line 9", tc.channel, err, tc.want)
		}
	}
}
