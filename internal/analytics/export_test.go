package analytics

import (
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
)

// FindInput is what Find reads, with exported fields, so that the table tests of the findings
// can sit beside the seed-scenario test in package analytics_test.
type FindInput struct {
	Query        store.ReportQuery
	Options      InsightOptions
	Policy       *policy.Policy
	Transitions  []store.ReportGroup
	ByTransition map[string][]store.ReportGroup
	Agents       []store.ReportGroup
	Targets      []store.ReportGroup
	Accounts     []store.ReportGroup
	Outcomes     *store.Outcomes
}

// FindFrom is Find over in, the zero fields of in.Options taking the defaults.
func FindFrom(in FindInput) []Insight {
	return Find(insightInput{q: in.Query, opts: in.Options.withDefaults(), policy: in.Policy, transitions: in.Transitions,
		byTransition: in.ByTransition, agents: in.Agents, targets: in.Targets, accounts: in.Accounts, outcomes: in.Outcomes})
}
