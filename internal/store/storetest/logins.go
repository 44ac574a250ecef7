package storetest

import (
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var loginTests = []test{
	{"Credentials", testCredentials},
	{"Sessions", testSessions},
}

func testCredentials(t *testing.T, f *fx) {
	at := time.Date(2026, 11, 28, 9, 0, 0, 1500000, time.UTC)
	err := f.s.View(f.ctx, func(tx store.Tx) error { _, err := tx.GetCredential(f.ctx, "ana"); return err })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, "ana", "set-password")
	f.update(func(tx store.Tx) error {
		return tx.SetCredential(f.ctx, &store.Credential{UserID: "ana", Hash: "$argon2id$v=19$first", UpdatedAt: at})
	})
	// Replaced, not added: a person has one password.
	f.update(func(tx store.Tx) error {
		return tx.SetCredential(f.ctx, &store.Credential{UserID: "ana", Hash: "$argon2id$v=19$second", UpdatedAt: at.Add(time.Hour)})
	})
	var got *store.Credential
	f.view(func(tx store.Tx) error {
		var err error
		got, err = tx.GetCredential(f.ctx, "ana")
		return err
	})
	equal(t, "credential", got, &store.Credential{UserID: "ana", Hash: "$argon2id$v=19$second", UpdatedAt: escalated.Truncate(at.Add(time.Hour))})
}

func testSessions(t *testing.T, f *fx) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	mk := func(id, user string, expires time.Time) *store.Session {
		return &store.Session{IDHash: id, UserID: user, CSRF: "csrf-" + id, CreatedAt: now, ExpiresAt: expires}
	}
	a, b, c := mk("h1", "ana", now.Add(time.Hour)), mk("h2", "ana", now.Add(2*time.Hour)), mk("h3", "sam", now)
	f.update(func(tx store.Tx) error {
		for _, s := range []*store.Session{a, b, c} {
			if err := tx.CreateSession(f.ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.CreateSession(f.ctx, mk("h1", "eve", now)) })
	wantCode(t, err, escalated.ECONFLICT)
	get := func(id string) (*store.Session, error) {
		var s *store.Session
		err := f.s.View(f.ctx, func(tx store.Tx) error {
			var err error
			s, err = tx.GetSession(f.ctx, id)
			return err
		})
		return s, err
	}
	got, err := get("h1")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "session", got, a)
	_, err = get("nope")
	wantCode(t, err, escalated.ENOTFOUND)

	// Expired at now: h3 (expires exactly now) goes, the others stay.
	var n int
	f.update(func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteExpiredSessions(f.ctx, now)
		return err
	})
	if n != 1 {
		t.Errorf("deleted %d expired sessions, want 1 (h3)", n)
	}
	if _, err := get("h3"); escalated.ErrorCode(err) != escalated.ENOTFOUND {
		t.Errorf("expired session h3 still there (%v)", err)
	}
	f.update(func(tx store.Tx) error { return tx.DeleteSession(f.ctx, "h1") })
	f.update(func(tx store.Tx) error { return tx.DeleteSession(f.ctx, "h1") }) // again: no error
	if _, err := get("h1"); escalated.ErrorCode(err) != escalated.ENOTFOUND {
		t.Errorf("deleted session h1 still there (%v)", err)
	}
	f.update(func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteUserSessions(f.ctx, "ana")
		return err
	})
	if n != 1 {
		t.Errorf("deleted %d sessions of ana, want 1 (h2)", n)
	}
	if _, err := get("h2"); escalated.ErrorCode(err) != escalated.ENOTFOUND {
		t.Errorf("session h2 of ana still there (%v)", err)
	}
}
