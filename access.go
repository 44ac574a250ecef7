package escalated

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Role is what an API token may do.
type Role string

// Roles, from most to least powerful. bot is for chatbots handing off; readonly for dashboards.
const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAgent      Role = "agent"
	RoleBot        Role = "bot"
	RoleReadonly   Role = "readonly"
)

// Roles lists every valid role.
var Roles = []Role{RoleAdmin, RoleSupervisor, RoleAgent, RoleBot, RoleReadonly}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Token is an API token. Only the SHA-256 hash of its secret is stored; the secret is shown once.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	Hash       string     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	// ExpiresAt is when the token stops working; nil for a token that does not expire.
	ExpiresAt *time.Time `json:"expires_at"`
	// Agent is the policy agent a token of role agent acts for: that agent's teams (and what
	// the policy's sees grants) decide which tickets the token sees. "" for other roles.
	Agent string `json:"agent,omitempty"`
}

// Principal is who is making a request, as the services see it.
type Principal struct {
	TokenID string
	Name    string
	Role    Role
	// User is the person signed in to the console (an agent's or supervisor's id), "" for an
	// API token.
	User string
	// Agent is the agent an API token of role agent acts for (Token.Agent).
	Agent string
}

// Person is the policy person whose teams limit what the principal sees: the one signed in to
// the console, or the agent an API token acts for; "" for neither.
func (p Principal) Person() string {
	if p.User != "" {
		return p.User
	}
	return p.Agent
}

// Actor is how the principal appears in history and audit records: "user:ana" for a person
// signed in to the console, "token:name" for an API token.
func (p Principal) Actor() string {
	if p.User != "" {
		return "user:" + p.User
	}
	return "token:" + p.Name
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Audit actions. Every escalation transition and every policy load leaves one record.
const (
	AuditEscalationCreated      = "escalation.created"
	AuditEscalationAcknowledged = "escalation.acknowledged"
	AuditEscalationReturned     = "escalation.returned"
	AuditEscalationResolved     = "escalation.resolved"
	AuditEscalationEscalated    = "escalation.escalated"
	AuditPolicyLoaded           = "policy.loaded"
	AuditTokenCreated           = "token.created"
	AuditTokenRevoked           = "token.revoked"
)

// AuditRecord is an append-only who/what/why entry. Nothing updates or deletes one.
type AuditRecord struct {
	ID         string         `json:"id"`
	Actor      string         `json:"actor"`
	Action     string         `json:"action"`
	ObjectKind string         `json:"object_kind"`
	ObjectID   string         `json:"object_id"`
	Details    map[string]any `json:"details"`
	CreatedAt  time.Time      `json:"-"`
}

// MarshalJSON renders times in the API's format.
func (a AuditRecord) MarshalJSON() ([]byte, error) {
	type plain AuditRecord
	return json.Marshal(struct {
		plain
		CreatedAt string `json:"at"`
	}{plain(a), FormatTime(a.CreatedAt)})
}

// PolicyVersion is one stored version of the policy document.
type PolicyVersion struct {
	Version   int64     `json:"version"`
	Hash      string    `json:"hash"`
	Source    string    `json:"-"`
	Actor     string    `json:"actor"`
	CreatedAt time.Time `json:"created_at"`
}
