package analytics

import (
	"testing"
	"time"

	"github.com/escalated/escalated/internal/store"
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
