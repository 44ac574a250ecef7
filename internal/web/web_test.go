package web

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/policy"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not an argon2id PHC string with the expected parameters", h)
	}
	if ok, err := VerifyPassword(h, "correct horse battery"); !ok || err != nil {
		t.Errorf("the password does not verify against its hash (%v)", err)
	}
	if ok, _ := VerifyPassword(h, "correct horse batterz"); ok {
		t.Error("another password verifies")
	}
	if h2, _ := HashPassword("correct horse battery"); h2 == h {
		t.Error("two hashes of one password are equal: no fresh salt")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=1,t=1,p=1$!!$aGFzaA", "$argon2id$v=18$m=1,t=1,p=1$c2FsdA$aGFzaA"} {
		if ok, err := VerifyPassword(bad, "x"); ok || err == nil {
			t.Errorf("VerifyPassword(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/queue/billing": "/queue/billing", "": "/", "https://evil.example/": "/", "//evil.example/x": "/",
		"/\\evil.example": "/", "queue": "/", "/\t/evil.example/x": "/", "/a\nb": "/", "/ok?x=1&y=%2F": "/ok?x=1&y=%2F",
		"/%2F%2Fevil.example": "/%2F%2Fevil.example",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45s", 12*time.Minute + 3*time.Second: "12m 03s", 65 * time.Minute: "1h 05m",
		-90 * time.Second: "-1m 30s", 50 * time.Hour: "2d 02h", 0: "0s",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestPersonTeamsIncludeSees: an agent's console teams are their own, then those the policy's
// sees adds (every team for "*"), as the ticket service scopes the agent.
func TestPersonTeamsIncludeSees(t *testing.T) {
	pol, err := policy.Parse("p.yaml", []byte(`version: 1
tiers: [{id: t1, level: 1}, {id: t2, level: 2}]
teams: [{id: a, tier: t1}, {id: b, tier: t2}, {id: c, tier: t2}]
agents:
  - {id: ana, teams: [b]}
  - {id: bea, teams: [b], sees: [c, a]}
  - {id: lead, teams: [c], sees: ["*"]}
sla: [{id: default, targets: {first_response: 1h}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string][]string{"ana": {"b"}, "bea": {"b", "a", "c"}, "lead": {"c", "a", "b"}} {
		p, ok := personOf(pol, id)
		if !ok || !slices.Equal(p.Teams, want) {
			t.Errorf("%s: teams %v, want %v", id, p.Teams, want)
		}
	}
}
