package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Load is what an open-loop run measured.
type Load struct {
	// Lat holds each request's latency counted from its scheduled time, sorted; InOrder holds
	// the same in the order the requests were scheduled.
	Lat, InOrder []time.Duration
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
	inOrder := slices.Clone(lat)
	slices.Sort(lat)
	return Load{Lat: lat, InOrder: inOrder, Failed: failed.Load(), FirstErr: firstErr, Took: took}
}

// loadClient is the HTTP client the set-up steps use (creating tickets): enough idle
// connections that they are reused instead of dialled.
func loadClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 1024}, Timeout: 10 * time.Second}
}

// benchBody is the customer message every ingest benchmark writes: a billing complaint, so the
// policy's keyword lists and sentiment have something to find.
const benchBody = "I was charged twice for my order and nobody answers; please refund the second payment."

// A poster sends the load generators' POST /v1/tickets/{id}/messages: each request serialised
// once by net/http, written on a kept-alive connection of the poster's pool, and its answer
// read with http.ReadResponse on that connection (any framing, chunked included). It exists
// because http.Client costs the machine the server shares with it tens of microseconds a
// request (a pool behind locks, a reading and a writing goroutine per connection and the
// wake-ups between them; BENCHMARKS.md has the figures), and at 5,000 requests/s on 2 cores
// that is CPU taken from the server being measured. A load generator's clients are not the
// product, so the bench's should cost little, as wrk2's do; the empty handler's baseline is
// measured with the same poster.
type poster struct {
	addr    string
	reqs    [][]byte       // per ticket, ready to write
	idle    chan *keptConn // connections between requests
	dialer  net.Dialer     // with the timeout below
	timeout time.Duration  // for a whole request, as http.Client.Timeout
	closed  atomic.Bool    // connections given back after close are closed
}

// keptConn is a connection of a poster and its buffered reader.
type keptConn struct {
	net.Conn
	r    *bufio.Reader
	used bool // it answered a request before
}

// newPoster prepares POSTs of body to /v1/tickets/{id}/messages on base for each of ids, with
// secret as bearer token; t's cleanup closes its connections.
func newPoster(t T, base, secret string, ids []string, body []byte) *poster {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" || len(ids) == 0 {
		t.Fatalf("poster: base URL %q and %d tickets: want http://host:port and at least one", base, len(ids))
	}
	const timeout = 10 * time.Second
	p := &poster{addr: u.Host, idle: make(chan *keptConn, 4096), dialer: net.Dialer{Timeout: timeout}, timeout: timeout}
	for _, id := range ids {
		req, err := http.NewRequest("POST", base+"/v1/tickets/"+id+"/messages", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		var b bytes.Buffer
		if err := req.Write(&b); err != nil {
			t.Fatal(err)
		}
		p.reqs = append(p.reqs, b.Bytes())
	}
	t.Cleanup(p.close)
	return p
}

// post sends the request of ticket i (round robin over the poster's tickets) and wants 201,
// its body read. A kept connection the server has closed meanwhile fails before any answer;
// the request then goes again on another connection (kept or new), as http.Client's would:
// the server cannot have read it. A new connection's failure is the request's.
func (p *poster) post(i int) error {
	req := p.reqs[i%len(p.reqs)]
	for {
		var c *keptConn
		select {
		case c = <-p.idle:
		default:
			nc, err := p.dialer.Dial("tcp", p.addr)
			if err != nil {
				return err
			}
			c = &keptConn{Conn: nc, r: bufio.NewReader(nc)}
		}
		keep, err := c.roundTrip(req, p.timeout)
		if !keep || p.closed.Load() {
			c.Close()
			if c.used && errors.Is(err, errUnanswered) {
				continue
			}
			return err
		}
		c.used = true
		select {
		case p.idle <- c:
		default:
			c.Close()
		}
		return err
	}
}

// errUnanswered marks a request whose connection was closed or reset before any byte of an
// answer came. A timeout is not one of them: the server may be working on the request.
var errUnanswered = errors.New("connection closed before an answer")

func unanswered(err error) error {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return err
	}
	return fmt.Errorf("%w: %w", errUnanswered, err)
}

// roundTrip writes req and reads its answer, which must be 201. keep reports whether the
// connection may carry another request: not after an error, a refusal (its body is read only
// in part) or an answer that closes it.
func (c *keptConn) roundTrip(req []byte, timeout time.Duration) (keep bool, err error) {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return false, err
	}
	if _, err := c.Write(req); err != nil {
		return false, unanswered(err)
	}
	if _, err := c.r.Peek(1); err != nil {
		return false, unanswered(err)
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return false, fmt.Errorf("POST messages: %d %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return false, err
	}
	return !resp.Close, nil
}

// close closes the idle connections; those in use are closed as their requests end.
func (p *poster) close() {
	p.closed.Store(true)
	for {
		select {
		case c := <-p.idle:
			c.Close()
		default:
			return
		}
	}
}

// messageBody is the JSON body of the poster's messages.
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
