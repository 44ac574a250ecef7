package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/access"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/ticket"
)

type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

type authorIn struct {
	Kind escalated.AuthorKind `json:"kind"`
	ID   string               `json:"id"`
	Name string               `json:"name"`
}

type messageIn struct {
	Author   authorIn `json:"author"`
	Body     string   `json:"body"`
	Internal bool     `json:"internal"`
}

func (m *messageIn) input() *ticket.MessageInput {
	if m == nil {
		return nil
	}
	return &ticket.MessageInput{Author: escalated.Author(m.Author), Body: m.Body, Internal: m.Internal}
}

type customerIn struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type accountIn struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Tier       string         `json:"tier"`
	Attributes map[string]any `json:"attributes"`
}

type createTicketIn struct {
	Subject      string             `json:"subject"`
	Priority     escalated.Priority `json:"priority"`
	Channel      escalated.Channel  `json:"channel"`
	IssueType    string             `json:"issue_type"`
	Language     string             `json:"language"`
	Tags         []string           `json:"tags"`
	Team         string             `json:"team"`
	Assignee     string             `json:"assignee"`
	Customer     *customerIn        `json:"customer"`
	Account      *accountIn         `json:"account"`
	CustomFields map[string]any     `json:"custom_fields"`
	Message      *messageIn         `json:"message"`
}

// createInput converts the body for the service.
func (in *createTicketIn) createInput() ticket.CreateInput {
	ci := ticket.CreateInput{
		Subject: in.Subject, Priority: in.Priority, Channel: in.Channel, IssueType: in.IssueType,
		Language: in.Language, Tags: in.Tags, Team: in.Team, Assignee: in.Assignee,
		CustomFields: in.CustomFields, Message: in.Message.input(),
	}
	if in.Customer != nil {
		ci.Customer = &escalated.Customer{ID: in.Customer.ID, Name: in.Customer.Name, Email: in.Customer.Email}
	}
	if in.Account != nil {
		ci.Account = &escalated.Account{ID: in.Account.ID, Name: in.Account.Name, Tier: in.Account.Tier, Attributes: in.Account.Attributes}
	}
	return ci
}

func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) {
	var in createTicketIn
	if err := decode(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	d, err := s.cfg.Tickets.CreateTicket(r.Context(), in.createInput())
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/tickets/"+d.Ticket.ID)
	writeJSON(w, http.StatusCreated, d)
}

func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Tickets.GetTicket(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.TicketFilter{
		Team: q.Get("team"), Tier: q.Get("tier"), Status: escalated.Status(q.Get("status")),
		Priority: escalated.Priority(q.Get("priority")), Assignee: q.Get("assignee"),
		AccountID: q.Get("account"), Cursor: q.Get("cursor"),
	}
	fe := escalated.FieldErrors{}
	if f.Status != "" && !f.Status.Valid() {
		fe.Add("status", "must be one of new, open, pending, on_hold, solved, closed")
	}
	if f.Priority != "" && !f.Priority.Valid() {
		fe.Add("priority", "must be one of low, normal, high, urgent")
	}
	if v := q.Get("escalated"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			fe.Add("escalated", "must be true or false")
		}
		f.Escalated = &b
	}
	f.Limit = parseLimit(fe, q.Get("limit"))
	if err := fe.Err(); err != nil {
		s.error(w, r, err)
		return
	}
	items, next, err := s.cfg.Tickets.ListTickets(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[*escalated.Ticket]{Items: nonNil(items), NextCursor: next})
}

func parseLimit(fe escalated.FieldErrors, v string) int {
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > store.MaxLimit {
		fe.Add("limit", "must be a whole number from 1 to "+strconv.Itoa(store.MaxLimit))
	}
	return n
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// optString tells an absent field from an explicit null: Set is true whenever the key was sent.
type optString struct {
	Set   bool
	Value *string
}

func (o *optString) UnmarshalJSON(b []byte) error {
	o.Set = true
	return json.Unmarshal(b, &o.Value)
}

type patchTicketIn struct {
	Subject      *string             `json:"subject"`
	Status       *escalated.Status   `json:"status"`
	Priority     *escalated.Priority `json:"priority"`
	IssueType    *string             `json:"issue_type"`
	Language     *string             `json:"language"`
	Tags         *[]string           `json:"tags"`
	Assignee     optString           `json:"assignee"`
	CustomFields map[string]any      `json:"custom_fields"`
	By           string              `json:"by"`
}

func (s *Server) patchTicket(w http.ResponseWriter, r *http.Request) {
	var in patchTicketIn
	if err := decode(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	p := ticket.Patch{
		Subject: in.Subject, Status: in.Status, Priority: in.Priority, IssueType: in.IssueType,
		Language: in.Language, Tags: in.Tags, CustomFields: in.CustomFields, By: in.By,
	}
	if in.Assignee.Set {
		a := ""
		if in.Assignee.Value != nil {
			a = *in.Assignee.Value
		}
		p.Assignee = &a
	}
	d, err := s.cfg.Tickets.PatchTicket(r.Context(), r.PathValue("id"), p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) addMessage(w http.ResponseWriter, r *http.Request) {
	var in messageIn
	if err := decode(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	m, err := s.cfg.Tickets.AddMessage(r.Context(), r.PathValue("id"), *in.input())
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeMessage(w, http.StatusCreated, m)
}

type escalateIn struct {
	To     string           `json:"to"`
	Reason escalated.Reason `json:"reason"`
	Note   string           `json:"note"`
	By     string           `json:"by"`
}

func (s *Server) escalate(w http.ResponseWriter, r *http.Request) {
	var in escalateIn
	if err := decode(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	e, err := s.cfg.Tickets.Escalate(r.Context(), r.PathValue("id"), ticket.EscalateInput(in))
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/escalations/"+e.ID)
	writeJSON(w, http.StatusCreated, e)
}

func (s *Server) getEscalation(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "text" {
		s.error(w, r, escalated.Invalid("format", "must be json (the default) or text"))
		return
	}
	e, err := s.cfg.Tickets.GetEscalation(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if format == "text" {
		s.escalationText(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) listEscalations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.EscalationFilter{TicketID: q.Get("ticket"), Team: q.Get("team"), State: escalated.EscalationState(q.Get("state")), Cursor: q.Get("cursor")}
	fe := escalated.FieldErrors{}
	if f.State != "" && !f.State.Valid() {
		fe.Add("state", "must be one of pending, acknowledged, resolved, returned, escalated")
	}
	f.Limit = parseLimit(fe, q.Get("limit"))
	if err := fe.Err(); err != nil {
		s.error(w, r, err)
		return
	}
	items, next, err := s.cfg.Tickets.ListEscalations(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[*escalated.Escalation]{Items: nonNil(items), NextCursor: next})
}

type byIn struct {
	By string `json:"by"`
}

type ackIn struct {
	By                string `json:"by"`
	ContextSufficient *bool  `json:"context_sufficient"`
}

func (s *Server) acknowledge(w http.ResponseWriter, r *http.Request) {
	var in ackIn
	if err := decodeOptional(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	e, err := s.cfg.Tickets.AcknowledgeWith(r.Context(), r.PathValue("id"), ticket.AckInput{By: in.By, ContextSufficient: in.ContextSufficient})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

type returnIn struct {
	By        string `json:"by"`
	Reason    string `json:"reason"`
	Necessary *bool  `json:"necessary"`
}

func (s *Server) returnEscalation(w http.ResponseWriter, r *http.Request) {
	var in returnIn
	if err := decode(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	e, err := s.cfg.Tickets.Return(r.Context(), r.PathValue("id"), ticket.ReturnInput(in))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

type resolveIn struct {
	By         string `json:"by"`
	Resolution string `json:"resolution"`
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request) {
	var in resolveIn
	if err := decode(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	e, err := s.cfg.Tickets.Resolve(r.Context(), r.PathValue("id"), in.By, in.Resolution)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// decodeOptional accepts an empty body as an empty object, for actions whose fields are all
// optional.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 && r.Header.Get("Transfer-Encoding") == "" {
		return nil
	}
	return decode(w, r, v)
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.AuditFilter{ObjectKind: q.Get("object_kind"), ObjectID: q.Get("object_id"), Action: q.Get("action"), Cursor: q.Get("cursor")}
	fe := escalated.FieldErrors{}
	f.Limit = parseLimit(fe, q.Get("limit"))
	if err := fe.Err(); err != nil {
		s.error(w, r, err)
		return
	}
	items, next, err := s.cfg.Tickets.ListAudit(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[*escalated.AuditRecord]{Items: nonNil(items), NextCursor: next})
}

type policyOut struct {
	Version int64  `json:"version"`
	Hash    string `json:"hash"`
	Summary string `json:"summary"`
	// Source is shown only to roles that manage the policy: channel URLs in it are secrets.
	Source *string `json:"source"`
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := access.Authorize(r.Context(), access.ReadTickets)
	if err != nil {
		s.error(w, r, err)
		return
	}
	manager := access.Allowed(p.Role, access.ManagePolicy)
	live := s.cfg.Tickets.Policy()
	if live == nil {
		s.error(w, r, escalated.Errorf(escalated.ENOTFOUND, "no policy loaded"))
		return
	}
	if r.Header.Get("Accept") == "application/yaml" {
		if !manager {
			s.error(w, r, escalated.Errorf(escalated.EFORBIDDEN, "role %s may not read the policy source (it holds channel secrets); admin and supervisor may", p.Role))
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(live.Policy.Source)
		return
	}
	out := policyOut{Version: live.Version, Hash: live.Policy.Hash, Summary: live.Policy.Summary()}
	if manager {
		src := string(live.Policy.Source)
		out.Source = &src
	}
	writeJSON(w, http.StatusOK, out)
}

type teamOut struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Tier     string   `json:"tier"`
	Level    int      `json:"level"`
	Kind     string   `json:"kind"`
	Calendar string   `json:"calendar"`
	Skills   []string `json:"skills"`
	Accounts []string `json:"accounts"`
	Members  []string `json:"members"`
	// EscalatesTo lists the teams a ticket may move to from this team by the paths.
	EscalatesTo []string `json:"escalates_to"`
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) {
	if _, err := access.Authorize(r.Context(), access.ReadTickets); err != nil {
		s.error(w, r, err)
		return
	}
	live := s.cfg.Tickets.Policy()
	pol := live.Policy
	out := make([]teamOut, 0, len(pol.Teams))
	for _, t := range pol.Teams {
		tier, _ := pol.TierOfTeam(t.ID)
		to := teamOut{ID: t.ID, Name: t.Name, Tier: t.Tier, Level: tier.Level, Kind: t.Kind, Calendar: t.Calendar,
			Skills: nonNil(t.Skills), Accounts: nonNil(t.Accounts), Members: []string{}, EscalatesTo: []string{}}
		for _, a := range pol.Agents {
			for _, at := range a.Teams {
				if at == t.ID {
					to.Members = append(to.Members, a.ID)
				}
			}
		}
		for _, other := range pol.Teams {
			if other.Kind != "account_team" && pol.Allowed(t.ID, other.ID, "") {
				to.EscalatesTo = append(to.EscalatesTo, other.ID)
			}
		}
		out = append(out, to)
	}
	writeJSON(w, http.StatusOK, list[teamOut]{Items: out})
}
