package web

import (
	"net/http"

	"github.com/escalated/escalated"
)

// policyPage shows the live policy and its history, and checks, diffs and explains drafts.
func (s *Server) policyPage(w http.ResponseWriter, r *http.Request) {
	p := personFrom(r.Context())
	if !p.Supervisor() {
		s.fail(w, r, escalated.Errorf(escalated.EFORBIDDEN, "the policy page is for supervisors"))
		return
	}
	s.render(w, r, http.StatusOK, "policy", page{Title: "Policy", Person: p})
}

func (s *Server) policyPost(w http.ResponseWriter, r *http.Request) {
	s.policyPage(w, r)
}
