package httpapi

import (
	"net/http"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/ticket"
)

// agents lists the policy's agents with their live status, capacity and open tickets.
func (s *Server) agents(w http.ResponseWriter, r *http.Request) {
	items, err := s.cfg.Tickets.ListAgents(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[ticket.Agent]{Items: nonNil(items)})
}

type patchAgentIn struct {
	Status   *string `json:"status"`
	Capacity *int    `json:"capacity"`
}

// patchAgent sets an agent's live status and capacity and answers the agent as they now are.
func (s *Server) patchAgent(w http.ResponseWriter, r *http.Request) {
	var in patchAgentIn
	if err := decode(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	a, err := s.cfg.Tickets.PatchAgent(r.Context(), r.PathValue("id"), ticket.AgentPatch(in))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// teamQueue lists a team's open tickets, oldest first.
func (s *Server) teamQueue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.QueueFilter{Team: r.PathValue("id"), Cursor: q.Get("cursor")}
	fe := escalated.FieldErrors{}
	f.Limit = parseLimit(fe, q.Get("limit"))
	if err := fe.Err(); err != nil {
		s.error(w, r, err)
		return
	}
	items, next, err := s.cfg.Tickets.Queue(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[ticket.QueueItem]{Items: nonNil(items), NextCursor: next})
}
