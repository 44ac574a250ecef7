// Package pgtest gives tests a PostgreSQL to run on: the server named by ESCALATED_TEST_POSTGRES
// (skipping the test with a clear message when it is not set) and a schema of their own,
// dropped when the test ends. Only tests import it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env is the variable naming the test server.
const Env = "ESCALATED_TEST_POSTGRES"

// URL returns the test server's URL, or skips the test saying what would run on it.
func URL(t testing.TB, what string) string {
	t.Helper()
	u := os.Getenv(Env)
	if u == "" {
		t.Skip(Env + " is not set: set it to a PostgreSQL URL " +
			"(e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run " + what + " against PostgreSQL")
	}
	return u
}

// FreshSchema returns the name of a schema no one uses yet, prefix_<random hex> (the store
// creates it on open), and drops it with everything in it when the test ends: after the stores
// opened on it have closed, as cleanups run last-in first-out.
func FreshSchema(t testing.TB, what, prefix string) string {
	t.Helper()
	url := URL(t, what)
	var b [6]byte
	rand.Read(b[:])
	name := prefix + "_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}
