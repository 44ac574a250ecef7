package sla

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/escalated/escalated/internal/policy"
)

const (
	minutesInDay = 24 * 60
	day          = 24 * time.Hour
	week         = 7 * day
	// SearchLimit is how far (in days of calendar time after the starting date) Add and
	// NextOpen look for open time before giving up and returning Never.
	SearchLimit = 3653 // ten years, leap days included
)

// Never is the far-future instant Add and NextOpen return when no answer lies within
// SearchLimit. A deadline at Never never fires.
var Never = time.Date(9999, time.December, 31, 23, 59, 59, 0, time.UTC)

// ErrNoHours is returned by New for a calendar without any open time in the week.
var ErrNoHours = errors.New("calendar has no open hours in any week")

// span is one open interval of a weekday, in minutes after midnight, start < end <= 1440.
type span struct{ start, end int }

// Calendar is a policy calendar prepared for arithmetic. Build it with New; it is immutable and
// safe for concurrent use.
type Calendar struct {
	id       string
	loc      *time.Location
	days     [7][]span // by time.Weekday, sorted, merged
	weekly   time.Duration
	holidays []int64 // day numbers (days since 1970-01-01), sorted, unique
}

// New prepares c for arithmetic. It fails when c has no time zone, an interval outside
// 00:00-24:00 or empty, a bad holiday date, or no open hours at all.
func New(c *policy.Calendar) (*Calendar, error) {
	if c == nil {
		return nil, errors.New("sla: nil calendar")
	}
	loc := c.Location
	if loc == nil {
		if c.Timezone == "" {
			return nil, fmt.Errorf("sla: calendar %q has no time zone", c.ID)
		}
		var err error
		if loc, err = time.LoadLocation(c.Timezone); err != nil {
			return nil, fmt.Errorf("sla: calendar %q: %w", c.ID, err)
		}
	}
	cal := &Calendar{id: c.ID, loc: loc}
	for _, h := range c.Hours {
		if h.Day < time.Sunday || h.Day > time.Saturday || h.Start < 0 || h.End > minutesInDay || h.Start >= h.End {
			return nil, fmt.Errorf("sla: calendar %q: bad interval %d-%d on %v", c.ID, h.Start, h.End, h.Day)
		}
		cal.days[h.Day] = append(cal.days[h.Day], span{h.Start, h.End})
	}
	for d := range cal.days {
		spans := cal.days[d]
		slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
		var merged []span
		for _, s := range spans {
			if n := len(merged); n > 0 && s.start <= merged[n-1].end {
				merged[n-1].end = max(merged[n-1].end, s.end)
				continue
			}
			merged = append(merged, s)
		}
		cal.days[d] = merged
		for _, s := range merged {
			cal.weekly += time.Duration(s.end-s.start) * time.Minute
		}
	}
	if cal.weekly == 0 {
		return nil, fmt.Errorf("sla: calendar %q: %w", c.ID, ErrNoHours)
	}
	for _, h := range c.Holidays {
		t, err := time.Parse(time.DateOnly, h)
		if err != nil {
			return nil, fmt.Errorf("sla: calendar %q: bad holiday %q", c.ID, h)
		}
		cal.holidays = append(cal.holidays, civil(t.Date()))
	}
	slices.Sort(cal.holidays)
	cal.holidays = slices.Compact(cal.holidays)
	return cal, nil
}

// ID is the policy calendar's id.
func (c *Calendar) ID() string { return c.id }

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Weekly is the nominal business time of a week without holidays or DST changes.
func (c *Calendar) Weekly() time.Duration { return c.weekly }

// civil numbers a date: days since 1970-01-01.
func civil(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func ymd(n int64) (int, time.Month, int) { return time.Unix(n*86400, 0).UTC().Date() }

// weekday of day number n; 1970-01-01 was a Thursday.
func weekday(n int64) time.Weekday { return time.Weekday(((n+4)%7 + 7) % 7) }

// dayOf is the date of t in the calendar's zone.
func (c *Calendar) dayOf(t time.Time) int64 { return civil(t.In(c.loc).Date()) }

func (c *Calendar) holiday(n int64) bool {
	_, ok := slices.BinarySearch(c.holidays, n)
	return ok
}

// wall is the instant of minute min (0..1440) of day n in the calendar's zone. A wall time
// inside a DST gap becomes the transition instant; a repeated one is whatever time.Date picks
// (the later occurrence for zones with a daily-fixed rule, see doc.go).
func (c *Calendar) wall(n int64, min int) time.Time {
	y, m, d := ymd(n)
	t := time.Date(y, m, d, 0, min, 0, 0, c.loc)
	want := n*minutesInDay + int64(min)
	hh, mm, _ := t.Clock()
	got := civil(t.Date())*minutesInDay + int64(hh*60+mm)
	switch {
	case got > want: // pushed past the gap: the gap began at the start of t's zone period
		start, _ := t.ZoneBounds()
		if !start.IsZero() {
			t = start
		}
	case got < want: // pulled before the gap: the gap begins at the end of t's zone period
		_, end := t.ZoneBounds()
		if !end.IsZero() {
			t = end
		}
	}
	return t
}

// skipWeeks returns how many whole weeks, at most maxK, starting at the beginning of day n,
// contain no holiday and no UTC-offset change, so that each holds exactly c.weekly.
func (c *Calendar) skipWeeks(n, maxK int64) int64 {
	if maxK <= 0 {
		return 0
	}
	k := maxK
	if i, _ := slices.BinarySearch(c.holidays, n); i < len(c.holidays) {
		k = min(k, (c.holidays[i]-n)/7)
	}
	if k == 0 {
		return 0
	}
	start := c.wall(n, 0)
	if _, end := start.ZoneBounds(); !end.IsZero() {
		// No change before end; keep a day's margin so the last day's 24:00 is unaffected.
		free := end.Sub(start) - day
		if free < week {
			return 0
		}
		k = min(k, int64(free/week))
	}
	return k
}

// Add returns the instant at which d of business time has elapsed after from. Counting starts
// at from, or at the next open instant when from is outside hours. d <= 0 returns from. When the
// answer lies beyond SearchLimit days after from's date, Add returns Never. The result is in
// from's location.
func (c *Calendar) Add(from time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return from
	}
	n := c.dayOf(from)
	last := n + SearchLimit
	for first := true; n <= last; n++ {
		if !first {
			if k := c.skipWeeks(n, int64((d-1)/c.weekly)); k > 0 {
				d -= time.Duration(k) * c.weekly
				if n += 7 * k; n > last {
					break
				}
			}
		}
		first = false
		if c.holiday(n) {
			continue
		}
		for _, sp := range c.days[weekday(n)] {
			s, e := c.wall(n, sp.start), c.wall(n, sp.end)
			if s.Before(from) {
				s = from
			}
			if !e.After(s) {
				continue
			}
			avail := e.Sub(s)
			if d <= avail {
				return s.Add(d).In(from.Location())
			}
			d -= avail
		}
	}
	return Never
}

// Between returns the business time in [a, b); 0 when b <= a.
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	var total time.Duration
	first, last := c.dayOf(a), c.dayOf(b)
	for n := first; n <= last; n++ {
		if n != first {
			// Whole weeks strictly before b's date lie entirely inside [a, b).
			if k := c.skipWeeks(n, (last-n)/7); k > 0 {
				total += time.Duration(k) * c.weekly
				n += 7 * k
			}
		}
		if c.holiday(n) {
			continue
		}
		for _, sp := range c.days[weekday(n)] {
			s, e := c.wall(n, sp.start), c.wall(n, sp.end)
			if s.Before(a) {
				s = a
			}
			if e.After(b) {
				e = b
			}
			if e.After(s) {
				total += e.Sub(s)
			}
		}
	}
	return total
}

// Open reports whether t is inside business hours.
func (c *Calendar) Open(t time.Time) bool {
	n := c.dayOf(t)
	if c.holiday(n) {
		return false
	}
	for _, sp := range c.days[weekday(n)] {
		if s, e := c.wall(n, sp.start), c.wall(n, sp.end); !t.Before(s) && t.Before(e) {
			return true
		}
	}
	return false
}

// NextOpen returns t if it is open, else the start of the next open interval, in t's location;
// Never when there is none within SearchLimit days.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	n := c.dayOf(t)
	for last := n + SearchLimit; n <= last; n++ {
		if c.holiday(n) {
			continue
		}
		for _, sp := range c.days[weekday(n)] {
			s, e := c.wall(n, sp.start), c.wall(n, sp.end)
			if !e.After(t) || !e.After(s) {
				continue
			}
			if s.Before(t) {
				return t
			}
			return s.In(t.Location())
		}
	}
	return Never
}
