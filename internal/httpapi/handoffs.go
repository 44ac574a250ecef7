package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/handoff"
	"github.com/escalated/escalated/internal/ticket"
)

type transcriptIn struct {
	Author escalated.AuthorKind `json:"author"`
	Body   string               `json:"body"`
	At     string               `json:"at"`
}

type botStepIn struct {
	Intent     string  `json:"intent"`
	Action     string  `json:"action"`
	Outcome    string  `json:"outcome"`
	Confidence float64 `json:"confidence"`
}

// handoffIn is the body of POST /v1/handoffs and, with message, of POST /v1/evaluate: a new
// ticket's fields at the top level (as POST /v1/tickets has them) or ticket_id, and the
// handoff's own fields.
type handoffIn struct {
	createTicketIn

	HandoffID      string         `json:"handoff_id"`
	TicketID       string         `json:"ticket_id"`
	Transcript     []transcriptIn `json:"transcript"`
	BotSteps       []botStepIn    `json:"bot_steps"`
	Recommendation string         `json:"recommendation"`
	RequestedTeam  string         `json:"requested_team"`
	Note           string         `json:"note"`
}

// isHandoff tells a handoff body from a ticket body (evaluate takes either): any field only a
// handoff has.
func (in *handoffIn) isHandoff() bool {
	return in.HandoffID != "" || in.TicketID != "" || in.Transcript != nil || in.BotSteps != nil ||
		in.Recommendation != "" || in.RequestedTeam != "" || in.Note != ""
}

// handoffInput converts the body; a transcript time that is not RFC 3339 is a field error.
func (in *handoffIn) handoffInput() (ticket.HandoffInput, error) {
	h := ticket.HandoffInput{
		HandoffID: in.HandoffID, TicketID: in.TicketID, Ticket: in.createInput(),
		Recommendation: in.Recommendation, RequestedTeam: in.RequestedTeam, Note: in.Note,
	}
	fe := escalated.FieldErrors{}
	for i, l := range in.Transcript {
		line := ticket.TranscriptLine{Author: l.Author, Body: l.Body}
		if l.At != "" {
			at, err := time.Parse(time.RFC3339Nano, l.At)
			switch {
			case err != nil:
				fe.Add(fmt.Sprintf("transcript[%d].at", i), fmt.Sprintf("must be an RFC 3339 time such as 2026-11-28T10:15:02Z (got %.40q)", l.At))
			case at.Year() < 2000:
				// Also keeps the zero time, which means "no time given", from being sent.
				fe.Add(fmt.Sprintf("transcript[%d].at", i), fmt.Sprintf("%s is not a time this conversation happened at", l.At))
			}
			line.At = at
		}
		h.Transcript = append(h.Transcript, line)
	}
	for _, st := range in.BotSteps {
		h.BotSteps = append(h.BotSteps, escalated.BotStep(st))
	}
	return h, fe.Err()
}

func (s *Server) createHandoff(w http.ResponseWriter, r *http.Request) {
	var in handoffIn
	if err := decode(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	h, err := in.handoffInput()
	if err != nil {
		s.error(w, r, err)
		return
	}
	res, err := s.cfg.Tickets.Handoff(r.Context(), h)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if res.HandoffID != "" {
		w.Header().Set("Location", "/v1/handoffs/"+res.HandoffID)
	}
	writeJSON(w, http.StatusCreated, res)
}

func (s *Server) getHandoff(w http.ResponseWriter, r *http.Request) {
	res, err := s.cfg.Tickets.GetHandoff(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) evaluate(w http.ResponseWriter, r *http.Request) {
	var in handoffIn
	if err := decode(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	var ev *ticket.Evaluation
	var err error
	if in.isHandoff() {
		var h ticket.HandoffInput
		if h, err = in.handoffInput(); err == nil {
			ev, err = s.cfg.Tickets.EvaluateHandoff(r.Context(), h)
		}
	} else {
		ev, err = s.cfg.Tickets.EvaluateTicket(r.Context(), in.createInput())
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ev)
}

// escalationText answers GET /v1/escalations/{id}?format=text: the package as a person reads it.
func (s *Server) escalationText(w http.ResponseWriter, r *http.Request, e *escalated.Escalation) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(handoff.Text(e)))
}
