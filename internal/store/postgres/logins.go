package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// SetCredential inserts or replaces the person's password hash.
func (t *tx) SetCredential(ctx context.Context, c *store.Credential) error {
	_, err := t.exec(ctx, `INSERT INTO credentials (user_id, hash, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`,
		c.UserID, c.Hash, ts(c.UpdatedAt))
	return writeErr(err, "set credential of "+c.UserID, "", "")
}

// GetCredential returns the person's credential; not_found when none was set.
func (t *tx) GetCredential(ctx context.Context, userID string) (*store.Credential, error) {
	c := store.Credential{UserID: userID}
	var at time.Time
	err := t.queryRow(ctx, `SELECT hash, updated_at FROM credentials WHERE user_id = $1`, userID).Scan(&c.Hash, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, escalated.Errorf(escalated.ENOTFOUND, "%s has no password: set one with escalated user set-password %s", userID, userID)
	} else if err != nil {
		return nil, fmt.Errorf("get credential of %s: %w", userID, err)
	}
	c.UpdatedAt = fromTS(at)
	return &c, nil
}

// CreateSession stores a new session.
func (t *tx) CreateSession(ctx context.Context, s *store.Session) error {
	_, err := t.exec(ctx, `INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		s.IDHash, s.UserID, s.CSRF, ts(s.CreatedAt), ts(s.ExpiresAt))
	return writeErr(err, "create session", "a session with this id exists", "")
}

// GetSession returns the session; not_found when there is none.
func (t *tx) GetSession(ctx context.Context, idHash string) (*store.Session, error) {
	s := store.Session{IDHash: idHash}
	var created, expires time.Time
	err := t.queryRow(ctx, `SELECT user_id, csrf, created_at, expires_at FROM sessions WHERE id_hash = $1`, idHash).
		Scan(&s.UserID, &s.CSRF, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		// The hash is not echoed: it identifies a live session of someone else's.
		return nil, escalated.Errorf(escalated.ENOTFOUND, "no such session")
	} else if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	s.CreatedAt, s.ExpiresAt = fromTS(created), fromTS(expires)
	return &s, nil
}

// DeleteSession ends a session.
func (t *tx) DeleteSession(ctx context.Context, idHash string) error {
	_, err := t.exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
	return writeErr(err, "delete session", "", "")
}

// DeleteUserSessions ends every session of the person.
func (t *tx) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, writeErr(err, "delete sessions of "+userID, "", "")
	}
	return int(res.RowsAffected()), nil
}

// DeleteExpiredSessions removes the sessions expired at now.
func (t *tx) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, ts(now))
	if err != nil {
		return 0, writeErr(err, "delete expired sessions", "", "")
	}
	return int(res.RowsAffected()), nil
}
