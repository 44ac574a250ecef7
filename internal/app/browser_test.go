package app_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/escalated/escalated"
)

// The console in a real browser: Debian's Chromium, headless, driven with chromedp over the
// same node the handler tests use (console_test.go). One scenario, step by step: ana signs in,
// is stopped by the page's own check of a short escalation note, escalates properly; priya,
// signed in in another browser context with the billing queue open, sees the ticket arrive
// without a reload and acknowledges it; maya opens the dashboard. Each page is saved as a PNG
// (ESCALATED_SCREENSHOTS, else test-output/console-screenshots at the repository's root).

// browserNames are the executables tried, in order.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome"}

const (
	// browserTimeout bounds the whole scenario: a browser that hangs fails the test, not CI.
	browserTimeout = 60 * time.Second
	// stepTimeout bounds one browser action (a navigation, a click, a wait).
	stepTimeout = 15 * time.Second
	// liveTimeout is how long the billing queue may take to show an escalated ticket.
	liveTimeout = 10 * time.Second
)

// findBrowser returns the first of browserNames on the PATH.
func findBrowser() (string, bool) {
	for _, name := range browserNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// screenshotDir is where the pages' PNGs go: $ESCALATED_SCREENSHOTS, else
// <repository root>/test-output/console-screenshots.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ESCALATED_SCREENSHOTS")
	if dir == "" {
		root, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			up := filepath.Dir(root)
			if up == root {
				t.Fatal("no go.mod above the test's directory: set ESCALATED_SCREENSHOTS")
			}
			root = up
		}
		dir = filepath.Join(root, "test-output", "console-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A failure's picture from an earlier run would mislead.
	old, _ := filepath.Glob(filepath.Join(dir, "FAILED-*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	return dir
}

// lockedBuffer collects the browser's output for a failure message.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tab is one signed-in person's browser tab: a browser context of its own (its own cookies).
type tab struct {
	name  string
	ctx   context.Context
	base  string
	shots string

	mu       sync.Mutex
	problems []string // uncaught exceptions and console errors of the page
}

// newTab opens a tab in a new browser context of the browser that root runs.
func newTab(t *testing.T, root context.Context, name, base, shots string, opts ...chromedp.ContextOption) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(root, append([]chromedp.ContextOption{chromedp.WithNewBrowserContext()}, opts...)...)
	t.Cleanup(cancel)
	return openTab(t, ctx, name, base, shots)
}

// openTab attaches a tab to ctx (its first action creates the target) and records what the
// page reports as errors.
func openTab(t *testing.T, ctx context.Context, name, base, shots string) *tab {
	t.Helper()
	b := &tab{name: name, ctx: ctx, base: base, shots: shots}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: open a tab: %v", name, err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = "uncaught exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil && ev.ExceptionDetails.Exception.Description != "" {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			msg = "console.error: " + strings.Join(parts, " ")
		default:
			return
		}
		b.mu.Lock()
		b.problems = append(b.problems, msg)
		b.mu.Unlock()
	})
	if err != nil {
		t.Fatalf("%s: listen to the page: %v", name, err)
	}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("%s's page reported: %s", name, p)
		}
	})
	return b
}

// step runs one action with stepTimeout; a failure saves a screenshot and ends the test.
func (b *tab) step(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(t, "%s: %s: %v", b.name, what, err)
	}
}

// value runs an action that returns a value, with stepTimeout.
func value[T any](t *testing.T, b *tab, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(t, "%s: %s: %v", b.name, what, err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, b *tab, expr string) T {
	t.Helper()
	return value(t, b, "evaluate "+expr, chromedp.Evaluate[T](expr))
}

// submit clicks sel and waits for the page it leads to (redirects followed); the final
// document must answer want.
func (b *tab) submit(t *testing.T, what, sel string, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.fail(t, "%s: %s: %v", b.name, what, err)
	}
	if resp == nil || resp.Status != int64(want) {
		status := int64(0)
		if resp != nil {
			status = resp.Status
		}
		b.fail(t, "%s: %s: the page answered %d, want %d", b.name, what, status, want)
	}
}

// open navigates to path and checks the status of the page.
func (b *tab) open(t *testing.T, path string, want int) {
	t.Helper()
	resp := value(t, b, "open "+path, chromedp.NavigateResponse(b.base+path))
	if resp == nil || resp.Status != int64(want) {
		status := int64(0)
		if resp != nil {
			status = resp.Status
		}
		b.fail(t, "%s: open %s: status %d, want %d", b.name, path, status, want)
	}
}

// path is the page's path and query.
func (b *tab) path(t *testing.T) string {
	t.Helper()
	return strings.TrimPrefix(value(t, b, "read the location", chromedp.Location()), b.base)
}

// text is the text of the first element sel matches (waiting until there is one).
func (b *tab) text(t *testing.T, sel string) string {
	t.Helper()
	return value(t, b, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// shot saves a full-page PNG of the tab as name.png.
func (b *tab) shot(t *testing.T, name string) {
	t.Helper()
	png := value(t, b, "screenshot "+name, chromedp.FullScreenshot(100))
	file := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", file)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fail saves what the tab shows as FAILED-<test>.png and ends the test.
func (b *tab) fail(t *testing.T, format string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		file := filepath.Join(b.shots, "FAILED-"+unsafeName.ReplaceAllString(t.Name(), "_")+".png")
		if os.WriteFile(file, png, 0o644) == nil {
			t.Logf("the page when it failed: %s", file)
		}
	}
	t.Fatalf(format, args...)
}

// signIn fills the sign-in form as a person would and sends it; the page must end at landing.
func (b *tab) signIn(t *testing.T, id, landing, screenshot string) {
	t.Helper()
	b.open(t, "/login", http.StatusOK)
	b.step(t, "type the id and password",
		chromedp.SendKeys(chromedp.CSS("#user"), id),
		chromedp.SendKeys(chromedp.CSS("#password"), id+"-secret-pass"))
	if screenshot != "" {
		b.shot(t, screenshot)
	}
	b.submit(t, "click Sign in", `form[action="/login"] button[type="submit"]`, http.StatusOK)
	if got := b.path(t); got != landing {
		b.fail(t, "%s signed in and landed on %s, want %s", id, got, landing)
	}
}

// unlabelled lists the page's form controls (not hidden inputs) that have no <label for>, no
// enclosing <label> and no aria-label, by id (or form and name when they have no id).
const unlabelled = `[...document.querySelectorAll("input, select, textarea")]
	.filter((el) => el.type !== "hidden")
	.filter((el) => !(el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]')) &&
		!el.closest("label") && !(el.getAttribute("aria-label") || "").trim())
	.map((el) => el.id || ((el.form && el.form.id ? "#" + el.form.id + " " : "") + el.tagName.toLowerCase() + '[name="' + el.name + '"]'))`

func checkLabels(t *testing.T, b *tab, page string) {
	t.Helper()
	if bad := eval[[]string](t, b, unlabelled); len(bad) > 0 {
		t.Errorf("%s: form controls without a label: %s", page, strings.Join(bad, ", "))
	}
}

// escalationsOf is how many escalations the API lists for the ticket.
func escalationsOf(t *testing.T, s *testServer, id string) int {
	t.Helper()
	r := s.do(escalated.RoleAdmin, "GET", "/v1/tickets/"+id, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET ticket %s: %d %s", id, r.Status, r.Raw)
	}
	escs, _ := r.Body["escalations"].([]any)
	return len(escs)
}

func TestConsoleBrowser(t *testing.T) {
	exe, ok := findBrowser()
	if !ok {
		t.Skipf("no browser for the console's browser test: none of %s is on the PATH; install Debian's Chromium with `apt-get install chromium` (.ci/run does)",
			strings.Join(browserNames, ", "))
	}
	started := time.Now()
	s := consoleServer(t)
	shots := screenshotDir(t)
	t.Logf("browser %s; screenshots in %s", exe, shots)

	created := s.do(escalated.RoleAdmin, "POST", "/v1/tickets", map[string]any{"subject": "Parcel for order 1182 not delivered", "priority": "high",
		"issue_type": "delivery", "channel": "chat", "team": "frontline",
		"customer": map[string]any{"id": "cus_c1", "name": "Lena"},
		"message":  map[string]any{"body": "My parcel has not arrived and the tracking page shows nothing for a week"}})
	if created.Status != http.StatusCreated {
		t.Fatalf("create ticket: %d %s", created.Status, created.Raw)
	}
	tk := created.Body["id"].(string)
	row := `tr[data-ticket="` + tk + `"]`

	// One headless browser for the scenario, with a profile of its own; every person gets a
	// browser context (a separate cookie jar) in it.
	timeout, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancelTimeout)
	output := &lockedBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(timeout, opts...)
	t.Cleanup(cancelAlloc)
	root, cancelRoot := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelRoot)
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("start %s: %v\nits output:\n%s", exe, err, output.String())
	}

	ana := newTab(t, root, "ana", s.base, shots)
	priya := newTab(t, root, "priya", s.base, shots)
	maya := newTab(t, root, "maya", s.base, shots)

	ok = t.Run("a_ana_signs_in_and_sees_the_ticket_in_her_queue", func(t *testing.T) {
		ana.signIn(t, "ana", "/queue/frontline", "01-login")
		if w := eval[int](t, ana, "window.innerWidth"); w != 1280 {
			t.Logf("the window is %d px wide, not 1280", w)
		}
		ana.step(t, "wait for the ticket's row", chromedp.WaitVisible(chromedp.CSS(row)))
		if got := ana.text(t, row+" td a"); got != "Parcel for order 1182 not delivered" {
			t.Errorf("the queue row links %q", got)
		}
		ana.shot(t, "02-queue-frontline")
	})
	if !ok {
		return
	}

	ok = t.Run("phone_width", func(t *testing.T) {
		// Another tab of ana's browser context, 390 px wide like a phone.
		ctx, cancel := chromedp.NewContext(ana.ctx)
		defer cancel()
		phone := openTab(t, ctx, "ana (phone)", s.base, shots)
		phone.step(t, "emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
		phone.open(t, "/queue/frontline", http.StatusOK)
		phone.step(t, "wait for the ticket's row", chromedp.WaitVisible(chromedp.CSS(row)))
		if w := eval[int](t, phone, "document.documentElement.scrollWidth"); w > 390 {
			t.Logf("note: the queue page is %d px wide at a 390 px viewport (the page scrolls sideways)", w)
		}
		phone.shot(t, "phone-02-queue-frontline")
		phone.open(t, "/tickets/"+tk, http.StatusOK)
		if w := eval[int](t, phone, "document.documentElement.scrollWidth"); w > 390 {
			t.Logf("note: the ticket page is %d px wide at a 390 px viewport (the page scrolls sideways)", w)
		}
		phone.shot(t, "phone-03-ticket")
	})
	if !ok {
		return
	}

	// priya opens the billing queue before anything is escalated, and stays on it.
	ok = t.Run("d1_priya_has_the_billing_queue_open", func(t *testing.T) {
		// Watch for the queue's event stream to connect: what is escalated after that must
		// reach the page.
		wait, cancel := context.WithTimeout(priya.ctx, stepTimeout+liveTimeout)
		defer cancel()
		streams := chromedp.Events(wait, network.ResponseReceived) // ends with wait
		priya.signIn(t, "priya", "/queue/billing", "")
		connected := false
		for ev, err := range streams {
			if err != nil {
				break
			}
			if strings.Contains(ev.Response.URL, "/console/events?team=billing") {
				if ev.Response.Status != http.StatusOK {
					priya.fail(t, "the billing queue's event stream answered %d", ev.Response.Status)
				}
				connected = true
				break
			}
		}
		if !connected {
			priya.fail(t, "the billing queue did not open its event stream")
		}
		if n := eval[int](t, priya, `document.querySelectorAll('`+row+`').length`); n != 0 {
			priya.fail(t, "the billing queue shows the ticket before it was escalated")
		}
		// A reload would lose this.
		priya.step(t, "mark the page", chromedp.Evaluate[chromedp.Void](`window.__sameDocument = "billing-queue"`))
	})
	if !ok {
		return
	}

	ok = t.Run("b_a_short_note_is_refused_in_the_page", func(t *testing.T) {
		ana.submit(t, "open the ticket from the queue", row+" td a", http.StatusOK)
		if got := ana.path(t); got != "/tickets/"+tk {
			ana.fail(t, "the queue's link led to %s", got)
		}
		checkLabels(t, ana, "ana's ticket page")
		ana.step(t, "mark the page", chromedp.Evaluate[chromedp.Void](`window.__sameDocument = "ticket"`))
		ana.step(t, "fill the escalation with a short note",
			chromedp.SetValue(chromedp.CSS("#esc-to"), "billing"),
			chromedp.SetValue(chromedp.CSS("#esc-reason"), "complexity"),
			chromedp.SendKeys(chromedp.CSS("#esc-note"), "pls help"),
			chromedp.Click(chromedp.CSS(`#escalate button[type="submit"]`)))
		ana.step(t, "wait for the note's error", chromedp.WaitVisible(chromedp.CSS("#esc-note-err")))
		if msg := ana.text(t, "#esc-note-err"); !strings.Contains(msg, "at least 20 characters") {
			t.Errorf("the note's error says %q, want it to ask for at least 20 characters", msg)
		}
		if got := eval[string](t, ana, `window.__sameDocument || ""`); got != "ticket" {
			ana.fail(t, "the short note's submit left the page (the browser navigated)")
		}
		if got := ana.path(t); got != "/tickets/"+tk {
			t.Errorf("after the refused submit the page is %s", got)
		}
		if got := eval[string](t, ana, `document.activeElement ? document.activeElement.id : ""`); got != "esc-note" {
			t.Errorf("after the refusal the focus is on %q, want the note", got)
		}
		if got := eval[string](t, ana, `document.getElementById("esc-note").getAttribute("aria-invalid") || ""`); got != "true" {
			t.Errorf("the refused note is not marked aria-invalid")
		}
		if n := escalationsOf(t, s, tk); n != 0 {
			t.Errorf("the refused form escalated anyway: %d escalations", n)
		}
		ana.shot(t, "03-ticket-note-error")
	})
	if !ok {
		return
	}

	ok = t.Run("c_ana_escalates_to_billing", func(t *testing.T) {
		ana.step(t, "write a real note",
			// Select what she typed and type over it.
			chromedp.Click(chromedp.CSS("#esc-note")),
			chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
			chromedp.SendKeys(chromedp.CSS("#esc-note"), "Carrier lost parcel 1182; needs a refund or a reshipment from billing."))
		if got := value(t, ana, "read the note", chromedp.Value(chromedp.CSS("#esc-note"))); got != "Carrier lost parcel 1182; needs a refund or a reshipment from billing." {
			ana.fail(t, "the note reads %q", got)
		}
		ana.submit(t, "click Escalate", `#escalate button[type="submit"]`, http.StatusOK)
		if got := ana.path(t); !strings.HasPrefix(got, "/tickets/"+tk+"?done=escalate") {
			t.Errorf("after escalating the page is %s", got)
		}
		if got := ana.text(t, ".alert.notice"); got != "Escalated." {
			t.Errorf("the notice says %q, want Escalated.", got)
		}
		if n := escalationsOf(t, s, tk); n != 1 {
			t.Errorf("%d escalations after escalating, want 1", n)
		}
		ana.shot(t, "04-ticket-escalated")
	})
	if !ok {
		return
	}

	ok = t.Run("d2_the_ticket_appears_in_the_open_billing_queue", func(t *testing.T) {
		wait, cancel := context.WithTimeout(priya.ctx, liveTimeout)
		defer cancel()
		if err := chromedp.Do(wait, chromedp.WaitVisible(chromedp.CSS(row))); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				// Tell a page that was not told from a server that does not list the ticket.
				listed := value(t, priya, "fetch the queue's rows", chromedp.Evaluate[bool](
					`fetch(document.getElementById("queue").dataset.rows, {credentials: "same-origin"}).then((r) => r.text()).then((html) => html.includes('data-ticket="`+tk+`"'))`,
					chromedp.EvalAwaitPromise))
				why := "the server's rows (GET /queue/billing/rows) do not list it either"
				if listed {
					why = "the server's rows (GET /queue/billing/rows) list it: the page did not fetch them again"
				}
				priya.fail(t, "the escalated ticket did not appear in priya's open billing queue within %s; %s (live status: %q)",
					liveTimeout, why, eval[string](t, priya, `document.getElementById("live").textContent`))
			}
			priya.fail(t, "wait for the ticket's row: %v", err)
		}
		if got := eval[string](t, priya, `window.__sameDocument || ""`); got != "billing-queue" {
			priya.fail(t, "the billing queue was reloaded, not updated in place")
		}
		if got := priya.text(t, row+" .badge"); got != "pending" {
			t.Errorf("the new row's escalation badge says %q, want pending", got)
		}
		if !eval[bool](t, priya, `document.querySelector('`+row+`').classList.contains("flash")`) {
			t.Errorf("the new row is not highlighted (class flash)")
		}
		priya.shot(t, "05-queue-billing-live-row")
	})
	if !ok {
		return
	}

	ok = t.Run("e_priya_acknowledges", func(t *testing.T) {
		priya.submit(t, "open the ticket from the queue", row+" td a", http.StatusOK)
		checkLabels(t, priya, "priya's ticket page (acknowledge, return, resolve)")
		priya.step(t, "answer: context sufficient, no",
			chromedp.Click(chromedp.CSS(`#acknowledge input[name="context_sufficient"][value="no"]`)))
		priya.submit(t, "click Acknowledge", `#acknowledge button[type="submit"]`, http.StatusOK)
		if got := priya.text(t, ".alert.notice"); got != "Escalation acknowledged." {
			t.Errorf("the notice says %q, want Escalation acknowledged.", got)
		}
		if got := priya.text(t, ".escs"); !strings.Contains(got, "acknowledged by priya") || !strings.Contains(got, "context sufficient: no") {
			t.Errorf("the escalations list says %q", got)
		}
		priya.shot(t, "06-ticket-acknowledged")
	})
	if !ok {
		return
	}

	t.Run("f_maya_views_the_dashboard", func(t *testing.T) {
		maya.signIn(t, "maya", "/dashboard", "")
		maya.shot(t, "07-dashboard")
		if n := eval[int](t, maya, `document.querySelectorAll("main svg").length`); n == 0 {
			t.Errorf("the dashboard has no <svg> chart")
		}
	})
	t.Logf("the scenario took %s", time.Since(started).Round(100*time.Millisecond))
}
