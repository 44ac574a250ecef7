package policy

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// weekdays in the order people write them, Monday first; ranges walk this order and wrap, so
// "fri-mon" is Friday to Monday.
var weekdays = []struct {
	name string
	day  time.Weekday
}{
	{"mon", time.Monday}, {"tue", time.Tuesday}, {"wed", time.Wednesday}, {"thu", time.Thursday},
	{"fri", time.Friday}, {"sat", time.Saturday}, {"sun", time.Sunday},
}

const (
	daysRule     = `use mon, tue, wed, thu, fri, sat, sun, ranges like mon-fri, or lists like "sat,sun"`
	intervalRule = `use "HH:MM-HH:MM" like "09:00-17:00"; 24:00 may end an interval, and an end before the start runs overnight`
	dateRule     = "use YYYY-MM-DD, like 2026-12-25"
	minutesInDay = 24 * 60
)

func dayIndex(name string) (int, bool) {
	for i, d := range weekdays {
		if d.name == name {
			return i, true
		}
	}
	return 0, false
}

// parseDays expands a day spec ("mon-fri", "sat,sun", "mon-wed,fri") into weekday indexes
// (0 = Monday), in the order written. A day named twice counts once: "mon-fri,wed" is not two
// Wednesdays whose hours overlap.
func parseDays(spec string) ([]int, bool) {
	var out []int
	var seen [7]bool
	add := func(i int) {
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	for part := range strings.SplitSeq(strings.ToLower(spec), ",") {
		part = strings.TrimSpace(part)
		first, last, isRange := strings.Cut(part, "-")
		a, ok := dayIndex(strings.TrimSpace(first))
		if !ok {
			return nil, false
		}
		if !isRange {
			add(a)
			continue
		}
		b, ok := dayIndex(strings.TrimSpace(last))
		if !ok {
			return nil, false
		}
		for i := a; ; i = (i + 1) % 7 {
			add(i)
			if i == b {
				break
			}
		}
	}
	return out, len(out) > 0
}

var intervalRe = regexp.MustCompile(`^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$`)

// parseInterval returns start and end in minutes after midnight. end < start means the interval
// runs overnight into the next day.
func parseInterval(s string) (start, end int, ok bool) {
	m := intervalRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, 0, false
	}
	num := func(i int) int { n, _ := strconv.Atoi(m[i]); return n }
	sh, sm, eh, em := num(1), num(2), num(3), num(4)
	if sh > 23 || sm > 59 || em > 59 || eh > 24 || eh == 24 && em != 0 {
		return 0, 0, false
	}
	return sh*60 + sm, eh*60 + em, true
}

// hourEntry is a parsed interval with the node and path to blame if it overlaps another.
type hourEntry struct {
	DayHours
	node *yaml.Node
	path string
}

// hours parses a calendar's weekly hours: a mapping of day specs to one interval or a list.
func (p *parser) hours(n *yaml.Node, path string) []DayHours {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s", at(path, fmt.Sprintf(`must map days to hours, like {mon-fri: "09:00-17:00", sat: "10:00-14:00"}, got %s`, describe(n))))
		return nil
	}
	m, _ := p.mapOf(n, path, "hours", nil)
	if len(m.keys) == 0 {
		p.errorf(n, "%s", at(path, `must name at least one day, like {mon-fri: "09:00-17:00"}`))
		return nil
	}
	var entries []hourEntry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || m.keys[k.Value] != k {
			continue // a bad or duplicate key, reported by mapOf
		}
		kpath := path + "." + k.Value
		days, ok := parseDays(k.Value)
		if !ok {
			p.errorf(k, "%s", at(path, fmt.Sprintf("bad day %s (%s)", q(k.Value), daysRule)))
			continue
		}
		for _, it := range p.strList(v, kpath, `["09:00-12:00", "13:00-17:00"]`, true) {
			start, end, ok := parseInterval(it.s)
			switch {
			case !ok:
				p.errorf(it.node, "%s", at(it.path, fmt.Sprintf("bad interval %s (%s)", q(it.s), intervalRule)))
				continue
			case start == end:
				p.errorf(it.node, "%s", at(it.path, fmt.Sprintf("empty interval %s (start and end must differ; for a whole day write \"00:00-24:00\")", q(it.s))))
				continue
			}
			add := func(day, from, to int) {
				entries = append(entries, hourEntry{
					DayHours: DayHours{Day: weekdays[day].day, Start: from, End: to, Days: k.Value, Interval: it.s},
					node:     it.node, path: it.path,
				})
			}
			for _, d := range days {
				if start < end {
					add(d, start, end)
					continue
				}
				// Overnight: the part after midnight belongs to the next day, so that each
				// DayHours stays within one day and lookups never have to wrap.
				add(d, start, minutesInDay)
				if end > 0 {
					add((d+1)%7, 0, end)
				}
			}
		}
	}
	slices.SortStableFunc(entries, func(a, b hourEntry) int {
		return cmp.Or(
			cmp.Compare(mondayFirst(a.Day), mondayFirst(b.Day)),
			cmp.Compare(a.Start, b.Start),
			cmp.Compare(a.node.Line, b.node.Line),
			cmp.Compare(a.node.Column, b.node.Column),
		)
	})
	p.overlaps(entries)
	out := make([]DayHours, len(entries))
	for i, e := range entries {
		out[i] = e.DayHours
	}
	return out
}

func mondayFirst(d time.Weekday) int { return (int(d) + 6) % 7 }

// overlaps reports intervals that overlap on one day. Overlaps are errors rather than merged
// because they are almost always a typo ("09:00-17:00" and "19:00-13:00"), and the author should
// see it. Entries are sorted by day and start; each pair is reported once, at whichever of the
// two comes later in the file, even when it overlaps on several days.
func (p *parser) overlaps(entries []hourEntry) {
	reported := map[[2]*yaml.Node]bool{}
	for i := 0; i < len(entries); {
		j := i
		for j < len(entries) && entries[j].Day == entries[i].Day {
			j++
		}
		latest := i // the interval reaching furthest so far on this day
		for k := i + 1; k < j; k++ {
			a, b := entries[latest], entries[k]
			if b.Start < a.End {
				later, earlier := b, a
				if a.node.Line > b.node.Line || a.node.Line == b.node.Line && a.node.Column > b.node.Column {
					later, earlier = a, b
				}
				pair := [2]*yaml.Node{later.node, earlier.node}
				if !reported[pair] {
					reported[pair] = true
					p.errorf(later.node, "%s", at(later.path, fmt.Sprintf("interval %s overlaps %s (line %d) on %s; intervals on one day must not overlap",
						q(later.Interval), q(earlier.Interval), earlier.node.Line, weekdays[mondayFirst(b.Day)].name)))
				}
			}
			if b.End > entries[latest].End {
				latest = k
			}
		}
		i = j
	}
}

// holidays parses the closed dates of a calendar.
func (p *parser) holidays(n *yaml.Node, path string) []string {
	var out []string
	for _, it := range p.strList(n, path, `["2026-12-25", "2026-12-26"]`, false) {
		if _, err := time.Parse(time.DateOnly, it.s); err != nil {
			p.errorf(it.node, "%s", at(it.path, fmt.Sprintf("bad date %s (%s)", q(it.s), dateRule)))
			continue
		}
		out = append(out, it.s)
	}
	return out
}

// location loads a calendar's time zone. "Local" is refused: it means the server's zone, so
// the same policy would keep different hours on different machines.
func (p *parser) location(n *yaml.Node, path string) (string, *time.Location) {
	tz, ok := p.str(n, path)
	if !ok {
		return "", nil
	}
	const rule = "use an IANA name like Europe/Berlin, America/New_York or UTC"
	if tz == "" || tz == "Local" {
		p.errorf(n, "%s", at(path, fmt.Sprintf("bad time zone %s (%s)", q(tz), rule)))
		return tz, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		p.errorf(n, "%s", at(path, fmt.Sprintf("unknown time zone %s (%s)", q(tz), rule)))
		return tz, nil
	}
	return tz, loc
}
