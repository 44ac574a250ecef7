// Package access issues and checks API tokens and decides what each role may do. Services call
// Authorize with the principal the transport put in the context, so a rule holds whichever door
// a request came through.
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// Action is something a role may be allowed to do.
type Action string

// Actions checked by the services.
const (
	ReadTickets      Action = "tickets.read"
	WriteTickets     Action = "tickets.write"      // create, patch, add messages
	CreateEscalation Action = "escalations.create" // escalate manually
	HandleEscalation Action = "escalations.handle" // acknowledge, return, resolve
	ReadAudit        Action = "audit.read"
	ManagePolicy     Action = "policy.manage"
	ManageTokens     Action = "tokens.manage"
	ManageDeliveries Action = "deliveries.manage" // list the outbox, re-queue dead letters
	// ManageAgents sets agents' live status and capacity: an agent only their own (the ticket
	// service checks who), a supervisor or admin anyone's.
	ManageAgents Action = "agents.manage"
	// Handoff hands a conversation from a chatbot to people (POST /v1/handoffs).
	Handoff Action = "handoffs.create"
	// Evaluate asks what the policy would do with a ticket or a handoff, writing nothing.
	Evaluate Action = "policy.evaluate"
	// ReadReports reads escalation reports and insights (aggregates, no ticket content).
	ReadReports Action = "reports.read"
)

// grants is the role matrix (docs/security.md has it as a table, and a test calls every route
// with every role from that table). A bot hands conversations to people and asks what the
// policy would do, nothing else: what it learnt goes in the handoff; readonly is for dashboards.
var grants = map[escalated.Role][]Action{
	escalated.RoleAdmin:      {ReadTickets, WriteTickets, CreateEscalation, HandleEscalation, ReadAudit, ManagePolicy, ManageTokens, ManageDeliveries, ManageAgents, Handoff, Evaluate, ReadReports},
	escalated.RoleSupervisor: {ReadTickets, WriteTickets, CreateEscalation, HandleEscalation, ReadAudit, ManagePolicy, ManageDeliveries, ManageAgents, Handoff, Evaluate, ReadReports},
	escalated.RoleAgent:      {ReadTickets, WriteTickets, CreateEscalation, HandleEscalation, ManageAgents, Evaluate},
	escalated.RoleBot:        {Handoff, Evaluate},
	escalated.RoleReadonly:   {ReadTickets, ReadReports},
}

// Allowed reports whether role may perform a.
func Allowed(role escalated.Role, a Action) bool {
	for _, g := range grants[role] {
		if g == a {
			return true
		}
	}
	return false
}

// Authorize returns nil when the principal in ctx may perform a, unauthorized when there is no
// principal, and forbidden naming the role and action otherwise.
func Authorize(ctx context.Context, a Action) (escalated.Principal, error) {
	p, ok := escalated.PrincipalFrom(ctx)
	if !ok {
		return p, escalated.Errorf(escalated.EUNAUTHORIZED, "authentication required")
	}
	if !Allowed(p.Role, a) {
		return p, escalated.Errorf(escalated.EFORBIDDEN, "role %s may not %s", p.Role, a)
	}
	return p, nil
}

// TokenPrefix starts every token secret so that leaked tokens are easy to recognise and scan for.
const TokenPrefix = "esctok_"

// HashToken returns the stored form of a token secret.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Service creates tokens and authenticates requests.
type Service struct {
	store store.Store
	now   func() time.Time
	log   *slog.Logger

	// touched remembers when each token's last_used_at was last written, so that a busy client
	// does not turn every read into a write; the column is accurate to touchEvery.
	mu      sync.Mutex
	touched map[string]time.Time
	// known caches recent successful look-ups by hash: a database read per request cost about
	// as much CPU as the write it authorised. Entries live cacheFor, which bounds how long a
	// token revoked on another node keeps working here.
	known map[string]cached
}

type cached struct {
	p       escalated.Principal
	expires time.Time
}

const (
	touchEvery = time.Minute
	cacheFor   = 10 * time.Second
	cacheMax   = 10000
)

// NewService returns a token service over st with the given clock.
func NewService(st store.Store, now func() time.Time, log *slog.Logger) *Service {
	return &Service{store: st, now: now, log: log, touched: map[string]time.Time{}, known: map[string]cached{}}
}

// NewToken describes a token to create.
type NewToken struct {
	Name string
	Role escalated.Role
	// Agent is the policy agent a token of role agent acts for (required for that role, refused
	// for the others): the agent's teams decide which tickets the token sees.
	Agent string
	// TTL is how long the token works; 0 for a token that does not expire.
	TTL time.Duration
}

// MaxTokenTTL is the longest lifetime a token may be given (0 means none: it never expires).
const MaxTokenTTL = 5 * 366 * 24 * time.Hour

// CreateToken stores a new token and returns its secret, which is shown once and never stored.
// Whether nt.Agent is an agent of the policy is the caller's to check (it knows the policy).
func (s *Service) CreateToken(ctx context.Context, nt NewToken, actor string) (string, *escalated.Token, error) {
	nt.Name, nt.Agent = strings.TrimSpace(nt.Name), strings.TrimSpace(nt.Agent)
	if err := CheckToken(nt); err != nil {
		return "", nil, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	now := escalated.Truncate(s.now())
	tok := &escalated.Token{ID: escalated.NewID(escalated.PrefixToken, now), Name: nt.Name, Role: nt.Role, Agent: nt.Agent,
		Hash: HashToken(secret), CreatedAt: now}
	details := map[string]any{"name": nt.Name, "role": string(nt.Role)}
	if nt.Agent != "" {
		details["agent"] = nt.Agent
	}
	if nt.TTL > 0 {
		exp := escalated.Truncate(now.Add(nt.TTL))
		tok.ExpiresAt = &exp
		details["expires_at"] = escalated.FormatTime(exp)
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateToken(ctx, tok); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &escalated.AuditRecord{
			ID: escalated.NewID(escalated.PrefixAudit, now), Actor: actor, Action: escalated.AuditTokenCreated,
			ObjectKind: "token", ObjectID: tok.ID, Details: details,
			CreatedAt: now,
		})
	})
	if err != nil {
		return "", nil, err
	}
	return secret, tok, nil
}

// CheckToken validates a new token, so that callers can refuse bad input before they open
// anything.
func CheckToken(nt NewToken) error {
	fe := escalated.FieldErrors{}
	if name := strings.TrimSpace(nt.Name); name == "" || len(name) > 100 {
		fe.Add("name", "is required, at most 100 characters")
	}
	if !nt.Role.Valid() {
		fe.Add("role", "must be one of admin, supervisor, agent, bot, readonly")
	}
	switch agent := strings.TrimSpace(nt.Agent); {
	case nt.Role == escalated.RoleAgent && agent == "":
		fe.Add("agent", "is required for role agent: the id of the policy agent the token acts for (that agent's teams decide which tickets it sees)")
	case nt.Role != escalated.RoleAgent && agent != "" && nt.Role.Valid():
		fe.Add("agent", fmt.Sprintf("only a token of role agent acts for an agent (this one is %s)", nt.Role))
	case len(agent) > 100 || strings.ContainsFunc(agent, unicode.IsControl):
		fe.Add("agent", "must be an agent id of the policy: at most 100 characters, no control characters")
	}
	if nt.TTL < 0 || nt.TTL > MaxTokenTTL {
		fe.Add("expires", fmt.Sprintf("must be a duration from 1m to %s, or 0 for a token that does not expire (got %s)", "5y", nt.TTL))
	}
	return fe.Err()
}

// Authenticate returns the principal for a token secret, or unauthorized.
func (s *Service) Authenticate(ctx context.Context, secret string) (escalated.Principal, error) {
	unauth := escalated.Errorf(escalated.EUNAUTHORIZED, "invalid or revoked token")
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return escalated.Principal{}, unauth
	}
	hash := HashToken(secret)
	now := s.now()
	s.mu.Lock()
	c, ok := s.known[hash]
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		s.touch(ctx, c.p.TokenID)
		return c.p, nil
	}
	var tok *escalated.Token
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		tok, err = tx.TokenByHash(ctx, hash)
		return err
	})
	if escalated.ErrorCode(err) == escalated.ENOTFOUND {
		return escalated.Principal{}, unauth
	} else if err != nil {
		return escalated.Principal{}, err
	}
	if tok.RevokedAt != nil {
		return escalated.Principal{}, unauth
	}
	if tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt) {
		return escalated.Principal{}, escalated.Errorf(escalated.EUNAUTHORIZED, "token expired at %s: create a new one", escalated.FormatTime(*tok.ExpiresAt))
	}
	p := escalated.Principal{TokenID: tok.ID, Name: tok.Name, Role: tok.Role, Agent: tok.Agent}
	// Remembered for a few seconds, never past the token's expiry.
	until := now.Add(cacheFor)
	if tok.ExpiresAt != nil && tok.ExpiresAt.Before(until) {
		until = *tok.ExpiresAt
	}
	s.mu.Lock()
	if len(s.known) >= cacheMax {
		clear(s.known)
	}
	s.known[hash] = cached{p: p, expires: until}
	s.mu.Unlock()
	s.touch(ctx, tok.ID)
	return p, nil
}

// ListTokens returns every token, newest first: names, roles, when each was created, last
// used, revoked or expires; never a secret (only hashes are stored, and they are not shown).
func (s *Service) ListTokens(ctx context.Context) ([]*escalated.Token, error) {
	if _, err := Authorize(ctx, ManageTokens); err != nil {
		return nil, err
	}
	var toks []*escalated.Token
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		toks, err = tx.ListTokens(ctx)
		return err
	})
	return toks, err
}

// RevokeToken stops a token from working, audited with actor. This node forgets it at once;
// another node may accept it for up to its cache time (cacheFor).
func (s *Service) RevokeToken(ctx context.Context, id, actor string) (*escalated.Token, error) {
	now := escalated.Truncate(s.now())
	var tok *escalated.Token
	err := s.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if tok, err = tx.RevokeToken(ctx, id, now); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &escalated.AuditRecord{
			ID: escalated.NewID(escalated.PrefixAudit, now), Actor: actor, Action: escalated.AuditTokenRevoked,
			ObjectKind: "token", ObjectID: tok.ID, Details: map[string]any{"name": tok.Name, "role": string(tok.Role)},
			CreatedAt: now,
		})
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	for h, c := range s.known {
		if c.p.TokenID == id {
			delete(s.known, h)
		}
	}
	s.mu.Unlock()
	return tok, nil
}

func (s *Service) touch(ctx context.Context, id string) {
	now := s.now()
	s.mu.Lock()
	last, ok := s.touched[id]
	due := !ok || now.Sub(last) >= touchEvery
	if due {
		s.touched[id] = now
	}
	s.mu.Unlock()
	if !due {
		return
	}
	// Recording use is bookkeeping: a failure must not refuse an otherwise valid request.
	if err := s.store.Update(ctx, func(tx store.Tx) error { return tx.TouchToken(ctx, id, escalated.Truncate(now)) }); err != nil {
		s.log.Warn("record token use", "token_id", id, "err", err)
	}
}
