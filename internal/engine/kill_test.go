package engine

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/store"
)

// The kill test runs this test binary again as a child process; the child recognises itself
// by these environment variables.
const (
	envChildDB    = "ESCALATED_ENGINE_TEST_CHILD_DB"
	childClaimed  = "engine-child: claimed the third batch"
	killBatch     = 10
	killDeadlines = 50
)

// TestKilledBetweenClaimAndCommit kills (SIGKILL) a process whose engine has claimed a batch
// and not committed it: the deadlines it had committed before stay fired, the claimed batch is
// still pending, and a new engine on the same file fires every remaining deadline, so that
// each fires exactly once overall and none is lost.
func TestKilledBetweenClaimAndCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "escalated.db")
	s := openSQLite(t, path)
	tk := createTickets(t, s, 1)[0].ID
	var ids []string
	var ds []*store.Deadline
	for i := range killDeadlines {
		ids = append(ids, dlID(i))
		ds = append(ds, deadline(dlID(i), tk, fmt.Sprint("target_", i), time.Now().Add(-time.Duration(killDeadlines-i)*time.Second)))
	}
	schedule(t, s, ds...)
	s.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestEngineChildProcess$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), envChildDB+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	claimed := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == childClaimed {
				claimed <- true
				return
			}
		}
		claimed <- false
	}()
	select {
	case ok := <-claimed:
		if !ok {
			cmd.Wait()
			t.Fatal("the child process ended without claiming its third batch")
		}
	case <-time.After(waitFor):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the child process did not claim its third batch")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the child process exited normally, want it killed")
	}

	s = openSQLite(t, path)
	counts := firedCounts(t, s)
	if len(counts) != 2*killBatch {
		t.Errorf("after the kill %d deadlines had fired, want the %d of the two committed batches", len(counts), 2*killBatch)
	}
	if next := nextDue(t, s); !next.Equal(ds[2*killBatch].DueAt.Truncate(time.Millisecond)) {
		t.Errorf("NextDue after the kill = %s, want %s: the claimed batch must be pending again", next, ds[2*killBatch].DueAt)
	}
	e := newEngine(t, Config{Store: s, Firer: &auditFirer{}, Batch: killBatch})
	n, err := e.FireDue(t.Context())
	if err != nil || n != killDeadlines-2*killBatch {
		t.Errorf("FireDue after the restart = %d, %v; want %d, nil", n, err, killDeadlines-2*killBatch)
	}
	wantFiredOnce(t, s, ids)
}

// TestEngineChildProcess is the child of TestKilledBetweenClaimAndCommit; run on its own it
// skips. It fires batches from the file it was given and, on claiming the third, says so on
// stdout and blocks inside the transaction until it is killed.
func TestEngineChildProcess(t *testing.T) {
	path := os.Getenv(envChildDB)
	if path == "" {
		t.Skip("runs only as the child process of TestKilledBetweenClaimAndCommit")
	}
	s := openSQLite(t, path)
	claims := 0
	e := newEngine(t, Config{Store: s, Firer: &auditFirer{}, Batch: killBatch, AfterClaim: func() {
		claims++
		if claims == 3 {
			fmt.Println(childClaimed)
			os.Stdout.Sync()
			<-make(chan struct{}) // until SIGKILL
		}
	}})
	e.Run(context.Background())
	t.Fatal("Run returned in the child process; it should have been killed")
}
