package analytics

import (
	"strconv"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/storetest"
)

// TestBuild: rates, shares and seconds from counts, worked out by hand; nothing divides by zero.
func TestBuild(t *testing.T) {
	h, m := time.Hour, 30*time.Minute
	q := store.ReportQuery{GroupBy: "team", Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		QuickSolve: 10 * time.Minute, HighFrustration: 0.7}
	rep := Build(q, []store.ReportGroup{
		{Key: "frontline", Tickets: 30, EscalatedTickets: 9, Escalations: 12, TimeToEscalateP50: &h, TimeToEscalateP90: &h,
			TimeToAckP50: &m, Acknowledged: 8, Returned: 3, Unnecessary: 2, ResolvedAtTarget: 6, ReEscalated: 1, ContextInsufficient: 2, CompletenessSum: 9},
		{Key: "billing", Escalations: 4},
	}, &store.Outcomes{Tickets: 40, FirstContactResolved: 10, Escalations: 16})
	if len(rep.Items) != 2 || rep.Since != "2026-11-01T00:00:00.000Z" {
		t.Fatalf("report: %+v", rep)
	}
	f := rep.Items[0]
	for name, c := range map[string]struct {
		got  *float64
		want float64
	}{
		"rate": {f.Rate, 0.3}, "share": {f.Share, 0.75}, "tte p50": {f.TimeToEscalateP50, 3600}, "tta p50": {f.TimeToAckP50, 1800},
		"returned": {f.Returned, 0.25}, "unnecessary": {f.Unnecessary, 0.1667}, "resolved": {f.ResolvedAtTarget, 0.5},
		"re-escalated": {f.ReEscalated, 0.0833}, "completeness": {f.MeanCompleteness, 0.75}, "context": {f.ContextInsufficient, 0.25},
		"fcr": {rep.Outcomes.FirstContactResolution, 0.25},
	} {
		if c.got == nil || *c.got != c.want {
			t.Errorf("%s = %v, want %v", name, c.got, c.want)
		}
	}
	if f.TimeToAckP90 != nil {
		t.Errorf("a missing percentile shows as %v", *f.TimeToAckP90)
	}
	b := rep.Items[1]
	if b.Rate != nil || b.ContextInsufficient != nil || b.Share == nil || *b.Share != 0.25 {
		t.Errorf("a group without tickets or acknowledgements: rate %v, context %v, share %v", b.Rate, b.ContextInsufficient, b.Share)
	}
	if rep.Outcomes.QuickSolveSeconds != 600 {
		t.Errorf("quick solve threshold %v", rep.Outcomes.QuickSolveSeconds)
	}
}

func TestParseTime(t *testing.T) {
	ref := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"30d":                  ref.Add(-30 * 24 * time.Hour),
		"12h":                  ref.Add(-12 * time.Hour),
		"2026-11-01":           time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		"2026-11-01T08:00:00Z": time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC),
		"":                     {},
	} {
		if got, err := ParseTime(in, ref); err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "-3d", "0d", "2026-13-01", "0001-01-01T00:00:00Z", "1999-12-31"} {
		if _, err := ParseTime(bad, ref); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
}

// TestBuildFixtureGroups: the conformance fixture's counts (storetest, factGroupsWant by issue
// type and by agent) through Build, every ratio worked out by hand and rounded to 4 places.
// Shares of escalations divide by the group's escalations, the context share by its
// acknowledgements, the share of all by the report's 11 escalations; a group with nothing to
// divide by has no value (nil), not 0.
func TestBuildFixtureGroups(t *testing.T) {
	mins := func(n int) *time.Duration { d := time.Duration(n) * time.Minute; return &d }
	q := store.ReportQuery{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	type shares struct {
		rate, share, completeness, returned, unnecessary, resolved, reEscalated, context *float64
	}
	v := func(f float64) *float64 { return &f }
	for _, c := range []struct {
		groupBy string
		groups  []store.ReportGroup
		want    map[string]shares
	}{{
		groupBy: store.GroupIssueType,
		groups:  storetest.FixtureGroups(store.GroupIssueType),
		want: map[string]shares{
			// 5/7 = 0.714285..., 7/11 = 0.636363..., 5.25/7 = 0.75, 4/7 = 0.571428...,
			// 2/7 = 0.285714..., 0/6.
			"login": {rate: v(0.7143), share: v(0.6364), completeness: v(0.75), returned: v(0), unnecessary: v(0),
				resolved: v(0.5714), reEscalated: v(0.2857), context: v(0)},
			// 4/4, 4/11 = 0.363636..., 2/4, 2/4, 1/4, 1/4, 0/4, 2/3 = 0.666666...
			"billing": {rate: v(1), share: v(0.3636), completeness: v(0.5), returned: v(0.5), unnecessary: v(0.25),
				resolved: v(0.25), reEscalated: v(0), context: v(0.6667)},
			// One ticket, no escalation: a rate of 0 and a share of 0, nothing else.
			"refund": {rate: v(0), share: v(0)},
		},
	}, {
		groupBy: store.GroupAgent,
		groups:  storetest.FixtureGroups(store.GroupAgent),
		want: map[string]shares{
			// 4/5, 4/11 = 0.363636..., 2.75/4 = 0.6875, 1/4, 0/4, 1/4, 0/4, 1/2.
			"ana": {rate: v(0.8), share: v(0.3636), completeness: v(0.6875), returned: v(0.25), unnecessary: v(0),
				resolved: v(0.25), reEscalated: v(0), context: v(0.5)},
			// 4/4, 3/11 = 0.272727..., 1.25/3 = 0.416666..., and 1/3 = 0.333333... for each share.
			"bob": {rate: v(1), share: v(0.2727), completeness: v(0.4167), returned: v(0.3333), unnecessary: v(0.3333),
				resolved: v(0.3333), reEscalated: v(0.3333), context: v(0.3333)},
			// Automation escalates without tickets of its own: no rate. 2/11 = 0.181818...,
			// 1.75/2 = 0.875, 2/2 resolved, 0/2 acknowledged without context.
			"": {share: v(0.1818), completeness: v(0.875), returned: v(0), unnecessary: v(0),
				resolved: v(1), reEscalated: v(0), context: v(0)},
			// cy's ticket was not escalated (0/1), yet cy escalated two of others': 2/11,
			// 1.5/2 = 0.75, 1/2 resolved, 1/2 re-escalated.
			"cy": {rate: v(0), share: v(0.1818), completeness: v(0.75), returned: v(0), unnecessary: v(0),
				resolved: v(0.5), reEscalated: v(0.5), context: v(0)},
			"dee": {rate: v(0), share: v(0)},
		},
	}} {
		q.GroupBy = c.groupBy
		rep := Build(q, c.groups, nil)
		if len(rep.Items) != len(c.want) {
			t.Fatalf("by %s: %d items, want %d", c.groupBy, len(rep.Items), len(c.want))
		}
		for i, it := range rep.Items {
			g := c.groups[i]
			if it.Key != g.Key || it.Tickets != g.Tickets || it.EscalatedTickets != g.EscalatedTickets || it.Escalations != g.Escalations {
				t.Errorf("by %s, item %d: %+v does not carry the counts of %+v", c.groupBy, i, it, g)
			}
			w, ok := c.want[it.Key]
			if !ok {
				t.Fatalf("by %s: an item %q the groups do not have", c.groupBy, it.Key)
			}
			for name, f := range map[string][2]*float64{
				"rate": {it.Rate, w.rate}, "share of all escalations": {it.Share, w.share}, "mean completeness": {it.MeanCompleteness, w.completeness},
				"returned": {it.Returned, w.returned}, "unnecessary": {it.Unnecessary, w.unnecessary},
				"resolved at target": {it.ResolvedAtTarget, w.resolved}, "re-escalated": {it.ReEscalated, w.reEscalated},
				"context insufficient": {it.ContextInsufficient, w.context},
			} {
				if got, want := f[0], f[1]; (got == nil) != (want == nil) || (got != nil && *got != *want) {
					t.Errorf("by %s, %q: %s = %s, want %s", c.groupBy, it.Key, name, show(got), show(want))
				}
			}
		}
	}
	// The percentiles pass through in seconds: login's 30 and 270 minutes, 5 and 30.
	rep := Build(store.ReportQuery{GroupBy: store.GroupIssueType}, []store.ReportGroup{{Key: "login", Escalations: 1,
		TimeToEscalateP50: mins(30), TimeToEscalateP90: mins(270), TimeToAckP50: mins(5), TimeToAckP90: mins(30)}}, nil)
	if it := rep.Items[0]; *it.TimeToEscalateP50 != 1800 || *it.TimeToEscalateP90 != 16200 || *it.TimeToAckP50 != 300 || *it.TimeToAckP90 != 1800 {
		t.Errorf("percentiles in seconds: %v %v %v %v", *it.TimeToEscalateP50, *it.TimeToEscalateP90, *it.TimeToAckP50, *it.TimeToAckP90)
	}
}

func show(v *float64) string {
	if v == nil {
		return "none"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}
