package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
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

// Days and ISO weeks group on the instant that starts the day or the week, not on the key's
// text: the key is formatted once per group instead of once per row. dialect: date_bin on the
// absolute time line from a UTC midnight, a Monday for weeks (SQLite: integer arithmetic on
// unix milliseconds), and to_char's ISO year and week of the UTC start (SQLite: strftime's
// %G-W%V). date_bin is integer arithmetic: date_trunc of created_at AT TIME ZONE 'UTC' made the
// whole 30-day report by day twice as slow.
const (
	sqlDay  = `date_bin('1 day', created_at, '2000-01-03 00:00:00+00')`
	sqlWeek = `date_bin('7 days', created_at, '2000-01-03 00:00:00+00')`
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
			return `to_char(` + b + ` AT TIME ZONE 'UTC', 'YYYY-MM-DD')`
		}}, true
	case store.GroupWeek:
		return factDim{ticket: sqlWeek, esc: sqlWeek, key: func(b string) string {
			return `to_char(` + b + ` AT TIME ZONE 'UTC', 'IYYY-"W"IW')`
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
// ascending order, NULLs (not acknowledged) left out. dialect: percentile_disc (SQLite: the
// aggregate escalated_nearest_rank). percentile_disc takes rank ceil(p*n) with p*n in floating
// point, and for 0.5 and 0.9 that is ceil(n/2) and ceil(9n/10) exactly, the ranks SQLite
// computes in integers: 0.5*n is exact, and the double nearest 0.9 exceeds it by less than
// 2.3e-17, so 0.9*n exceeds 9n/10 by less than 2.3e-17*n, under half the spacing of doubles
// near 9n/10 (at least 5e-17*n): when 9n/10 is an integer the product rounds to it, and when it
// is not, it is at least 0.1 from one. The ordered-set aggregate sorts each group's values
// alone, as bare integers; ROW_NUMBER() OVER (PARTITION BY b ORDER BY v) sorting whole rows
// twice took 3 to 4 times as long here (see BenchmarkReportGroups).
func escalationGroupsSQL(d factDim, f rowFilter) string {
	return `SELECT b, count(*) AS n,
		percentile_disc(0.5) WITHIN GROUP (ORDER BY tte) AS tte50,
		percentile_disc(0.9) WITHIN GROUP (ORDER BY tte) AS tte90,
		percentile_disc(0.5) WITHIN GROUP (ORDER BY tta) AS tta50,
		percentile_disc(0.9) WITHIN GROUP (ORDER BY tta) AS tta90,
		count(*) FILTER (WHERE acked) AS acked,
		count(*) FILTER (WHERE returned) AS returned,
		count(*) FILTER (WHERE unnecessary) AS unnecessary,
		count(*) FILTER (WHERE resolved_at_target) AS resolved,
		count(*) FILTER (WHERE re_escalated) AS reescalated,
		count(*) FILTER (WHERE context_insufficient) AS insufficient,
		sum(completeness) AS completeness
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
// groups with tickets and no escalations are there too, in the report's order. dialect: keys
// are COLLATE "C", so that they sort as bytes, as SQLite's BINARY collation does, whatever the
// database's locale.
//
// The merge stacks the two sides' rows (UNION ALL, NULL for the other side's columns) and
// groups them again, as the SQLite store does, where a FULL JOIN of the two sides ran as a
// nested loop (35 s by account); here a hash or merge join would do, but one shape for both
// stores is one thing to get right.
func reportGroupsSQL(d factDim, f rowFilter) string {
	if d.ticket == "" {
		return `SELECT (` + d.key("b") + `) COLLATE "C" AS key, 0, 0, 0, n AS escalations, tte50, tte90, tta50, tta90,
			acked, returned, unnecessary, resolved, reescalated, insufficient, completeness
		FROM (` + escalationGroupsSQL(d, f) + `) AS eg
		ORDER BY escalations DESC, key`
	}
	return `SELECT (` + d.key("b") + `) COLLATE "C" AS key, COALESCE(MAX(tn), 0), COALESCE(MAX(tesc), 0), COALESCE(MAX(tbr), 0),
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
		"transition": q.Transition, "since": ts(q.Since), "until": ts(q.Until), "team": q.Team,
		"frustration": q.HighFrustration, "quick": durMS(q.QuickSolve),
	}
}

var paramName = regexp.MustCompile(`\{([a-z]+)\}`)

// bind numbers the {name} parameters of query $1, $2... in order of first use and returns the
// values in that order: a value the query repeats is passed once, and one it does not use is
// not passed at all (pgx refuses a surplus argument). dialect: $n (SQLite: ?n).
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
			n = "$" + strconv.Itoa(len(args))
			num[name] = n
		}
		return n
	})
	return query, args
}

// noJIT turns JIT compilation off for the rest of the transaction. dialect: SQLite has no JIT.
// The planner cannot estimate how many groups a GROUP BY on an expression makes (days, weeks)
// and assumes one per row, so a report's estimated cost passes jit_above_cost, and compiling it
// took longer than running it: 350 ms instead of 160 ms for a 30-day report by day here.
func (t *tx) noJIT(ctx context.Context) error {
	_, err := t.exec(ctx, "SET LOCAL jit = off")
	return interpretError(err)
}

// ReportGroups aggregates the facts of q's window by q.GroupBy in one statement.
func (t *tx) ReportGroups(ctx context.Context, q store.ReportQuery) ([]store.ReportGroup, error) {
	d, ok := factDimOf(q.GroupBy)
	if !ok {
		return nil, badGroupBy(q.GroupBy)
	}
	if err := t.noJIT(ctx); err != nil {
		return nil, fmt.Errorf("report by %s: %w", q.GroupBy, err)
	}
	query, args := bind(reportGroupsSQL(d, filterOf(q)), reportValues(q))
	groups, err := list(ctx, t, query, args, scanReportGroup)
	if err != nil {
		return nil, fmt.Errorf("report by %s: %w", q.GroupBy, interpretError(err))
	}
	return groups, nil
}

func scanReportGroup(s scanner) (store.ReportGroup, error) {
	var (
		g                          store.ReportGroup
		tte50, tte90, tta50, tta90 *int64
	)
	err := s.Scan(&g.Key, &g.Tickets, &g.EscalatedTickets, &g.BreachesBeforeEscalation, &g.Escalations, &tte50, &tte90, &tta50, &tta90,
		&g.Acknowledged, &g.Returned, &g.Unnecessary, &g.ResolvedAtTarget, &g.ReEscalated,
		&g.ContextInsufficient, &g.CompletenessSum)
	g.TimeToEscalateP50, g.TimeToEscalateP90 = fromMSDur(tte50), fromMSDur(tte90)
	g.TimeToAckP50, g.TimeToAckP90 = fromMSDur(tta50), fromMSDur(tta90)
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
	if err := t.noJIT(ctx); err != nil {
		return nil, fmt.Errorf("report outcomes: %w", err)
	}
	query, args := bind(outcomesSQL(filterOf(q)), reportValues(q))
	err := t.queryRow(ctx, query, args...).Scan(&o.Tickets, &o.FirstContactResolved, &o.BreachedBeforeEscalation,
		&o.ReopenedAfterT1Solve, &o.HighFrustrationUnescalated, &o.Escalations, &o.Unnecessary,
		&o.QuickSolveNoNote, &o.PingPongs)
	if err != nil {
		return nil, fmt.Errorf("report outcomes: %w", interpretError(err))
	}
	return &o, nil
}
