package httpapi

import (
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
	secret, tok, err := s.cfg.Access.CreateExpiringToken(r.Context(), in.Name, escalated.Role(in.Role), ttl, p.Actor())
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
