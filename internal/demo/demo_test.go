package demo

import (
	"bytes"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // calendars name IANA zones; do not depend on the host's zoneinfo

	"go.yaml.in/yaml/v3"
)

// demoPolicy is the part of the policy format these tests read. Decoding with KnownFields keeps
// a misspelt key in policy.yaml from going unnoticed.
type demoPolicy struct {
	Version     int    `yaml:"version"`
	Intake      string `yaml:"intake"`
	Supervisors []struct {
		ID    string   `yaml:"id"`
		Name  string   `yaml:"name"`
		Teams []string `yaml:"teams"`
		Email string   `yaml:"email"`
	} `yaml:"supervisors"`
	Calendars []struct {
		ID       string            `yaml:"id"`
		Timezone string            `yaml:"timezone"`
		Hours    map[string]string `yaml:"hours"`
		Holidays []string          `yaml:"holidays"`
	} `yaml:"calendars"`
	Tiers []struct {
		ID    string `yaml:"id"`
		Name  string `yaml:"name"`
		Level int    `yaml:"level"`
	} `yaml:"tiers"`
	Teams []struct {
		ID       string   `yaml:"id"`
		Name     string   `yaml:"name"`
		Tier     string   `yaml:"tier"`
		Calendar string   `yaml:"calendar"`
		Kind     string   `yaml:"kind"`
		Skills   []string `yaml:"skills"`
		Accounts []string `yaml:"accounts"`
	} `yaml:"teams"`
	Agents []struct {
		ID        string   `yaml:"id"`
		Name      string   `yaml:"name"`
		Teams     []string `yaml:"teams"`
		Skills    []string `yaml:"skills"`
		Languages []string `yaml:"languages"`
		Capacity  int      `yaml:"capacity"`
		Status    string   `yaml:"status"`
	} `yaml:"agents"`
	Paths []struct {
		From oneOrMany `yaml:"from"`
		To   []string  `yaml:"to"`
	} `yaml:"paths"`
	Escalation struct {
		NoteMinLength         int      `yaml:"note_min_length"`
		RequiredPackageFields []string `yaml:"required_package_fields"`
		MaxPerTicket          int      `yaml:"max_per_ticket"`
	} `yaml:"escalation"`
	SLA []struct {
		ID      string            `yaml:"id"`
		When    string            `yaml:"when"`
		Targets map[string]string `yaml:"targets"`
		WarnAt  float64           `yaml:"warn_at"`
	} `yaml:"sla"`
	Signals struct {
		Keywords map[string][]string `yaml:"keywords"`
	} `yaml:"signals"`
	Rules []struct {
		ID   string           `yaml:"id"`
		On   []string         `yaml:"on"`
		When string           `yaml:"when"`
		Do   []map[string]any `yaml:"do"`
	} `yaml:"rules"`
	Channels []struct {
		ID        string   `yaml:"id"`
		Type      string   `yaml:"type"`
		URL       string   `yaml:"url"`
		To        []string `yaml:"to"`
		SecretEnv string   `yaml:"secret_env"`
		Events    []string `yaml:"events"`
	} `yaml:"channels"`
}

// oneOrMany is a path's `from`: one team id or a list of them.
type oneOrMany []string

func (o *oneOrMany) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*o = []string{n.Value}
		return nil
	}
	var s []string
	err := n.Decode(&s)
	*o = s
	return err
}

func loadPolicy(t *testing.T) *demoPolicy {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(Policy()))
	dec.KnownFields(true)
	var p demoPolicy
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("policy.yaml: %v", err)
	}
	return &p
}

func (p *demoPolicy) teamIDs() map[string]bool {
	m := map[string]bool{}
	for _, tm := range p.Teams {
		m[tm.ID] = true
	}
	return m
}

// members returns the agent ids of a team.
func (p *demoPolicy) members(team string) []string {
	var ids []string
	for _, a := range p.Agents {
		if slices.Contains(a.Teams, team) {
			ids = append(ids, a.ID)
		}
	}
	return ids
}

// allowed reports whether a path entry allows moving from one team to another.
func (p *demoPolicy) allowed(from, to string) bool {
	for _, path := range p.Paths {
		if slices.Contains(path.From, from) && slices.Contains(path.To, to) {
			return true
		}
	}
	return false
}

func (p *demoPolicy) accountTeam() []string {
	for _, tm := range p.Teams {
		if tm.Kind == "account_team" {
			return tm.Accounts
		}
	}
	return nil
}

func TestPolicyShape(t *testing.T) {
	t.Parallel()
	p := loadPolicy(t)
	if p.Version != 1 || p.Intake != "frontline" {
		t.Errorf("version %d intake %q, want 1 and frontline", p.Version, p.Intake)
	}

	cals := map[string]bool{}
	for _, c := range p.Calendars {
		cals[c.ID] = true
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			t.Errorf("calendar %s: %v", c.ID, err)
		}
		for _, h := range c.Holidays {
			d, err := time.Parse(time.DateOnly, h)
			if err != nil || (d.Year() != 2026 && d.Year() != 2027) {
				t.Errorf("calendar %s: holiday %q is not a 2026 or 2027 date", c.ID, h)
			}
		}
	}
	for _, id := range []string{"eu-business", "us-business", "always"} {
		if !cals[id] {
			t.Errorf("calendar %s missing", id)
		}
	}

	tiers := map[string]int{}
	for _, tr := range p.Tiers {
		tiers[tr.ID] = tr.Level
	}
	if tiers["t1"] != 1 || tiers["t2"] != 2 || tiers["t3"] != 3 || len(tiers) != 3 {
		t.Errorf("tiers = %v, want t1..t3 at levels 1..3", tiers)
	}

	teams := p.teamIDs()
	if len(teams) != 5 || len(p.Teams) != 5 {
		t.Errorf("want 5 distinct teams, got %d", len(p.Teams))
	}
	kinds := map[string]int{}
	for _, tm := range p.Teams {
		if _, ok := tiers[tm.Tier]; !ok {
			t.Errorf("team %s: unknown tier %q", tm.ID, tm.Tier)
		}
		if !cals[tm.Calendar] {
			t.Errorf("team %s: unknown calendar %q", tm.ID, tm.Calendar)
		}
		if len(p.members(tm.ID)) == 0 {
			t.Errorf("team %s has no agents", tm.ID)
		}
		kinds[tm.Tier+"/"+tm.Kind]++
	}
	if kinds["t1/"] != 1 || kinds["t3/"] != 1 || kinds["t2/account_team"] != 1 {
		t.Errorf("team layout %v, want one t1 team, one t3 team and one t2 account team", kinds)
	}
	if !teams["frontline"] || !teams["billing"] || !teams["engineering"] || !teams["enterprise-desk"] {
		t.Errorf("teams %v lack one of frontline, billing, engineering, enterprise-desk", teams)
	}

	agents := map[string]bool{}
	for _, a := range p.Agents {
		if agents[a.ID] {
			t.Errorf("agent %s defined twice", a.ID)
		}
		agents[a.ID] = true
		for _, tm := range a.Teams {
			if !teams[tm] {
				t.Errorf("agent %s: unknown team %q", a.ID, tm)
			}
		}
		if !slices.Contains(a.Languages, "en") || a.Capacity <= 0 || a.Name == "" {
			t.Errorf("agent %s: needs a name, English and a positive capacity", a.ID)
		}
	}
	if n := len(p.Agents); n < 10 || n > 14 {
		t.Errorf("%d agents, want about a dozen", n)
	}

	for _, path := range p.Paths {
		for _, id := range append(slices.Clone([]string(path.From)), path.To...) {
			if !teams[id] {
				t.Errorf("path %v -> %v: unknown team %q", path.From, path.To, id)
			}
		}
	}
	for _, to := range []string{"billing", "enterprise-desk"} {
		if !p.allowed("frontline", to) {
			t.Errorf("no path frontline -> %s", to)
		}
	}
	if !p.allowed("billing", "engineering") {
		t.Error("no path billing -> engineering")
	}

	e := p.Escalation
	if e.NoteMinLength != 20 || e.MaxPerTicket != 5 || !slices.Equal(e.RequiredPackageFields, []string{"original_message", "account", "note"}) {
		t.Errorf("escalation settings %+v differ from the brief", e)
	}

	channels := map[string]bool{}
	for _, c := range p.Channels {
		channels[c.ID] = true
		if c.URL != "" {
			u, err := url.Parse(c.URL)
			if err != nil || u.Scheme != "https" || !strings.HasSuffix(u.Hostname(), ".example.test") {
				t.Errorf("channel %s: url %q must be https on a *.example.test host", c.ID, c.URL)
			}
		}
		for _, to := range c.To {
			if !strings.HasSuffix(to, "@example.test") {
				t.Errorf("channel %s: address %q must be @example.test", c.ID, to)
			}
		}
	}
	for _, r := range p.Rules {
		for _, action := range r.Do {
			if n, ok := action["notify"].(map[string]any); ok && !channels[n["channel"].(string)] {
				t.Errorf("rule %s notifies unknown channel %v", r.ID, n["channel"])
			}
			if esc, ok := action["escalate"].(map[string]any); ok {
				if to := esc["to"].(string); to != "next_tier" && !teams[to] {
					t.Errorf("rule %s escalates to unknown team %q", r.ID, to)
				}
			}
		}
	}
	for _, list := range []string{"legal", "churn", "fraud"} {
		if len(p.Signals.Keywords[list]) == 0 {
			t.Errorf("signals.keywords.%s is empty", list)
		}
	}
	if len(p.SLA) == 0 || p.SLA[len(p.SLA)-1].When != "" {
		t.Error("sla must end with a catch-all plan (no when)")
	}
}

func TestPolicyIsACopy(t *testing.T) {
	t.Parallel()
	p := Policy()
	p[0] = 'X'
	if Policy()[0] == 'X' {
		t.Fatal("Policy() hands out the embedded bytes")
	}
}

func TestTickets(t *testing.T) {
	t.Parallel()
	p := loadPolicy(t)
	ts, err := Tickets()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ts); n < 200 || n > 400 {
		t.Fatalf("%d tickets, want 200..400", n)
	}

	agentTeams := map[string][]string{}
	for _, a := range p.Agents {
		agentTeams[a.ID] = a.Teams
	}
	teams := p.teamIDs()
	enterpriseDesk := p.accountTeam()
	categories := []string{"account", "cancellation_fee", "contact", "delivery", "feedback", "invoice", "newsletter", "order", "payment", "refund", "shipping_address"}
	// Phrases that make a policy rule escalate by itself; such tickets must not also carry a
	// manual escalation, or replaying them would escalate twice.
	var ruleWords []string
	ruleWords = append(ruleWords, p.Signals.Keywords["legal"]...)
	ruleWords = append(ruleWords, p.Signals.Keywords["fraud"]...)

	accounts := map[string]Account{}
	customers := map[string]Customer{}
	escalations, enterprise, ruleDriven := 0, 0, 0
	for i, tk := range ts {
		at := fmt.Sprintf("tickets.jsonl line %d (%q)", i+1, tk.Subject)
		if prev, ok := accounts[tk.Account.ID]; ok && prev != tk.Account {
			t.Errorf("%s: account %s differs from an earlier ticket's: %+v vs %+v", at, tk.Account.ID, tk.Account, prev)
		}
		accounts[tk.Account.ID] = tk.Account
		if prev, ok := customers[tk.Customer.ID]; ok && prev != tk.Customer {
			t.Errorf("%s: customer %s differs from an earlier ticket's", at, tk.Customer.ID)
		}
		customers[tk.Customer.ID] = tk.Customer
		if _, err := mail.ParseAddress(tk.Customer.Email); err != nil {
			t.Errorf("%s: customer email: %v", at, err)
		}
		if !slices.Contains(categories, tk.Category) || len(tk.Tags) == 0 || tk.Tags[0] != tk.Category {
			t.Errorf("%s: category %q / tags %v, want a Bitext category first in tags", at, tk.Category, tk.Tags)
		}
		if tk.IssueType == "" || tk.Language != "en" {
			t.Errorf("%s: issue_type %q language %q", at, tk.IssueType, tk.Language)
		}
		if tk.AgeMinutes > 14*24*60 {
			t.Errorf("%s: %d minutes old, want within 14 days", at, tk.AgeMinutes)
		}
		if i > 0 && tk.AgeMinutes > ts[i-1].AgeMinutes {
			t.Errorf("%s: tickets are not oldest first", at)
		}
		switch tk.Account.Tier {
		case "enterprise":
			enterprise++
			if !slices.Contains(enterpriseDesk, tk.Account.ID) {
				t.Errorf("%s: enterprise account %s is not served by the account team", at, tk.Account.ID)
			}
		case "free", "pro":
		default:
			t.Errorf("%s: account tier %q", at, tk.Account.Tier)
		}
		if r := tk.Account.Attributes.Region; r != "eu" && r != "us" && r != "apac" {
			t.Errorf("%s: region %q", at, r)
		}

		var customerText strings.Builder
		for j, m := range tk.Messages {
			if strings.TrimSpace(m.Body) == "" {
				t.Errorf("%s: message %d is empty", at, j)
			}
			if strings.Contains(m.Body, "{{") || strings.Contains(m.Body, "}}") {
				t.Errorf("%s: message %d keeps a Bitext placeholder: %q", at, j, m.Body)
			}
			switch m.Author.Kind {
			case "agent":
				// The reply comes from the team the ticket is in: the intake team.
				if !slices.Contains(agentTeams[m.Author.ID], p.Intake) {
					t.Errorf("%s: message %d by %q, not a %s agent", at, j, m.Author.ID, p.Intake)
				}
			case "customer":
				customerText.WriteString(strings.ToLower(m.Body) + "\n")
			}
		}
		if strings.Contains(tk.Subject, "{") {
			t.Errorf("%s: subject keeps a placeholder", at)
		}
		trips := tk.Account.Tier == "enterprise" && tk.Priority == "urgent"
		for _, w := range ruleWords {
			trips = trips || strings.Contains(customerText.String(), strings.ToLower(w))
		}
		if trips {
			ruleDriven++
		}

		e := tk.Escalate
		if e == nil {
			continue
		}
		escalations++
		if trips {
			t.Errorf("%s: a policy rule escalates this ticket by itself, yet it carries a manual escalation", at)
		}
		if !teams[e.To] || !p.allowed(p.Intake, e.To) {
			t.Errorf("%s: escalate.to %q is not reachable from %s by a path", at, e.To, p.Intake)
		}
		if e.To == "enterprise-desk" && !slices.Contains(enterpriseDesk, tk.Account.ID) {
			t.Errorf("%s: escalated to the account team, which does not serve %s", at, tk.Account.ID)
		}
		if !slices.Contains(agentTeams[e.By], p.Intake) {
			t.Errorf("%s: escalate.by %q is not a %s agent", at, e.By, p.Intake)
		}
		if len([]rune(e.Note)) < p.Escalation.NoteMinLength || strings.Contains(e.Note, "{") {
			t.Errorf("%s: note %q is shorter than %d characters or keeps a placeholder", at, e.Note, p.Escalation.NoteMinLength)
		}
	}

	share := float64(escalations) / float64(len(ts))
	if share < 0.20 || share > 0.45 {
		t.Errorf("escalated share %.2f (%d of %d), want 0.20..0.45", share, escalations, len(ts))
	}
	if share := float64(enterprise) / float64(len(ts)); share < 0.05 || share > 0.25 {
		t.Errorf("enterprise ticket share %.2f, want 0.05..0.25", share)
	}
	if ruleDriven == 0 {
		t.Error("no ticket trips a policy rule; the demo should show rule-driven escalations too")
	}
	if n := len(accounts); n < 30 || n > 50 {
		t.Errorf("%d accounts, want about 40", n)
	}
	var entAccounts []string
	for id, a := range accounts {
		if a.Tier == "enterprise" {
			entAccounts = append(entAccounts, id)
		}
	}
	slices.Sort(entAccounts)
	served := slices.Sorted(slices.Values(enterpriseDesk))
	if !slices.Equal(entAccounts, served) {
		t.Errorf("enterprise accounts in tickets %v, enterprise-desk serves %v; want the same", entAccounts, served)
	}
	if share := float64(len(entAccounts)) / float64(len(accounts)); share < 0.05 || share > 0.2 {
		t.Errorf("enterprise accounts are %.2f of accounts, want about 0.1", share)
	}
}

func TestDecodeTicketsIsStrict(t *testing.T) {
	t.Parallel()
	good := `{"subject":"s","priority":"low","channel":"chat","issue_type":"review","category":"feedback","language":"en","tags":["feedback"],"customer":{"id":"c","name":"n","email":"n@x.example"},"account":{"id":"a","name":"A","tier":"free","attributes":{"plan":"freemium","arr":0,"region":"eu"}},"messages":[{"author":{"kind":"customer"},"body":"hi","offset_minutes":0}],"age_minutes":5,"escalate":null}`
	tests := []struct {
		name, input, want string
	}{
		{"unknown field", good + "\n" + strings.Replace(good, `"language"`, `"lang"`, 1), `line 2: json: unknown field "lang"`},
		{"trailing value", good + " {}", "line 1: more than one JSON value"},
		{"bad priority", strings.Replace(good, `"low"`, `"p1"`, 1), `line 1: priority "p1"`},
		{"bad reason", strings.Replace(good, `"escalate":null`, `"escalate":{"to":"billing","reason":"bored","note":"nnnnnnnnnnnnnnnnnnnnnnn","by":"ana","then":null}`, 1), `line 1: escalate.reason "bored"`},
		{"empty body", "\n\n" + strings.Replace(good, `"hi"`, `""`, 1), "line 3: messages[0].body is empty"},
		{"not json", "{", "line 1: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeTickets([]byte(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	ts, err := decodeTickets([]byte(good + "\n\n" + good + "\n"))
	if err != nil || len(ts) != 2 || ts[0].Escalate != nil || ts[0].Account.Domain().Attributes["plan"] != "freemium" {
		t.Fatalf("good input: %v, %+v", err, ts)
	}
}

// TestGeneratorReproducesTickets regenerates tickets.jsonl from the Bitext sample and compares:
// the embedded file must be exactly what gen/main.go writes, so nobody edits it by hand.
func TestGeneratorReproducesTickets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	csvPath, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "bitext", "customer_support_training_sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(csvPath); err != nil {
		t.Skipf("Bitext sample not available (%v); skipping the regeneration check", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not on PATH")
	}
	out := filepath.Join(t.TempDir(), "tickets.jsonl")
	cmd := exec.Command(goTool, "run", filepath.Join("gen", "main.go"), "-in", csvPath, "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator failed: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, ticketsJSONL) {
		t.Fatal("tickets.jsonl differs from the generator's output; rerun: go run internal/demo/gen/main.go -in ../shared/data/bitext/customer_support_training_sample.csv -out internal/demo/tickets.jsonl")
	}
}
