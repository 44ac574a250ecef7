package notify_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/notify/webhook"
	"github.com/escalated/escalated/internal/store"
)

// The kill test runs this test binary again as a child process; the child recognises itself
// by these environment variables.
const (
	envChildKind = "ESCALATED_NOTIFY_TEST_CHILD_KIND"
	envChildDB   = "ESCALATED_NOTIFY_TEST_CHILD_DB"
	envChildURL  = "ESCALATED_NOTIFY_TEST_CHILD_URL"
	childStarted = "notify-child: dispatcher running"
	childLease   = time.Second
)

// TestKilledMidDelivery kills (SIGKILL) a process while the receiver holds its delivery request:
// the delivery was claimed but its outcome never written, so after a restart it is sent again,
// with the same Escalated-Delivery key, and delivered. At least once, never lost.
//
// On PostgreSQL the child's claim is a lease just as on SQLite: ClaimDeliveries's UPDATE moves
// next_attempt_at to the lease's end and commits before the request is sent (FOR UPDATE SKIP
// LOCKED guards only that one statement), so the killed child holds no row lock and no open
// transaction; the server would roll one back when the connection drops in any case. The
// delivery is left pending, due when the child's lease ends, and both stores are checked alike.
// The subtests run one after the other: the test was never parallel, and its SQLite variant
// stays as it was.
func TestKilledMidDelivery(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) { killedMidDelivery(t, freshStore(t, kind)) })
	}
}

func killedMidDelivery(t *testing.T, at storeAt) {
	s := at.open(t)
	d := enqueue(t, s, createTicket(t, s), "ops", 1)
	s.Close()

	held := make(chan string, 1)
	rc := startReceiver(t, func(n int, r received, w http.ResponseWriter) {
		if n == 0 {
			held <- r.Header.Get("Escalated-Delivery")
			time.Sleep(waitFor) // never answers: the child is killed meanwhile
			return
		}
		w.WriteHeader(http.StatusOK)
	})

	cmd := exec.Command(os.Args[0], "-test.run=^TestNotifyChildProcess$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), envChildKind+"="+at.kind, envChildDB+"="+at.place, envChildURL+"="+rc.URL)
	if at.kind == kindPostgres {
		// The child opens the schema on the server the parent used, whatever its own
		// environment said.
		cmd.Env = append(cmd.Env, "ESCALATED_TEST_POSTGRES="+postgresURL(t))
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
		}
	}()
	var first string
	select {
	case first = <-held:
	case <-time.After(waitFor):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the child process never sent the delivery")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the child process exited normally, want it killed")
	}
	if first != d.ID {
		t.Fatalf("the child sent Escalated-Delivery %q, want %s", first, d.ID)
	}

	s = at.open(t)
	if got := getDelivery(t, s, d.ID); got.State != store.DeliveryPending || got.Attempts != 0 {
		t.Fatalf("after the kill the delivery is %s with %d attempts, want pending with none recorded", got.State, got.Attempts)
	}
	startDispatcher(t, notify.Config{Store: s, Channels: channels(opsChannel(rc.URL)),
		Senders: map[string]notify.Sender{notify.TypeWebhook: webhook.New(webhook.WithEnv(env))}})
	got := waitState(t, s, d.ID, store.DeliveryDelivered)
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("receiver got %d requests, want 2 (the one held when the child died, and the redelivery)", len(reqs))
	}
	if again := reqs[1].Header.Get("Escalated-Delivery"); again != first {
		t.Errorf("redelivery carried Escalated-Delivery %q, want the same key %q", again, first)
	}
	if string(reqs[1].Body) != string(reqs[0].Body) {
		t.Error("redelivery body differs from the first attempt's")
	}
	if got.Attempts != 1 {
		t.Errorf("attempts recorded = %d, want 1 (the killed attempt left no outcome)", got.Attempts)
	}
}

// TestNotifyChildProcess is the child of TestKilledMidDelivery; run on its own it skips. It
// runs a dispatcher with a short lease on the store it was given (a SQLite file or a PostgreSQL
// schema) until it is killed.
func TestNotifyChildProcess(t *testing.T) {
	at := storeAt{kind: os.Getenv(envChildKind), place: os.Getenv(envChildDB)}
	if at.place == "" {
		t.Skip("runs only as the child process of TestKilledMidDelivery")
	}
	s := at.open(t)
	d, err := notify.New(notify.Config{Store: s, Lease: childLease,
		Channels: channels(opsChannel(os.Getenv(envChildURL))),
		Senders:  map[string]notify.Sender{notify.TypeWebhook: webhook.New(webhook.WithEnv(env))}})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(childStarted)
	d.Run(context.Background())
	t.Fatal("Run returned in the child process; it should have been killed")
}
