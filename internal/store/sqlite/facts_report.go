package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"

	"modernc.org/sqlite"
)

// factDim is how one report dimension groups the two fact tables: SQL expressions over a
// table's columns giving a row's group value, which the report then turns into its key.
type factDim struct {
	// ticket groups ticket_facts rows ("" when the dimension counts no tickets); ticketWhere
	// keeps only some of them.
	ticket, ticketWhere string
	// arrivals, when set, counts escalation_facts rows as tickets of their group as well: the
	// team dimension counts the escalations into a team among the tickets it took on.
	arrivals string
	// esc groups escalation_facts rows; escWhere keeps only some of them.
	esc, escWhere string
	// key is the SQL turning group value b into the report key.
	key func(b string) string
}

// Days and ISO weeks group on an integer computed from created_at, not on the key's text, so
// that the key is formatted once per group instead of once per row. / truncates towards zero,
// so both subtract one for a time before 1970, which makes them floor divisions like
// PostgreSQL's date_bin. Weeks
// count from Monday 1969-12-29 00:00 UTC (259,200,000 ms before the epoch), so week b starts
// on its Monday, whose %G-W%V is the ISO week (SQLite has %G and %V since 3.46).
const (
	sqlDay  = `(created_at / 86400000 - (created_at % 86400000 < 0))`
	sqlWeek = `((created_at + 259200000) / 604800000 - ((created_at + 259200000) % 604800000 < 0))`
)

func plainKey(b string) string { return b }

// factDimOf returns how q.GroupBy groups; false for an unknown dimension. See store.ReportGroup
// for what each dimension counts.
func factDimOf(groupBy string) (factDim, bool) {
	switch groupBy {
	case store.GroupIssueType, store.GroupCustomerTier, store.GroupChannel:
		return factDim{ticket: groupBy, esc: groupBy, key: plainKey}, true
	case store.GroupAgent:
		// A ticket no agent was assigned to is nobody's; "" is automation's group of
		// escalations.
		return factDim{ticket: "first_agent", ticketWhere: "first_agent <> ''", esc: "by_agent", key: plainKey}, true
	case store.GroupTeam:
		return factDim{ticket: "intake_team", arrivals: "to_team", esc: "from_team", key: plainKey}, true
	case store.GroupTarget:
		return factDim{esc: "to_team", key: plainKey}, true
	case store.GroupAccount:
		return factDim{ticket: "account_id", esc: "account_id", key: plainKey}, true
	case store.GroupTransition:
		return factDim{esc: "from_tier || ' -> ' || to_tier", key: plainKey}, true
	case store.GroupRule:
		return factDim{esc: "rule_id", escWhere: "rule_id <> ''", key: plainKey}, true
	case store.GroupDay:
		return factDim{ticket: sqlDay, esc: sqlDay, key: func(b string) string {
			return `strftime('%Y-%m-%d', ` + b + ` * 86400, 'unixepoch')`
		}}, true
	case store.GroupWeek:
		return factDim{ticket: sqlWeek, esc: sqlWeek, key: func(b string) string {
			return `strftime('%G-W%V', ` + b + ` * 604800 - 259200, 'unixepoch')`
		}}, true
	}
	return factDim{}, false
}

// badGroupBy is the error for a dimension reports do not know, naming the ones they do.
func badGroupBy(groupBy string) error {
	return escalated.Invalid("group_by", fmt.Sprintf("%q is not a report dimension; use one of %s",
		groupBy, strings.Join(store.GroupBys, ", ")))
}

// ticketRows selects cols of the window's tickets: created in [since, until), and with a team
// filter opened in the team or escalated into it in the window. The two halves of the filter
// are two index range scans (ticket_facts_intake_team, then escalation_facts_to_team with a
// lookup by ticket_id) joined by UNION ALL; intake_team <> {team} keeps a ticket from being
// counted by both. where, when set, keeps only some rows.
func ticketRows(cols, where string, team bool) string {
	if where != "" {
		where = " AND " + where
	}
	window := ` AND created_at >= {since} AND created_at < {until}` + where
	if !team {
		return `SELECT ` + cols + ` FROM ticket_facts WHERE true` + window
	}
	return `SELECT ` + cols + ` FROM ticket_facts WHERE intake_team = {team}` + window + `
		UNION ALL
		SELECT ` + cols + ` FROM ticket_facts WHERE intake_team <> {team}` + window + ` AND ticket_id IN (
			SELECT ticket_id FROM escalation_facts
			WHERE to_team = {team} AND created_at >= {since} AND created_at < {until})`
}

// rowFilter says which of a report query's filters apply to a selection of rows.
type rowFilter struct{ team, transition bool }

// filterOf is the filter of q: escalations take both, tickets only the team (ReportQuery).
func filterOf(q store.ReportQuery) rowFilter {
	return rowFilter{team: q.Team != "", transition: q.Transition != ""}
}

// escalationRows selects cols of the window's escalations: escalated in [since, until), of the
// transition when f.transition, and with a team filter from or to the team, as two index range
// scans (escalation_facts_from_team, escalation_facts_to_team) joined by UNION ALL;
// from_team <> {team} keeps an escalation within the team from being counted twice.
func escalationRows(cols, where string, f rowFilter) string {
	if where != "" {
		where = " AND " + where
	}
	if f.transition {
		where += ` AND from_tier || ' -> ' || to_tier = {transition}`
	}
	window := ` AND created_at >= {since} AND created_at < {until}` + where
	if !f.team {
		return `SELECT ` + cols + ` FROM escalation_facts WHERE true` + window
	}
	return `SELECT ` + cols + ` FROM escalation_facts WHERE from_team = {team}` + window + `
		UNION ALL
		SELECT ` + cols + ` FROM escalation_facts WHERE to_team = {team} AND from_team <> {team}` + window
}

// escalationGroupsSQL aggregates the window's escalations by group in one pass: one sort by
// group, then every count and percentile of a group from its run of rows.
//
// Percentiles are nearest-rank: the value at rank ceil(p*n) of the group's n values in
// ascending order, NULLs (not acknowledged) left out. escalated_nearest_rank computes it with
// the rank in integer arithmetic, ceil(num*n/den) = (num*n + den - 1) / den, which is what
// PostgreSQL's percentile_disc gives for 0.5 and 0.9 (see the PostgreSQL store), so both stores
// pick the same value. It replaces ROW_NUMBER() OVER (PARTITION BY b ORDER BY v): SQLite's
// window functions buffer every partition in an ephemeral table, and with them this query took
// 1.4 s for 30 days (100,000 escalations) here; with the aggregate, 0.23 s.
func escalationGroupsSQL(d factDim, f rowFilter) string {
	return `SELECT b, COUNT(*) AS n,
		escalated_nearest_rank(tte, 1, 2) AS tte50,
		escalated_nearest_rank(tte, 9, 10) AS tte90,
		escalated_nearest_rank(tta, 1, 2) AS tta50,
		escalated_nearest_rank(tta, 9, 10) AS tta90,
		COUNT(*) FILTER (WHERE acked) AS acked,
		COUNT(*) FILTER (WHERE returned) AS returned,
		COUNT(*) FILTER (WHERE unnecessary) AS unnecessary,
		COUNT(*) FILTER (WHERE resolved_at_target) AS resolved,
		COUNT(*) FILTER (WHERE re_escalated) AS reescalated,
		COUNT(*) FILTER (WHERE context_insufficient) AS insufficient,
		SUM(completeness) AS completeness
	FROM (` + escalationRows(d.esc+` AS b, time_to_escalate AS tte, time_to_ack AS tta,
			acknowledged_at IS NOT NULL AS acked, returned, unnecessary, resolved_at_target,
			re_escalated, context_insufficient, completeness`, d.escWhere, f) + `) AS e
	GROUP BY b`
}

// ticketGroupsSQL counts the window's tickets by group, those escalated in the window (first
// escalated before until: a ticket created in the window cannot have been escalated before
// since) and their breaches before escalation. A team's arrivals count as escalated when the
// team escalated them further; they are tickets, so the transition filter leaves them be. A
// handoff that stays in its team (from_team = to_team) is no arrival: the ticket was there.
func ticketGroupsSQL(d factDim, f rowFilter) string {
	rows := ticketRows(d.ticket+` AS b, first_escalated_at < {until} AS esc,
		breaches_before_escalation AS breaches`, d.ticketWhere, f.team)
	if d.arrivals != "" {
		rows += `
		UNION ALL
		` + escalationRows(d.arrivals+` AS b, re_escalated AS esc, 0 AS breaches`, "to_team <> from_team", rowFilter{team: f.team})
	}
	return `SELECT b, COUNT(*) AS n, COUNT(*) FILTER (WHERE esc) AS escalated, SUM(breaches) AS breaches
	FROM (` + rows + `) AS tk GROUP BY b`
}

// reportGroupsSQL is the whole report: both sides aggregated, then merged by group, so that
// groups with tickets and no escalations are there too, in the report's order. Keys compare as
// bytes (SQLite's BINARY collation), as PostgreSQL's COLLATE "C" does.
//
// The merge stacks the two sides' rows (UNION ALL, NULL for the other side's columns) and
// groups them again, a sort of at most two rows per group. A FULL JOIN of the two sides is
// what it replaces: SQLite ran it as a nested loop over both, which by account (20,000 groups
// a side) took 35 s for 30 days.
func reportGroupsSQL(d factDim, f rowFilter) string {
	if d.ticket == "" {
		return `SELECT ` + d.key("b") + ` AS key, 0, 0, 0, n AS escalations, tte50, tte90, tta50, tta90,
			acked, returned, unnecessary, resolved, reescalated, insufficient, completeness
		FROM (` + escalationGroupsSQL(d, f) + `) AS eg
		ORDER BY escalations DESC, key`
	}
	return `SELECT ` + d.key("b") + ` AS key, COALESCE(MAX(tn), 0), COALESCE(MAX(tesc), 0), COALESCE(MAX(tbr), 0),
		COALESCE(MAX(n), 0) AS escalations, MAX(tte50), MAX(tte90), MAX(tta50), MAX(tta90),
		COALESCE(MAX(acked), 0), COALESCE(MAX(returned), 0), COALESCE(MAX(unnecessary), 0),
		COALESCE(MAX(resolved), 0), COALESCE(MAX(reescalated), 0), COALESCE(MAX(insufficient), 0),
		COALESCE(MAX(completeness), 0.0)
	FROM (SELECT b, n AS tn, escalated AS tesc, breaches AS tbr, NULL AS n, NULL AS tte50, NULL AS tte90,
			NULL AS tta50, NULL AS tta90, NULL AS acked, NULL AS returned, NULL AS unnecessary, NULL AS resolved,
			NULL AS reescalated, NULL AS insufficient, NULL AS completeness
		FROM (` + ticketGroupsSQL(d, f) + `) AS tg
		UNION ALL
		SELECT b, NULL, NULL, NULL, n, tte50, tte90, tta50, tta90, acked, returned, unnecessary, resolved,
			reescalated, insufficient, completeness
		FROM (` + escalationGroupsSQL(d, f) + `) AS eg) AS g
	GROUP BY b
	ORDER BY escalations DESC, key`
}

// reportValues are the values a report query's {name} parameters stand for.
func reportValues(q store.ReportQuery) map[string]any {
	return map[string]any{
		"transition": q.Transition, "since": ms(q.Since), "until": ms(q.Until), "team": q.Team,
		"frustration": q.HighFrustration, "quick": durMS(q.QuickSolve),
	}
}

var paramName = regexp.MustCompile(`\{([a-z]+)\}`)

// bind numbers the {name} parameters of query ?1, ?2... in order of first use and returns the
// values in that order: a value the query repeats is passed once, and one it does not use is
// not passed at all (database/sql refuses a surplus argument).
func bind(query string, values map[string]any) (string, []any) {
	num := map[string]string{}
	var args []any
	query = paramName.ReplaceAllStringFunc(query, func(p string) string {
		name := p[1 : len(p)-1]
		n, ok := num[name]
		if !ok {
			v, known := values[name]
			if !known {
				panic("report query uses unknown parameter " + p)
			}
			args = append(args, v)
			n = "?" + strconv.Itoa(len(args))
			num[name] = n
		}
		return n
	})
	return query, args
}

// ReportGroups aggregates the facts of q's window by q.GroupBy in one statement.
func (t *tx) ReportGroups(ctx context.Context, q store.ReportQuery) ([]store.ReportGroup, error) {
	d, ok := factDimOf(q.GroupBy)
	if !ok {
		return nil, badGroupBy(q.GroupBy)
	}
	query, args := bind(reportGroupsSQL(d, filterOf(q)), reportValues(q))
	groups, err := list(ctx, t, query, args, scanReportGroup)
	if err != nil {
		return nil, fmt.Errorf("report by %s: %w", q.GroupBy, err)
	}
	return groups, nil
}

func scanReportGroup(s scanner) (store.ReportGroup, error) {
	var (
		g                          store.ReportGroup
		tte50, tte90, tta50, tta90 sql.NullInt64
	)
	err := s.Scan(&g.Key, &g.Tickets, &g.EscalatedTickets, &g.BreachesBeforeEscalation, &g.Escalations, &tte50, &tte90, &tta50, &tta90,
		&g.Acknowledged, &g.Returned, &g.Unnecessary, &g.ResolvedAtTarget, &g.ReEscalated,
		&g.ContextInsufficient, &g.CompletenessSum)
	g.TimeToEscalateP50, g.TimeToEscalateP90 = fromNullDur(tte50), fromNullDur(tte90)
	g.TimeToAckP50, g.TimeToAckP90 = fromNullDur(tta50), fromNullDur(tta90)
	return g, err
}

// outcomesSQL counts the outcome measures of the window's tickets and escalations: two
// single-row aggregates side by side, one scan of each table's window.
func outcomesSQL(f rowFilter) string {
	return `SELECT t.n, t.fcr, t.breached, t.reopened, t.frustrated, e.n, e.unnecessary, e.quick, e.pingpong
	FROM (SELECT COUNT(*) AS n,
			COUNT(*) FILTER (WHERE solved AND escalations = 0 AND reopens = 0) AS fcr,
			COUNT(*) FILTER (WHERE breaches_before_escalation > 0) AS breached,
			COUNT(*) FILTER (WHERE reopened_after_t1_solve) AS reopened,
			COUNT(*) FILTER (WHERE max_frustration >= {frustration} AND escalations = 0) AS frustrated
		FROM (` + ticketRows(`solved, escalations, reopens, breaches_before_escalation,
			reopened_after_t1_solve, max_frustration`, "", f.team) + `) AS tr) AS t,
		(SELECT COUNT(*) AS n,
			COUNT(*) FILTER (WHERE unnecessary) AS unnecessary,
			COUNT(*) FILTER (WHERE resolved_at_target AND resolved_after <= {quick} AND internal_notes = 0) AS quick,
			COUNT(*) FILTER (WHERE ping_pong) AS pingpong
		FROM (` + escalationRows(`unnecessary, resolved_at_target, resolved_after, internal_notes, ping_pong`, "", f) + `) AS er) AS e`
}

// ReportOutcomes counts the window's outcome measures in one statement.
func (t *tx) ReportOutcomes(ctx context.Context, q store.ReportQuery) (*store.Outcomes, error) {
	var o store.Outcomes
	query, args := bind(outcomesSQL(filterOf(q)), reportValues(q))
	err := t.queryRow(ctx, query, args...).Scan(&o.Tickets, &o.FirstContactResolved, &o.BreachedBeforeEscalation,
		&o.ReopenedAfterT1Solve, &o.HighFrustrationUnescalated, &o.Escalations, &o.Unnecessary,
		&o.QuickSolveNoNote, &o.PingPongs)
	if err != nil {
		return nil, fmt.Errorf("report outcomes: %w", err)
	}
	return &o, nil
}

// nearestRank is one evaluation of the aggregate escalated_nearest_rank(value, num, den): the
// value at rank ceil(num*n/den) of the n non-NULL values in ascending order, NULL when there are
// none. It keeps the group's values and sorts them once at the end, which is the sort a window
// function would do, without SQLite's partition buffering.
type nearestRank struct {
	values   []int64
	num, den int64
}

// init registers escalated_nearest_rank with the driver: every connection opened afterwards
// has it, and Open runs after init. The name is ours so that it can never take the place of a
// function SQLite itself provides.
func init() {
	sqlite.MustRegisterFunction("escalated_nearest_rank", &sqlite.FunctionImpl{
		NArgs: 3, Deterministic: true,
		MakeAggregate: func(sqlite.FunctionContext) (sqlite.AggregateFunction, error) { return &nearestRank{}, nil },
	})
}

func (a *nearestRank) Step(_ *sqlite.FunctionContext, args []driver.Value) error {
	if args[0] == nil {
		return nil
	}
	v, ok1 := args[0].(int64)
	num, ok2 := args[1].(int64)
	den, ok3 := args[2].(int64)
	if !ok1 || !ok2 || !ok3 || num < 0 || den <= 0 || num > den {
		return fmt.Errorf("escalated_nearest_rank(%v, %v, %v): want an integer value and a fraction 0 <= num/den <= 1 of integers",
			args[0], args[1], args[2])
	}
	a.values = append(a.values, v)
	a.num, a.den = num, den
	return nil
}

func (a *nearestRank) WindowInverse(*sqlite.FunctionContext, []driver.Value) error {
	return errors.New("escalated_nearest_rank is not a window function")
}

func (a *nearestRank) WindowValue(*sqlite.FunctionContext) (driver.Value, error) {
	n := int64(len(a.values))
	if n == 0 {
		return nil, nil
	}
	slices.Sort(a.values)
	rank := max(1, (a.num*n+a.den-1)/a.den)
	return a.values[rank-1], nil
}

func (a *nearestRank) Final(*sqlite.FunctionContext) {}
