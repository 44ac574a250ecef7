package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/policy"
)

// The token lifecycle over the API (admin: tokens.manage). The secret of a new token is in the
// creating answer only; no other answer ever holds one.

type createTokenIn struct {
	Name    string `json:"name"`
	Role    string `json:"role"`
	Expires string `json:"expires"` // a lifetime like "90d"; "" for a token that does not expire
	// Agent is the policy agent a token of role agent acts for (required for that role).
	Agent string `json:"agent"`
}

type createTokenOut struct {
	Token  *escalated.Token `json:"token"`
	Secret string           `json:"secret"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	p, err := access.Authorize(r.Context(), access.ManageTokens)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var in createTokenIn
	if err := decode(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	var ttl time.Duration
	if in.Expires != "" {
		if ttl, err = policy.ParseDuration(in.Expires); err != nil || ttl <= 0 {
			s.error(w, r, escalated.Invalid("expires", "must be a lifetime like 90d, 12h or 30m, or absent for a token that does not expire"))
			return
		}
	}
	nt := access.NewToken{Name: in.Name, Role: escalated.Role(in.Role), Agent: in.Agent, TTL: ttl}
	if err := access.CheckToken(nt); err != nil {
		s.error(w, r, err)
		return
	}
	if nt.Agent != "" {
		if live := s.cfg.Tickets.Policy(); live == nil {
			s.error(w, r, escalated.Errorf(escalated.EUNAVAILABLE, "no policy is loaded yet to find agent %s in", nt.Agent))
			return
		} else if _, ok := live.Policy.Agent(nt.Agent); !ok {
			s.error(w, r, escalated.Invalid("agent", fmt.Sprintf("no agent %q in the live policy (agents are defined in its agents section)", nt.Agent)))
			return
		}
	}
	secret, tok, err := s.cfg.Access.CreateToken(r.Context(), nt, p.Actor())
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, createTokenOut{Token: tok, Secret: secret})
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	toks, err := s.cfg.Access.ListTokens(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[*escalated.Token]{Items: nonNil(toks)})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	p, err := access.Authorize(r.Context(), access.ManageTokens)
	if err != nil {
		s.error(w, r, err)
		return
	}
	tok, err := s.cfg.Access.RevokeToken(r.Context(), r.PathValue("id"), p.Actor())
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tok)
}
