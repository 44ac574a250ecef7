package store

import (
	"context"
	"time"
)

// Console sign-in (E8): people (the policy's agents and supervisors) sign in to the web console
// with a password set by an operator (`escalated user set-password`), and a sign-in opens a
// session the browser holds as a cookie. Only hashes are stored: the password's (argon2id, a
// PHC string) and the session token's (SHA-256, as for API tokens), so a copy of the database
// lets nobody sign in.

// Credential is a person's password hash.
type Credential struct {
	UserID    string
	Hash      string
	UpdatedAt time.Time
}

// Session is a signed-in browser. IDHash is the SHA-256 of the cookie's token, hex; CSRF the
// token every form of the session carries back.
type Session struct {
	IDHash    string
	UserID    string
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Logins stores credentials and sessions.
type Logins interface {
	// SetCredential inserts or replaces the person's password hash.
	SetCredential(ctx context.Context, c *Credential) error
	// GetCredential returns the person's credential; not_found when none was set.
	GetCredential(ctx context.Context, userID string) (*Credential, error)
	// CreateSession stores a new session; conflict if the id hash exists.
	CreateSession(ctx context.Context, s *Session) error
	// GetSession returns the session; not_found when there is none (expired ones included:
	// the caller compares ExpiresAt).
	GetSession(ctx context.Context, idHash string) (*Session, error)
	// DeleteSession ends a session; ending one that does not exist is not an error.
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteUserSessions ends every session of the person (a new password signs them out
	// everywhere) and returns how many there were.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
	// DeleteExpiredSessions removes the sessions expired at now and returns how many.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
}
