package web

import (
	"context"
	"crypto/subtle"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// safeNext keeps a post-sign-in redirect on this site: a path of it, never another origin.
// Browsers strip tabs and newlines and read a backslash as a slash, so "/\t/evil.example" or
// "/\\evil.example" would leave the site: anything with a control character or a backslash is
// refused, and what remains must parse as a bare path.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\") ||
		strings.IndexFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	if u.RawQuery != "" {
		return u.EscapedPath() + "?" + u.RawQuery
	}
	return u.EscapedPath()
}

// login checks the password and opens a session. A wrong id and a wrong password get the same
// answer, after the same work, so the form does not tell which ids exist.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	user, password, next := strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("password"), r.PostFormValue("next")
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || tokensDiffer(c.Value, r.PostFormValue("csrf")) {
		s.showLogin(w, r, http.StatusForbidden, "", next, "The sign-in form expired. Please sign in again.")
		return
	}
	if len(user) > MaxIDLength {
		s.showLogin(w, r, http.StatusBadRequest, "", next, fmt.Sprintf("An id has at most %d characters.", MaxIDLength))
		return
	}
	now, addr := s.cfg.Now(), s.cfg.ClientIP.Addr(r)
	idKey, addrKey := "id:"+user, "addr:"+addr
	if !s.limits.allowed(idKey, now) || !s.limits.allowed(addrKey, now) {
		s.cfg.Log.Warn("console sign-in refused: too many failures", "user", user, "addr", addr)
		w.Header().Set("Retry-After", fmt.Sprint(int(signInRefill/time.Second)))
		s.showLogin(w, r, http.StatusTooManyRequests, user, next, "Too many failed sign-ins. Wait a minute and try again.")
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
	s.limits.check(func() {
		if hash == "" {
			// The same work as a real check, against a hash nobody's password matches.
			_, _ = VerifyPassword(dummyHash(), password)
		} else if ok, err = VerifyPassword(hash, password); err != nil {
			s.cfg.Log.Error("stored password hash unreadable", "user", user, "err", err)
		}
	})
	live := s.cfg.Tickets.Policy()
	if ok && live != nil {
		_, ok = personOf(live.Policy, user)
	}
	if !ok {
		s.limits.failed(now, idKey, addrKey)
		s.cfg.Log.Info("console sign-in refused", "user", user, "addr", addr)
		s.showLogin(w, r, http.StatusUnauthorized, user, next, "That id and password do not match a person in the policy.")
		return
	}
	token := newToken()
	sess := &store.Session{IDHash: tokenHash(token), UserID: user, CSRF: newToken(), CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	err = s.cfg.Store.Update(r.Context(), func(tx store.Tx) error {
		// Sweep what has expired while here: sessions are few, this keeps the table so.
		if _, err := tx.DeleteExpiredSessions(r.Context(), now); err != nil {
			return err
		}
		// Signing in again ends the session this browser had.
		if old, err := r.Cookie(sessionCookie); err == nil && old.Value != "" {
			if err := tx.DeleteSession(r.Context(), tokenHash(old.Value)); err != nil {
				return err
			}
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
// password does; made on first use (it costs what a hash costs).
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword(newToken())
	if err != nil {
		panic(err)
	}
	return h
})

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
	// RowsURL is where the live refresh fetches the table body, with the page's filters.
	RowsURL string
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
	d.RowsURL = "/queue/" + url.PathEscape(team) + "/rows?" + url.Values{"priority": {d.Filter.Priority},
		"escalation": {d.Filter.Escalation}, "assignee": {d.Filter.Assignee}}.Encode()
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
	// CanAct says the person works in the team holding the ticket (reply, note, escalate,
	// solve); CanHandle that they work in the team the active escalation went to (acknowledge,
	// return, resolve). Supervisors look on: the actions record an agent.
	CanAct, CanHandle bool
	Form              map[string]string
}

// ticketVisible says whether p may see the ticket: it is in one of p's teams, or one of its
// escalations came from or went to one (the agent who escalated it can follow it).
func ticketVisible(p *Person, t *escalated.Ticket, escs []*escalated.Escalation) bool {
	if slices.Contains(p.Teams, t.Team) {
		return true
	}
	for _, e := range escs {
		if slices.Contains(p.Teams, e.FromTeam) || slices.Contains(p.Teams, e.ToTeam) {
			return true
		}
	}
	return false
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
	if !ticketVisible(p, det.Ticket, det.Escalations) {
		// As for a ticket that does not exist: its id tells nothing about another team's work.
		return nil, escalated.Errorf(escalated.ENOTFOUND, "ticket %s not found in your teams' work", id)
	}
	d.CanAct = !p.Supervisor() && slices.Contains(p.Teams, det.Ticket.Team)
	// Handling an escalation takes a member of the team it went to; an agent who only sees that
	// team (the policy's sees) follows it.
	d.CanHandle = !p.Supervisor() && d.Active != nil && slices.Contains(live.Policy.TeamsOfAgent(p.ID), d.Active.ToTeam)
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
	if !slices.Contains([]string{"reply", "note", "escalate", "acknowledge", "return", "resolve"}, action) {
		s.fail(w, r, escalated.Errorf(escalated.ENOTFOUND, "no ticket action %q (reply, note, escalate, acknowledge, return, resolve)", action))
		return
	}
	cur, err := s.ticketData(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The escalation an action handles is the one holding this ticket, whatever a form says.
	escID := ""
	if cur.Active != nil {
		escID = cur.Active.ID
	}
	switch action {
	case "acknowledge", "return":
		if !cur.CanHandle {
			s.fail(w, r, escalated.Errorf(escalated.EFORBIDDEN, "only an agent of the team the escalation went to may %s it", action))
			return
		}
	case "resolve":
		if !cur.CanHandle && !(cur.Active == nil && cur.CanAct) {
			s.fail(w, r, escalated.Errorf(escalated.EFORBIDDEN, "only an agent of the team holding the ticket may resolve it"))
			return
		}
	default:
		if !cur.CanAct {
			s.fail(w, r, escalated.Errorf(escalated.EFORBIDDEN, "only an agent of the team holding the ticket may %s", action))
			return
		}
	}
	form := map[string]string{}
	for _, k := range []string{"body", "to", "reason", "note", "context_sufficient", "return_reason", "necessary", "resolution"} {
		form[k] = r.PostFormValue(k)
	}
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
		// Both answers are checked before the service is asked, so that a form missing both
		// shows both errors at once, each in the form's words.
		fe := escalated.FieldErrors{}
		if strings.TrimSpace(form["return_reason"]) == "" {
			fe.Add("reason", "say why the escalation goes back")
		}
		var necessary *bool
		switch form["necessary"] {
		case "yes":
			necessary = ptr(true)
		case "no":
			necessary = ptr(false)
		default:
			fe.Add("necessary", "say whether the escalation was necessary: yes or no")
		}
		if err = fe.Err(); err == nil {
			_, err = s.cfg.Tickets.Return(ctx, escID, ticket.ReturnInput{By: p.ID, Reason: form["return_reason"], Necessary: necessary})
		}
	case "resolve":
		if escID != "" {
			if strings.TrimSpace(form["resolution"]) == "" {
				err = escalated.Invalid("resolution", "say how the issue was resolved")
				break
			}
			_, err = s.cfg.Tickets.Resolve(ctx, escID, p.ID, form["resolution"])
		} else {
			solved := escalated.StatusSolved
			_, err = s.cfg.Tickets.PatchTicket(ctx, id, ticket.Patch{Status: &solved, By: p.ID})
		}
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
	shown := true
	for f, msg := range escalated.ErrorFields(err) {
		// The service names the API's fields; the forms use the same names, per action.
		fields[action+"."+f] = msg
		shown = shown && formFields[action+"."+f]
	}
	pg := page{Title: d.Ticket.Subject, Person: p, Data: d, Fields: fields}
	if len(fields) == 0 || !shown {
		// A problem no field of the form shows (who is acting, say) goes on top of the page.
		pg.Error = escalated.ErrorMessage(err)
	}
	s.render(w, r, statusOf(err), "ticket", pg)
}

func ptr[T any](v T) *T { return &v }

// formFields are the error keys the ticket page shows next to a field.
var formFields = map[string]bool{
	"reply.body": true, "note.body": true, "escalate.to": true, "escalate.reason": true, "escalate.note": true,
	"acknowledge.context_sufficient": true, "return.reason": true, "return.necessary": true, "resolve.resolution": true,
}

// events is the live event stream for the console: the API's stream, with the signed-in person
// as its principal (a browser's EventSource cannot send a bearer token).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	p := personFrom(r.Context())
	q := r.URL.Query()
	team := q.Get("team")
	if team == "" || q.Get("ticket") != "" {
		http.Error(w, "the console's stream is a team's: give team (one of yours) and no ticket", http.StatusBadRequest)
		return
	}
	if !mayOpenTeam(p, team) {
		http.Error(w, "not one of your teams", http.StatusForbidden)
		return
	}
	if s.cfg.Events == nil {
		http.Error(w, "no event stream", http.StatusNotFound)
		return
	}
	// The session is checked again every streamRecheck while the stream is open: signing out,
	// a new password, leaving the team or the policy, or the session's end close it.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		tick := time.NewTicker(time.Duration(streamRecheck.Load()))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if now, err := s.session(r); err != nil || !mayOpenTeam(now, team) {
					cancel()
					return
				}
			}
		}
	}()
	s.cfg.Events(w, r.WithContext(ctx))
}

// streamRecheck is how often an open event stream checks its session, in nanoseconds
// (SetStreamRecheck).
var streamRecheck atomic.Int64

func init() { streamRecheck.Store(int64(15 * time.Second)) }

// SetStreamRecheck sets how often open console streams check their session, for tests, and
// returns the previous value.
func SetStreamRecheck(d time.Duration) time.Duration {
	return time.Duration(streamRecheck.Swap(int64(d)))
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
