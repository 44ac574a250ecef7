package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const testPolicy = "../../internal/app/testdata/policy.yaml"

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestPolicyCheck(t *testing.T) {
	code, out, _ := runCLI(t, "policy", "check", testPolicy)
	if code != 0 || !strings.HasPrefix(out, "policy valid") || strings.Count(out, "\n") != 1 {
		t.Fatalf("valid policy: exit %d, output %q", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	src, _ := os.ReadFile(testPolicy)
	broken := strings.Replace(string(src), "{id: billing, tier: t2", "{id: billing, tier: t9", 1)
	os.WriteFile(bad, []byte(broken), 0o644)
	code, out, _ = runCLI(t, "policy", "check", bad)
	if code != 1 || !regexp.MustCompile(`bad\.yaml:\d+:\d+: .*t9`).MatchString(out) {
		t.Fatalf("broken policy: exit %d, output %q", code, out)
	}
	if code, _, errOut := runCLI(t, "policy", "check", filepath.Join(t.TempDir(), "missing.yaml")); code != 1 || !strings.Contains(errOut, "missing.yaml") {
		t.Fatalf("missing file: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "policy", "check"); code != 2 {
		t.Fatalf("usage error should exit 2, got %d", code)
	}
}

func TestTokenCreateCreatesDatabase(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "new.db")
	code, out, errOut := runCLI(t, "token", "create", "--role", "admin", "--name", "ops", "--db", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[len(lines)-1], "esctok_") || strings.Contains(lines[len(lines)-1], " ") {
		t.Fatalf("the token must be alone on the last line: %q", out)
	}
	if code, _, errOut := runCLI(t, "token", "create", "--role", "root", "--name", "x", "--db", db); code != 1 || !strings.Contains(errOut, "role") {
		t.Fatalf("bad role: exit %d %q", code, errOut)
	}
	other := filepath.Join(t.TempDir(), "other.db")
	if code, _, _ := runCLI(t, "token", "create", "--role", "root", "--name", "x", "--db", "sqlite:"+other); code != 1 {
		t.Fatal("bad role must fail")
	}
	if _, err := os.Stat(other); err == nil {
		t.Fatal("a refused token create must not create the database")
	}
	if code, _, _ := runCLI(t, "migrate", "sqlite:"+other); code != 2 {
		t.Fatal("migrate with a positional database must be a usage error")
	}
	if code, _, _ := runCLI(t, "token", "create", "--name", "x", "--db", db); code != 2 {
		t.Fatalf("missing role should be a usage error, got %d", code)
	}
	if code, out, _ := runCLI(t, "migrate", "--db", db); code != 0 || !strings.Contains(out, "schema version") {
		t.Fatalf("migrate: %d %q", code, out)
	}
	backup := filepath.Join(t.TempDir(), "copy.db")
	if code, _, errOut := runCLI(t, "backup", backup, "--db", db); code != 0 {
		t.Fatalf("backup: %d %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "backup", backup, "--db", db); code != 1 {
		t.Fatal("backup over an existing file must be refused")
	}
	if code, _, _ := runCLI(t, "bogus"); code != 2 {
		t.Fatal("unknown command should exit 2")
	}
}

// buildBinary compiles escalated once per test binary run.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "escalated-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "escalated")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

type child struct {
	cmd  *exec.Cmd
	addr string
}

// startChild runs `escalated serve` as a separate process and waits until it listens.
func startChild(t *testing.T, bin string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	// The load these tests make comes from one token standing in for many clients: the
	// per-token rate limit (tested on its own) would refuse most of it.
	cmd.Env = append(os.Environ(), "ESCALATED_RATE_LIMIT=0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=serving addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	select {
	case addr := <-addrc:
		return &child{cmd: cmd, addr: addr}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child did not start listening")
	}
	return nil
}

func get(client *http.Client, url, token string) (map[string]any, error) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %d %v", url, resp.StatusCode, m)
	}
	return m, nil
}

func post(client *http.Client, url, token string, body any) (int, map[string]any, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, nil
}

// TestCrashLosesNoAcknowledgedWrite kills a serving process with SIGKILL while clients write,
// restarts it on the same file, and checks that every write that got a 2xx is there. (SIGKILL
// ends the process, not the machine: it proves no write is answered before its commit; the
// fsync itself is SQLite's synchronous=FULL, checked by the store's pragma test.)
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	stopUnderLoad(t, syscall.SIGKILL, "sqlite:"+filepath.Join(t.TempDir(), "crash.db"))
}

// TestGracefulShutdownUnderLoad sends SIGTERM while clients write: the process must exit 0
// and every write that got a 2xx must be there after a restart.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	stopUnderLoad(t, syscall.SIGTERM, "sqlite:"+filepath.Join(t.TempDir(), "term.db"))
}

func stopUnderLoad(t *testing.T, sig syscall.Signal, db string) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "token", "create", "--role", "supervisor", "--name", "crash", "--db", db)
	if code != 0 {
		t.Fatalf("token: %s", errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]

	c := startChild(t, bin, "--db", db, "--policy", testPolicy)
	base := "http://" + c.addr
	client := &http.Client{Timeout: 5 * time.Second}
	status, tk, err := post(client, base+"/v1/tickets", token, map[string]any{"subject": "crash", "message": map[string]any{"body": "first"}})
	if err != nil || status != 201 {
		t.Fatalf("create: %d %v", status, err)
	}
	ticketID := tk["id"].(string)

	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				status, m, err := post(client, base+"/v1/tickets/"+ticketID+"/messages", token, map[string]any{
					"author": map[string]any{"kind": "customer"}, "body": fmt.Sprintf("writer %d message %d", w, i)})
				if err != nil || status == http.StatusServiceUnavailable {
					return // the server is gone or going
				}
				if status == 201 {
					mu.Lock()
					acked[m["id"].(string)] = true
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- c.cmd.Wait() }()
	select {
	case err := <-waitErr:
		if sig == syscall.SIGTERM && err != nil {
			t.Fatalf("exit after SIGTERM under load: %v", err)
		}
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		t.Fatal("no exit within 30s of the signal")
	}
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d acknowledged writes before the signal; the test needs load to mean anything", len(acked))
	}

	c2 := startChild(t, bin, "--db", db, "--policy", testPolicy)
	defer func() { c2.cmd.Process.Signal(syscall.SIGTERM); c2.cmd.Wait() }()
	req, _ := http.NewRequest("GET", "http://"+c2.addr+"/v1/tickets/"+ticketID, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var detail struct {
		History []struct {
			Seq     int64 `json:"seq"`
			Message *struct {
				ID string `json:"id"`
			} `json:"message"`
		} `json:"history"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&detail); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for i, h := range detail.History {
		if h.Seq != int64(i+1) {
			t.Fatalf("history has a gap at %d after the restart (seq %d)", i, h.Seq)
		}
		if h.Message != nil {
			present[h.Message.ID] = true
		}
	}
	lost := 0
	for id := range acked {
		if !present[id] {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged messages lost after %v", lost, len(acked), sig)
	}
	t.Logf("%d acknowledged writes before %v, all present after restart (%d messages stored)", len(acked), sig, len(present))
}
