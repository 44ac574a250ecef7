package app_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/app"
	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/ticket"
)

// BenchmarkConsoleQueue measures the queue page of a team with 500 open tickets (a tenth of
// them escalated into it and waiting): time to first byte and the whole request as a signed-in
// browser sees them over loopback, and the page's weight (the HTML plus the stylesheet and
// script it loads; no images or fonts). A baseline request in the same run: the sign-in page,
// which touches no tickets. Run it with
//
//	go test ./internal/app -run '^$' -bench ConsoleQueue -benchtime 200x
func BenchmarkConsoleQueue(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := config.Default()
	cfg.DB = "sqlite:" + filepath.Join(b.TempDir(), "console.db")
	cfg.Addr = "127.0.0.1:0"
	cfg.PolicyPath = "../demo/policy.yaml"
	a, err := app.New(ctx, cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := a.LoadPolicy(ctx); err != nil {
		b.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	defer func() { cancel(); <-done }()

	admin := escalated.WithPrincipal(ctx, escalated.Principal{Name: "bench", Role: escalated.RoleAdmin})
	prio := []escalated.Priority{escalated.PriorityLow, escalated.PriorityNormal, escalated.PriorityHigh, escalated.PriorityUrgent}
	for i := range 500 {
		team := "billing"
		if i%10 == 0 {
			team = "frontline" // escalated into billing below
		}
		d, err := a.Tickets.CreateTicket(admin, ticket.CreateInput{
			Subject: fmt.Sprintf("Refund for order %d has not arrived", 1000+i), Priority: prio[i%4], Channel: escalated.ChannelEmail,
			IssueType: "refund", Team: team, Customer: &escalated.Customer{ID: fmt.Sprintf("cus_%d", i), Name: "Customer"},
			Message: &ticket.MessageInput{Author: escalated.Author{Kind: escalated.AuthorCustomer}, Body: "I returned the item three weeks ago and still have no refund."},
		})
		if err != nil {
			b.Fatal(err)
		}
		if team == "frontline" {
			if _, err := a.Tickets.Escalate(admin, d.Ticket.ID, ticket.EscalateInput{To: "billing", Reason: escalated.ReasonComplexity,
				Note: "Refund missing after the return was received; needs billing."}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := app.SetPassword(ctx, cfg.DB, "priya", "priya-secret-pass", io.Discard, nil); err != nil {
		b.Fatal(err)
	}
	base := "http://" + a.Addr()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/login")
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindStringSubmatch(string(page))
	if m == nil {
		b.Fatal("no csrf on the sign-in page")
	}
	resp, err = c.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "user": {"priya"}, "password": {"priya-secret-pass"}, "next": {"/"}})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()

	// get fetches path as a browser does (accepting gzip, so the size is what crosses the wire)
	// and returns the time to the first byte, the whole time and the size.
	var last []byte // the latest body, decompressed
	get := func(path string) (ttfb, total time.Duration, size int) {
		var first time.Time
		trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "GET", base+path, nil)
		// Set by hand, Go's transport hands the body over still compressed.
		req.Header.Set("Accept-Encoding", "gzip")
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		took := time.Since(start)
		last = body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			last, _ = io.ReadAll(zr)
		}
		return first.Sub(start), took, len(body)
	}
	_, _, html := get("/queue/billing")
	rows := bytes.Count(last, []byte("<tr data-ticket="))
	raw := len(last)
	_, _, css := get("/static/console.css")
	_, _, js := get("/static/console.js")
	if rows != 500 {
		b.Fatalf("the queue page shows %d tickets, want 500", rows)
	}

	var ttfbs, totals, bases []time.Duration
	b.ResetTimer()
	for range b.N {
		t, all, _ := get("/queue/billing")
		ttfbs, totals = append(ttfbs, t), append(totals, all)
		bt, _, _ := get("/login")
		bases = append(bases, bt)
	}
	b.StopTimer()
	pct := func(ds []time.Duration, p float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(ttfbs, 0.5), "ttfb_p50_ms")
	b.ReportMetric(pct(ttfbs, 0.9), "ttfb_p90_ms")
	b.ReportMetric(pct(totals, 0.5), "total_p50_ms")
	b.ReportMetric(pct(bases, 0.5), "login_ttfb_p50_ms")
	b.ReportMetric(float64(html)/1024, "html_gz_KiB")
	b.ReportMetric(float64(html+css+js)/1024, "page_gz_KiB")
	b.ReportMetric(float64(raw)/1024, "html_KiB")
	b.Logf("queue of 500 on the wire (gzip): html %d B (%d B unpacked), css %d B, js %d B", html, raw, css, js)
}
