package app_test

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/escalated/escalated"
)

// matrixRow is one route of docs/security.md's authorisation table.
type matrixRow struct {
	method, path string
	allow        map[escalated.Role]bool
}

var matrixLine = regexp.MustCompile("^\\| `(GET|POST|PUT|PATCH|DELETE) (/[^`]+)` \\|(.*)\\|$")

// readMatrix parses the table "Who may do what" of docs/security.md: the doc is the source of
// truth the test runs, so the table cannot drift from what the server does.
func readMatrix(t *testing.T) (roles []escalated.Role, rows []matrixRow) {
	t.Helper()
	f, err := os.Open("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	inTable := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "| route |") {
			inTable = true
			for _, c := range strings.Split(strings.Trim(line, "|"), "|")[1:] {
				roles = append(roles, escalated.Role(strings.TrimSpace(c)))
			}
			continue
		}
		if !inTable {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		m := matrixLine.FindStringSubmatch(line)
		if m == nil {
			continue // the |---| line
		}
		cells := strings.Split(strings.Trim(m[3], " "), "|")
		if len(cells) != len(roles) {
			t.Fatalf("docs/security.md: %q has %d cells, want %d", line, len(cells), len(roles))
		}
		row := matrixRow{method: m[1], path: m[2], allow: map[escalated.Role]bool{}}
		for i, c := range cells {
			switch strings.TrimSpace(c) {
			case "yes":
				row.allow[roles[i]] = true
			case "no":
			default:
				t.Fatalf("docs/security.md: %q: cell %q is neither yes nor no", line, c)
			}
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		t.Fatal("docs/security.md has no authorisation table")
	}
	return roles, rows
}

// TestAuthorizationMatrix calls every route of the table with every role's token: a "no" must
// be 403 forbidden (and nothing else: a refusal comes before the request is looked at, so a
// malformed body gets 403 too), a "yes" anything but 401 or 403. Every authenticated route the server serves must be in the
// table.
func TestAuthorizationMatrix(t *testing.T) {
	roles, rows := readMatrix(t)
	for _, r := range escalated.Roles {
		if !slices.Contains(roles, r) {
			t.Fatalf("the table has no column for role %s", r)
		}
	}
	s := startServer(t)
	inTable := map[string]bool{}
	for _, row := range rows {
		inTable[row.method+" "+row.path] = true
	}
	for _, route := range s.app.API.Routes() {
		if !strings.Contains(route, " /v1/") {
			continue
		}
		if !inTable[route] {
			t.Errorf("route %s is served but not in docs/security.md's table", route)
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, row := range rows {
		path := strings.NewReplacer("{id}", "x_unknown").Replace(row.path)
		for _, role := range roles {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			var body *strings.Reader
			if row.method != "GET" && row.method != "DELETE" {
				body = strings.NewReader("{}")
			} else {
				body = strings.NewReader("")
			}
			req, _ := http.NewRequestWithContext(ctx, row.method, s.base+path, body)
			req.Header.Set("Authorization", "Bearer "+s.tokens[role])
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				cancel()
				t.Fatalf("%s %s as %s: %v", row.method, path, role, err)
			}
			// A stream (GET /v1/events) answers its status at once and then stays open.
			resp.Body.Close()
			cancel()
			switch allowed := row.allow[role]; {
			case !allowed && resp.StatusCode != http.StatusForbidden:
				t.Errorf("%s %s as %s: status %d, want 403 (the table says no)", row.method, row.path, role, resp.StatusCode)
			case allowed && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized):
				t.Errorf("%s %s as %s: status %d, but the table says yes", row.method, row.path, role, resp.StatusCode)
			}
			// A role that may not call the route hears so whatever it sent: a malformed body
			// is not looked at.
			if !row.allow[role] && row.method != "GET" && row.method != "DELETE" {
				req, _ := http.NewRequest(row.method, s.base+path, strings.NewReader("{not json"))
				req.Header.Set("Authorization", "Bearer "+s.tokens[role])
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s %s as %s with a malformed body: status %d, want 403", row.method, row.path, role, resp.StatusCode)
				}
			}
		}
	}
}
