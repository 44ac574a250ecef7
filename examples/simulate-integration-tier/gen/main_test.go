package main

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/history"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/signals"
)

// The example's files, from this package's directory.
const (
	committed = "../history.jsonl"
	baseline  = "../baseline.yaml"
	draft     = "../draft.yaml"
	regen     = "go run ./examples/simulate-integration-tier/gen -out examples/simulate-integration-tier/history.jsonl"
)

func generated(t *testing.T, tickets int, seed uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := generate(&buf, tickets, seed); err != nil {
		t.Fatalf("generate %d tickets, seed %d: %v", tickets, seed, err)
	}
	return buf.Bytes()
}

func read(t *testing.T, b []byte) []history.Event {
	t.Helper()
	evs, err := history.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("history.Read refuses the history: %v", err)
	}
	return evs
}

func parse(t *testing.T, path string) *policy.Policy {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse(path, src)
	if err != nil {
		t.Fatalf("%s does not parse:\n%v", path, err)
	}
	return p
}

// The committed file must be what the generator writes, or regenerating it for an unrelated
// change would silently change the example's numbers.
func TestGeneratorIsDeterministic(t *testing.T) {
	a := generated(t, defaultTickets, defaultSeed)
	if b := generated(t, defaultTickets, defaultSeed); !bytes.Equal(a, b) {
		t.Fatal("two runs with the same seed wrote different histories")
	}
	if c := generated(t, defaultTickets, defaultSeed+1); bytes.Equal(a, c) {
		t.Fatal("another seed wrote the same history: the seed is not used")
	}
	file, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, a) {
		t.Fatalf("history.jsonl is not what the generator writes with its defaults; regenerate it:\n\t%s", regen)
	}
	if len(file) > 3<<20 {
		t.Errorf("history.jsonl is %d bytes; keep the committed example under 3 MiB", len(file))
	}
	evs := read(t, file)
	opened := 0
	for _, e := range evs {
		if e.Type == history.TicketCreated {
			opened++
		}
	}
	if opened != defaultTickets {
		t.Errorf("history.jsonl opens %d tickets, want %d", opened, defaultTickets)
	}
}

func TestTooFewTicketsIsRefused(t *testing.T) {
	if _, err := generate(&bytes.Buffer{}, minTickets-1, 1); err == nil {
		t.Fatal("generate accepted fewer tickets than the quotas need")
	}
}

// The scenario's number: of the escalations frontline agents make to a higher tier, 35% are
// API integration questions, counted the way a report would, from the policy's tiers.
func TestAPIShareOfTier1ManualEscalations(t *testing.T) {
	pol := parse(t, baseline)
	level := func(team string) int {
		tier, ok := pol.TierOfTeam(team)
		if !ok {
			t.Fatalf("team %q is not in baseline.yaml", team)
		}
		return tier.Level
	}
	for _, c := range []struct {
		tickets int
		seed    uint64
	}{{defaultTickets, defaultSeed}, {500, 7}, {777, 42}, {2000, 3}} {
		t.Run(fmt.Sprintf("%d tickets seed %d", c.tickets, c.seed), func(t *testing.T) {
			issue := map[string]string{}
			manual, api := 0, 0
			for _, e := range read(t, generated(t, c.tickets, c.seed)) {
				switch e.Type {
				case history.TicketCreated:
					issue[e.Ticket] = e.New.IssueType
				case history.EscalationCreated:
					if (e.Trigger == "" || e.Trigger == string(escalated.TriggerManual)) && level(e.From) == 1 && level(e.To) > 1 {
						manual++
						if issue[e.Ticket] == apiIntegration {
							api++
						}
					}
				}
			}
			share := float64(api) / float64(manual)
			if share < 0.34 || share > 0.36 {
				t.Errorf("API integration is %.1f%% (%d of %d) of tier-1 manual escalations, want 35%% ±1 point", 100*share, api, manual)
			}
			if want := int(float64(c.tickets)*manualRate + 0.5); manual != want {
				t.Errorf("%d tier-1 manual escalations, want %d (%.0f%% of tickets)", manual, want, 100*manualRate)
			}
		})
	}
}

// Both policies must load (policy check is policy.Parse), lint clean, and say what the README
// says: Frontline reaches Engineering directly today; under the draft only through tier 2, with
// Integrations at tier 2 the team next_tier picks for an integration question.
func TestPolicies(t *testing.T) {
	base, dr := parse(t, baseline), parse(t, draft)
	for name, p := range map[string]*policy.Policy{"baseline.yaml": base, "draft.yaml": dr} {
		for _, w := range p.Warnings {
			t.Errorf("%s: lint warning: %v", name, w)
		}
	}
	if !base.Allowed("frontline", "engineering", "") {
		t.Error("baseline.yaml: frontline cannot escalate to engineering")
	}
	if _, ok := base.Team("integrations"); ok {
		t.Error("baseline.yaml already has an integrations team")
	}
	if tier, ok := dr.TierOfTeam("integrations"); !ok || tier.Level != 2 {
		t.Fatalf("draft.yaml: integrations is not a tier-2 team (%v, %v)", tier, ok)
	}
	if dr.Allowed("frontline", "engineering", "") || !dr.Allowed("frontline", "integrations", "") || !dr.Allowed("integrations", "engineering", "") {
		t.Error("draft.yaml: want frontline -> integrations -> engineering and no frontline -> engineering")
	}
	// Everything the history names must mean the same under the draft, or the replay would
	// compare different desks.
	for _, a := range base.Agents {
		if d, ok := dr.Agent(a.ID); !ok || !slices.Equal(d.Teams, a.Teams) || d.Capacity != a.Capacity {
			t.Errorf("agent %s differs between the policies", a.ID)
		}
	}
}

// Every team and agent the history names exists in baseline.yaml, and every agent acts for a
// team they are in: the escalating agent for the team escalating, the receiving agent for the
// team escalated to. Customers keep to their account.
func TestHistoryNamesBaselinePeople(t *testing.T) {
	pol := parse(t, baseline)
	agent := func(id, what string) {
		t.Helper()
		if _, ok := pol.Agent(id); !ok {
			t.Fatalf("%s names agent %q, who is not in baseline.yaml", what, id)
		}
	}
	team := func(id, what string) {
		t.Helper()
		if _, ok := pol.Team(id); !ok {
			t.Fatalf("%s names team %q, which is not in baseline.yaml", what, id)
		}
	}
	member := func(id, teamID, what string) {
		t.Helper()
		agent(id, what)
		if !slices.Contains(pol.TeamsOfAgent(id), teamID) {
			t.Fatalf("%s: agent %s acts for team %s without being in it", what, id, teamID)
		}
	}
	escs := map[string][]history.Event{}
	accountOf := map[string]string{} // customer -> account: a person writes for one shop
	for _, e := range read(t, generated(t, defaultTickets, defaultSeed)) {
		what := e.Ticket + " " + e.Type
		if e.New != nil && e.New.Team != "" {
			team(e.New.Team, what)
		}
		if n := e.New; n != nil {
			if a, ok := accountOf[n.Customer.ID]; ok && a != n.Account.ID {
				t.Fatalf("%s: customer %s writes for accounts %s and %s", what, n.Customer.ID, a, n.Account.ID)
			}
			accountOf[n.Customer.ID] = n.Account.ID
		}
		if m := e.Message; m != nil && m.Author.Kind == escalated.AuthorAgent {
			agent(m.Author.ID, what)
			if a, _ := pol.Agent(m.Author.ID); m.Author.Name != a.Name {
				t.Fatalf("%s: agent %s is called %q, baseline.yaml says %q", what, m.Author.ID, m.Author.Name, a.Name)
			}
		}
		if u := e.Update; u != nil && u.Assignee != nil && *u.Assignee != "" {
			agent(*u.Assignee, what)
		}
		switch e.Type {
		case history.EscalationCreated:
			team(e.From, what)
			team(e.To, what)
			if e.By != "" {
				member(e.By, e.From, what)
			}
			escs[e.Ticket] = append(escs[e.Ticket], e)
		case history.EscalationAcknowledged, history.EscalationReturned, history.EscalationResolved:
			member(e.By, escs[e.Ticket][e.Escalation-1].To, what)
		default:
			if e.By != "" {
				agent(e.By, what)
			}
		}
	}
}

// The history must be one baseline.yaml could have recorded: its keyword lists hit the tickets
// they are meant for and no others, the rules' escalations are where their conditions held and
// nowhere else, and manual notes pass note_min_length with room to spare.
func TestHistoryIsWhatBaselineWouldRecord(t *testing.T) {
	pol := parse(t, baseline)
	cfg := signals.Config{WantsHuman: pol.Signals.WantsHuman, Profanity: pol.Signals.Profanity}
	for _, k := range pol.Signals.Keywords {
		cfg.Keywords = append(cfg.Keywords, signals.KeywordList{ID: k.ID, Phrases: k.Phrases})
	}
	x, err := signals.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var (
		issue    = map[string]string{}
		teamOf   = map[string]string{}
		contacts = map[string]int{}
		apiHit   = map[string]bool{} // signals.keywords holds "api"
		due      = map[string]time.Time{}
		escs     = map[string][]history.Event{}
		rules    = map[string]int{}
	)
	for _, e := range read(t, generated(t, defaultTickets, defaultSeed)) {
		id := e.Ticket
		if e.Type == history.TicketCreated {
			issue[id], teamOf[id] = e.New.IssueType, pol.IntakeTeam()
		}
		if m := e.Message; m != nil && m.Author.Kind == escalated.AuthorCustomer {
			kw := x.Message(m.Body).Keywords
			api, dispute := slices.Contains(kw, "api"), slices.Contains(kw, "billing_dispute")
			switch {
			case api && issue[id] != apiIntegration:
				t.Errorf("%s (%s): a customer message hits the api keyword list: %q", id, issue[id], m.Body)
			case !api && e.Type == history.TicketCreated && issue[id] == apiIntegration:
				t.Errorf("%s: an integration question whose first message misses the api keyword list: %q", id, m.Body)
			case dispute && issue[id] != billingDispute:
				t.Errorf("%s (%s): a customer message hits the billing_dispute list: %q", id, issue[id], m.Body)
			}
			apiHit[id] = apiHit[id] || api
			contacts[id]++
			// integration-unsolved's condition; the live policy escalated at this very moment.
			if teamOf[id] == "frontline" && contacts[id] >= 3 && (issue[id] == apiIntegration || apiHit[id]) {
				due[id] = e.At
			}
		}
		switch e.Type {
		case history.EscalationCreated:
			escs[id] = append(escs[id], e)
			teamOf[id] = e.To
			switch e.Trigger {
			case "", string(escalated.TriggerManual):
				if n := len(strings.TrimSpace(e.Note)); n < 60 || n < pol.Escalation.NoteMinLength {
					t.Errorf("%s: a manual escalation note of %d characters: %q", id, n, e.Note)
				}
			case string(escalated.TriggerRule):
				rules[e.Rule]++
				switch e.Rule {
				case "integration-unsolved":
					if !due[id].Equal(e.At) {
						t.Errorf("%s: integration-unsolved recorded at %s, where its condition does not hold", id, e.At)
					}
					delete(due, id)
				case "billing-dispute":
					if issue[id] != billingDispute || contacts[id] != 1 {
						t.Errorf("%s (%s): billing-dispute recorded after %d customer messages, want on the first", id, issue[id], contacts[id])
					}
				default:
					t.Errorf("%s: escalation by rule %q, which the generator does not model", id, e.Rule)
				}
			default:
				t.Errorf("%s: escalation with trigger %q", id, e.Trigger)
			}
		case history.EscalationReturned:
			teamOf[id] = escs[id][e.Escalation-1].From
		}
	}
	for id, at := range due {
		t.Errorf("%s: integration-unsolved's condition held at %s but the history records no escalation", id, at)
	}
	if rules["integration-unsolved"] == 0 || rules["billing-dispute"] == 0 {
		t.Errorf("rule escalations %v: want both integration-unsolved and billing-dispute", rules)
	}
}

// People act in office hours (the policies' berlin-office calendar); only customers, the rules
// and the help desk's automation act at night.
func TestAgentsWorkOfficeHours(t *testing.T) {
	for _, e := range read(t, generated(t, defaultTickets, defaultSeed)) {
		agentActs := e.By != "" || (e.Message != nil && e.Message.Author.Kind == escalated.AuthorAgent)
		if !agentActs {
			continue
		}
		l := e.At.In(berlin)
		if !workday(l) || l.Hour() < openHour || l.Hour() >= closeHour {
			t.Fatalf("%s %s at %s (%s Berlin): an agent acting outside office hours", e.Ticket, e.Type,
				escalated.FormatTime(e.At), l.Format("Mon 15:04"))
		}
	}
}

func TestWork(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		from string
		d    time.Duration
		want string
	}{
		{"2026-10-01 09:00", 30 * time.Minute, "2026-10-01 09:30"},
		{"2026-10-01 17:45", 30 * time.Minute, "2026-10-02 08:15"}, // Thursday evening to Friday
		{"2026-10-02 17:30", time.Hour, "2026-10-05 08:30"},        // Friday to Monday
		{"2026-10-03 11:00", 0, "2026-10-05 08:00"},                // Saturday, a holiday too
		{"2026-10-23 17:00", 2 * time.Hour, "2026-10-26 09:00"},    // over the end of summer time
		{"2026-10-01 03:00", 10 * time.Hour, "2026-10-02 08:00"},   // one whole office day
	} {
		if got := work(at(c.from), c.d); !got.Equal(at(c.want)) {
			t.Errorf("work(%s, %s) = %s, want %s", c.from, c.d, got.In(berlin).Format("2006-01-02 15:04"), c.want)
		}
	}
}
