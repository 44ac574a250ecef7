package store

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/escalated/escalated"
)

// Report rollups (E7). Scanning the facts of a 30-day window of a million tickets took 0.2-1 s
// on SQLite and 0.1-0.4 s on PostgreSQL, most of it reading and sorting 333,000 ticket rows, so
// reports read daily rollups instead: one cell per (scope, dimension, key, UTC day, shard) with
// the counts a report adds up and histograms for its percentiles and thresholds. Every save of a
// fact applies the difference between what the old and the new row contribute, in the same
// transaction, so the cells never lag behind the facts. A report adds up the cells of the whole
// days inside its window and computes the same cells, in memory, from the fact rows of the
// partial days at its edges: the answers are exact for any window, to the millisecond.
//
// The definitions below are the reports' definitions: the stores do not know any other.
//
// Scopes are the filters a report may have: "" (none), a team ("team:support"), a transition
// ("tr:t1 -> t2"), or both ("team:support|tr:t1 -> t2"). A cell of a scope counts only what that
// filter keeps.
//
// Shards split a cell by the ticket's id (fnv-1a modulo the store's shard count), so that
// concurrent changes to different tickets on PostgreSQL seldom wait for one another's row of
// the day. Reports add the shards up. SQLite, with one writer, has one shard.

// The cells' own dimension for counts that do not group (outcomes, and days and weeks, which
// group the cells by their day).
const dimAll = "all"

// CellID names a cell.
type CellID struct {
	Scope, Dim, Key string
	Day             int64 // UTC days since 1970-01-01
	Shard           int
}

func (a CellID) compare(b CellID) int {
	return cmp.Or(cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Dim, b.Dim), cmp.Compare(a.Day, b.Day),
		cmp.Compare(a.Key, b.Key), cmp.Compare(a.Shard, b.Shard))
}

// Cell is a rollup cell: the counts of one scope, dimension key, day and shard.
type Cell struct {
	CellID
	Counts
}

// Counts is what a cell counts. Every field adds up: a cell's counts are the sums of what the
// facts of its day contribute.
type Counts struct {
	// Tickets in the group: tickets created that day, and for a team, arrivals by escalation
	// that day (see ReportGroup); EscalatedTickets of them escalated (an arrival: escalated
	// further); Breaches their breaches before escalation.
	Tickets, EscalatedTickets, Breaches int64
	// Opened counts tickets created that day (not arrivals): the outcome measures' tickets.
	Opened int64
	// Outcome counts of the opened tickets (dimension "all" only).
	FirstContactResolved, BreachedBeforeEscalation, ReopenedAfterT1Solve int64
	// Escalations made that day and what became of them.
	Escalations, Acknowledged, Returned, Unnecessary, ResolvedAtTarget, ReEscalated int64
	ContextInsufficient, PingPongs                                                  int64
	// CompletenessMicros sums package completeness in millionths: integers add up exactly in
	// any order and on both stores.
	CompletenessMicros int64
	// TimeToEscalate and TimeToAck are histograms of the escalations' durations (see
	// DurationBucket).
	TimeToEscalate, TimeToAck Hist
	// Frustration is a histogram of the opened tickets never escalated by their highest
	// frustration in hundredths; QuickSolve of the escalations resolved at the target with no
	// internal note by whole minutes to the resolution, rounded up (dimension "all" only).
	Frustration, QuickSolve Hist
	// Days are the counts of each day of a block cell (see blockDays), by UTC day, leaving
	// out days that count nothing; the fields above stay zero in a block cell. Nil in every
	// other cell.
	Days map[int64]*Counts
	// pending holds histogram entries (bucket, count) of a report's sums not yet added to the
	// histograms above, in hists' order: the days of block cells append theirs, a tenth of
	// the cost of a map insert, and the report sorts them once (see medianAndP90).
	pending [4][]histEntry
}

// histEntry is a histogram bucket and its count.
type histEntry struct{ bucket, n int64 }

// Block cells. An account has a few tickets a day, so a daily cell of the account dimension
// counts about one ticket, and a 30-day report by account read about as many cells as there
// are rows: 250,000 cells for 20,000 accounts over a million tickets, 343 ms on SQLite against
// a bar of 100 ms, nearly all of it stepping through rows. The account dimension's cells
// therefore each cover blockDays aligned days of one account, with the counts of each day
// inside (Counts.Days): a 30-day window reads at most two cells per account and adds up only
// the days inside it, so the answers stay exact. Other dimensions have few keys a day, and keep
// daily cells. A change adds to its day inside the block; the cost is a bigger value to read
// and write back (the days of the block that count something, some tens of bytes each).
const blockDays = 32

// blockCell says whether the cells of a dimension's key are block cells: the account
// dimension's, but for the tickets without an account (key ""), which are many a day, like
// those of an issue type: their block would hold a month of histograms (67 KB with 400
// escalations a day), read and written back by each of their changes (7.5 ms a change, against
// 0.2 ms for a day's cell). A very large account costs the same; a block is read whole by a
// change of any of its days.
func blockCell(dim, key string) bool { return dim == GroupAccount && key != "" }

// blockOf is the first day of the block holding day.
func blockOf(day int64) int64 {
	m := day % blockDays
	if m < 0 {
		m += blockDays
	}
	return day - m
}

// day returns the counts of day d inside a block cell, making them.
func (c *Counts) day(d int64) *Counts {
	if c.Days == nil {
		c.Days = map[int64]*Counts{}
	}
	dc := c.Days[d]
	if dc == nil {
		dc = &Counts{}
		c.Days[d] = dc
	}
	return dc
}

// pruneDays removes the days of a block cell that count nothing.
func (c *Counts) pruneDays() {
	for d, dc := range c.Days {
		if dc.zero() {
			delete(c.Days, d)
		}
	}
}

// Hist is a histogram: bucket -> count.
type Hist map[int64]int64

func (h *Hist) add(bucket, n int64) {
	if n == 0 {
		return
	}
	if *h == nil {
		*h = Hist{}
	}
	if v := (*h)[bucket] + n; v != 0 {
		(*h)[bucket] = v
	} else {
		delete(*h, bucket)
	}
}

func (h *Hist) merge(o Hist, sign int64) {
	for b, n := range o {
		h.add(b, sign*n)
	}
}

// DurationBucket is the histogram bucket of a duration, in milliseconds: the duration rounded
// down to the second, and above 1,000 seconds to three significant digits (so down to 10 s
// between 1,000 s and 10,000 s, 100 s up to 100,000 s, and so on). A percentile reports its
// bucket: exact to the second below 16m40s, and less than 1% under the exact value above.
// Negative durations (clocks of two nodes disagreeing) mirror the positive ones.
func DurationBucket(d time.Duration) int64 {
	if d < 0 {
		return -DurationBucket(-d)
	}
	s := int64(d / time.Second)
	step := int64(1)
	for s/step >= 1000 {
		step *= 10
	}
	return s / step * step * 1000
}

// FrustrationBucket is a frustration score's bucket: hundredths, rounded down (the small
// addend keeps 0.57, whose float times 100 is 56.99999999999999, in bucket 57).
func FrustrationBucket(v float64) int64 {
	return int64(math.Floor(min(max(v, 0), 1)*100 + 1e-9))
}

// FrustrationThreshold is the first bucket a threshold counts: a score counts when its
// hundredths reach the threshold's, rounded up (0.7 counts from 0.70, 0.705 from 0.71).
func FrustrationThreshold(t float64) int64 {
	return int64(math.Ceil(t*100 - 1e-9))
}

// MinutesBucket is a resolution time's bucket: whole minutes, rounded up, so that "resolved
// within Q minutes" is exactly the buckets up to Q.
func MinutesBucket(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Minute - 1) / time.Minute)
}

// DayOf is the UTC day of t, counted from 1970-01-01 (negative before).
func DayOf(t time.Time) int64 {
	ms := t.UnixMilli()
	day := ms / 86_400_000
	if ms%86_400_000 < 0 {
		day--
	}
	return day
}

// dayStart is the first instant of day.
func dayStart(day int64) time.Time { return time.UnixMilli(day * 86_400_000).UTC() }

func shardOf(ticketID string, shards int) int {
	if shards <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(ticketID))
	return int(h.Sum32() % uint32(shards))
}

// TeamScope, TransitionScope and the scope of both are the cells' scopes for report filters.
func TeamScope(team string) string             { return "team:" + team }
func TransitionScope(transition string) string { return "tr:" + transition }
func TeamTransitionScope(team, transition string) string {
	return "team:" + team + "|tr:" + transition
}

// Transition is an escalation's transition, "t1 -> t2".
func Transition(fromTier, toTier string) string { return fromTier + " -> " + toTier }

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// rolledUp says whether cells of the dimension are kept in a scope. Every dimension is, without
// a filter and with a team's; with a transition (alone or with a team) only issue types and the
// outcomes, days and weeks ("all"): what insights ask of a transition. Every escalation writes
// a cell per rolled-up dimension of each of its scopes, so each kept pair costs every change;
// a report of a pair not kept is computed from the window's facts instead (the same answer,
// in time proportional to the window).
func rolledUp(scope, dim string) bool {
	if strings.Contains(scope, "tr:") {
		return dim == GroupIssueType || dim == dimAll
	}
	return true
}

// cellSet collects contributions by cell.
type cellSet struct {
	cells  map[CellID]*Counts
	shards int
	// blocks: the account dimension's contributions go to block cells, as stores keep them;
	// otherwise to daily cells, as a report computes its edges.
	blocks bool
}

func newCellSet(shards int, blocks bool) *cellSet {
	return &cellSet{cells: map[CellID]*Counts{}, shards: shards, blocks: blocks}
}

// counts returns what a contribution of day to the cell of (scope, dim, key, shard) adds to:
// the daily cell, or the day inside the block cell.
func (s *cellSet) counts(scope, dim, key string, day int64, shard int) *Counts {
	if !s.blocks || !blockCell(dim, key) {
		return s.at(CellID{Scope: scope, Dim: dim, Key: key, Day: day, Shard: shard})
	}
	return s.at(CellID{Scope: scope, Dim: dim, Key: key, Day: blockOf(day), Shard: shard}).day(day)
}

func (s *cellSet) at(id CellID) *Counts {
	c := s.cells[id]
	if c == nil {
		c = &Counts{}
		s.cells[id] = c
	}
	return c
}

// keep says which cells a contribution goes to: all that are rolled up, or for a report's
// computation of its edges, only the ones it reads.
type keep func(scope, dim string) bool

// addTicket adds what a ticket contributes, times sign (+1 or -1): one cell per dimension in
// the scope without filter and in its intake team's, on the day it was created.
func (s *cellSet) addTicket(f *TicketFact, sign int64, k keep) {
	if f == nil {
		return
	}
	day, shard := DayOf(f.CreatedAt), shardOf(f.TicketID, s.shards)
	esc := b2i(f.Escalations > 0)
	scopes := []string{""}
	if f.IntakeTeam != "" {
		scopes = append(scopes, TeamScope(f.IntakeTeam))
	}
	for _, scope := range scopes {
		for _, dk := range [...][2]string{
			{GroupIssueType, f.IssueType}, {GroupCustomerTier, f.CustomerTier}, {GroupChannel, f.Channel},
			{GroupAgent, f.FirstAgent}, {GroupTeam, f.IntakeTeam}, {GroupAccount, f.AccountID}, {dimAll, ""},
		} {
			dim, key := dk[0], dk[1]
			// A ticket no agent was assigned to is in no agent's group.
			if dim == GroupAgent && key == "" || !k(scope, dim) {
				continue
			}
			c := s.counts(scope, dim, key, day, shard)
			c.Tickets += sign
			c.EscalatedTickets += sign * esc
			c.Breaches += sign * int64(f.BreachesBeforeEscalation)
			c.Opened += sign
			if dim == dimAll {
				c.FirstContactResolved += sign * b2i(f.Solved && f.Escalations == 0 && f.Reopens == 0)
				c.BreachedBeforeEscalation += sign * b2i(f.BreachesBeforeEscalation > 0)
				c.ReopenedAfterT1Solve += sign * b2i(f.ReopenedAfterT1Solve)
				if f.Escalations == 0 {
					c.Frustration.add(FrustrationBucket(f.MaxFrustration), sign)
				}
			}
		}
	}
}

// addEscalation adds what an escalation contributes, times sign: its counts in every dimension
// of the scopes that keep it (none, its two teams, its transition, each team with the
// transition), and, when it moves the ticket to another team, the ticket's arrival there: a
// ticket of the receiving team in the team dimension, and in every dimension of the receiving
// team's scope.
func (s *cellSet) addEscalation(f *EscalationFact, sign int64, k keep) {
	if f == nil {
		return
	}
	day, shard := DayOf(f.CreatedAt), shardOf(f.TicketID, s.shards)
	tr := Transition(f.FromTier, f.ToTier)
	scopes := []string{"", TransitionScope(tr)}
	for i, team := range []string{f.FromTeam, f.ToTeam} {
		if team != "" && (i == 0 || team != f.FromTeam) {
			scopes = append(scopes, TeamScope(team), TeamTransitionScope(team, tr))
		}
	}
	var tte, tta, quick int64
	// Durations as the stores keep them, whole milliseconds towards zero: a delta worked out
	// from a caller's finer value must be the one a later save works out from the stored row.
	tte = DurationBucket(f.TimeToEscalate.Truncate(time.Millisecond))
	if f.TimeToAck != nil {
		tta = DurationBucket(f.TimeToAck.Truncate(time.Millisecond))
	}
	isQuick := f.ResolvedAtTarget && f.ResolvedAfter != nil && f.InternalNotes == 0
	if isQuick {
		quick = MinutesBucket(f.ResolvedAfter.Truncate(time.Millisecond))
	}
	dims := [...][2]string{
		{GroupIssueType, f.IssueType}, {GroupCustomerTier, f.CustomerTier}, {GroupChannel, f.Channel},
		{GroupAgent, f.ByAgent}, {GroupTeam, f.FromTeam}, {GroupTarget, f.ToTeam}, {GroupAccount, f.AccountID},
		{GroupTransition, tr}, {GroupRule, f.RuleID}, {dimAll, ""},
	}
	for _, scope := range scopes {
		for _, dk := range dims {
			dim, key := dk[0], dk[1]
			// Only rule escalations have a rule.
			if dim == GroupRule && key == "" || !k(scope, dim) {
				continue
			}
			c := s.counts(scope, dim, key, day, shard)
			c.Escalations += sign
			c.Acknowledged += sign * b2i(f.AcknowledgedAt != nil)
			c.Returned += sign * b2i(f.Returned)
			c.Unnecessary += sign * b2i(f.Unnecessary)
			c.ResolvedAtTarget += sign * b2i(f.ResolvedAtTarget)
			c.ReEscalated += sign * b2i(f.ReEscalated)
			c.ContextInsufficient += sign * b2i(f.ContextInsufficient)
			c.PingPongs += sign * b2i(f.PingPong)
			c.CompletenessMicros += sign * int64(math.Round(f.Completeness*1e6))
			c.TimeToEscalate.add(tte, sign)
			if f.TimeToAck != nil {
				c.TimeToAck.add(tta, sign)
			}
			if dim == dimAll && isQuick {
				c.QuickSolve.add(quick, sign)
			}
		}
	}
	// A handoff that waits in its own team (from = to) is no arrival: the ticket was there.
	if f.ToTeam == "" || f.ToTeam == f.FromTeam {
		return
	}
	arrive := func(scope, dim, key string) {
		if !k(scope, dim) {
			return
		}
		c := s.counts(scope, dim, key, day, shard)
		c.Tickets += sign
		c.EscalatedTickets += sign * b2i(f.ReEscalated)
	}
	arrive("", GroupTeam, f.ToTeam)
	to := TeamScope(f.ToTeam)
	for _, dk := range [...][2]string{
		{GroupIssueType, f.IssueType}, {GroupCustomerTier, f.CustomerTier}, {GroupChannel, f.Channel},
		{GroupTeam, f.ToTeam}, {GroupAccount, f.AccountID}, {dimAll, ""},
	} {
		arrive(to, dk[0], dk[1])
	}
}

// cells returns the set's cells sorted by id, leaving out those that count nothing.
func (s *cellSet) list() []Cell {
	out := make([]Cell, 0, len(s.cells))
	for id, c := range s.cells {
		c.pruneDays()
		if !c.zero() {
			out = append(out, Cell{CellID: id, Counts: *c})
		}
	}
	slices.SortFunc(out, func(a, b Cell) int { return a.compare(b.CellID) })
	return out
}

func (c *Counts) zero() bool {
	for _, p := range c.ticketCounters() {
		if *p != 0 {
			return false
		}
	}
	for _, p := range c.escalationCounters() {
		if *p != 0 {
			return false
		}
	}
	if len(c.TimeToEscalate) != 0 || len(c.TimeToAck) != 0 || len(c.Frustration) != 0 || len(c.QuickSolve) != 0 {
		return false
	}
	for _, dc := range c.Days {
		if !dc.zero() {
			return false
		}
	}
	return true
}

// TicketDelta is what replacing a ticket's row old (nil: none) with new (nil: none) changes in
// the cells of a store with the given shards, sorted by cell; empty when it changes nothing a
// report counts.
func TicketDelta(old, new *TicketFact, shards int) []Cell {
	s := newCellSet(shards, true)
	s.addTicket(old, -1, rolledUp)
	s.addTicket(new, 1, rolledUp)
	return s.list()
}

// Deltas accumulates what a transaction's fact saves change in the cells, merged as they
// come: Cells is what MergeCells of their TicketDelta and EscalationDelta lists would be,
// without building, sorting and merging a list per save (a new escalation alone touches some
// sixty cells, and the lists were a tenth of the writer's time in a deadline catch-up). The
// zero value is empty.
type Deltas struct{ s *cellSet }

func (d *Deltas) set(shards int) *cellSet {
	if d.s == nil {
		d.s = newCellSet(shards, true)
	}
	return d.s
}

// Ticket adds TicketDelta(old, new, shards).
func (d *Deltas) Ticket(old, new *TicketFact, shards int) {
	s := d.set(shards)
	s.addTicket(old, -1, rolledUp)
	s.addTicket(new, 1, rolledUp)
}

// Escalation adds EscalationDelta(old, new, shards).
func (d *Deltas) Escalation(old, new *EscalationFact, shards int) {
	s := d.set(shards)
	s.addEscalation(old, -1, rolledUp)
	s.addEscalation(new, 1, rolledUp)
}

// Cells returns the merged deltas sorted by cell, leaving out those that count nothing, and
// empties d.
func (d *Deltas) Cells() []Cell {
	if d.s == nil {
		return nil
	}
	out := d.s.list()
	d.s = nil
	return out
}

// Reset empties d.
func (d *Deltas) Reset() { d.s = nil }

// EscalationDelta is TicketDelta for an escalation's row.
func EscalationDelta(old, new *EscalationFact, shards int) []Cell {
	s := newCellSet(shards, true)
	s.addEscalation(old, -1, rolledUp)
	s.addEscalation(new, 1, rolledUp)
	return s.list()
}

// ApplyDeltas adds each delta to the cell of its id in existing and returns the cells to write
// and the ids of those that now count nothing, to delete.
func ApplyDeltas(existing, deltas []Cell) (write []Cell, remove []CellID) {
	have := make(map[CellID]*Counts, len(existing))
	for i := range existing {
		have[existing[i].CellID] = &existing[i].Counts
	}
	for i := range deltas {
		c := Cell{CellID: deltas[i].CellID}
		if e := have[c.CellID]; e != nil {
			c.Counts.Add(e, partAll)
		}
		c.Counts.Add(&deltas[i].Counts, partAll)
		if c.zero() {
			remove = append(remove, c.CellID)
		} else {
			write = append(write, c)
		}
	}
	return write, remove
}

// MergeCells adds up cells by id, sorted; for stores applying several rows' deltas at once.
func MergeCells(deltas ...[]Cell) []Cell {
	s := newCellSet(1, true)
	for _, d := range deltas {
		for i := range d {
			s.at(d[i].CellID).Add(&d[i].Counts, partAll)
		}
	}
	return s.list()
}

// RebuildCells recomputes a store's cells day by day over [first, last] (UTC days): a cell's
// counts come only from the rows created on its day (tickets) or escalated on it
// (escalations), so each day's daily cells are computed from that day's rows alone and written
// as they are, with nothing to merge. Block cells take each day's counts, encoded, as the days
// go by, and are written when their block ends, rebuildFlush at a time: held as Counts, the
// blocks of a million tickets took half a gigabyte. The store has already deleted its cells.
func RebuildCells(ctx context.Context, src RollupSource, first, last int64, shards int, write func([]Cell) error) error {
	type dayValue struct {
		day int64
		enc []byte
	}
	pending := map[CellID][]dayValue{}
	flush := func() error {
		ids := make([]CellID, 0, len(pending))
		for id := range pending {
			ids = append(ids, id)
		}
		slices.SortFunc(ids, CellID.compare)
		for start := 0; start < len(ids); start += rebuildFlush {
			batch := make([]Cell, 0, min(rebuildFlush, len(ids)-start))
			for _, id := range ids[start:min(start+rebuildFlush, len(ids))] {
				c := Cell{CellID: id}
				for _, v := range pending[id] {
					if err := c.day(v.day).AddEncoded(v.enc, partAll); err != nil {
						return err
					}
				}
				batch = append(batch, c)
			}
			if err := write(batch); err != nil {
				return err
			}
		}
		clear(pending)
		return nil
	}
	for day := first; day <= last; day++ {
		if day != first && blockOf(day) == day {
			if err := flush(); err != nil {
				return err
			}
		}
		ts, es, err := src.FactsCreated(ctx, dayStart(day), dayStart(day+1))
		if err != nil {
			return err
		}
		if len(ts)+len(es) == 0 {
			continue
		}
		s := newCellSet(shards, false)
		for _, t := range ts {
			s.addTicket(t, 1, rolledUp)
		}
		for _, e := range es {
			s.addEscalation(e, 1, rolledUp)
		}
		daily := s.list()
		n := 0
		for _, c := range daily {
			if blockCell(c.Dim, c.Key) {
				id := c.CellID
				id.Day = blockOf(c.Day)
				pending[id] = append(pending[id], dayValue{c.Day, c.Encode()})
			} else {
				daily[n] = c
				n++
			}
		}
		if n > 0 {
			if err := write(daily[:n]); err != nil {
				return err
			}
		}
	}
	return flush()
}

// rebuildFlush is how many block cells RebuildCells hands over at a time.
const rebuildFlush = 2000

// AllCells is every cell the facts given contribute, as stores keep them (block cells whole).
func AllCells(ts []*TicketFact, es []*EscalationFact, shards int) []Cell {
	s := newCellSet(shards, true)
	for _, t := range ts {
		s.addTicket(t, 1, rolledUp)
	}
	for _, e := range es {
		s.addEscalation(e, 1, rolledUp)
	}
	return s.list()
}

// Which counts of a cell a report takes: with a transition filter the tickets come from one
// scope and the escalations from another.
const (
	partTickets = 1 << iota
	partEscalations
	partAll = partTickets | partEscalations
)

// PartAll is every count of a cell, for stores adding cells up (Counts.Add, AddEncoded).
const PartAll = partAll

// Zero says whether the counts count nothing.
func (c *Counts) Zero() bool { return c.zero() }

// Add adds the parts of o to c; the days of a block cell o to c's days.
func (c *Counts) Add(o *Counts, parts int) {
	for d, oc := range o.Days {
		dc := c.day(d)
		dc.Add(oc, parts)
		if dc.zero() {
			delete(c.Days, d)
		}
	}
	if parts&partTickets != 0 {
		oc := o.ticketCounters()
		for i, p := range c.ticketCounters() {
			*p += *oc[i]
		}
		c.Frustration.merge(o.Frustration, 1)
	}
	if parts&partEscalations != 0 {
		oc := o.escalationCounters()
		for i, p := range c.escalationCounters() {
			*p += *oc[i]
		}
		c.TimeToEscalate.merge(o.TimeToEscalate, 1)
		c.TimeToAck.merge(o.TimeToAck, 1)
		c.QuickSolve.merge(o.QuickSolve, 1)
	}
}

// ticketCounters and escalationCounters are the counters of each part in their encoded order.
func (c *Counts) ticketCounters() [7]*int64 {
	return [...]*int64{&c.Tickets, &c.EscalatedTickets, &c.Breaches, &c.Opened, &c.FirstContactResolved,
		&c.BreachedBeforeEscalation, &c.ReopenedAfterT1Solve}
}

func (c *Counts) escalationCounters() [9]*int64 {
	return [...]*int64{&c.Escalations, &c.Acknowledged, &c.Returned, &c.Unnecessary, &c.ResolvedAtTarget,
		&c.ReEscalated, &c.ContextInsufficient, &c.PingPongs, &c.CompletenessMicros}
}

// Encode writes the counts as one value for a store's row: the ticket part (7 counters and
// the frustration histogram), then the escalation part (9 counters and the time-to-escalate,
// time-to-acknowledge and quick-solve histograms); counters as varints, a histogram as its
// number of buckets and then (bucket minus the previous bucket, count) pairs in bucket order.
// One value instead of a column each: a report reads thousands of cells, and every column a
// driver hands over costs more than decoding these bytes.
//
// A block cell's value is blockMark, the number of days, and for each day in order the day
// (minus the previous one) and the length and bytes of its counts' value.
func (c *Counts) Encode() []byte {
	if c.Days != nil {
		return c.encodeDays()
	}
	out := make([]byte, 0, 32+4*(len(c.Frustration)+len(c.TimeToEscalate)+len(c.TimeToAck)+len(c.QuickSolve)))
	for _, v := range c.ticketCounters() {
		out = binary.AppendVarint(out, *v)
	}
	out = c.Frustration.appendTo(out)
	for _, v := range c.escalationCounters() {
		out = binary.AppendVarint(out, *v)
	}
	for _, h := range []Hist{c.TimeToEscalate, c.TimeToAck, c.QuickSolve} {
		out = h.appendTo(out)
	}
	return out
}

// Encode writes the cell's value (Counts.Encode). A block cell that also has counts of its own
// (the daily cell a node from before block cells kept for the block's first day, added to with
// a change of another of its days) has them moved into its first day, whose counts they are:
// Counts.Encode would write only the days.
func (c *Cell) Encode() []byte {
	if c.Days != nil && !c.flatZero() {
		d := c.Counts
		d.Days, d.pending = nil, [4][]histEntry{}
		c.day(c.Day).Add(&d, partAll)
		days := c.Days
		c.Counts = Counts{Days: days}
	}
	return c.Counts.Encode()
}

// flatZero says whether the counts outside Days count nothing.
func (c *Counts) flatZero() bool {
	d := *c
	d.Days = nil
	return d.zero()
}

// blockMark starts a block cell's value: an overlong varint (a continuation byte, then a zero
// byte), which binary.AppendVarint never writes, so no daily cell's value starts with it.
var blockMark = []byte{0xff, 0x00}

func (c *Counts) encodeDays() []byte {
	days := make([]int64, 0, len(c.Days))
	for d, dc := range c.Days {
		if !dc.zero() {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	out := append(make([]byte, 0, 4+40*len(days)), blockMark...)
	out = binary.AppendUvarint(out, uint64(len(days)))
	prev := int64(0)
	for _, d := range days {
		v := c.Days[d].encodeSparse()
		out = binary.AppendVarint(out, d-prev)
		out = binary.AppendUvarint(out, uint64(len(v)))
		out = append(out, v...)
		prev = d
	}
	return out
}

// encodeSparse writes the counts of one day of a block cell: a mask of the counters (bits
// 0-15, in Encode's order) and histograms (bits 16-19: frustration, time to escalate, time to
// acknowledge, quick solve) that are not zero, then those, as Encode writes them. A day of an
// account mostly counts a ticket or two and no escalation: three values instead of twenty, to
// read for each of the quarter of a million account days a 30-day report adds up.
func (c *Counts) encodeSparse() []byte {
	counters := c.counters()
	hists := c.hists()
	var mask uint64
	for i, p := range counters {
		if *p != 0 {
			mask |= 1 << i
		}
	}
	for i, h := range hists {
		if len(*h) != 0 {
			mask |= 1 << (len(counters) + i)
		}
	}
	out := binary.AppendUvarint(make([]byte, 0, 16), mask)
	for i, p := range counters {
		if mask&(1<<i) != 0 {
			out = binary.AppendVarint(out, *p)
		}
	}
	for i, h := range hists {
		if mask&(1<<(len(counters)+i)) != 0 {
			out = h.appendTo(out)
		}
	}
	return out
}

// addSparse adds the parts of what encodeSparse wrote to c; with pend, histogram entries go to
// c.pending instead of the histograms.
func (c *Counts) addSparse(b []byte, parts int, pend bool) error {
	mask, n := binary.Uvarint(b)
	if n <= 0 || mask >= 1<<20 {
		return errCounts
	}
	r := countsReader{b: b[n:]}
	counters := c.counters()
	for i, p := range counters {
		if mask&(1<<i) == 0 {
			continue
		}
		v := r.varint()
		if parts&partOf(i) != 0 {
			*p += v
		}
	}
	for i, h := range c.hists() {
		if mask&(1<<(len(counters)+i)) == 0 {
			continue
		}
		switch {
		case parts&histPart[i] == 0:
			r.hist(nil)
		case pend:
			r.pend(&c.pending[i])
		default:
			r.hist(h)
		}
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = errCounts
	}
	return r.err
}

// counters are the ticket and then the escalation counters; partOf(i) is counter i's part.
func (c *Counts) counters() [16]*int64 {
	t, e := c.ticketCounters(), c.escalationCounters()
	var out [16]*int64
	copy(out[:], t[:])
	copy(out[len(t):], e[:])
	return out
}

func partOf(i int) int {
	if i < 7 {
		return partTickets
	}
	return partEscalations
}

// hists are the histograms in encodeSparse's order, and histPart their parts.
func (c *Counts) hists() [4]*Hist {
	return [...]*Hist{&c.Frustration, &c.TimeToEscalate, &c.TimeToAck, &c.QuickSolve}
}

var histPart = [4]int{partTickets, partEscalations, partEscalations, partEscalations}

// eachDay calls fn with the day and value of each day of a block cell's value b, in order;
// false when b is a daily cell's value.
func eachDay(b []byte, fn func(day int64, v []byte) error) (bool, error) {
	if len(b) < len(blockMark) || b[0] != blockMark[0] || b[1] != blockMark[1] {
		return false, nil
	}
	b = b[len(blockMark):]
	n, m := binary.Uvarint(b)
	if m <= 0 {
		return true, errCounts
	}
	b = b[m:]
	day := int64(0)
	for i := uint64(0); i < n; i++ {
		dd, m := binary.Varint(b)
		if m <= 0 {
			return true, errCounts
		}
		b = b[m:]
		l, m := binary.Uvarint(b)
		if m <= 0 || l > uint64(len(b)-m) {
			return true, errCounts
		}
		if dd <= 0 && i > 0 {
			return true, errCounts // days strictly in order
		}
		day += dd
		if err := fn(day, b[m:m+int(l)]); err != nil {
			return true, err
		}
		b = b[m+int(l):]
	}
	if len(b) > 0 {
		return true, errCounts
	}
	return true, nil
}

func (h Hist) appendTo(out []byte) []byte {
	out = binary.AppendUvarint(out, uint64(len(h)))
	if len(h) == 0 {
		return out
	}
	keys := make([]int64, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	prev := int64(0)
	for _, k := range keys {
		out = binary.AppendVarint(out, k-prev)
		out = binary.AppendVarint(out, h[k])
		prev = k
	}
	return out
}

// errCounts is the error of a cell value Encode did not write.
var errCounts = errors.New("report cell: malformed counts")

type countsReader struct {
	b   []byte
	err error
}

func (r *countsReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errCounts
		return 0
	}
	r.b = r.b[n:]
	return v
}

// entries calls fn (when not nil) with each bucket and count of the next histogram.
func (r *countsReader) entries(fn func(bucket, n int64)) {
	if r.err != nil {
		return
	}
	n, m := binary.Uvarint(r.b)
	if m <= 0 || n > uint64(len(r.b)) {
		r.err = errCounts
		return
	}
	r.b = r.b[m:]
	prev := int64(0)
	for range n {
		prev += r.varint()
		v := r.varint()
		if fn != nil {
			fn(prev, v)
		}
	}
}

// hist adds the next histogram to h when h is not nil, or skips it.
func (r *countsReader) hist(h *Hist) {
	if h == nil {
		r.entries(nil)
		return
	}
	r.entries(h.add)
}

// pend appends the next histogram's entries to p.
func (r *countsReader) pend(p *[]histEntry) {
	r.entries(func(bucket, n int64) { *p = append(*p, histEntry{bucket, n}) })
}

// AddEncoded adds the parts of an encoded value (Encode; empty for all zeros) to c.
func (c *Counts) AddEncoded(b []byte, parts int) error {
	if len(b) == 0 {
		return nil
	}
	if block, err := eachDay(b, func(day int64, v []byte) error {
		dc := c.day(day)
		if err := dc.addSparse(v, parts, false); err != nil {
			return err
		}
		if dc.zero() {
			delete(c.Days, day)
		}
		return nil
	}); block {
		return err
	}
	r := countsReader{b: b}
	for _, p := range c.ticketCounters() {
		if v := r.varint(); parts&partTickets != 0 {
			*p += v
		}
	}
	if parts&partTickets != 0 {
		r.hist(&c.Frustration)
	} else {
		r.hist(nil)
	}
	if parts&partEscalations == 0 {
		return r.err
	}
	for _, p := range c.escalationCounters() {
		*p += r.varint()
	}
	r.hist(&c.TimeToEscalate)
	r.hist(&c.TimeToAck)
	r.hist(&c.QuickSolve)
	if r.err == nil && len(r.b) > 0 {
		r.err = errCounts
	}
	return r.err
}

// DecodeCounts reads what Encode wrote.
func DecodeCounts(b []byte) (Counts, error) {
	var c Counts
	err := c.AddEncoded(b, partAll)
	return c, err
}

// RollupSource is what a store gives BuildReport and BuildOutcomes to read.
type RollupSource interface {
	// RollupCells calls fn with the key, day and encoded counts (Counts.Encode) of every cell
	// of scope and dim with day in [from, to), in any order; counts is only valid during the
	// call.
	RollupCells(ctx context.Context, scope, dim string, from, to int64, fn func(key string, day int64, counts []byte) error) error
	// FactsCreated returns the ticket rows created in [from, to) and the escalation rows
	// escalated in it.
	FactsCreated(ctx context.Context, from, to time.Time) ([]*TicketFact, []*EscalationFact, error)
}

// EdgeFactSource is a RollupSource that reads, for the edges of a report's window, only the
// columns a report of one dimension counts. Reading a row costs per column (on SQLite, a
// day's 14,000 rows took 60-80 ms with every column, most of a report asked mid-day), and a
// report of one dimension needs a third of them.
type EdgeFactSource interface {
	RollupSource
	// FactsCreatedFor is FactsCreated with only EdgeColumns(dim)'s fields filled in.
	FactsCreatedFor(ctx context.Context, from, to time.Time, dim string) ([]*TicketFact, []*EscalationFact, error)
}

// EdgeColumns are the columns of the ticket and the escalation fact tables (as both SQL stores
// name them) that cellSet.addTicket and addEscalation read for the cells of dimension dim
// (dimAll for the outcome measures and days and weeks) with one shard: the counts, the teams and
// tiers of the scopes, and the dimension's key.
func EdgeColumns(dim string) (tickets, escalations []string) {
	tickets = []string{"created_at", "intake_team", "escalations", "breaches_before_escalation"}
	escalations = []string{"created_at", "from_team", "to_team", "from_tier", "to_tier", "acknowledged_at",
		"time_to_escalate", "time_to_ack", "returned", "unnecessary", "resolved_at_target", "re_escalated",
		"context_insufficient", "ping_pong", "completeness"}
	switch dim {
	case dimAll:
		tickets = append(tickets, "solved", "reopens", "reopened_after_t1_solve", "max_frustration")
		escalations = append(escalations, "resolved_after", "internal_notes")
	case GroupIssueType, GroupCustomerTier, GroupChannel, GroupAccount:
		col := map[string]string{GroupIssueType: "issue_type", GroupCustomerTier: "customer_tier",
			GroupChannel: "channel", GroupAccount: "account_id"}[dim]
		tickets, escalations = append(tickets, col), append(escalations, col)
	case GroupAgent:
		tickets, escalations = append(tickets, "first_agent"), append(escalations, "by_agent")
	case GroupRule:
		escalations = append(escalations, "rule_id")
	}
	// GroupTeam, GroupTarget and GroupTransition key on the teams and tiers already read.
	return tickets, escalations
}

// reportScopes are the scopes of q's ticket counts and of its escalation counts.
func reportScopes(q ReportQuery) (tickets, escalations string) {
	switch {
	case q.Team != "" && q.Transition != "":
		return TeamScope(q.Team), TeamTransitionScope(q.Team, q.Transition)
	case q.Team != "":
		return TeamScope(q.Team), TeamScope(q.Team)
	case q.Transition != "":
		return "", TransitionScope(q.Transition)
	}
	return "", ""
}

// gatherer adds up a window's cells of one dimension into groups.
type gatherer struct {
	ctx   context.Context
	src   RollupSource
	q     ReportQuery
	dim   string
	group func(key string, day int64) string
	// byDay: the group depends on the day (days and weeks), not on the key alone.
	byDay bool
	sums  map[string]*Counts
	// The window: whole days [fullFrom, fullTo) from the rollups, edges from the facts.
	fullFrom, fullTo int64
	edges            [][2]time.Time
	facts            map[[2]time.Time]*[2]any
}

func newGatherer(ctx context.Context, src RollupSource, q ReportQuery, dim string, group func(string, int64) string) *gatherer {
	g := &gatherer{ctx: ctx, src: src, q: q, dim: dim, group: group, sums: map[string]*Counts{}, facts: map[[2]time.Time]*[2]any{},
		byDay: q.GroupBy == GroupDay || q.GroupBy == GroupWeek}
	if !q.Since.Before(q.Until) {
		return g
	}
	if _, ok := src.(FactSource); ok {
		// Every count from the rows of the whole window: no days, no edges.
		g.edges = [][2]time.Time{{q.Since, q.Until}}
		return g
	}
	g.fullFrom, g.fullTo = DayOf(q.Since), DayOf(q.Until)
	if !dayStart(g.fullFrom).Equal(q.Since) {
		g.fullFrom++
	}
	if g.fullFrom >= g.fullTo {
		g.fullFrom, g.fullTo = 0, 0
		g.edges = [][2]time.Time{{q.Since, q.Until}}
		return g
	}
	if s := dayStart(g.fullFrom); q.Since.Before(s) {
		g.edges = append(g.edges, [2]time.Time{q.Since, s})
	}
	if e := dayStart(g.fullTo); e.Before(q.Until) {
		g.edges = append(g.edges, [2]time.Time{e, q.Until})
	}
	return g
}

func (g *gatherer) at(key string, day int64) *Counts {
	k := g.group(key, day)
	c := g.sums[k]
	if c == nil {
		c = &Counts{}
		g.sums[k] = c
	}
	return c
}

// addCell adds a cell's value to its group: a daily cell's whole, a block cell's days inside
// the window's whole days.
func (g *gatherer) addCell(key string, day int64, counts []byte, parts int) error {
	var sum *Counts
	block, err := eachDay(counts, func(d int64, v []byte) error {
		if d < day || d >= day+blockDays {
			return errCounts // a day outside the block the row is of
		}
		if d < g.fullFrom || d >= g.fullTo {
			return nil
		}
		if sum == nil || g.byDay {
			sum = g.at(key, d)
		}
		return sum.addSparse(v, parts, true)
	})
	if block {
		return err
	}
	// A daily cell (in the account dimension, of the tickets without an account, or an emptied
	// block's zero row, which PostgreSQL keeps and which adds nothing); those of the days
	// before the window come with the blocks.
	if day < g.fullFrom {
		return nil
	}
	return g.at(key, day).AddEncoded(counts, parts)
}

// gather adds the parts of scope's cells of the window: rolled-up cells for its whole days and
// cells computed from the facts of its edges, or from the facts of the whole window when the
// scope does not roll the dimension up.
func (g *gatherer) gather(scope string, parts int) error {
	ranges := [][2]time.Time{{g.q.Since, g.q.Until}}
	if !g.q.Since.Before(g.q.Until) {
		return nil
	}
	if rolledUp(scope, g.dim) {
		ranges = g.edges
		if g.fullFrom < g.fullTo {
			from := g.fullFrom
			if g.dim == GroupAccount {
				from = blockOf(from) // the blocks overlapping the window
			}
			err := g.src.RollupCells(g.ctx, scope, g.dim, from, g.fullTo, func(key string, day int64, counts []byte) error {
				if err := g.addCell(key, day, counts, parts); err != nil {
					return fmt.Errorf("cell %s/%s/%s of day %d: %w", scope, g.dim, key, day, err)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	for _, r := range ranges {
		loaded := g.facts[r]
		if loaded == nil {
			read := g.src.FactsCreated
			if src, ok := g.src.(EdgeFactSource); ok {
				read = func(ctx context.Context, from, to time.Time) ([]*TicketFact, []*EscalationFact, error) {
					return src.FactsCreatedFor(ctx, from, to, g.dim)
				}
			}
			ts, es, err := read(g.ctx, r[0], r[1])
			if err != nil {
				return err
			}
			loaded = &[2]any{ts, es}
			g.facts[r] = loaded
		}
		s := newCellSet(1, false)
		k := func(sc, d string) bool { return sc == scope && d == g.dim }
		for _, t := range loaded[0].([]*TicketFact) {
			s.addTicket(t, 1, k)
		}
		for _, e := range loaded[1].([]*EscalationFact) {
			s.addEscalation(e, 1, k)
		}
		for id, c := range s.cells {
			g.at(id.Key, id.Day).Add(c, parts)
		}
	}
	return nil
}

// gatherScopes adds the ticket part of q's ticket scope and the escalation part of its
// escalation scope.
func (g *gatherer) gatherScopes() error {
	tScope, eScope := reportScopes(g.q)
	if tScope == eScope {
		return g.gather(tScope, partAll)
	}
	if err := g.gather(tScope, partTickets); err != nil {
		return err
	}
	return g.gather(eScope, partEscalations)
}

// BuildReport answers ReportGroups from a store's cells and facts.
func BuildReport(ctx context.Context, src RollupSource, q ReportQuery) ([]ReportGroup, error) {
	if !slices.Contains(GroupBys, q.GroupBy) {
		return nil, escalated.Invalid("group_by", fmt.Sprintf("%q is not a report dimension; use one of %s",
			q.GroupBy, strings.Join(GroupBys, ", ")))
	}
	dim := q.GroupBy
	group := func(key string, _ int64) string { return key }
	switch q.GroupBy {
	case GroupDay:
		dim = dimAll
		group = func(_ string, day int64) string { return dayStart(day).Format("2006-01-02") }
	case GroupWeek:
		dim = dimAll
		group = func(_ string, day int64) string {
			y, w := dayStart(day).ISOWeek()
			return fmt.Sprintf("%04d-W%02d", y, w)
		}
	}
	g := newGatherer(ctx, src, q, dim, group)
	if err := g.gatherScopes(); err != nil {
		return nil, err
	}
	groups := make([]ReportGroup, 0, len(g.sums))
	var buf []histEntry
	// The groups' percentiles, allocated together: a report by account has 80,000.
	durs := make([]time.Duration, 0, 4*len(g.sums))
	for k, c := range g.sums {
		if c.Tickets == 0 && c.Escalations == 0 {
			continue
		}
		r := ReportGroup{
			Key: k, Tickets: int(c.Tickets), EscalatedTickets: int(c.EscalatedTickets), BreachesBeforeEscalation: int(c.Breaches),
			Escalations: int(c.Escalations), Acknowledged: int(c.Acknowledged), Returned: int(c.Returned),
			Unnecessary: int(c.Unnecessary), ResolvedAtTarget: int(c.ResolvedAtTarget), ReEscalated: int(c.ReEscalated),
			ContextInsufficient: int(c.ContextInsufficient), CompletenessSum: float64(c.CompletenessMicros) / 1e6,
		}
		r.TimeToEscalateP50, r.TimeToEscalateP90 = medianAndP90(c.TimeToEscalate, c.pending[1], &buf, &durs)
		r.TimeToAckP50, r.TimeToAckP90 = medianAndP90(c.TimeToAck, c.pending[2], &buf, &durs)
		groups = append(groups, r)
	}
	slices.SortFunc(groups, func(a, b ReportGroup) int {
		return cmp.Or(cmp.Compare(b.Escalations, a.Escalations), cmp.Compare(a.Key, b.Key))
	})
	return groups, nil
}

// medianAndP90 are the values at ranks ceil(n/2) and ceil(9n/10) of the n values of a duration
// histogram, h and its pending entries together, in ascending order (bucket values: see
// DurationBucket), nil when it is empty; the entries are sorted once for both (a report by
// account asks for them of 20,000 groups). buf is scratch space; the values are appended to
// durs, whose capacity must hold them.
func medianAndP90(h Hist, pending []histEntry, buf *[]histEntry, durs *[]time.Duration) (p50, p90 *time.Duration) {
	es := append((*buf)[:0], pending...)
	for b, n := range h {
		es = append(es, histEntry{b, n})
	}
	slices.SortFunc(es, func(a, b histEntry) int { return cmp.Compare(a.bucket, b.bucket) })
	// Add up the entries of each bucket, keeping the buckets that count something.
	out := es[:0]
	var n int64
	for i, e := range es {
		if i > 0 && out[len(out)-1].bucket == e.bucket {
			out[len(out)-1].n += e.n
		} else {
			out = append(out, e)
		}
	}
	kept := out[:0]
	for _, e := range out {
		if e.n > 0 {
			kept = append(kept, e)
			n += e.n
		}
	}
	*buf = es
	if n == 0 {
		return nil, nil
	}
	at := func(num, den int64) *time.Duration {
		rank := max(1, (num*n+den-1)/den)
		v := kept[len(kept)-1].bucket
		for _, e := range kept {
			if rank -= e.n; rank <= 0 {
				v = e.bucket
				break
			}
		}
		*durs = append(*durs, time.Duration(v)*time.Millisecond)
		return &(*durs)[len(*durs)-1]
	}
	return at(1, 2), at(9, 10)
}

// BuildOutcomes answers ReportOutcomes from a store's cells and facts.
func BuildOutcomes(ctx context.Context, src RollupSource, q ReportQuery) (*Outcomes, error) {
	g := newGatherer(ctx, src, q, dimAll, func(string, int64) string { return "" })
	if err := g.gatherScopes(); err != nil {
		return nil, err
	}
	var o Outcomes
	c := g.sums[""]
	if c == nil {
		return &o, nil
	}
	o.Tickets, o.FirstContactResolved = int(c.Opened), int(c.FirstContactResolved)
	o.BreachedBeforeEscalation, o.ReopenedAfterT1Solve = int(c.BreachedBeforeEscalation), int(c.ReopenedAfterT1Solve)
	o.Escalations, o.Unnecessary, o.PingPongs = int(c.Escalations), int(c.Unnecessary), int(c.PingPongs)
	// A threshold between whole minutes counts the minutes below it: "within 4m59s" never
	// counts a solve that took longer.
	// Histogram entries of block cells, were the outcome dimension ever one.
	for _, e := range c.pending[0] {
		c.Frustration.add(e.bucket, e.n)
	}
	for _, e := range c.pending[3] {
		c.QuickSolve.add(e.bucket, e.n)
	}
	frustrated, quick := FrustrationThreshold(q.HighFrustration), int64(q.QuickSolve/time.Minute)
	for b, n := range c.Frustration {
		if b >= frustrated {
			o.HighFrustrationUnescalated += int(n)
		}
	}
	for b, n := range c.QuickSolve {
		if b <= quick {
			o.QuickSolveNoNote += int(n)
		}
	}
	return &o, nil
}

// FactSource is a RollupSource over fact rows in memory. BuildReport computes every count of a
// window from its rows, without days or edges: the answer a store's rollups must give for the
// same rows.
type FactSource struct {
	Tickets     []*TicketFact
	Escalations []*EscalationFact
}

// RollupCells computes the cells of scope and dim from the rows.
func (m FactSource) RollupCells(_ context.Context, scope, dim string, from, to int64, fn func(string, int64, []byte) error) error {
	s := newCellSet(1, true)
	k := func(sc, d string) bool { return sc == scope && d == dim }
	for _, t := range m.Tickets {
		s.addTicket(t, 1, k)
	}
	for _, e := range m.Escalations {
		s.addEscalation(e, 1, k)
	}
	for _, c := range s.list() {
		if c.Day >= from && c.Day < to {
			if err := fn(c.Key, c.Day, c.Encode()); err != nil {
				return err
			}
		}
	}
	return nil
}

// FactsCreated returns the rows created in [from, to).
func (m FactSource) FactsCreated(_ context.Context, from, to time.Time) ([]*TicketFact, []*EscalationFact, error) {
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	var ts []*TicketFact
	var es []*EscalationFact
	for _, t := range m.Tickets {
		if in(escalated.Truncate(t.CreatedAt)) {
			ts = append(ts, t)
		}
	}
	for _, e := range m.Escalations {
		if in(escalated.Truncate(e.CreatedAt)) {
			es = append(es, e)
		}
	}
	return ts, es, nil
}
