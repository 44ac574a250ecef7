package web

import (
	"net/http"

	"github.com/escalated/escalated"
)

// dashboard is the supervisor's page (charts of escalation by issue type, agent, transition and
// over time, SLA lateness, returned and unnecessary shares, insights).
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	p := personFrom(r.Context())
	if !p.Supervisor() {
		s.fail(w, r, escalated.Errorf(escalated.EFORBIDDEN, "the dashboard is for supervisors"))
		return
	}
	s.render(w, r, http.StatusOK, "dashboard", page{Title: "Dashboard", Person: p})
}
