package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aymanbagabas/go-udiff"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/decide"
	"github.com/escalated/escalated/internal/ticket"
)

// The policy page (supervisors): the live policy and its stored versions; a draft pasted into
// the page checked (errors and warnings at their line:column) or diffed against the live
// policy; and the live policy's latest decision on a ticket explained, rule by rule. Nothing
// here changes the policy: making a draft live stays with PUT /v1/policy and the policy file
// (SIGHUP), where it is audited with the token or the operator that did it.

// policyData is the policy page's.
type policyData struct {
	Version int64
	// Hash is the live source's SHA-256, its first 12 hex digits.
	Hash        string
	Summary     string
	Source      string
	SourceLines int
	Versions    []policyVersionRow

	// The forms as sent: the draft and the ticket id.
	Draft, Ticket string
	// Done says which answer the page shows: "check", "diff" or "explain".
	Done    string
	Check   *policyCheck
	Diff    *policyDiff
	Explain *policyExplain
}

type policyVersionRow struct {
	Version       int64
	Hash, Actor   string
	At            string
	Live, Current bool
}

// policyCheck is a draft's check.
type policyCheck struct {
	Valid            bool
	Summary          string
	Errors, Warnings []policyProblem
}

// policyProblem is one error or warning with the draft's line it points at.
type policyProblem struct {
	Line, Column int
	Message      string
	// Text is the draft's line, and Caret spaces up to the column, to point at it.
	Text, Caret string
}

// policyDiff is a unified line diff of the draft against the live policy.
type policyDiff struct {
	Same           bool
	Added, Removed int
	Lines          []diffLine
}

// diffLine is one line of the diff with its kind as a CSS class: diff-head, diff-hunk,
// diff-add, diff-del or diff-ctx.
type diffLine struct {
	Class, Text string
}

// policyExplain is the live policy's latest decision on a ticket, for people.
type policyExplain struct {
	TicketID, Subject          string
	PolicyVersion, LiveVersion int64
	At                         string
	Steps                      []explainStep
}

type explainStep struct {
	Event   string
	Seq     int64
	Fired   int
	Rules   []explainRule
	Applied []string
}

type explainRule struct {
	Rule    string
	Line    int
	Outcome string
	Reason  string
	// Class marks the outcome: outcome-fired, outcome-error, outcome-skipped or outcome-none.
	Class string
}

// policyPage shows the live policy and its history, and the forms to check, diff and explain.
func (s *Server) policyPage(w http.ResponseWriter, r *http.Request) {
	p := personFrom(r.Context())
	if !p.Supervisor() {
		s.fail(w, r, escalated.Errorf(escalated.EFORBIDDEN, "the policy page is for supervisors"))
		return
	}
	d, err := s.policyData(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "policy", page{Title: "Policy", Person: p, Data: d})
}

// policyPost runs one of the page's forms (action: check, diff or explain) and shows its answer
// on the page with the forms as they were filled. Nothing is stored, so the answer is the page
// itself, not a redirect.
func (s *Server) policyPost(w http.ResponseWriter, r *http.Request) {
	p := personFrom(r.Context())
	if !p.Supervisor() {
		s.fail(w, r, escalated.Errorf(escalated.EFORBIDDEN, "the policy page is for supervisors"))
		return
	}
	d, err := s.policyData(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// A browser sends a textarea's lines ending in CRLF; the live source has LF.
	d.Draft = strings.ReplaceAll(r.PostFormValue("draft"), "\r\n", "\n")
	d.Ticket = strings.TrimSpace(r.PostFormValue("ticket"))
	fields := map[string]string{}
	status := http.StatusOK
	action := r.PostFormValue("action")
	switch action {
	case "check", "diff":
		switch {
		case strings.TrimSpace(d.Draft) == "":
			fields["draft"] = "Paste a policy draft first (the YAML document, as in the policy file)."
			status = http.StatusBadRequest
		case len(d.Draft) > ticket.MaxPolicySize:
			fields["draft"] = fmt.Sprintf("The draft has %d bytes; a policy has at most %d.", len(d.Draft), ticket.MaxPolicySize)
			d.Draft = ""
			status = http.StatusRequestEntityTooLarge
		case action == "check":
			problems, _, err := s.cfg.Tickets.CheckPolicy(r.Context(), "draft", []byte(d.Draft))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			d.Check = checkView(problems, d.Draft)
		default:
			// A draft pasted without the file's last newline is the same policy: the diff
			// should not end on that.
			draft := d.Draft
			if strings.HasSuffix(d.Source, "\n") && !strings.HasSuffix(draft, "\n") {
				draft += "\n"
			}
			d.Diff = diffView(fmt.Sprintf("live (version %d)", d.Version), "draft", d.Source, draft)
		}
	case "explain":
		if d.Ticket == "" {
			fields["ticket"] = "Give the id of a ticket (it starts with tkt_)."
			status = http.StatusBadRequest
			break
		}
		ex, err := s.explainView(r, d.Ticket, d.Version)
		if code := escalated.ErrorCode(err); code == escalated.ENOTFOUND || code == escalated.EINVALID {
			fields["ticket"] = escalated.ErrorMessage(err)
			status = statusOf(err)
		} else if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Explain = ex
	default:
		s.fail(w, r, escalated.Invalid("action", fmt.Sprintf("%q is not an action of the policy page (check, diff, explain)", action)))
		return
	}
	if len(fields) == 0 {
		d.Done = action
	}
	s.render(w, r, status, "policy", page{Title: "Policy", Person: p, Data: d, Fields: fields})
}

// policyData is the live policy and the stored versions.
func (s *Server) policyData(r *http.Request) (*policyData, error) {
	live := s.cfg.Tickets.Policy()
	if live == nil {
		return nil, escalated.Errorf(escalated.EINTERNAL, "no policy loaded")
	}
	versions, err := s.cfg.Tickets.PolicyVersions(r.Context())
	if err != nil {
		return nil, err
	}
	src := string(live.Policy.Source)
	d := &policyData{Version: live.Version, Hash: shortHash(live.Policy.Hash), Summary: live.Policy.Summary(), Source: src,
		SourceLines: strings.Count(src, "\n")}
	if src != "" && !strings.HasSuffix(src, "\n") {
		d.SourceLines++
	}
	for i, v := range versions {
		d.Versions = append(d.Versions, policyVersionRow{Version: v.Version, Hash: shortHash(v.Hash), Actor: v.Actor,
			At: v.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), Live: v.Version == live.Version, Current: i == 0})
	}
	return d, nil
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// checkView shapes a check's problems, each with the draft's line it points at.
func checkView(pr *ticket.PolicyProblems, draft string) *policyCheck {
	lines := strings.Split(draft, "\n")
	problem := func(p ticket.PolicyProblem) policyProblem {
		out := policyProblem{Line: p.Line, Column: p.Column, Message: p.Message}
		if p.Line >= 1 && p.Line <= len(lines) {
			out.Text = strings.TrimRight(lines[p.Line-1], "\r")
			if p.Column >= 1 {
				// The caret sits under the column: tabs stay tabs so that it lines up.
				var b strings.Builder
				for i, c := range []rune(out.Text) {
					if i >= p.Column-1 {
						break
					}
					if c == '\t' {
						b.WriteRune('\t')
					} else {
						b.WriteRune(' ')
					}
				}
				out.Caret = b.String() + "^"
			}
		}
		return out
	}
	c := &policyCheck{Valid: pr.Valid, Summary: pr.Summary}
	for _, e := range pr.Errors {
		c.Errors = append(c.Errors, problem(e))
	}
	for _, w := range pr.Warnings {
		c.Warnings = append(c.Warnings, problem(w))
	}
	return c
}

// diffView is the unified diff (3 lines of context) of after against before, line by line.
func diffView(beforeName, afterName, before, after string) *policyDiff {
	d := &policyDiff{}
	text := udiff.Unified(beforeName, afterName, before, after)
	if text == "" {
		d.Same = true
		return d
	}
	for _, l := range strings.SplitAfter(text, "\n") {
		if l == "" {
			continue
		}
		l = strings.TrimSuffix(l, "\n")
		class := "diff-ctx"
		switch {
		case strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ "):
			class = "diff-head"
		case strings.HasPrefix(l, "@@"):
			class = "diff-hunk"
		case strings.HasPrefix(l, "+"):
			class = "diff-add"
			d.Added++
		case strings.HasPrefix(l, "-"):
			class = "diff-del"
			d.Removed++
		case strings.HasPrefix(l, `\`):
			class = "diff-head"
		}
		d.Lines = append(d.Lines, diffLine{Class: class, Text: l})
	}
	return d
}

// explainView reads the latest decision on a ticket. A ticket the policy never decided on (a
// policy without rules when it changed) is not_found with its own message.
func (s *Server) explainView(r *http.Request, id string, liveVersion int64) (*policyExplain, error) {
	det, err := s.cfg.Tickets.GetTicket(r.Context(), id)
	if err != nil {
		return nil, err
	}
	dec, err := s.cfg.Tickets.Explain(r.Context(), id)
	if escalated.ErrorCode(err) == escalated.ENOTFOUND {
		return nil, escalated.Errorf(escalated.ENOTFOUND, "the policy has not decided anything about ticket %s yet (no rule ran on its changes)", id)
	} else if err != nil {
		return nil, err
	}
	var steps []ticket.Step
	if err := json.Unmarshal(dec.Trace, &steps); err != nil {
		return nil, fmt.Errorf("decision trace of %s: %w", id, err)
	}
	ex := &policyExplain{TicketID: id, Subject: det.Ticket.Subject, PolicyVersion: dec.PolicyVersion, LiveVersion: liveVersion,
		At: dec.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC")}
	for _, st := range steps {
		es := explainStep{Event: st.Event, Seq: st.Seq, Applied: st.Applied}
		for _, rr := range st.Rules {
			class := "outcome-none"
			switch rr.Outcome {
			case decide.OutcomeFired:
				class = "outcome-fired"
				es.Fired++
			case decide.OutcomeConditionError:
				class = "outcome-error"
			case decide.OutcomeSkippedAfter, decide.OutcomeLoopGuard:
				class = "outcome-skipped"
			}
			es.Rules = append(es.Rules, explainRule{Rule: rr.Rule, Line: rr.Line, Outcome: rr.Outcome, Reason: rr.Reason, Class: class})
		}
		ex.Steps = append(ex.Steps, es)
	}
	return ex, nil
}
