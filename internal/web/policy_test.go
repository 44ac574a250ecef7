package web

import (
	"strings"
	"testing"

	"github.com/escalated/escalated/internal/ticket"
)

func TestDiffView(t *testing.T) {
	live := "version: 1\nintake: frontline\nescalation:\n  note_min_length: 20\n  max_per_ticket: 5\n"
	draft := "version: 1\nintake: frontline\nescalation:\n  note_min_length: 30\n  # longer notes\n  max_per_ticket: 5\n"
	d := diffView("live (version 3)", "draft", live, draft)
	if d.Same || d.Added != 2 || d.Removed != 1 {
		t.Fatalf("diff %+v: want 2 added, 1 removed", d)
	}
	var got []string
	for _, l := range d.Lines {
		got = append(got, l.Class+" "+l.Text)
	}
	want := []string{
		"diff-head --- live (version 3)",
		"diff-head +++ draft",
		"diff-hunk @@ -1,5 +1,6 @@",
		"diff-ctx  version: 1",
		"diff-ctx  intake: frontline",
		"diff-ctx  escalation:",
		"diff-del -  note_min_length: 20",
		"diff-add +  note_min_length: 30",
		"diff-add +  # longer notes",
		"diff-ctx    max_per_ticket: 5",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diff lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if same := diffView("a", "b", live, live); !same.Same || len(same.Lines) != 0 {
		t.Errorf("a draft equal to the live policy: %+v", same)
	}
}

func TestCheckView(t *testing.T) {
	draft := "version: 1\n\tintake: front-desk\nteams: []\n"
	c := checkView(&ticket.PolicyProblems{
		Errors:   []ticket.PolicyProblem{{Line: 2, Column: 10, Message: `unknown team "front-desk"`}, {Line: 99, Column: 1, Message: "past the end"}},
		Warnings: []ticket.PolicyProblem{{Line: 3, Column: 1, Message: "no teams"}},
	}, draft)
	if len(c.Errors) != 2 || len(c.Warnings) != 1 || c.Valid {
		t.Fatalf("check %+v", c)
	}
	// The caret sits under the column, a tab kept as a tab so that it lines up.
	if e := c.Errors[0]; e.Text != "\tintake: front-desk" || e.Caret != "\t        ^" {
		t.Errorf("error 1 points at %q / %q", e.Text, e.Caret)
	}
	if e := c.Errors[1]; e.Text != "" || e.Caret != "" || e.Line != 99 {
		t.Errorf("a line past the draft's end: %+v", e)
	}
	if w := c.Warnings[0]; w.Text != "teams: []" || w.Caret != "^" {
		t.Errorf("warning points at %q / %q", w.Text, w.Caret)
	}
}
