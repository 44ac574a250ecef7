package bench

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// postServer serves h on loopback and counts the connections it accepted and the requests it
// was handed.
func postServer(t *testing.T, h http.HandlerFunc) (srv *httptest.Server, conns, reqs *atomic.Int64) {
	conns, reqs = new(atomic.Int64), new(atomic.Int64)
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		if r.Method != "POST" || r.Header.Get("Authorization") != "Bearer s3cret" || !strings.HasPrefix(r.URL.Path, "/v1/tickets/") {
			http.Error(w, "bad request line or headers: "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		if b, _ := io.ReadAll(r.Body); string(b) != `{"body":"hi"}` {
			http.Error(w, "body "+string(b), http.StatusBadRequest)
			return
		}
		h(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, conns, reqs
}

func created(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, `{"id":"msg_1"}`)
}

func TestPosterKeepsConnections(t *testing.T) {
	srv, conns, reqs := postServer(t, created)
	p := newPoster(t, srv.URL, "s3cret", []string{"a", "b"}, []byte(`{"body":"hi"}`))
	for i := range 50 {
		if err := p.post(i); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if reqs.Load() != 50 || conns.Load() != 1 {
		t.Errorf("%d requests on %d connections; want 50 on 1", reqs.Load(), conns.Load())
	}
}

// A chunked answer (one the handler flushed before it ended) is read whole, and the connection
// carries the next request.
func TestPosterReadsChunkedAnswers(t *testing.T) {
	srv, conns, _ := postServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":`)
		w.(http.Flusher).Flush()
		io.WriteString(w, `"msg_1"}`)
	})
	p := newPoster(t, srv.URL, "s3cret", []string{"a"}, []byte(`{"body":"hi"}`))
	for i := range 5 {
		if err := p.post(i); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if conns.Load() != 1 {
		t.Errorf("%d connections; want 1", conns.Load())
	}
}

// An answer other than 201 is an error naming the status and the server's message; the
// connection is dropped (its body was read only in part) and the next request dials.
func TestPosterReportsRefusals(t *testing.T) {
	refuse := atomic.Bool{}
	refuse.Store(true)
	srv, conns, _ := postServer(t, func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() {
			http.Error(w, `{"error":{"code":"conflict","message":"ticket closed"}}`, http.StatusConflict)
			return
		}
		created(w, r)
	})
	p := newPoster(t, srv.URL, "s3cret", []string{"a"}, []byte(`{"body":"hi"}`))
	err := p.post(0)
	if err == nil || !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "ticket closed") {
		t.Fatalf("post answered 409: err %v; want one naming 409 and the message", err)
	}
	refuse.Store(false)
	if err := p.post(1); err != nil {
		t.Fatal(err)
	}
	if conns.Load() != 2 {
		t.Errorf("%d connections; want 2 (the refused one dropped)", conns.Load())
	}
}

// A kept connection the server closed between requests is not a failure: the request goes
// again, once, on a new connection; an answer saying Connection: close is not reused.
func TestPosterRetriesClosedConnections(t *testing.T) {
	closeNext := atomic.Bool{}
	srv, conns, reqs := postServer(t, func(w http.ResponseWriter, r *http.Request) {
		if closeNext.Swap(false) {
			w.Header().Set("Connection", "close")
		}
		created(w, r)
	})
	p := newPoster(t, srv.URL, "s3cret", []string{"a"}, []byte(`{"body":"hi"}`))
	if err := p.post(0); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	if err := p.post(1); err != nil {
		t.Fatalf("post after the server closed the kept connection: %v", err)
	}
	closeNext.Store(true)
	for i := range 2 {
		if err := p.post(i); err != nil {
			t.Fatal(err)
		}
	}
	if reqs.Load() != 4 || conns.Load() != 3 {
		t.Errorf("%d requests on %d connections; want 4 (none twice) on 3", reqs.Load(), conns.Load())
	}
}

// A request that times out is not sent again: the server may be working on it.
func TestPosterDoesNotRetryTimeouts(t *testing.T) {
	release := make(chan struct{})
	srv, _, reqs := postServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	p := newPoster(t, srv.URL, "s3cret", []string{"a"}, []byte(`{"body":"hi"}`))
	p.timeout = 100 * time.Millisecond
	// Use a kept connection, so that a retry would be allowed were the timeout taken for a
	// closed connection.
	p.idle <- func() *keptConn {
		nc, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		return &keptConn{Conn: nc, r: bufio.NewReader(nc), used: true}
	}()
	err := p.post(0)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err %v; want a timeout", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := reqs.Load(); n != 1 {
		t.Errorf("the server saw %d requests; want 1", n)
	}
}
