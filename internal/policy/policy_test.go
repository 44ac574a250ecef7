package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// base is a valid policy that error cases extend; its lines are 1-6.
const base = `tiers:
  - {id: t1, level: 1}
  - {id: t2, level: 2}
teams:
  - {id: a, tier: t1}
  - {id: b, tier: t2}
`

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"empty document", "", []string{
			"p.yaml:1:1: empty policy",
		}},
		{"only comments", "# nothing here\n", []string{
			"p.yaml:1:1: empty policy",
		}},
		{"null document", "---\n~\n", []string{
			"p.yaml:2:1: empty policy",
		}},
		{"syntax error", "a: 1\nb: 2\nc 2\nd: 3\n", []string{
			"p.yaml:3:1: invalid YAML: could not find expected ':'",
		}},
		{"unclosed flow list", "tiers: [\n", []string{
			"p.yaml:1:1: invalid YAML: did not find expected node content",
		}},
		{"error without a line", "a: *nowhere\n", []string{
			"p.yaml:1:1: invalid YAML: unknown anchor 'nowhere' referenced",
		}},
		{"top level not a mapping", "- tiers\n- teams\n", []string{
			"p.yaml:1:1: a policy must be a mapping of sections (allowed: version, intake, calendars, tiers, teams, agents, supervisors, paths, escalation, sla, signals, rules, channels), got a list",
		}},
		{"second document", base + "---\nteams: []\n", []string{
			`p.yaml:7:1: a second YAML document starts here; a policy file holds exactly one document (remove this "---" and what follows, or merge it into the first)`,
		}},
		{"second document after an empty one", base + "---\n---\nteams: []\n", []string{
			`p.yaml:8:1: a second YAML document starts here; a policy file holds exactly one document (remove this "---" and what follows, or merge it into the first)`,
		}},
		{"unknown top-level key", "tierz: []\n" + base, []string{
			`p.yaml:1:1: unknown key "tierz" (allowed top-level keys: version, intake, calendars, tiers, teams, agents, supervisors, paths, escalation, sla, signals, rules, channels)`,
		}},
		{"duplicate top-level key", base + "teams: []\n", []string{
			`p.yaml:7:1: duplicate key "teams" (first at line 4); each key may appear once`,
		}},
		{"unsupported version", "version: 2\n" + base, []string{
			"p.yaml:1:10: version: unsupported version 2 (this release reads version 1)",
		}},
		{"no tiers or teams", "version: 1\n", []string{
			"p.yaml:1:1: tiers: at least one tier is required, like {id: t1, name: Frontline, level: 1}",
			"p.yaml:1:1: teams: at least one team is required, like {id: frontline, tier: t1}",
		}},
		{"section of the wrong type", "tiers: t1\nteams: {id: a}\n", []string{
			`p.yaml:1:8: tiers: must be a list of tiers (one "- ..." entry each), got "t1"`,
			`p.yaml:2:8: teams: must be a list of teams (one "- ..." entry each), got a mapping`,
		}},
		{"list entry not a mapping", "tiers:\n  - t1\nteams:\n  - {id: a, tier: t1}\n", []string{
			`p.yaml:2:5: tiers[0]: must be a tier mapping with keys id, name, level, got "t1"`,
			`p.yaml:4:19: teams[0].tier: unknown tier "t1" (known tiers: none defined)`,
		}},
		{"missing id", "tiers:\n  - {name: x, level: 1}\nteams:\n  - {id: a, tier: t1}\n", []string{
			`p.yaml:2:5: tiers[0]: id is required (1-64 lowercase letters, digits, "-" or "_", starting with a letter or digit)`,
			`p.yaml:4:19: teams[0].tier: unknown tier "t1" (known tiers: none defined)`,
		}},
		{"bad id", "tiers:\n  - {id: Tier One, level: 1}\nteams:\n  - {id: a, tier: Tier One}\n", []string{
			`p.yaml:2:10: tiers[0].id: bad tier id "Tier One" (use 1-64 lowercase letters, digits, "-" or "_", starting with a letter or digit)`,
		}},
		{"id too long", "tiers:\n  - {id: " + strings.Repeat("t", 65) + ", level: 1}\nteams:\n  - {id: a, tier: t1}\n", []string{
			`p.yaml:2:10: tiers[0].id: bad tier id "` + strings.Repeat("t", 60) + `..." (use 1-64 lowercase letters, digits, "-" or "_", starting with a letter or digit)`,
			`p.yaml:4:19: teams[0].tier: unknown tier "t1" (known tiers: ` + strings.Repeat("t", 60) + `...)`,
		}},
		{"duplicate id", base + "  - {id: a, tier: t2}\n", []string{
			`p.yaml:7:10: teams[2].id: duplicate team id "a" (first defined at line 5)`,
		}},
		{"tier levels", "tiers:\n  - {id: t1, level: 0}\n  - {id: t2, level: x}\n  - {id: t3, level: 1.5}\n  - {id: t4}\n  - {id: t5, level: 1}\n  - {id: t6, level: 1}\nteams:\n  - {id: a, tier: t1}\n  - {id: b, tier: t2}\n  - {id: c, tier: t3}\n  - {id: d, tier: t4}\n  - {id: e, tier: t5}\n  - {id: f, tier: t6}\n", []string{
			`p.yaml:2:21: tiers[0].level: must be a whole number >= 1 (1 = frontline, higher = further up), got 0`,
			`p.yaml:3:21: tiers[1].level: must be a whole number >= 1 (1 = frontline, higher = further up), got "x"`,
			`p.yaml:4:21: tiers[2].level: must be a whole number >= 1 (1 = frontline, higher = further up), got 1.5`,
			`p.yaml:5:5: tiers[3]: level is required: a whole number >= 1 (1 = frontline, higher = further up)`,
			`p.yaml:7:21: tiers[5].level: level 1 is already used by tier "t5" (line 6); each tier needs its own level`,
		}},
		{"tier without team", "tiers:\n  - {id: t1, level: 1}\n  - {id: t2, level: 2}\n  - {id: t3, level: 3}\nteams:\n  - {id: a, tier: t1}\n  - {id: b, tier: t2}\n  - {id: c, tier: t9}\n", []string{
			`p.yaml:4:10: tiers[2]: tier "t3" has no team (add a team with tier: t3, or remove the tier)`,
			`p.yaml:8:19: teams[2].tier: unknown tier "t9" (known tiers: t1, t2, t3)`,
		}},
		{"unknown key in team", "tiers:\n  - {id: t1, level: 1}\nteams:\n  - {id: a, tier: t1, tierz: t1}\n", []string{
			`p.yaml:4:23: unknown key "tierz" in team (allowed: id, name, tier, calendar, kind, skills, accounts, fallback, routing)`,
		}},
		{"unknown routing method", "tiers:\n  - {id: t1, level: 1}\nteams:\n  - {id: a, tier: t1, routing: random}\n", []string{
			`p.yaml:4:32: teams[0].routing: unknown routing method "random" (allowed: least_loaded, round_robin, manual; default least_loaded)`,
		}},
		{"team without tier", "tiers:\n  - {id: t1, level: 1}\nteams:\n  - {id: a, tier: t1}\n  - {id: b}\n", []string{
			`p.yaml:5:5: teams[1]: tier is required (known tiers: t1)`,
		}},
		{"unknown calendar", "calendars:\n  - {id: office, timezone: UTC, hours: {mon-fri: \"09:00-17:00\"}}\n" + base + "  - {id: c, tier: t1, calendar: ofice}\n", []string{
			`p.yaml:9:33: teams[2].calendar: unknown calendar "ofice" (known calendars: office)`,
		}},
		{"team kinds and accounts", base + "  - {id: c, tier: t1, kind: account}\n  - {id: d, tier: t1, kind: account_team}\n  - {id: e, tier: t1, accounts: [acme]}\n  - {id: f, tier: t2, kind: account_team, accounts: [acme, acme]}\n", []string{
			`p.yaml:7:29: teams[2].kind: unknown kind "account" (allowed: account_team, or leave kind out for a regular team)`,
			`p.yaml:8:5: teams[3]: an account_team must list the accounts it serves, like accounts: [acme]`,
			`p.yaml:9:23: teams[4].accounts: only a team of kind account_team serves accounts (add kind: account_team, or remove accounts)`,
			`p.yaml:10:60: teams[5].accounts[1]: account "acme" is listed twice`,
		}},
		{"fallbacks", base + "  - {id: c, tier: t1, fallback: c}\n  - {id: d, tier: t1, fallback: zz}\n  - {id: e, tier: t1, fallback: f}\n  - {id: f, tier: t1}\n", []string{
			`p.yaml:7:33: teams[2].fallback: a team cannot be its own fallback (name another team that takes the overflow)`,
			`p.yaml:8:33: teams[3].fallback: unknown team "zz" (known teams: a, b, c, d, e, f)`,
		}},
		{"supervisors", base + "agents:\n  - {id: ana, teams: [a]}\nsupervisors:\n  - {id: ana}\n  - {id: sam, teams: [a, z], email: nope}\n  - {id: sam}\n  - {id: lee, skills: [x]}\n", []string{
			`p.yaml:10:10: supervisors[0].id: "ana" is already an agent's id (line 8): a person signs in by one id, so agents and supervisors need different ones`,
			`p.yaml:11:26: supervisors[1].teams[1]: unknown team "z" (known teams: a, b)`,
			`p.yaml:11:37: supervisors[1].email: bad email address "nope" (use a plain address like sam@example.com)`,
			`p.yaml:12:10: supervisors[2].id: duplicate supervisor id "sam" (first defined at line 11)`,
			`p.yaml:13:15: unknown key "skills" in supervisor (allowed: id, name, teams, email)`,
		}},
		{"agents", base + "agents:\n  - {id: x, teams: [a, z, a], capacity: -1, status: busy, languages: [EN, en], email: nope}\n  - {id: y}\n  - {id: w, teams: []}\n  - {id: v, teams: a}\n  - {id: u, teams: [b], skills: api}\n", []string{
			`p.yaml:8:24: agents[0].teams[1]: unknown team "z" (known teams: a, b)`,
			`p.yaml:8:27: agents[0].teams[2]: team "a" is listed twice`,
			`p.yaml:8:41: agents[0].capacity: must be a whole number >= 0: the most open tickets at once (0 means the default, 10), got -1`,
			`p.yaml:8:53: agents[0].status: unknown status "busy" (allowed: online, away, offline; default online)`,
			`p.yaml:8:71: agents[0].languages[0]: bad language code "EN" (use lowercase codes like en, pt or pt-br)`,
			`p.yaml:8:87: agents[0].email: bad email address "nope" (use a plain address like ana@example.com)`,
			`p.yaml:9:5: agents[1]: teams is required: the teams the agent works in (known teams: a, b)`,
			`p.yaml:10:20: agents[2].teams: at least one team is required (known teams: a, b)`,
			`p.yaml:11:20: agents[3].teams: must be a list like [frontline], got "a"`,
			`p.yaml:12:33: agents[4].skills: must be a list like [billing, api], got "api"`,
		}},
		{"agents' sees", base + "agents:\n  - {id: x, teams: [a], sees: [b, q, b]}\n  - {id: y, teams: [a], sees: b}\n", []string{
			`p.yaml:8:35: agents[0].sees[1]: unknown team "q" (known teams: a, b) (or "*" for every team)`,
			`p.yaml:8:38: agents[0].sees[2]: team "b" is listed twice`,
			`p.yaml:9:31: agents[1].sees: must be a list like [billing] or ["*"], got "b"`,
		}},
		{"paths", base + "paths:\n  - {from: a, to: [a, b, q]}\n  - {from: [a]}\n  - {from: [], to: b}\n  - {from: [a, b], to: [b, \"\"], via: c}\n  - [a, b]\n", []string{
			`p.yaml:8:20: paths[0].to[0]: path from "a" to itself (a team cannot escalate to itself; from and to must differ)`,
			`p.yaml:8:26: paths[0].to[2]: unknown team "q" (known teams: a, b)`,
			`p.yaml:9:5: paths[1]: to is required: a team or a list of teams (known teams: a, b)`,
			`p.yaml:10:12: paths[2].from: at least one team is required (known teams: a, b)`,
			`p.yaml:11:25: paths[3].to[0]: path from "b" to itself (a team cannot escalate to itself; from and to must differ)`,
			`p.yaml:11:28: paths[3].to[1]: must not be empty`,
			`p.yaml:11:33: unknown key "via" in path (allowed: from, to)`,
			`p.yaml:12:5: paths[4]: must be a path mapping with keys from, to, got a list`,
		}},
		{"long list of known ids", manyTeams(25) + "intake: x\n", []string{
			`p.yaml:29:9: intake: unknown team "x" (known teams: t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16, t17, t18, t19, ... (5 more))`,
		}},
		{"unknown intake", base + "intake: frontdesk\n", []string{
			`p.yaml:7:9: intake: unknown team "frontdesk" (known teams: a, b)`,
		}},
		{"escalation settings", base + "escalation:\n  note_min_length: -1\n  max_per_ticket: x\n  required_package_fields: [note, acount, note]\n  on_incomplete: drop\n  extra: 1\n", []string{
			`p.yaml:8:20: escalation.note_min_length: must be a whole number >= 0: the fewest characters a manual escalation's note may have (0 = no minimum), got -1`,
			`p.yaml:9:19: escalation.max_per_ticket: must be a whole number >= 0: the most escalations one ticket may have (0 = unlimited), got "x"`,
			`p.yaml:10:35: escalation.required_package_fields[1]: unknown package field "acount" (allowed: original_message, conversation, bot_steps, account, customer, customer_tier, sla, signals, prior_escalations, note, escalated_by, recommendation)`,
			`p.yaml:10:43: escalation.required_package_fields[2]: field "note" is listed twice`,
			`p.yaml:11:18: escalation.on_incomplete: unknown value "drop" (allowed: reject, accept_flagged; default reject)`,
			`p.yaml:12:3: unknown key "extra" in escalation (allowed: note_min_length, required_package_fields, max_per_ticket, on_incomplete)`,
		}},
		{"sla durations", base + "sla:\n  - id: x\n    targets: {first_response: 3x, next_reply: 0m, resolution: 1d12h, ack: 1h}\n    warn_at: 1.2\n  - just a string\n  - {id: y, targets: [4h], warn_at: high}\n", []string{
			`p.yaml:9:31: sla[0].targets.first_response: bad duration "3x" (use Go durations like 30m, 4h, or days like 2d)`,
			`p.yaml:9:47: sla[0].targets.next_reply: bad duration "0m": must be greater than zero`,
			`p.yaml:9:70: unknown key "ack" in SLA targets (allowed: first_response, next_reply, resolution, acknowledge)`,
			`p.yaml:10:14: sla[0].warn_at: must be a number between 0 and 1, like 0.8 (the share of the target at which to warn), got 1.2`,
			`p.yaml:11:5: sla[1]: must be an SLA plan mapping with keys id, when, targets, warn_at, got "just a string"`,
			`p.yaml:12:22: sla[2].targets: must be an SLA targets mapping with keys first_response, next_reply, resolution, acknowledge, got a list`,
			`p.yaml:12:37: sla[2].warn_at: must be a number between 0 and 1, like 0.8 (the share of the target at which to warn), got "high"`,
		}},
		{"sla plans", base + "sla:\n  - {id: a, when: 'account.tier > 1', targets: {resolution: 8h}}\n  - {id: a, targets: {resolution: 8h}, colour: red}\n  - {targets: {resolution: 8h}}\n", []string{
			`p.yaml:8:33: sla[0].when: type error: invalid operation: > (mismatched types string and int)`,
			`p.yaml:9:10: sla[1].id: duplicate SLA plan id "a" (first defined at line 8)`,
			`p.yaml:9:40: unknown key "colour" in SLA plan (allowed: id, when, targets, warn_at)`,
			`p.yaml:10:5: sla[2]: id is required (1-64 lowercase letters, digits, "-" or "_", starting with a letter or digit)`,
		}},
		{"sections owned elsewhere", base + "sla: {a: 1}\nsignals: [a]\nrules: {a: 1}\nchannels: x\n", []string{
			`p.yaml:7:6: sla: must be a list of SLA plans (one "- ..." entry each), got a mapping`,
			`p.yaml:8:10: signals: must be a mapping of signal settings (like keywords: {legal: [lawyer]}), got a list`,
			`p.yaml:9:8: rules: must be a list of rules (one "- id: ..." entry each), got a mapping`,
			`p.yaml:10:11: channels: must be a list of channels (one "- id: ..." entry each), got "x"`,
		}},
		{"calendars", "calendars:\n  - id: c\n    timezone: Europe/Berln\n    hours: {mon-fry: \"09:00-17:00\", tue: \"9-17\", wed: \"09:00-09:00\", thu: \"24:00-24:00\"}\n    holidays: [\"2026-13-01\"]\n  - {id: d, timezone: Local, hours: [\"09:00-17:00\"], holidays: 2026-12-25}\n  - {id: e}\n" + base, []string{
			`p.yaml:3:15: calendars[0].timezone: unknown time zone "Europe/Berln" (use an IANA name like Europe/Berlin, America/New_York or UTC)`,
			`p.yaml:4:13: calendars[0].hours: bad day "mon-fry" (use mon, tue, wed, thu, fri, sat, sun, ranges like mon-fri, or lists like "sat,sun")`,
			`p.yaml:4:42: calendars[0].hours.tue: bad interval "9-17" (use "HH:MM-HH:MM" like "09:00-17:00"; 24:00 may end an interval, and an end before the start runs overnight)`,
			`p.yaml:4:55: calendars[0].hours.wed: empty interval "09:00-09:00" (start and end must differ; for a whole day write "00:00-24:00")`,
			`p.yaml:4:75: calendars[0].hours.thu: bad interval "24:00-24:00" (use "HH:MM-HH:MM" like "09:00-17:00"; 24:00 may end an interval, and an end before the start runs overnight)`,
			`p.yaml:5:16: calendars[0].holidays[0]: bad date "2026-13-01" (use YYYY-MM-DD, like 2026-12-25)`,
			`p.yaml:6:23: calendars[1].timezone: bad time zone "Local" (use an IANA name like Europe/Berlin, America/New_York or UTC)`,
			`p.yaml:6:37: calendars[1].hours: must map days to hours, like {mon-fri: "09:00-17:00", sat: "10:00-14:00"}, got a list`,
			`p.yaml:6:64: calendars[1].holidays: must be a list like ["2026-12-25", "2026-12-26"], got "2026-12-25"`,
			`p.yaml:7:5: calendars[2]: timezone is required (an IANA name like Europe/Berlin or UTC)`,
			`p.yaml:7:5: calendars[2]: hours is required, like hours: {mon-fri: "09:00-17:00"}`,
		}},
		{"overlapping hours", "calendars:\n  - id: d\n    timezone: UTC\n    hours:\n      mon-fri: \"09:00-17:00\"\n      tue: [\"16:00-18:00\", \"22:00-06:00\"]\n      wed: \"05:00-07:00\"\n      \"sat,sun\": [\"10:00-14:00\", \"12:00-13:00\"]\n" + base, []string{
			`p.yaml:6:13: calendars[0].hours.tue[0]: interval "16:00-18:00" overlaps "09:00-17:00" (line 5) on tue; intervals on one day must not overlap`,
			`p.yaml:7:12: calendars[0].hours.wed: interval "05:00-07:00" overlaps "22:00-06:00" (line 6) on wed; intervals on one day must not overlap`,
			`p.yaml:8:34: calendars[0].hours.sat,sun[1]: interval "12:00-13:00" overlaps "10:00-14:00" (line 8) on sat; intervals on one day must not overlap`,
		}},
		{"escalation not a mapping", base + "escalation: [reject]\n", []string{
			`p.yaml:7:13: escalation: must be an escalation mapping with keys note_min_length, required_package_fields, max_per_ticket, on_incomplete, got a list`,
		}},
		{"keys that are not words", base + "escalation: {[a]: 1}\n", []string{
			`p.yaml:7:14: escalation: a key must be a plain word, got a list`,
		}},
		{"recursive alias", base + "signals: &s {again: *s}\n", []string{
			// The signals section is checked now; the alias expands to nothing under a key
			// that signals does not have.
			`p.yaml:7:14: unknown key "again" in signals (allowed: keywords, wants_human, profanity)`,
			`p.yaml:7:21: alias *s is used inside its own anchor &s, which would repeat forever`,
		}},
		{"bad merge", base + "signals: {<<: [1]}\n", []string{
			`p.yaml:7:16: merge key << needs a mapping or a list of mappings, got 1`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pol, err := Parse("p.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded (%s), want errors:\n%s", pol.Summary(), strings.Join(tt.want, "\n"))
			}
			if pol != nil {
				t.Errorf("Parse returned a policy along with errors")
			}
			var list *ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, want *ErrorList", err)
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
		})
	}
}

// manyTeams is a valid policy with n teams, t0 to t<n-1>, on n+3 lines.
func manyTeams(n int) string {
	var b strings.Builder
	b.WriteString("tiers:\n  - {id: one, level: 1}\nteams:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {id: t%d, tier: one}\n", i)
	}
	return b.String()
}

func mustParse(t testing.TB, src string) *Policy {
	t.Helper()
	pol, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return pol
}

func TestProductExample(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("testdata/product-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := Parse("product-example.yaml", src)
	if err != nil {
		t.Fatalf("the PRODUCT.md example must parse cleanly:\n%v", err)
	}
	if got, want := pol.Summary(), "policy valid: 3 tiers, 5 teams, 2 agents, 2 paths, 2 calendars, 4 rules, 2 SLA plans, 3 channels"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	sum := sha256.Sum256(src)
	if pol.Hash != hex.EncodeToString(sum[:]) || !bytes.Equal(pol.Source, src) {
		t.Errorf("Hash/Source do not match the document")
	}
	if pol.Version != 1 || pol.IntakeTeam() != "frontline" {
		t.Errorf("Version %d, IntakeTeam %q", pol.Version, pol.IntakeTeam())
	}
	want := EscalationSettings{NoteMinLength: 20, RequiredPackageFields: []string{"original_message", "account", "note"}, MaxPerTicket: 5, OnIncomplete: "reject"}
	if !reflect.DeepEqual(pol.Escalation, want) {
		t.Errorf("Escalation = %+v, want %+v", pol.Escalation, want)
	}
	eu, ok := pol.Calendar("eu-business")
	if !ok || eu.Location == nil || eu.Location.String() != "Europe/Berlin" {
		t.Fatalf("calendar eu-business: %+v", eu)
	}
	if len(eu.Hours) != 5 || eu.Hours[0] != (DayHours{Day: time.Monday, Start: 9 * 60, End: 17 * 60, Days: "mon-fri", Interval: "09:00-17:00"}) || eu.Hours[4].Day != time.Friday {
		t.Errorf("eu-business hours = %+v", eu.Hours)
	}
	if !reflect.DeepEqual(eu.Holidays, []string{"2026-12-25", "2026-12-26"}) {
		t.Errorf("holidays = %v", eu.Holidays)
	}
	always, _ := pol.Calendar("always")
	if len(always.Hours) != 7 || always.Hours[6] != (DayHours{Day: time.Sunday, Start: 0, End: 1440, Days: "mon-sun", Interval: "00:00-24:00"}) {
		t.Errorf("always hours = %+v", always.Hours)
	}
	ana, ok := pol.Agent("ana")
	if !ok || ana.Capacity != 8 || ana.Status != StatusOnline || !reflect.DeepEqual(ana.Languages, []string{"en", "pt"}) {
		t.Errorf("agent ana = %+v", ana)
	}
	if got := pol.TeamsOfAgent("ben"); !reflect.DeepEqual(got, []string{"integrations"}) {
		t.Errorf("TeamsOfAgent(ben) = %v", got)
	}
	if tier, ok := pol.TierOfTeam("engineering"); !ok || tier.Level != 3 || tier.Name != "Engineering" {
		t.Errorf("TierOfTeam(engineering) = %+v, %v", tier, ok)
	}
	if team, ok := pol.AccountTeamFor("acme"); !ok || team != "enterprise-desk" {
		t.Errorf("AccountTeamFor(acme) = %q, %v", team, ok)
	}
	if _, ok := pol.AccountTeamFor("globex"); ok {
		t.Errorf("AccountTeamFor(globex) found a team")
	}
	for _, raw := range []struct {
		name string
		n    int
	}{{"rules", len(pol.Rules)}, {"sla", nodeLen(pol.SLA)}, {"channels", nodeLen(pol.Channels)}} {
		if raw.n == 0 {
			t.Errorf("section %s not kept", raw.name)
		}
	}
	if len(pol.Signals.Keywords) != 2 || pol.Signals.Keywords[0].ID != "legal" || pol.Signals.Keywords[0].Line != 40 {
		t.Errorf("signals not kept with their positions: %+v", pol.Signals)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("testdata/anchors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := Parse("anchors.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	night, _ := pol.Team("night-desk")
	if night.Tier != "t1" || night.Calendar != "night" || night.Fallback != "desk" || night.Routing != "least_loaded" || !reflect.DeepEqual(night.Skills, []string{"general"}) {
		t.Errorf("merged team = %+v; want keys written beside << to override the merged ones", night)
	}
	bo, _ := pol.Agent("bo")
	if bo.Capacity != 3 || bo.Status != StatusAway || !reflect.DeepEqual(bo.Teams, []string{"desk", "night-desk"}) || bo.Email != "ana@example.test" {
		t.Errorf("merged agent = %+v", bo)
	}
	ana, _ := pol.Agent("ana")
	if ana.Capacity != DefaultCapacity {
		t.Errorf("capacity default = %d, want %d", ana.Capacity, DefaultCapacity)
	}
	if pol.Escalation.OnIncomplete != OnIncompleteAcceptFlagged {
		t.Errorf("on_incomplete = %q", pol.Escalation.OnIncomplete)
	}
}

func TestHours(t *testing.T) {
	t.Parallel()
	src := "calendars:\n  - id: c\n    timezone: Asia/Tokyo\n    hours:\n      fri-mon: \"22:00-06:00\"\n      \"wed, thu\": [\"08:00-12:00\", \"12:00-17:30\"]\n      tue: \"20:00-00:00\"\n" + base
	cal, _ := mustParse(t, src).Calendar("c")
	type iv struct {
		day        time.Weekday
		start, end int
	}
	var got []iv
	for _, h := range cal.Hours {
		got = append(got, iv{h.Day, h.Start, h.End})
	}
	// fri-mon wraps over the weekend; each overnight interval continues after midnight on the
	// next day, so Monday night spills into Tuesday; touching intervals are not overlaps.
	want := []iv{
		{time.Monday, 0, 360}, {time.Monday, 1320, 1440},
		{time.Tuesday, 0, 360}, {time.Tuesday, 1200, 1440},
		{time.Wednesday, 480, 720}, {time.Wednesday, 720, 1050},
		{time.Thursday, 480, 720}, {time.Thursday, 720, 1050},
		{time.Friday, 1320, 1440},
		{time.Saturday, 0, 360}, {time.Saturday, 1320, 1440},
		{time.Sunday, 0, 360}, {time.Sunday, 1320, 1440},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hours:\n got %v\nwant %v", got, want)
	}
	if cal.Location.String() != "Asia/Tokyo" {
		t.Errorf("location %v", cal.Location)
	}
}

// routing is a policy shaped like the product example, with a level gap and a path that lists
// an account team first, to pin down what NextTier and Allowed consider.
const routing = `tiers:
  - {id: t1, level: 1}
  - {id: t2, level: 2}
  - {id: t3, level: 3}
  - {id: t5, level: 5}
teams:
  - {id: desk, tier: t2}
  - {id: frontline, tier: t1}
  - {id: vip, tier: t2, kind: account_team, accounts: [acme, initech]}
  - {id: billing, tier: t2}
  - {id: integrations, tier: t2}
  - {id: engineering, tier: t3}
  - {id: founders, tier: t5}
paths:
  - {from: frontline, to: [vip, engineering, integrations]}
  - {from: frontline, to: [billing, integrations]}
  - {from: [billing, integrations], to: engineering}
  - {from: engineering, to: [founders, billing]}
`

func TestAllowed(t *testing.T) {
	t.Parallel()
	pol := mustParse(t, routing)
	tests := []struct {
		from, to, account string
		want              bool
	}{
		{"frontline", "billing", "", true},
		{"frontline", "engineering", "", true},
		{"billing", "engineering", "", true},
		{"integrations", "engineering", "", true},
		{"engineering", "billing", "", true}, // a path may lead down; the policy decides
		{"billing", "frontline", "", false},  // no path back down
		{"billing", "integrations", "", false},
		{"frontline", "frontline", "", false},
		{"frontline", "vip", "", true},          // on a path, any account
		{"billing", "vip", "acme", true},        // account team of the ticket's account
		{"engineering", "vip", "initech", true}, // from any team
		{"billing", "vip", "globex", false},     // not vip's account
		{"billing", "vip", "", false},
		{"vip", "vip", "acme", false},
		{"billing", "engineering", "acme", true},
		{"nosuch", "billing", "", false},
		{"frontline", "nosuch", "", false},
		{"nosuch", "vip", "acme", false},
	}
	for _, tt := range tests {
		if got := pol.Allowed(tt.from, tt.to, tt.account); got != tt.want {
			t.Errorf("Allowed(%q, %q, %q) = %v, want %v", tt.from, tt.to, tt.account, got, tt.want)
		}
	}
}

func TestNextTier(t *testing.T) {
	t.Parallel()
	pol := mustParse(t, routing)
	tests := []struct {
		from string
		want []string
	}{
		// engineering is level 3, but level 2 targets exist, and the account team never counts.
		{"frontline", []string{"integrations", "billing"}},
		{"billing", []string{"engineering"}},
		// founders is level 5 with nothing at 4 in between: the next level up is the next one
		// that exists; billing is lower and never a next tier.
		{"engineering", []string{"founders"}},
		{"founders", nil},
		{"desk", nil}, // no path
		{"nosuch", nil},
	}
	for _, tt := range tests {
		if got := pol.NextTier(tt.from); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("NextTier(%q) = %v, want %v", tt.from, got, tt.want)
		}
	}
	if got, want := pol.PathTargets("frontline"), []string{"vip", "engineering", "integrations", "billing"}; !reflect.DeepEqual(got, want) {
		t.Errorf("PathTargets(frontline) = %v, want %v (path order, no repeats)", got, want)
	}
}

func TestIntakeTeam(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want string
	}{
		{"explicit intake", routing + "intake: billing\n", "billing"},
		{"first team of level 1 in file order", routing, "frontline"},
		{"lowest level when none is 1", "tiers:\n  - {id: a, level: 4}\n  - {id: b, level: 2}\nteams:\n  - {id: x, tier: a}\n  - {id: y, tier: b}\n  - {id: z, tier: b}\n", "y"},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.src).IntakeTeam(); got != tt.want {
			t.Errorf("%s: IntakeTeam() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	pol := mustParse(t, base+"agents:\n  - {id: z, teams: [a], capacity: 0}\n")
	want := EscalationSettings{OnIncomplete: OnIncompleteReject}
	if !reflect.DeepEqual(pol.Escalation, want) {
		t.Errorf("Escalation defaults = %+v, want %+v", pol.Escalation, want)
	}
	z, _ := pol.Agent("z")
	if z.Capacity != DefaultCapacity || z.Status != StatusOnline {
		t.Errorf("agent defaults: capacity %d status %q", z.Capacity, z.Status)
	}
	if pol.SLA != nil || !reflect.DeepEqual(pol.Signals, SignalsConfig{}) || pol.Rules != nil || pol.Channels != nil || pol.ChannelIDs != nil {
		t.Errorf("absent sections must be nil")
	}
	if got, want := pol.Summary(), "policy valid: 2 tiers, 2 teams, 1 agent, 0 paths, 0 calendars, 0 rules, 0 SLA plans, 0 channels"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	if _, err := Parse("p.yaml", []byte(base+"---\n")); err != nil {
		t.Errorf("a trailing empty document must be accepted: %v", err)
	}
	if _, ok := pol.Team("nosuch"); ok {
		t.Errorf("Team(nosuch) found")
	}
	if got := pol.TeamsOfAgent("nosuch"); got != nil {
		t.Errorf("TeamsOfAgent(nosuch) = %v", got)
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "30m", want: 30 * time.Minute},
		{in: "4h", want: 4 * time.Hour},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "2d", want: 48 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "12h1d", want: 36 * time.Hour},
		{in: "1.5d", want: 36 * time.Hour},
		{in: "90s", want: 90 * time.Second},
		{in: "500ms", want: 500 * time.Millisecond},
		{in: "3x", err: `bad duration "3x" (use Go durations like 30m, 4h, or days like 2d)`},
		{in: "", err: `bad duration "" (use Go durations like 30m, 4h, or days like 2d)`},
		{in: "30", err: `bad duration "30" (use Go durations like 30m, 4h, or days like 2d)`},
		{in: "d", err: `bad duration "d" (use Go durations like 30m, 4h, or days like 2d)`},
		{in: "-1h", err: `bad duration "-1h" (use Go durations like 30m, 4h, or days like 2d)`},
		{in: "1d-1h", err: `bad duration "1d-1h" (use Go durations like 30m, 4h, or days like 2d)`},
		{in: "1 d", err: `bad duration "1 d" (use Go durations like 30m, 4h, or days like 2d)`},
		{in: "0m", err: `bad duration "0m": must be greater than zero`},
		{in: "0d", err: `bad duration "0d": must be greater than zero`},
		{in: "200000d", err: `bad duration "200000d" (use Go durations like 30m, 4h, or days like 2d)`},
		{in: "106751d106751d", err: `bad duration "106751d106751d" (use Go durations like 30m, 4h, or days like 2d)`},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("ParseDuration(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestErrorList(t *testing.T) {
	t.Parallel()
	if err := (ErrorList{}).Err(); err != nil {
		t.Errorf("empty ErrorList.Err() = %v, want nil", err)
	}
	l := ErrorList{{File: "a.yaml", Line: 2, Column: 3, Msg: "x"}, {Line: 4, Column: 1, Msg: "y"}}
	err := l.Err()
	if err.Error() != "a.yaml:2:3: x\n4:1: y" {
		t.Errorf("Error() = %q", err.Error())
	}
	var first *Error
	if !errors.As(err, &first) || first.Msg != "x" {
		t.Errorf("errors.As(*Error) = %v", first)
	}
	// Callers declare either form of target; both must see the whole list, also when wrapped.
	wrapped := fmt.Errorf("load policy: %w", err)
	var ptr *ErrorList
	if !errors.As(wrapped, &ptr) || len(*ptr) != 2 {
		t.Errorf("errors.As(*ErrorList) = %v", ptr)
	}
	var val ErrorList
	if !errors.As(wrapped, &val) || len(val) != 2 {
		t.Errorf("errors.As(ErrorList) = %v", val)
	}
}

// TestAliasBomb checks that a document built to expand exponentially is refused quickly rather
// than walked: nine levels of nine aliases would be 387 million nodes.
func TestAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(base + "signals:\n  l0: &l0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		b.WriteString("  l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := range 9 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	start := time.Now()
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "document too large once aliases are expanded") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files: %v", err)
	}
	// Policies other packages ship make good seeds too: they use the sections owned elsewhere.
	files = append(files, "../demo/policy.yaml", "../app/testdata/policy.yaml")
	for _, name := range files {
		src, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) && strings.HasPrefix(name, "..") {
			continue
		} else if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
		// Broken variants: cut short, indentation lost, a mapping turned into a list, a key
		// doubled. Each leads the parser down a different error path.
		f.Add(src[:len(src)/2])
		f.Add(src[:len(src)/3])
		f.Add(bytes.ReplaceAll(src, []byte("  "), []byte(" ")))
		f.Add(bytes.ReplaceAll(src, []byte(": "), []byte(": - ")))
		f.Add(bytes.ReplaceAll(src, []byte("tier:"), []byte("tier: [t1, t2], x:")))
		f.Add(bytes.ReplaceAll(src, []byte("id: "), []byte("id: &a ")))
		f.Add(append(bytes.Clone(src), src...))
	}
	f.Add([]byte(base + "signals: &s {again: *s}\n"))
	f.Add([]byte(base + "teams: &t [{<<: *t}]\n"))
	f.Add([]byte("calendars: [{id: c, timezone: UTC, hours: {fri-mon: [\"22:00-06:00\", \"05:00-24:00\"]}}]\n" + base))
	// Rules and signals: conditions in every scalar style, every action, lint-worthy shapes.
	f.Add([]byte(ruleBase + `  - id: r1
    on: [message.added, ticket.created]
    when: 'account.tier == "enterprise" && "legal" in message.keywords'
    stop: true
    do:
      - escalate: {to: b, reason: customer_tier, note: "Enterprise"}
      - set: {priority: urgent, status: open, issue_type: legal, custom_fields: {risk: 3, ok: true, gone: null}}
      - tag: [legal, vip]
      - untag: triage
      - assign: ana
      - notify: {channel: ops, message: "Legal"}
      - recommend: {text: "Call them"}
  - id: r2
    on: sla.breached
    when: |
      sla.target == "first_response" &&
        any(signals.trend, # < -0.5)
    do: [{escalate: {to: next_tier, reason: sla}}]
  - {id: r3, on: [ticket.updated], when: "\"priority\" in event.changed", do: [{recommend: check}]}
  - {id: r4, on: [message.added], when: false, do: [{escalate: {to: account_team, reason: other}}]}
signals:
  keywords: {legal: [lawyer, legal action], churn: [cancel]}
  wants_human: [a human]
  profanity: [damn]
`))
	f.Add([]byte(when(`'ticket.reopens % 0 > 1 || ticket.custom_fields.a.b == nil'`)))
	f.Add([]byte(when(`'any(ticket.tags, any(ticket.tags, true))'`)))
	f.Add([]byte(base + "rules:\n  - &r {id: r, on: [ticket.created], when: 'true', do: [{tag: x}]}\n  - {<<: *r, id: s}\n"))
	env := sampleEnv()
	f.Fuzz(func(t *testing.T, src []byte) {
		pol, err := Parse("f.yaml", src)
		if err != nil {
			if pol != nil {
				t.Fatal("policy returned with errors")
			}
			list, ok := err.(*ErrorList)
			if !ok || len(*list) == 0 {
				t.Fatalf("error is %T %v, want a non-empty *ErrorList", err, err)
			}
			for _, e := range *list {
				if e.Line < 1 || e.Column < 1 || e.File != "f.yaml" || e.Msg == "" {
					t.Fatalf("bad error %#v", e)
				}
			}
			return
		}
		// A valid policy keeps the promises callers rely on without checking again.
		if pol.IntakeTeam() == "" {
			t.Fatal("valid policy without an intake team")
		}
		for _, team := range pol.Teams {
			if _, ok := pol.TierOfTeam(team.ID); !ok {
				t.Fatalf("team %q has no tier", team.ID)
			}
			for _, next := range pol.NextTier(team.ID) {
				if !pol.Allowed(team.ID, next, "") {
					t.Fatalf("NextTier(%q) offers %q, which Allowed refuses", team.ID, next)
				}
			}
		}
		for _, a := range pol.Agents {
			if a.Capacity < 1 || len(pol.TeamsOfAgent(a.ID)) == 0 {
				t.Fatalf("agent %+v", a)
			}
		}
		for _, c := range pol.Calendars {
			if c.Location == nil {
				t.Fatalf("calendar %q without location", c.ID)
			}
			for _, h := range c.Hours {
				if h.Start < 0 || h.End > 1440 || h.Start >= h.End {
					t.Fatalf("calendar %q interval %+v", c.ID, h)
				}
			}
		}
		for _, r := range pol.Rules {
			if r.ID == "" || len(r.On) == 0 || len(r.Do) == 0 {
				t.Fatalf("rule %+v", r)
			}
			for _, a := range r.Do {
				switch {
				case !slices.Contains(ActionKinds, a.Kind),
					a.Kind == ActionNotify && !slices.Contains(pol.ChannelIDs, a.Channel),
					a.Kind == ActionAssign && !hasAgent(pol, a.Agent),
					a.Kind == ActionEscalate && !a.Reason.Valid():
					t.Fatalf("rule %s: action %+v", r.ID, a)
				}
			}
		}
		for _, w := range pol.Warnings {
			if w.Line < 1 || w.Column < 1 || w.Msg == "" {
				t.Fatalf("bad warning %#v", w)
			}
		}
		// Every condition of a valid policy evaluates, alone or in its event's batch, without
		// a panic and quickly.
		done := make(chan struct{})
		go func() {
			defer close(done)
			var e Evaluator
			e.Reset(env)
			for _, ev := range EventTypes {
				e.Prepare(pol, ev)
				for i := range pol.Rules {
					_, _ = e.Match(pol, i)
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("evaluating the policy's conditions took more than 5s")
		}
		_ = pol.Summary()
	})
}

func hasAgent(pol *Policy, id string) bool { _, ok := pol.Agent(id); return ok }

func TestPlanFor(t *testing.T) {
	src, err := os.ReadFile("../demo/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("demo.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		tier, priority, want string
	}{
		{"enterprise", "low", "enterprise"},
		{"pro", "urgent", "urgent"},
		{"pro", "normal", "pro"},
		{"free", "normal", "default"},
		{"", "high", "default"},
	}
	for _, c := range cases {
		env := Env{Account: AccountEnv{Tier: c.tier}, Ticket: TicketEnv{Priority: c.priority}}
		pl := p.PlanFor(&env)
		if pl == nil || pl.ID != c.want {
			t.Errorf("tier %q priority %q: plan %v, want %s", c.tier, c.priority, pl, c.want)
		}
	}
	if pl := p.PlanFor(&Env{Account: AccountEnv{Tier: "enterprise"}}); pl.Targets["acknowledge"] != 10*time.Minute || pl.WarnAt != 0.8 {
		t.Errorf("enterprise plan: %+v", pl)
	}
	if pl := p.PlanFor(&Env{}); pl.WarnAt != DefaultWarnAt || pl.Targets["resolution"] != 72*time.Hour {
		t.Errorf("default plan: %+v", pl)
	}
}

func TestLintUnreachableSLAPlan(t *testing.T) {
	src, err := os.ReadFile("testdata/product-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(src), "sla:\n", "sla:\n  - id: catch-all\n    targets: {resolution: 24h}\n", 1)
	p, err := Parse("p.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range p.Warnings {
		if strings.Contains(w.Error(), `SLA plan "enterprise" never applies`) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no warning for a plan after a catch-all: %v", p.Warnings)
	}
}
