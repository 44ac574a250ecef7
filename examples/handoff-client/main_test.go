package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/store"
)

// TestExampleAgainstARealServer runs the example client against a node on loopback: the
// handoff lands, the bot can tell the customer its place in line, and once an agent
// acknowledges the escalation the client sees it picked up.
func TestExampleAgainstARealServer(t *testing.T) {
	cfg := config.Default()
	cfg.DB = "sqlite:" + filepath.Join(t.TempDir(), "escalated.db")
	cfg.Addr, cfg.PolicyPath = "127.0.0.1:0", "../../internal/app/testdata/policy.yaml"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.LoadPolicy(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	token, _, err := a.Access.CreateToken(ctx, access.NewToken{Name: "example-bot", Role: escalated.RoleBot}, "test")
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{Base: "http://" + a.Addr(), Token: token, HTTP: &http.Client{Timeout: 10 * time.Second}}

	// An agent picks the conversation up a moment after the handoff.
	admin := escalated.WithPrincipal(ctx, escalated.Principal{Name: "test", Role: escalated.RoleAdmin})
	go func() {
		for range 100 {
			time.Sleep(100 * time.Millisecond)
			escs, _, err := a.Tickets.ListEscalations(admin, storeFilterPending())
			if err == nil && len(escs) == 1 {
				a.Tickets.Acknowledge(admin, escs[0].ID, "ana")
				return
			}
		}
	}()
	pollEvery = 200 * time.Millisecond
	var out bytes.Buffer
	if err := run(ctx, c, 30*time.Second, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{"handed off: ticket tkt_", "position 1 in frontline's line, about 1h0m0s (sla_acknowledge_target)", "state acknowledged: a person from frontline has it now"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func storeFilterPending() store.EscalationFilter {
	return store.EscalationFilter{State: escalated.EscalationPending}
}
