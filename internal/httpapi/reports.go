package httpapi

import (
	"net/http"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/analytics"
)

// reportQuery reads group_by, since, until and team from the query string.
func reportQuery(r *http.Request, now time.Time) (analytics.Query, error) {
	v := r.URL.Query()
	q := analytics.Query{GroupBy: v.Get("group_by"), Team: v.Get("team"), Transition: v.Get("transition")}
	fe := escalated.FieldErrors{}
	var err error
	if q.Until, err = analytics.ParseTime(v.Get("until"), now); err != nil {
		fe.Add("until", err.Error())
	}
	ref := q.Until
	if ref.IsZero() {
		ref = now
	}
	if q.Since, err = analytics.ParseTime(v.Get("since"), ref); err != nil {
		fe.Add("since", err.Error())
	}
	if q.Options, err = analytics.ParseOptions(v.Get); err != nil {
		for k, msg := range escalated.ErrorFields(err) {
			fe.Add(k, msg)
		}
	}
	return q, fe.Err()
}

func (s *Server) reportEscalations(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Analytics == nil {
		s.error(w, r, escalated.Errorf(escalated.ENOTFOUND, "reports are not enabled on this node"))
		return
	}
	q, err := reportQuery(r, time.Now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	rep, err := s.cfg.Analytics.Report(r.Context(), q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) insights(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Analytics == nil {
		s.error(w, r, escalated.Errorf(escalated.ENOTFOUND, "insights are not enabled on this node"))
		return
	}
	q, err := reportQuery(r, time.Now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	for _, p := range []string{"group_by", "transition"} {
		if r.URL.Query().Has(p) {
			s.error(w, r, escalated.Invalid(p, "insights take since, until and team only"))
			return
		}
	}
	ins, err := s.cfg.Analytics.Insights(r.Context(), q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ins)
}
