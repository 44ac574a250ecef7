package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Load is what an open-loop run measured.
type Load struct {
	// Lat holds each request's latency counted from its scheduled time, sorted.
	Lat []time.Duration
	// Failed counts requests that failed; FirstErr is the first failure.
	Failed   int64
	FirstErr error
	// Took is from the first scheduled time until the last answer.
	Took time.Duration
}

// Quantile is the q-quantile of the latencies (q in [0, 1]), by nearest rank: the smallest
// latency at least a share q of the requests did not exceed.
func (l Load) Quantile(q float64) time.Duration {
	if len(l.Lat) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(l.Lat))))
	return l.Lat[min(len(l.Lat)-1, max(0, rank-1))]
}

// Achieved is the successful requests per second.
func (l Load) Achieved() float64 { return float64(int64(len(l.Lat))-l.Failed) / l.Took.Seconds() }

// OpenLoop calls do(i) for i in [0, n) at rate calls per second from start on, each in its own
// goroutine at its scheduled time, whether or not earlier calls have returned. Latency counts
// from the scheduled time, not from when the call was made: a server that stalls makes every
// request scheduled during the stall late, as it would for real clients, instead of making
// the load generator wait and send fewer (coordinated omission). When the generator itself
// falls behind its schedule, the late sends show up in the latencies too.
func OpenLoop(start time.Time, rate, n int, do func(i int) error) Load {
	lat := make([]time.Duration, n)
	var (
		failed   atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	interval := float64(time.Second) / float64(rate)
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(float64(i) * interval))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := do(i); err != nil {
				failed.Add(1)
				errOnce.Do(func() { firstErr = err })
			}
			lat[i] = time.Since(due)
		}(i)
	}
	wg.Wait()
	took := time.Since(start)
	slices.Sort(lat)
	return Load{Lat: lat, Failed: failed.Load(), FirstErr: firstErr, Took: took}
}

// loadClient is the HTTP client every load generator uses: enough idle connections that an
// open loop at 5,000 requests/s reuses them instead of dialling.
func loadClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 1024}, Timeout: 10 * time.Second}
}

// benchBody is the customer message every ingest benchmark writes: a billing complaint, so the
// policy's keyword lists and sentiment have something to find.
const benchBody = "I was charged twice for my order and nobody answers; please refund the second payment."

// postMessage POSTs benchBody as a customer message to a ticket and wants 201.
func postMessage(client *http.Client, base, secret, ticketID string, body []byte) error {
	req, err := http.NewRequest("POST", base+"/v1/tickets/"+ticketID+"/messages", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("POST messages: %d %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// messageBody is the JSON body of postMessage.
func messageBody() []byte {
	b, _ := json.Marshal(map[string]any{"author": map[string]string{"kind": "customer"}, "body": benchBody})
	return b
}

// createTicketHTTP opens a ticket through the API and returns its id.
func createTicketHTTP(t T, client *http.Client, base, secret string) string {
	body := `{"subject":"Refund not received","message":{"author":{"kind":"customer"},"body":"` + benchBody + `"}}`
	req, _ := http.NewRequest("POST", base+"/v1/tickets", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != 201 {
		t.Fatalf("POST /v1/tickets: %d %s", resp.StatusCode, buf.String())
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil || out.ID == "" {
		t.Fatalf("POST /v1/tickets answered without an id (%v): %s", err, buf.String())
	}
	return out.ID
}
