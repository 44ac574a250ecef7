package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/web"
)

// TestUserSetPassword: the password comes from stdin's first line; it must be long enough and
// the id a person of the stored policy; the hash verifies.
func TestUserSetPassword(t *testing.T) {
	db := dbWithPolicy(t, "users.db", "../../internal/demo/policy.yaml")
	ctx := context.Background()

	setPassword := func(line string, args ...string) (int, string, string) {
		t.Helper()
		old := stdin
		stdin = strings.NewReader(line)
		defer func() { stdin = old }()
		return runCLI(t, append([]string{"user", "set-password"}, args...)...)
	}
	if code, _, errOut := setPassword("short\n", "ana", "--db", db); code != 1 || !strings.Contains(errOut, "at least 12") {
		t.Errorf("short password: code %d, %q", code, errOut)
	}
	if code, _, errOut := setPassword("long-enough-password\n", "mallory", "--db", db); code != 1 || !strings.Contains(errOut, "neither an agent nor a supervisor") {
		t.Errorf("unknown person: code %d, %q", code, errOut)
	}
	if code, _, errOut := setPassword("long-enough-password\n", "--db", db); code != 2 || !strings.Contains(errOut, "id") {
		t.Errorf("no id: code %d, %q", code, errOut)
	}
	code, out, errOut := setPassword("long-enough-password\n", "maya", "--db", db)
	if code != 0 || !strings.Contains(out, "password set for maya (supervisor)") {
		t.Fatalf("set maya's password: code %d, %q %q", code, out, errOut)
	}
	st, err := app.OpenStore(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var c *store.Credential
	if err := st.View(ctx, func(tx store.Tx) error {
		var err error
		c, err = tx.GetCredential(ctx, "maya")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ok, err := web.VerifyPassword(c.Hash, "long-enough-password"); !ok || err != nil {
		t.Errorf("the stored hash does not verify the password (%v)", err)
	}
	if ok, _ := web.VerifyPassword(c.Hash, "long-enough-passwore"); ok {
		t.Errorf("the stored hash verifies another password")
	}
}

// dbWithPolicy makes a SQLite database in a temporary directory with policy stored as its
// newest version, as a node's first start leaves it, and returns its --db value.
func dbWithPolicy(t *testing.T, name, policy string) string {
	t.Helper()
	db := "sqlite:" + filepath.Join(t.TempDir(), name)
	ctx := context.Background()
	cfg := config.Default()
	cfg.DB, cfg.PolicyPath = db, policy
	a, err := app.New(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.LoadPolicy(ctx); err != nil {
		t.Fatal(err)
	}
	a.Store.Close()
	return db
}
