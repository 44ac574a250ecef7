package ticket

import (
	"slices"
	"strings"
	"testing"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/policy"
)

const scopePolicy = `version: 1
tiers: [{id: t1, level: 1}, {id: t2, level: 2}]
teams:
  - {id: frontline, tier: t1}
  - {id: billing, tier: t2}
  - {id: engineering, tier: t2}
agents:
  - {id: ana, teams: [frontline]}
  - {id: bea, teams: [billing], sees: [frontline, billing]}
  - {id: lead, teams: [frontline], sees: ["*"]}
supervisors:
  - {id: sam, teams: [billing]}
  - {id: sue}
sla: [{id: default, targets: {first_response: 1h}}]
`

func TestScopeOf(t *testing.T) {
	pol, err := policy.Parse("scope.yaml", []byte(scopePolicy))
	if err != nil {
		t.Fatal(err)
	}
	agent := func(id string) escalated.Principal {
		return escalated.Principal{Name: "tok", Role: escalated.RoleAgent, Agent: id}
	}
	for _, c := range []struct {
		name  string
		p     escalated.Principal
		pol   *policy.Policy
		all   bool
		teams []string
		why   string
	}{
		{"agent token", agent("ana"), pol, false, []string{"frontline"}, ""},
		{"console agent", escalated.Principal{Role: escalated.RoleAgent, User: "ana"}, pol, false, []string{"frontline"}, ""},
		{"sees adds, without repeats", agent("bea"), pol, false, []string{"billing", "frontline"}, ""},
		{"sees everything", agent("lead"), pol, true, nil, ""},
		{"agent left the policy", agent("gone"), pol, false, nil, "not in the live policy"},
		{"agent token naming no agent", escalated.Principal{Name: "old", Role: escalated.RoleAgent}, pol, false, nil, "--agent"},
		{"no policy yet", agent("ana"), nil, false, nil, "no policy"},
		{"supervisor token", escalated.Principal{Role: escalated.RoleSupervisor}, pol, true, nil, ""},
		{"console supervisor of billing", escalated.Principal{Role: escalated.RoleSupervisor, User: "sam"}, pol, false, []string{"billing"}, ""},
		{"console supervisor of all", escalated.Principal{Role: escalated.RoleSupervisor, User: "sue"}, pol, true, nil, ""},
		{"admin", escalated.Principal{Role: escalated.RoleAdmin}, pol, true, nil, ""},
		{"readonly", escalated.Principal{Role: escalated.RoleReadonly}, nil, true, nil, ""},
	} {
		sc := ScopeOf(c.p, c.pol)
		if sc.All != c.all || !slices.Equal(sc.Teams, c.teams) || !strings.Contains(sc.Why, c.why) {
			t.Errorf("%s: scope %+v, want all=%v teams=%v why containing %q", c.name, sc, c.all, c.teams, c.why)
		}
	}

	sc := ScopeOf(agent("ana"), pol)
	tk := &escalated.Ticket{ID: "tkt_1", Team: "engineering"}
	if sc.Sees(tk, nil) {
		t.Error("ana sees an engineering ticket with no escalation")
	}
	if !sc.Sees(tk, []*escalated.Escalation{{FromTeam: "frontline", ToTeam: "billing"}, {FromTeam: "billing", ToTeam: "engineering"}}) {
		t.Error("ana does not see a ticket frontline escalated away")
	}
	if !sc.Sees(tk, []*escalated.Escalation{{FromTeam: "billing", ToTeam: "frontline"}}) {
		t.Error("ana does not see a ticket escalated to frontline")
	}
	for _, c := range []struct {
		sc          Scope
		in, want    string
		code, field string
	}{
		{ScopeOf(agent("ana"), pol), "", "frontline", "", ""},
		{ScopeOf(agent("ana"), pol), "frontline", "frontline", "", ""},
		{ScopeOf(agent("ana"), pol), "billing", "", escalated.EFORBIDDEN, ""},
		{ScopeOf(agent("bea"), pol), "", "", escalated.EINVALID, "team"},
		{ScopeOf(agent("bea"), pol), "frontline", "frontline", "", ""},
		{ScopeOf(agent("lead"), pol), "", "", "", ""},
		{ScopeOf(agent("gone"), pol), "frontline", "", escalated.EFORBIDDEN, ""},
	} {
		got, err := c.sc.team("team", c.in)
		if got != c.want || escalated.ErrorCode(err) != c.code || (c.field != "" && escalated.ErrorFields(err)[c.field] == "") {
			t.Errorf("%s team(%q) = %q, %v; want %q, code %q", c.sc.Person, c.in, got, err, c.want, c.code)
		}
	}
}
