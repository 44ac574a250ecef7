package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPolicyExamples runs the documented example cases, as CI must.
func TestPolicyExamples(t *testing.T) {
	code, out, errOut := runCLI(t, "policy", "test", "../../docs/examples/policy.yaml", "../../docs/examples/cases.yaml")
	if code != 0 || !strings.Contains(out, "11 passed, 0 failed") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

func TestPolicyTestReportsFailures(t *testing.T) {
	cases := filepath.Join(t.TempDir(), "cases.yaml")
	os.WriteFile(cases, []byte(`cases:
  - name: wrong expectation
    ticket: {subject: x, message: "my lawyer will call", account: {id: acme, tier: enterprise}}
    expect:
      escalation: {to: billing}
      ticket: {priority: low}
  - name: right expectation
    ticket: {subject: x, message: hello}
    expect:
      escalation: none
`), 0o644)
	code, out, _ := runCLI(t, "policy", "test", "../../docs/examples/policy.yaml", cases)
	if code != 1 || !strings.Contains(out, "FAIL") || !strings.Contains(out, `escalation.to: want "billing", got "enterprise-desk"`) ||
		!strings.Contains(out, `ticket.priority: want "low", got "urgent"`) || !strings.Contains(out, "1 passed, 1 failed") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("cases:\n  - name: x\n    tikcet: {}\n"), 0o644)
	if code, _, errOut := runCLI(t, "policy", "test", "../../docs/examples/policy.yaml", bad); code != 1 || !strings.Contains(errOut, "tikcet") {
		t.Fatalf("unknown key in a case file: exit %d %q", code, errOut)
	}
}

func TestPolicyExplainCommand(t *testing.T) {
	if code, _, _ := runCLI(t, "policy", "explain"); code != 2 {
		t.Fatal("explain without --ticket is a usage error")
	}
	db := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	if code, _, errOut := runCLI(t, "policy", "explain", "--ticket", "tkt_missing", "--db", db); code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("explain of a missing ticket: exit %d %q", code, errOut)
	}
}

func TestPolicyCheckPrintsWarnings(t *testing.T) {
	src, err := os.ReadFile("../../docs/examples/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(p, []byte(strings.Replace(string(src), "    churn: [", "    unused: [\"nothing reads this\"]\n    churn: [", 1)), 0o644)
	code, out, _ := runCLI(t, "policy", "check", p)
	if code != 0 || !strings.Contains(out, `"unused"`) || !strings.Contains(out, "(warning)") || !strings.Contains(out, "policy valid") {
		t.Fatalf("warnings: exit %d\n%s", code, out)
	}
	broken := filepath.Join(t.TempDir(), "b.yaml")
	os.WriteFile(broken, []byte(strings.Replace(string(src), `when: account.tier == "enterprise"`, `when: account.tierz == "enterprise"`, 1)), 0o644)
	code, out, _ = runCLI(t, "policy", "check", broken)
	if code != 1 || !strings.Contains(out, "tierz") || !strings.Contains(out, "b.yaml:") {
		t.Fatalf("unknown field in a condition: exit %d\n%s", code, out)
	}
}

// TestSIGHUPReloadsPolicy: a node started from a file switches to the edited file on SIGHUP,
// and keeps the live policy when the edited file is invalid.
func TestSIGHUPReloadsPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pol := filepath.Join(dir, "escalated.yaml")
	src, _ := os.ReadFile("../../docs/examples/policy.yaml")
	os.WriteFile(pol, src, 0o644)
	db := "sqlite:" + filepath.Join(dir, "hup.db")
	code, out, _ := runCLI(t, "token", "create", "--role", "admin", "--name", "hup", "--db", db)
	if code != 0 {
		t.Fatal("token")
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]
	c := startChild(t, bin, "--db", db, "--policy", pol)
	defer func() { c.cmd.Process.Signal(syscall.SIGTERM); c.cmd.Wait() }()
	client := &http.Client{Timeout: 5 * time.Second}
	version := func() float64 {
		m, err := get(client, "http://"+c.addr+"/v1/policy", token)
		if err != nil {
			t.Fatal(err)
		}
		return m["version"].(float64)
	}
	waitFor := func(want float64) {
		deadline := time.Now().Add(10 * time.Second)
		for version() != want {
			if time.Now().After(deadline) {
				t.Fatalf("policy version %v, want %v", version(), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor(1)
	os.WriteFile(pol, append(src, []byte("\n# edited\n")...), 0o644)
	c.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(2)
	os.WriteFile(pol, []byte("version: 1\ntiers: nonsense\n"), 0o644)
	c.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(500 * time.Millisecond)
	if v := version(); v != 2 {
		t.Fatalf("an invalid file must not replace the live policy: version %v", v)
	}
}

func TestPolicyTestRejectsUnknownRuleIDs(t *testing.T) {
	cases := filepath.Join(t.TempDir(), "cases.yaml")
	os.WriteFile(cases, []byte("cases:\n  - name: typo\n    ticket: {message: hi}\n    expect:\n      rules_not_fired: [legal-thraet]\n"), 0o644)
	code, _, errOut := runCLI(t, "policy", "test", "../../docs/examples/policy.yaml", cases)
	if code != 1 || !strings.Contains(errOut, "legal-thraet") {
		t.Fatalf("a misspelt rule id must be refused: exit %d %q", code, errOut)
	}
}
