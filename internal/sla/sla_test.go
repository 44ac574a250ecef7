package sla

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/policy"
)

// cal builds a calendar the way the policy parser does: days like "mon-fri" (Monday-first,
// no wrap needed here), intervals "HH:MM-HH:MM", overnight ones split at midnight.
func cal(t testing.TB, tz string, hours map[string][]string, holidays ...string) *Calendar {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	order := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	idx := map[string]int{"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
	min := func(s string) int {
		var h, m int
		if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil {
			t.Fatalf("bad time %q", s)
		}
		return h*60 + m
	}
	pc := &policy.Calendar{ID: "test", Timezone: tz, Location: loc, Holidays: holidays}
	for days, ivs := range hours {
		a, b, isRange := strings.Cut(days, "-")
		first, last := idx[a], idx[a]
		if isRange {
			last = idx[b]
		}
		for d := first; d <= last; d++ {
			for _, iv := range ivs {
				s, e, _ := strings.Cut(iv, "-")
				start, end := min(s), min(e)
				if start < end {
					pc.Hours = append(pc.Hours, policy.DayHours{Day: order[d], Start: start, End: end})
					continue
				}
				pc.Hours = append(pc.Hours, policy.DayHours{Day: order[d], Start: start, End: 1440})
				if end > 0 {
					pc.Hours = append(pc.Hours, policy.DayHours{Day: order[(d+1)%7], Start: 0, End: end})
				}
			}
		}
	}
	c, err := New(pc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func at(t testing.TB, c *Calendar, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, c.loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var (
	weekdays95 = map[string][]string{"mon-fri": {"09:00-17:00"}}
	christmas  = []string{"2026-12-24", "2026-12-25", "2026-12-26"}
	split      = map[string][]string{"mon-fri": {"09:00-12:00", "13:00-17:00"}}
	nights     = map[string][]string{"mon-fri": {"22:00-06:00"}}
	allWeek    = map[string][]string{"mon-sun": {"00:00-24:00"}}
)

func TestAdd(t *testing.T) {
	berlin := cal(t, "Europe/Berlin", weekdays95, christmas...)
	berlin247 := cal(t, "Europe/Berlin", allWeek)
	splitB := cal(t, "Europe/Berlin", split)
	night := cal(t, "Europe/Berlin", nights)
	utc := cal(t, "UTC", allWeek)
	ny := cal(t, "America/New_York", weekdays95)
	h := time.Hour
	tests := []struct {
		name string
		c    *Calendar
		from string
		d    time.Duration
		want string
	}{
		{"friday 16:00 + 2h", berlin, "2026-11-27 16:00", 2 * h, "2026-11-30 10:00"},
		{"inside one day", berlin, "2026-11-30 09:30", 3 * h, "2026-11-30 12:30"},
		{"ends exactly at close", berlin, "2026-11-30 09:00", 8 * h, "2026-11-30 17:00"},
		{"before opening", berlin, "2026-11-30 06:00", 30 * time.Minute, "2026-11-30 09:30"},
		{"after closing", berlin, "2026-11-30 18:00", 30 * time.Minute, "2026-12-01 09:30"},
		{"from saturday", berlin, "2026-11-28 10:00", h, "2026-11-30 10:00"},
		{"from sunday night", berlin, "2026-11-29 23:59", 8 * h, "2026-11-30 17:00"},
		{"72h on a 40h week", berlin, "2026-11-02 09:00", 72 * h, "2026-11-12 17:00"},
		{"72h from friday afternoon", berlin, "2026-11-06 15:00", 72 * h, "2026-11-19 15:00"},
		{"zero", berlin, "2026-11-28 10:00", 0, "2026-11-28 10:00"},
		// 2026-03-29 (Sunday): 02:00 CET -> 03:00 CEST.
		{"across spring DST", berlin, "2026-03-27 16:00", 2 * h, "2026-03-30 10:00"},
		{"across spring DST, 2 weeks", berlin, "2026-03-20 09:00", 80 * h, "2026-04-02 17:00"},
		{"24/7 spring day is 23h", berlin247, "2026-03-28 12:00", 24 * h, "2026-03-29 13:00"},
		// 2026-10-25 (Sunday): 03:00 CEST -> 02:00 CET.
		{"across autumn DST", berlin, "2026-10-23 16:00", 2 * h, "2026-10-26 10:00"},
		{"24/7 autumn day is 25h", berlin247, "2026-10-24 12:00", 24 * h, "2026-10-25 11:00"},
		{"24/7 across whole autumn day", berlin247, "2026-10-25 00:00", 25 * h, "2026-10-26 00:00"},
		// Christmas 2026: Thu 24, Fri 25, Sat 26 are holidays.
		{"across christmas", berlin, "2026-12-23 16:00", 2 * h, "2026-12-28 10:00"},
		{"from christmas eve", berlin, "2026-12-24 10:00", h, "2026-12-28 10:00"},
		{"72h across christmas", berlin, "2026-12-21 09:00", 72 * h, "2027-01-04 17:00"},
		{"split: over lunch", splitB, "2026-11-30 11:00", 2 * h, "2026-11-30 14:00"},
		{"split: at lunch", splitB, "2026-11-30 12:30", h, "2026-11-30 14:00"},
		{"split: full day 7h", splitB, "2026-11-30 08:00", 7 * h, "2026-11-30 17:00"},
		{"split: to next day", splitB, "2026-11-30 16:00", 2 * h, "2026-12-01 10:00"},
		{"overnight: over midnight", night, "2026-11-30 21:00", 3 * h, "2026-12-01 01:00"},
		{"overnight: friday night to monday", night, "2026-12-04 23:00", 8 * h, "2026-12-07 23:00"},
		{"overnight: morning part", night, "2026-12-01 05:00", 2 * h, "2026-12-01 23:00"},
		{"overnight: sunday morning closed", night, "2026-12-06 03:00", h, "2026-12-07 23:00"},
		{"24/7 UTC", utc, "2026-11-28 10:17", 1000 * h, "2027-01-09 02:17"},
		// New York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
		{"new york spring", ny, "2026-03-06 16:00", 2 * h, "2026-03-09 10:00"},
		{"new york autumn", ny, "2026-10-30 16:00", 2 * h, "2026-11-02 10:00"},
		{"new york 72h", ny, "2026-10-26 09:00", 72 * h, "2026-11-05 17:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, want := at(t, tt.c, tt.from), at(t, tt.c, tt.want)
			got := tt.c.Add(from, tt.d)
			if !got.Equal(want) {
				t.Fatalf("Add(%s, %v) = %s, want %s", tt.from, tt.d, got.In(tt.c.loc).Format(time.RFC3339), want.Format(time.RFC3339))
			}
			if tt.d > 0 {
				if b := tt.c.Between(from, got); b != tt.d {
					t.Fatalf("Between(from, Add) = %v, want %v", b, tt.d)
				}
			}
		})
	}
}

func TestBetween(t *testing.T) {
	berlin := cal(t, "Europe/Berlin", weekdays95, christmas...)
	berlin247 := cal(t, "Europe/Berlin", allWeek)
	h := time.Hour
	tests := []struct {
		c    *Calendar
		a, b string
		want time.Duration
	}{
		{berlin, "2026-11-30 10:00", "2026-11-30 09:00", 0},
		{berlin, "2026-11-27 16:00", "2026-11-30 10:00", 2 * h},
		{berlin, "2026-11-28 00:00", "2026-11-29 23:00", 0},
		{berlin, "2026-11-02 00:00", "2026-11-30 00:00", 160 * h},
		{berlin, "2026-12-21 00:00", "2026-12-28 00:00", 24 * h},
		{berlin, "2026-01-01 00:00", "2027-01-01 00:00", (261 - 2) * 8 * h}, // 261 weekdays in 2026, 24th and 25th are weekdays
		{berlin247, "2026-03-29 00:00", "2026-03-30 00:00", 23 * h},
		{berlin247, "2026-10-25 00:00", "2026-10-26 00:00", 25 * h},
		{berlin247, "2026-01-01 00:00", "2027-01-01 00:00", 365 * 24 * h},
		// A boundary inside the spring gap (02:30 does not exist) moves to the transition:
		// 01:00-02:30 is one real hour that day, 02:00-03:00 is empty.
		{cal(t, "Europe/Berlin", map[string][]string{"sun": {"01:00-02:30"}}), "2026-03-29 00:00", "2026-03-30 00:00", h},
		{cal(t, "Europe/Berlin", map[string][]string{"sun": {"02:00-03:00", "12:00-13:00"}}), "2026-03-29 00:00", "2026-03-30 00:00", h},
		{cal(t, "Europe/Berlin", map[string][]string{"sun": {"01:00-02:30"}}), "2026-03-22 00:00", "2026-03-23 00:00", 90 * time.Minute},
	}
	for _, tt := range tests {
		if got := tt.c.Between(at(t, tt.c, tt.a), at(t, tt.c, tt.b)); got != tt.want {
			t.Errorf("Between(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestOpenNextOpen(t *testing.T) {
	berlin := cal(t, "Europe/Berlin", weekdays95, christmas...)
	night := cal(t, "Europe/Berlin", nights)
	tests := []struct {
		c    *Calendar
		t    string
		open bool
		next string
	}{
		{berlin, "2026-11-30 09:00", true, "2026-11-30 09:00"},
		{berlin, "2026-11-30 16:59", true, "2026-11-30 16:59"},
		{berlin, "2026-11-30 17:00", false, "2026-12-01 09:00"},
		{berlin, "2026-11-27 17:00", false, "2026-11-30 09:00"},
		{berlin, "2026-11-28 12:00", false, "2026-11-30 09:00"},
		{berlin, "2026-12-24 12:00", false, "2026-12-28 09:00"},
		{berlin, "2026-12-23 17:30", false, "2026-12-28 09:00"},
		{berlin, "2026-03-29 12:00", false, "2026-03-30 09:00"},
		{night, "2026-12-01 00:00", true, "2026-12-01 00:00"},
		{night, "2026-12-01 06:00", false, "2026-12-01 22:00"},
		{night, "2026-12-05 05:59", true, "2026-12-05 05:59"},
		{night, "2026-12-06 01:00", false, "2026-12-07 22:00"},
	}
	for _, tt := range tests {
		tm := at(t, tt.c, tt.t)
		if got := tt.c.Open(tm); got != tt.open {
			t.Errorf("Open(%s) = %v, want %v", tt.t, got, tt.open)
		}
		if got, want := tt.c.NextOpen(tm), at(t, tt.c, tt.next); !got.Equal(want) {
			t.Errorf("NextOpen(%s) = %s, want %s", tt.t, got, want)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := New(&policy.Calendar{ID: "x", Location: time.UTC}); err == nil {
		t.Fatal("New accepted a calendar with no hours")
	}
	if _, err := New(&policy.Calendar{ID: "x", Hours: []policy.DayHours{{Day: time.Monday, Start: 0, End: 60}}}); err == nil {
		t.Fatal("New accepted a calendar with no time zone")
	}
	c, err := New(&policy.Calendar{ID: "x", Timezone: "UTC", Hours: []policy.DayHours{{Day: time.Monday, Start: 540, End: 600}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Add(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 100*365*24*time.Hour); !got.Equal(Never) {
		t.Fatalf("Add beyond the search limit = %s, want Never", got)
	}
}

// naiveOpen is an independent definition of "open": the wall clock of t in the zone.
func naiveOpen(c *Calendar, t time.Time) bool {
	w := t.In(c.loc)
	if c.holiday(civil(w.Date())) {
		return false
	}
	m := w.Hour()*60 + w.Minute()
	for _, sp := range c.days[w.Weekday()] {
		if sp.start <= m && m < sp.end {
			return true
		}
	}
	return false
}

func calendars(t testing.TB) map[string]*Calendar {
	return map[string]*Calendar{
		"berlin":   cal(t, "Europe/Berlin", weekdays95, christmas...),
		"split":    cal(t, "Europe/Berlin", split, christmas...),
		"night":    cal(t, "Europe/Berlin", nights, christmas...),
		"247":      cal(t, "Europe/Berlin", allWeek, christmas...),
		"utc":      cal(t, "UTC", allWeek),
		"newyork":  cal(t, "America/New_York", weekdays95, "2026-11-26", "2026-12-25"),
		"weekends": cal(t, "America/New_York", map[string][]string{"sat-sun": {"10:00-14:00", "18:30-23:45"}}),
	}
}

// TestBruteForce compares Between and Open with a minute-by-minute walk over the DST
// changes and Christmas.
func TestBruteForce(t *testing.T) {
	for name, c := range calendars(t) {
		for _, start := range []string{"2026-03-05 00:00", "2026-03-26 00:00", "2026-10-22 00:00", "2026-10-29 00:00", "2026-12-20 00:00"} {
			a := at(t, c, start)
			var want time.Duration
			for m := 0; m < 10*24*60; m++ {
				tm := a.Add(time.Duration(m) * time.Minute)
				if o := c.Open(tm); o != naiveOpen(c, tm) {
					t.Fatalf("%s: Open(%s) = %v, naive %v", name, tm, o, !o)
				}
				if got := c.Between(a, tm); got != want {
					t.Fatalf("%s: Between(%s, %s) = %v, want %v", name, a, tm, got, want)
				}
				if naiveOpen(c, tm) {
					want += time.Minute
				}
			}
		}
	}
}

// TestInverse checks Between(a, Add(a, d)) == d and Add(a, Between(a, b)) <= b with random
// instants over three years.
func TestInverse(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for name, c := range calendars(t) {
		for i := 0; i < 3000; i++ {
			a := base.Add(time.Duration(r.Int64N(int64(3 * 365 * 24 * time.Hour))))
			d := time.Duration(1 + r.Int64N(int64(400*time.Hour)))
			b := c.Add(a, d)
			if got := c.Between(a, b); got != d {
				t.Fatalf("%s: Between(%s, Add(a, %v)=%s) = %v", name, a, d, b, got)
			}
			if !c.Open(b.Add(-1)) {
				t.Fatalf("%s: Add(%s, %v) = %s, but the instant before is closed", name, a, d, b)
			}
			b2 := a.Add(time.Duration(r.Int64N(int64(60 * 24 * time.Hour))))
			bt := c.Between(a, b2)
			back := c.Add(a, bt)
			if back.After(b2) || c.Between(a, back) != bt || bt > 0 && c.Open(b2) && c.Open(b2.Add(-1)) && !back.Equal(b2) {
				t.Fatalf("%s: Add(%s, Between(a, %s)=%v) = %s", name, a, b2, bt, back)
			}
			if n := c.NextOpen(a); !c.Open(n) || n.Before(a) || c.Between(a, n) != 0 {
				t.Fatalf("%s: NextOpen(%s) = %s", name, a, n)
			}
		}
	}
}

func BenchmarkAdd72h(b *testing.B) {
	c := cal(b, "Europe/Berlin", weekdays95, christmas...)
	from := time.Date(2026, 11, 27, 15, 0, 0, 0, c.loc)
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Add(from, 72*time.Hour)
	}
}

func BenchmarkAdd1000h(b *testing.B) {
	c := cal(b, "Europe/Berlin", weekdays95, christmas...)
	from := time.Date(2026, 1, 5, 9, 0, 0, 0, c.loc)
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Add(from, 1000*time.Hour)
	}
}
