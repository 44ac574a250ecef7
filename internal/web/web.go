// Package web is the console (F17, E8): the pages agents and supervisors work in, rendered on
// the server with html/template and embedded in the binary, with a little JavaScript for live
// queues and countdowns. It signs people in with the passwords `escalated user set-password`
// sets, keeps sessions in the store, and checks a CSRF token on every form. The services do the
// work and the authorisation, with the signed-in person as the principal, exactly as for an API
// token.
package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/gzhttp"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/analytics"
	"github.com/escalated/escalated/internal/clientip"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/ticket"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Cookie names. The session cookie holds a random token whose SHA-256 is the session's key in
// the store; the login cookie carries the sign-in form's CSRF token (double submit), since
// there is no session yet to hold it.
const (
	sessionCookie = "escalated_session"
	loginCookie   = "escalated_login"
)

// DefaultSessionTTL is how long a sign-in lasts: a working day and some.
const DefaultSessionTTL = 12 * time.Hour

// Config is what the console needs.
type Config struct {
	Tickets   *ticket.Service
	Analytics *analytics.Service
	Store     store.Store
	// Events serves the live event stream (the API's GET /v1/events) for a request whose
	// principal is already in its context.
	Events http.HandlerFunc
	Log    *slog.Logger
	Now    func() time.Time
	// SessionTTL is how long a sign-in lasts (zero: DefaultSessionTTL).
	SessionTTL time.Duration
	// NotFound answers a path the console does not know for a client that does not ask for
	// HTML (an API client's typo gets the API's JSON error); nil: a plain 404.
	NotFound http.Handler
	// ClientIP tells the client address the sign-in limits count by (nil: the peer's).
	ClientIP *clientip.Resolver
}

// Server is the console's http.Handler.
type Server struct {
	cfg    Config
	mux    *http.ServeMux
	pages  map[string]*template.Template
	limits *signInLimits
	// handler is mux behind gzip for pages, stylesheet and script (a queue of 500 tickets is
	// 350 KiB of HTML and compresses about tenfold); the event stream is left as it is.
	handler http.Handler
}

// New parses the templates and registers the routes.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), pages: map[string]*template.Template{}, limits: newSignInLimits()}
	for _, page := range []string{"login", "queue", "ticket", "dashboard", "policy", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", page, err)
		}
		s.pages[page] = t
	}
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(http.FileServerFS(static))))
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.Handle("POST /logout", s.person(s.logout))
	s.mux.Handle("GET /{$}", s.person(s.home))
	s.mux.Handle("GET /queue/{team}", s.person(s.queue))
	s.mux.Handle("GET /queue/{team}/rows", s.person(s.queueRows))
	s.mux.Handle("GET /tickets/{id}", s.person(s.ticketPage))
	s.mux.Handle("POST /tickets/{id}/{action}", s.person(s.ticketAction))
	s.mux.Handle("GET /dashboard", s.person(s.dashboard))
	s.mux.Handle("GET /policy", s.person(s.policyPage))
	s.mux.Handle("POST /policy", s.person(s.policyPost))
	s.mux.Handle("GET /console/events", s.person(s.events))
	s.mux.HandleFunc("/", s.notFound)
	gz, err := gzhttp.NewWrapper(gzhttp.ContentTypes([]string{"text/html", "text/css", "text/javascript"}))
	if err != nil {
		return nil, err
	}
	s.handler = gz(s.mux)
	return s, nil
}

// ServeHTTP serves the console with the headers every page carries.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Everything the pages load is the binary's own: no inline script, no third-party origin.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	s.handler.ServeHTTP(w, r)
}

// notFound is the answer for a path nobody serves: a page for a browser, the API's error for
// anyone else.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		if s.cfg.NotFound != nil {
			s.cfg.NotFound.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
		return
	}
	p, _ := s.session(r)
	s.render(w, r, http.StatusNotFound, "error", page{Title: "Not found", Person: p, Error: "There is no page at " + r.URL.Path + "."})
}

// staticHandler serves the console's own files with an ETag of their content, and browsers
// ask again each time (a 304 when unchanged): after an upgrade nobody runs yesterday's script.
func staticHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		if tag, ok := staticETags[strings.TrimPrefix(r.URL.Path, "/")]; ok {
			w.Header().Set("ETag", tag)
		}
		next.ServeHTTP(w, r)
	})
}

// staticETags are the static files' content hashes.
var staticETags = func() map[string]string {
	tags := map[string]string{}
	_ = fs.WalkDir(staticFiles, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFiles.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		tags[strings.TrimPrefix(path, "static/")] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	return tags
}()

// Person is who is signed in.
type Person struct {
	ID, Name string
	Role     escalated.Role
	// Teams are the teams the person works in and sees (an agent: their teams, then what the
	// policy's sees adds) or looks after (a supervisor; every team when the policy names none).
	Teams []string
	CSRF  string
}

// Supervisor says whether the person oversees (dashboard, policy).
func (p *Person) Supervisor() bool { return p.Role == escalated.RoleSupervisor }

// personOf looks the signed-in id up in the live policy: a person removed from it is signed
// out with their next request.
func personOf(pol *policy.Policy, id string) (*Person, bool) {
	if a, ok := pol.Agent(id); ok {
		// The teams an agent works in, then those the policy lets them see too (sees), as the
		// ticket service scopes them (ticket.ScopeOf).
		teams := slices.Clone(a.Teams)
		for _, t := range pol.Teams {
			if (a.SeesAll || slices.Contains(a.Sees, t.ID)) && !slices.Contains(teams, t.ID) {
				teams = append(teams, t.ID)
			}
		}
		return &Person{ID: a.ID, Name: cmpOr(a.Name, a.ID), Role: escalated.RoleAgent, Teams: teams}, true
	}
	if sup, ok := pol.Supervisor(id); ok {
		teams := sup.Teams
		if len(teams) == 0 {
			for _, t := range pol.Teams {
				teams = append(teams, t.ID)
			}
		}
		return &Person{ID: sup.ID, Name: cmpOr(sup.Name, sup.ID), Role: escalated.RoleSupervisor, Teams: teams}, true
	}
	return nil, false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type personKey struct{}

// personFrom returns the person the request's session belongs to.
func personFrom(ctx context.Context) *Person {
	p, _ := ctx.Value(personKey{}).(*Person)
	return p
}

// person wraps a page that needs someone signed in: it loads the session, refuses a form
// without the session's CSRF token, and puts the person in the context both as the console's
// Person and as the services' principal. Without a session a page redirects to the sign-in
// (and back afterwards); a script's fetch gets 401.
func (s *Server) person(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.session(r)
		if err != nil {
			if errors.Is(err, errNoSession) {
				if r.Method == http.MethodGet && r.Header.Get("Sec-Fetch-Mode") != "cors" && r.Header.Get("Accept") != "text/event-stream" &&
					!strings.HasSuffix(r.URL.Path, "/rows") {
					http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				http.Error(w, "sign in first", http.StatusUnauthorized)
				return
			}
			s.fail(w, r, err)
			return
		}
		if r.Method == http.MethodPost {
			token := r.Header.Get("X-CSRF-Token")
			if token == "" {
				token = r.PostFormValue("csrf")
			}
			if subtle.ConstantTimeCompare([]byte(token), []byte(p.CSRF)) != 1 {
				s.render(w, r, http.StatusForbidden, "error", page{Title: "Form expired", Person: p,
					Error: "This form could not be checked (its security token is missing or out of date). Go back, reload the page and send it again."})
				return
			}
		}
		ctx := context.WithValue(r.Context(), personKey{}, p)
		ctx = escalated.WithPrincipal(ctx, escalated.Principal{Name: p.ID, Role: p.Role, User: p.ID})
		next(w, r.WithContext(ctx))
	})
}

var errNoSession = errors.New("no session")

// session returns the signed-in person of the request's cookie.
func (s *Server) session(r *http.Request) (*Person, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, errNoSession
	}
	var sess *store.Session
	err = s.cfg.Store.View(r.Context(), func(tx store.Tx) error {
		var err error
		sess, err = tx.GetSession(r.Context(), tokenHash(c.Value))
		return err
	})
	if escalated.ErrorCode(err) == escalated.ENOTFOUND {
		return nil, errNoSession
	} else if err != nil {
		return nil, err
	}
	if !s.cfg.Now().Before(sess.ExpiresAt) {
		return nil, errNoSession
	}
	live := s.cfg.Tickets.Policy()
	if live == nil {
		return nil, escalated.Errorf(escalated.EINTERNAL, "no policy loaded")
	}
	p, ok := personOf(live.Policy, sess.UserID)
	if !ok {
		return nil, errNoSession
	}
	p.CSRF = sess.CSRF
	return p, nil
}

// newToken returns 32 random bytes, URL-safe.
func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// secure says whether cookies may be marked Secure: the request came over TLS, directly or
// through a proxy that says so. A browser would not send a Secure cookie back over plain HTTP,
// so a console served without TLS (a demo on one machine) gets cookies without the flag.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
}

// page is what every template gets.
type page struct {
	Title  string
	Person *Person
	// Nav is the teams the person can open a queue of.
	Nav []navTeam
	// Error is a message for the whole page; Fields messages next to their form fields.
	Error  string
	Fields map[string]string
	Notice string
	Data   any
}

type navTeam struct{ ID, Name string }

func (s *Server) nav(p *Person) []navTeam {
	if p == nil {
		return nil
	}
	live := s.cfg.Tickets.Policy()
	var out []navTeam
	for _, id := range p.Teams {
		name := id
		if t, ok := live.Policy.Team(id); ok && t.Name != "" {
			name = t.Name
		}
		out = append(out, navTeam{ID: id, Name: name})
	}
	return out
}

// render writes a page with status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, pg page) {
	if pg.Nav == nil {
		pg.Nav = s.nav(pg.Person)
	}
	t := s.pages[name]
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout.html", pg); err != nil {
		s.cfg.Log.Error("console page failed to render", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// fail renders a service error as a page with the status its code means.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := escalated.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		s.cfg.Log.Error("console request failed", "path", r.URL.Path, "err", err)
		msg = "Something went wrong on our side; the error is in the server's log."
	}
	s.render(w, r, status, "error", page{Title: http.StatusText(status), Person: personFrom(r.Context()), Error: msg})
}

func statusOf(err error) int {
	switch escalated.ErrorCode(err) {
	case escalated.EINVALID:
		return http.StatusBadRequest
	case escalated.ENOTFOUND:
		return http.StatusNotFound
	case escalated.EFORBIDDEN:
		return http.StatusForbidden
	case escalated.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case escalated.ECONFLICT:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// mayOpenTeam says whether p may open the team's queue: their own teams, or any for a
// supervisor looking after all.
func mayOpenTeam(p *Person, team string) bool { return slices.Contains(p.Teams, team) }
