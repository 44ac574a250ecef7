package web

import (
	"crypto/subtle"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/ticket"
)

// The sign-in, the queue, the ticket page and its actions, and the live event stream.

// loginPage shows the sign-in form. Its CSRF token is also set as a cookie: the form must send
// back what the cookie holds (a site that cannot read the cookie cannot forge the form).
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.showLogin(w, r, http.StatusOK, "", r.URL.Query().Get("next"), "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, user, next, problem string) {
	token := newToken()
	s.setCookie(w, r, loginCookie, token, time.Hour)
	s.render(w, r, status, "login", page{Title: "Sign in", Error: problem,
		Data: map[string]string{"CSRF": token, "User": user, "Next": safeNext(next)}})
}

// safeNext keeps a post-sign-in redirect on this site: a path, never another origin.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

// login checks the password and opens a session. A wrong id and a wrong password get the same
// answer, after the same work, so the form does not tell which ids exist.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	user, password, next := strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("password"), r.PostFormValue("next")
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || tokensDiffer(c.Value, r.PostFormValue("csrf")) {
		s.showLogin(w, r, http.StatusForbidden, user, next, "The sign-in form expired. Please sign in again.")
		return
	}
	var hash string
	err = s.cfg.Store.View(r.Context(), func(tx store.Tx) error {
		c, err := tx.GetCredential(r.Context(), user)
		if err == nil {
			hash = c.Hash
		}
		return err
	})
	if err != nil && escalated.ErrorCode(err) != escalated.ENOTFOUND {
		s.fail(w, r, err)
		return
	}
	ok := false
	if hash == "" {
		// The same work as a real check, against a hash nobody's password matches.
		_, _ = VerifyPassword(dummyHash, password)
	} else if ok, err = VerifyPassword(hash, password); err != nil {
		s.cfg.Log.Error("stored password hash unreadable", "user", user, "err", err)
	}
	live := s.cfg.Tickets.Policy()
	if ok && live != nil {
		_, ok = personOf(live.Policy, user)
	}
	if !ok {
		s.cfg.Log.Info("console sign-in refused", "user", user)
		s.showLogin(w, r, http.StatusUnauthorized, user, next, "That id and password do not match a person in the policy.")
		return
	}
	token, now := newToken(), s.cfg.Now()
	sess := &store.Session{IDHash: tokenHash(token), UserID: user, CSRF: newToken(), CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	err = s.cfg.Store.Update(r.Context(), func(tx store.Tx) error {
		// Sweep what has expired while here: sessions are few, this keeps the table so.
		if _, err := tx.DeleteExpiredSessions(r.Context(), now); err != nil {
			return err
		}
		return tx.CreateSession(r.Context(), sess)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.cfg.Log.Info("console sign-in", "user", user)
	s.clearCookie(w, r, loginCookie)
	s.setCookie(w, r, sessionCookie, token, s.cfg.SessionTTL)
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

// tokensDiffer reports whether two tokens differ, in time independent of where.
func tokensDiffer(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) != 1
}

// dummyHash is checked when the id has no password, so that a wrong id costs what a wrong
// password does.
var dummyHash = func() string {
	h, err := HashPassword(newToken())
	if err != nil {
		panic(err)
	}
	return h
}()

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		err := s.cfg.Store.Update(r.Context(), func(tx store.Tx) error { return tx.DeleteSession(r.Context(), tokenHash(c.Value)) })
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// home sends a supervisor to the dashboard and an agent to their first team's queue.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	p := personFrom(r.Context())
	switch {
	case p.Supervisor():
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	case len(p.Teams) > 0:
		http.Redirect(w, r, "/queue/"+url.PathEscape(p.Teams[0]), http.StatusSeeOther)
	default:
		s.render(w, r, http.StatusOK, "error", page{Title: "No team", Person: p, Error: "You are in no team of the policy."})
	}
}

// queueData is the queue page's.
type queueData struct {
	Team     string
	TeamName string
	Items    []queueRow
	// Filters in force.
	Filter queueFilter
	Total  int
	Now    string
}

type queueFilter struct {
	Priority, Escalation, Assignee string
}

type queueRow struct {
	ticket.QueueItem
	Assigned string
	// DueAt and DueIn are the first clock's due time (for the countdown) and the time left
	// when the page was made; Late says it is past.
	DueAt, DueIn, DueTarget string
	Late                    bool
	Frustrated              bool
}

// queueItems loads the team's open tickets (all pages: a team's open queue is hundreds, not
// millions) and applies the page's filters.
func (s *Server) queueItems(r *http.Request, team string) (*queueData, error) {
	p := personFrom(r.Context())
	if !mayOpenTeam(p, team) {
		return nil, escalated.Errorf(escalated.EFORBIDDEN, "%s is not one of your teams (yours: %s)", team, strings.Join(p.Teams, ", "))
	}
	live := s.cfg.Tickets.Policy()
	t, ok := live.Policy.Team(team)
	if !ok {
		return nil, escalated.Errorf(escalated.ENOTFOUND, "team %s not found", team)
	}
	q := r.URL.Query()
	d := &queueData{Team: team, TeamName: cmpOr(t.Name, t.ID),
		Filter: queueFilter{Priority: q.Get("priority"), Escalation: q.Get("escalation"), Assignee: q.Get("assignee")}}
	now := s.cfg.Now()
	d.Now = escalated.FormatTime(now)
	cursor := ""
	for {
		items, next, err := s.cfg.Tickets.Queue(r.Context(), store.QueueFilter{Team: team, Cursor: cursor, Limit: store.MaxLimit})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			d.Total++
			if !d.Filter.keeps(it, p.ID) {
				continue
			}
			row := queueRow{QueueItem: it, Frustrated: it.Frustration >= 0.6}
			if it.Assignee != nil {
				row.Assigned = *it.Assignee
			}
			if it.SLA != nil && it.SLA.DueAt != nil {
				row.DueAt, row.DueTarget = *it.SLA.DueAt, it.SLA.Target
				if due, err := time.Parse(escalated.TimeFormat, *it.SLA.DueAt); err == nil {
					row.DueIn, row.Late = humanDuration(due.Sub(now)), !due.After(now)
				}
			}
			d.Items = append(d.Items, row)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	// Most urgent first: priority, then the clock due soonest, then age.
	slices.SortStableFunc(d.Items, func(a, b queueRow) int {
		if pa, pb := priorityRank(a.Priority), priorityRank(b.Priority); pa != pb {
			return pb - pa
		}
		switch {
		case a.DueAt != "" && b.DueAt == "":
			return -1
		case a.DueAt == "" && b.DueAt != "":
			return 1
		}
		return strings.Compare(a.DueAt, b.DueAt)
	})
	return d, nil
}

func (f queueFilter) keeps(it ticket.QueueItem, me string) bool {
	if f.Priority != "" && string(it.Priority) != f.Priority {
		return false
	}
	switch f.Escalation {
	case "pending", "acknowledged":
		if string(it.EscalationState) != f.Escalation {
			return false
		}
	case "returned":
		if !it.Returned {
			return false
		}
	case "none":
		if it.EscalationState != "" || it.Returned {
			return false
		}
	}
	switch f.Assignee {
	case "me":
		return it.Assignee != nil && *it.Assignee == me
	case "unassigned":
		return it.Assignee == nil
	}
	return true
}

func priorityRank(p escalated.Priority) int {
	return map[escalated.Priority]int{escalated.PriorityLow: 0, escalated.PriorityNormal: 1, escalated.PriorityHigh: 2, escalated.PriorityUrgent: 3}[p]
}

// humanDuration writes d as "1h 05m", "12m", "45s", with a minus sign when past.
func humanDuration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	d = d.Round(time.Second)
	h, m, sec := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case h >= 24:
		return fmt.Sprintf("%s%dd %02dh", sign, h/24, h%24)
	case h > 0:
		return fmt.Sprintf("%s%dh %02dm", sign, h, m)
	case m > 0:
		return fmt.Sprintf("%s%dm %02ds", sign, m, sec)
	}
	return fmt.Sprintf("%s%ds", sign, sec)
}

func (s *Server) queue(w http.ResponseWriter, r *http.Request) {
	d, err := s.queueItems(r, r.PathValue("team"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "queue", page{Title: d.TeamName + " queue", Person: personFrom(r.Context()), Data: d})
}

// queueRows is the queue's table body alone: the page's script fetches it when the event
// stream says the team's tickets changed.
func (s *Server) queueRows(w http.ResponseWriter, r *http.Request) {
	d, err := s.queueItems(r, r.PathValue("team"))
	if err != nil {
		http.Error(w, escalated.ErrorMessage(err), statusOf(err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The table's caption is outside the rows: the script sets it from this.
	w.Header().Set("X-Queue-Caption", fmt.Sprintf("%d of %d open tickets", len(d.Items), d.Total))
	if err := s.pages["queue"].ExecuteTemplate(w, "rows", d); err != nil {
		s.cfg.Log.Error("queue rows failed to render", "err", err)
	}
}

// ticketData is the ticket page's.
type ticketData struct {
	Ticket  *escalated.Ticket
	History []*escalated.Event
	SLA     []escalated.ClockStatus
	// Active is the escalation holding the ticket, nil when none; Handoff the package shown
	// (the active escalation's, else the latest one's).
	Active      *escalated.Escalation
	Handoff     *escalated.Package
	Escalations []*escalated.Escalation
	// Targets are the teams a path allows from the ticket's team.
	Targets       []navTeam
	Reasons       []escalated.Reason
	NoteMinLength int
	// CanHandle says the person's team holds the active escalation (acknowledge, return,
	// resolve).
	CanHandle bool
	Form      map[string]string
}

func (s *Server) ticketData(r *http.Request, id string) (*ticketData, error) {
	det, err := s.cfg.Tickets.GetTicket(r.Context(), id)
	if err != nil {
		return nil, err
	}
	live := s.cfg.Tickets.Policy()
	d := &ticketData{Ticket: det.Ticket, History: det.History, SLA: det.SLA, Escalations: det.Escalations,
		Reasons: escalated.Reasons, NoteMinLength: live.Policy.Escalation.NoteMinLength, Form: map[string]string{}}
	for _, e := range det.Escalations {
		if e.ID == det.Ticket.ActiveEscalation {
			d.Active = e
		}
	}
	switch {
	case d.Active != nil:
		d.Handoff = d.Active.Package
	case len(det.Escalations) > 0:
		d.Handoff = det.Escalations[len(det.Escalations)-1].Package
	}
	for _, to := range live.Policy.PathTargets(det.Ticket.Team) {
		name := to
		if t, ok := live.Policy.Team(to); ok && t.Name != "" {
			name = t.Name
		}
		d.Targets = append(d.Targets, navTeam{ID: to, Name: name})
	}
	p := personFrom(r.Context())
	d.CanHandle = d.Active != nil && (p.Supervisor() || slices.Contains(p.Teams, d.Active.ToTeam))
	return d, nil
}

func (s *Server) ticketPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.ticketData(r, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg := page{Title: d.Ticket.Subject, Person: personFrom(r.Context()), Data: d}
	switch r.URL.Query().Get("done") {
	case "reply":
		pg.Notice = "Reply sent."
	case "note":
		pg.Notice = "Internal note added."
	case "escalate":
		pg.Notice = "Escalated."
	case "acknowledge":
		pg.Notice = "Escalation acknowledged."
	case "return":
		pg.Notice = "Escalation returned."
	case "resolve":
		pg.Notice = "Resolved."
	}
	s.render(w, r, http.StatusOK, "ticket", pg)
}

// ticketAction runs one of the ticket page's forms and comes back to the page: on success
// with a notice (a redirect, so reloading does not send the form again), on a refusal with the
// service's message next to the field it names and the form as it was filled.
func (s *Server) ticketAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	p := personFrom(r.Context())
	ctx := r.Context()
	var err error
	form := map[string]string{}
	for _, k := range []string{"body", "to", "reason", "note", "context_sufficient", "return_reason", "necessary", "resolution"} {
		form[k] = r.PostFormValue(k)
	}
	escID := r.PostFormValue("escalation")
	author := escalated.Author{Kind: escalated.AuthorAgent, ID: p.ID, Name: p.Name}
	switch action {
	case "reply", "note":
		if strings.TrimSpace(form["body"]) == "" {
			err = escalated.Invalid("body", "write the message first")
			break
		}
		_, err = s.cfg.Tickets.AddMessage(ctx, id, ticket.MessageInput{Author: author, Body: form["body"], Internal: action == "note"})
	case "escalate":
		_, err = s.cfg.Tickets.Escalate(ctx, id, ticket.EscalateInput{To: form["to"], Reason: escalated.Reason(form["reason"]), Note: form["note"], By: p.ID})
	case "acknowledge":
		var sufficient *bool
		switch form["context_sufficient"] {
		case "yes":
			sufficient = ptr(true)
		case "no":
			sufficient = ptr(false)
		default:
			err = escalated.Invalid("context_sufficient", "say whether the handoff told you what you needed")
		}
		if err == nil {
			_, err = s.cfg.Tickets.AcknowledgeWith(ctx, escID, ticket.AckInput{By: p.ID, ContextSufficient: sufficient})
		}
	case "return":
		var necessary *bool
		switch form["necessary"] {
		case "yes":
			necessary = ptr(true)
		case "no":
			necessary = ptr(false)
		default:
			err = escalated.Invalid("necessary", "say whether the escalation was necessary")
		}
		if err == nil {
			_, err = s.cfg.Tickets.Return(ctx, escID, ticket.ReturnInput{By: p.ID, Reason: form["return_reason"], Necessary: necessary})
		}
	case "resolve":
		if escID != "" {
			_, err = s.cfg.Tickets.Resolve(ctx, escID, p.ID, form["resolution"])
		} else {
			solved := escalated.StatusSolved
			_, err = s.cfg.Tickets.PatchTicket(ctx, id, ticket.Patch{Status: &solved, By: p.ID})
		}
	default:
		s.fail(w, r, escalated.Errorf(escalated.ENOTFOUND, "no ticket action %q (reply, note, escalate, acknowledge, return, resolve)", action))
		return
	}
	if err == nil {
		http.Redirect(w, r, "/tickets/"+url.PathEscape(id)+"?done="+action+"#"+action, http.StatusSeeOther)
		return
	}
	if code := escalated.ErrorCode(err); code != escalated.EINVALID && code != escalated.ECONFLICT && code != escalated.EFORBIDDEN {
		s.fail(w, r, err)
		return
	}
	d, derr := s.ticketData(r, id)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	d.Form = form
	fields := map[string]string{}
	for f, msg := range escalated.ErrorFields(err) {
		// The service names the API's fields; the forms use the same names, per action.
		fields[action+"."+f] = msg
	}
	pg := page{Title: d.Ticket.Subject, Person: p, Data: d, Fields: fields}
	if len(fields) == 0 {
		pg.Error = escalated.ErrorMessage(err)
	}
	s.render(w, r, statusOf(err), "ticket", pg)
}

func ptr[T any](v T) *T { return &v }

// events is the live event stream for the console: the API's stream, with the signed-in person
// as its principal (a browser's EventSource cannot send a bearer token).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	p := personFrom(r.Context())
	if team := r.URL.Query().Get("team"); team != "" && !mayOpenTeam(p, team) {
		http.Error(w, "not one of your teams", http.StatusForbidden)
		return
	}
	if s.cfg.Events == nil {
		http.Error(w, "no event stream", http.StatusNotFound)
		return
	}
	s.cfg.Events(w, r)
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"percent": func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) },
	"fmtTime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"field": func(fields map[string]string, name string) string { return fields[name] },
	"upper": strings.ToUpper,
	"dataStr": func(m map[string]any, k string) string {
		if v, ok := m[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	},
	"boolYes": func(b *bool) string {
		switch {
		case b == nil:
			return ""
		case *b:
			return "yes"
		}
		return "no"
	},
	"eventLabel": eventLabel,
	"list":       func(xs ...string) []string { return xs },
}

// eventLabel is an event type as a person reads it.
func eventLabel(t string) string {
	if l, ok := map[string]string{
		"ticket.created": "Ticket created", "message.added": "Message", "ticket.updated": "Ticket updated",
		"escalation.created": "Escalated", "escalation.acknowledged": "Escalation acknowledged",
		"escalation.returned": "Escalation returned", "escalation.resolved": "Escalation resolved",
		"sla.warning": "SLA warning", "sla.breached": "SLA breached", "ticket.routed": "Routed",
		"rule.fired": "Rule fired", "handoff.received": "Bot handoff",
	}[t]; ok {
		return l
	}
	return t
}
