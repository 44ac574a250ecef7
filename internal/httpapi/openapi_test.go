package httpapi

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// openAPIPath is docs/openapi.yaml seen from this package's directory, where go test runs.
const openAPIPath = "../../docs/openapi.yaml"

// httpMethods are the keys of an OpenAPI path item that hold operations.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIDoc is the part of the document the tests read. The whole tree is kept as a node as
// well so that $ref targets can be resolved anywhere in it.
type openAPIDoc struct {
	OpenAPI    string                          `yaml:"openapi"`
	Security   []map[string][]string           `yaml:"security"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		SecuritySchemes map[string]yaml.Node `yaml:"securitySchemes"`
	} `yaml:"components"`
}

type openAPIOperation struct {
	OperationID string                 `yaml:"operationId"`
	Summary     string                 `yaml:"summary"`
	Description string                 `yaml:"description"`
	Security    *[]map[string][]string `yaml:"security"`
	Parameters  []openAPIParameter     `yaml:"parameters"`
	Responses   map[string]yaml.Node   `yaml:"responses"`
}

type openAPIParameter struct {
	Ref  string `yaml:"$ref"`
	Name string `yaml:"name"`
	In   string `yaml:"in"`
}

func loadOpenAPI(t *testing.T) (*openAPIDoc, *yaml.Node) {
	t.Helper()
	b, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatalf("read the OpenAPI document: %v", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		t.Fatalf("%s is not valid YAML: %v", openAPIPath, err)
	}
	var doc openAPIDoc
	if err := root.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", openAPIPath, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("%s: openapi is %q, want 3.1.x", openAPIPath, doc.OpenAPI)
	}
	return &doc, &root
}

var wildcardRE = regexp.MustCompile(`\{([^{}]*)\}`)

// canonicalPath turns an OpenAPI path template or a ServeMux path into one form: every
// parameter becomes {} (OpenAPI {id} and ServeMux {id} or {id...} alike), and the ServeMux
// end-of-path marker {$} is dropped.
func canonicalPath(p string) string {
	p = strings.TrimSuffix(p, "{$}")
	return wildcardRE.ReplaceAllString(p, "{}")
}

// pathParams returns the parameter names of a path template, in order.
func pathParams(p string) []string {
	var out []string
	for _, m := range wildcardRE.FindAllStringSubmatch(p, -1) {
		if name := strings.TrimSuffix(m[1], "..."); name != "$" {
			out = append(out, name)
		}
	}
	return out
}

// operations returns the document's operations by "METHOD /path", in the document's path form.
func (d *openAPIDoc) operations(t *testing.T) map[string]openAPIOperation {
	t.Helper()
	ops := map[string]openAPIOperation{}
	for path, item := range d.Paths {
		for key, node := range item {
			if !slices.Contains(httpMethods, key) {
				continue
			}
			var op openAPIOperation
			if err := node.Decode(&op); err != nil {
				t.Errorf("%s %s: %v", strings.ToUpper(key), path, err)
				continue
			}
			ops[strings.ToUpper(key)+" "+path] = op
		}
	}
	return ops
}

// TestOpenAPIMatchesRoutes keeps docs/openapi.yaml and the server's routes in step: every
// route the server answers is documented, and every documented operation is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	served := map[string]string{} // canonical -> pattern as registered
	for _, pattern := range New(Config{}).Routes() {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok || method == "" {
			t.Errorf("route %q has no method; document-able routes are registered as \"METHOD /path\"", pattern)
			continue
		}
		served[method+" "+canonicalPath(path)] = pattern
	}
	documented := map[string]string{} // canonical -> "METHOD /path" as in the document
	for key := range doc.operations(t) {
		method, path, _ := strings.Cut(key, " ")
		documented[method+" "+canonicalPath(path)] = key
	}
	var missing, extra []string
	for c, pattern := range served {
		if _, ok := documented[c]; !ok {
			missing = append(missing, pattern)
		}
	}
	for c, key := range documented {
		if _, ok := served[c]; !ok {
			extra = append(extra, key)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	for _, r := range missing {
		t.Errorf("route %s is served but not documented in %s", r, openAPIPath)
	}
	for _, r := range extra {
		t.Errorf("%s is documented in %s but the server does not serve it", r, openAPIPath)
	}
}

// TestOpenAPIOperations checks what every operation must carry: a unique operationId, a
// summary, a 2xx answer, a declared parameter for each path wildcard, and the security the
// route really has (bearer token on authenticated routes, none on open ones).
func TestOpenAPIOperations(t *testing.T) {
	doc, root := loadOpenAPI(t)
	if _, ok := doc.Components.SecuritySchemes["bearerAuth"]; !ok {
		t.Fatalf("components.securitySchemes.bearerAuth is not defined")
	}
	auth := map[string]bool{} // canonical "METHOD /path" -> route needs a token
	for _, r := range New(Config{}).routes() {
		method, path, _ := strings.Cut(r.pattern, " ")
		auth[method+" "+canonicalPath(path)] = r.auth
	}
	ids := map[string]string{}
	ops := doc.operations(t)
	keys := make([]string, 0, len(ops))
	for k := range ops {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		op := ops[key]
		method, path, _ := strings.Cut(key, " ")
		if op.OperationID == "" {
			t.Errorf("%s: no operationId", key)
		} else if prev, dup := ids[op.OperationID]; dup {
			t.Errorf("%s: operationId %q is also used by %s", key, op.OperationID, prev)
		} else {
			ids[op.OperationID] = key
		}
		if strings.TrimSpace(op.Summary) == "" {
			t.Errorf("%s: no summary", key)
		}
		has2xx := false
		for code := range op.Responses {
			if n, err := strconv.Atoi(code); (err == nil && n >= 200 && n < 300) || code == "2XX" {
				has2xx = true
			}
		}
		if !has2xx {
			t.Errorf("%s: no 2xx response", key)
		}

		// Every wildcard of the path is declared as an in: path parameter, on the operation or
		// on its path item.
		declared := map[string]bool{}
		params := op.Parameters
		if item, ok := doc.Paths[path]["parameters"]; ok {
			var shared []openAPIParameter
			if err := item.Decode(&shared); err != nil {
				t.Errorf("%s: path parameters: %v", path, err)
			}
			params = append(params, shared...)
		}
		for _, p := range params {
			if p.Ref != "" {
				n, err := resolveRef(root, p.Ref)
				if err != nil {
					continue // reported by TestOpenAPIRefsResolve
				}
				p = openAPIParameter{}
				_ = n.Decode(&p)
			}
			if p.In == "path" {
				declared[p.Name] = true
			}
		}
		for _, name := range pathParams(path) {
			if !declared[name] {
				t.Errorf("%s: path parameter {%s} is not declared", key, name)
			}
		}

		// Security must say what the route does.
		needs, served := auth[method+" "+canonicalPath(path)]
		if !served {
			continue // reported by TestOpenAPIMatchesRoutes
		}
		security := doc.Security
		if op.Security != nil {
			security = *op.Security
		}
		bearer := false
		open := len(security) == 0
		for _, req := range security {
			if _, ok := req["bearerAuth"]; ok {
				bearer = true
			}
			if len(req) == 0 {
				open = true
			}
		}
		// What every route with a token can answer besides its own: a bad token, a role without
		// the right, the rate limit; and for a write, a database that cannot take it.
		if needs {
			for _, code := range []string{"401", "403", "429"} {
				if _, ok := op.Responses[code]; !ok {
					t.Errorf("%s: no %s response (every route with a token can answer it)", key, code)
				}
			}
		}
		if _, ok := op.Responses["503"]; !ok && method != "GET" {
			t.Errorf("%s: no 503 response (a write answers unavailable when the database cannot take it)", key)
		}
		switch {
		case needs && (!bearer || open):
			t.Errorf("%s: the route requires a bearer token but the document does not say so (security: bearerAuth)", key)
		case !needs && !open:
			t.Errorf("%s: the route is open but the document requires security (set security: [])", key)
		}
	}
}

// TestOpenAPIRefsResolve checks that every $ref in the document points at something defined.
func TestOpenAPIRefsResolve(t *testing.T) {
	_, root := loadOpenAPI(t)
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "$ref" && v.Kind == yaml.ScalarNode {
					if _, err := resolveRef(root, v.Value); err != nil {
						t.Errorf("line %d: $ref %q: %v", v.Line, v.Value, err)
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
}

// resolveRef follows a local JSON pointer ("#/components/schemas/Ticket") from the document's
// root. Only references to components are allowed, so that every shared piece has a name.
func resolveRef(root *yaml.Node, ref string) (*yaml.Node, error) {
	pointer, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("only local references (#/...) are supported")
	}
	if !strings.HasPrefix(pointer, "components/") {
		return nil, fmt.Errorf("must point into #/components")
	}
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for _, raw := range strings.Split(pointer, "/") {
		tok, err := url.PathUnescape(raw)
		if err != nil {
			return nil, err
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		if n.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%q is not an object", tok)
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == tok {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return nil, fmt.Errorf("%q is not defined", tok)
		}
		n = next
	}
	return n, nil
}
