package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// aliasHeadroom is how many nodes alias expansion may add beyond twice the size of the source.
// A node written out costs about a byte of source at the least, so 2*len(src) covers any
// document without aliases; the headroom is for honest reuse of anchors, and stops a "billion
// laughs" document from turning a few hundred bytes into millions of nodes.
const aliasHeadroom = 100_000

// parser collects problems while walking one document; nothing in it outlives Parse.
type parser struct {
	file   string
	errs   ErrorList
	budget int  // nodes alias expansion may still produce
	tooBig bool // the budget ran out; the tree is truncated and not worth validating

	cals, tiers, teams, agents, sups *ids // ids defined so far, for checking references

	src          []byte          // the document, for positions inside conditions
	channelIDs   []string        // ids of the channels section, for notify actions
	channelSet   map[string]bool // the same ids, for lookups
	keywordNodes []*yaml.Node    // id node of each keyword list, parallel to Signals.Keywords
	ruleInfo     []ruleInfo      // nodes of each rule, parallel to Rules
	pathEdges    []pathEdge      // every move the paths allow, in file order, for lint
}

// pathEdge is one move a path allows, with the node of its target for lint to blame.
type pathEdge struct {
	from, to string
	node     *yaml.Node
	path     string
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	line, col := 1, 1
	if n != nil {
		line, col = max(n.Line, 1), max(n.Column, 1)
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
}

// at prefixes a message with the node's path when it has one; top-level messages read better
// without an empty prefix.
func at(path, msg string) string {
	if path == "" {
		return msg
	}
	return path + ": " + msg
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): ((?s).*)$`)

// syntaxError turns a yaml.v3 error into a positioned Error. yaml.v3 reports only the line of a
// syntax error, and some errors (unknown anchors, bad UTF-8) not even that; line 1 column 1
// keeps every Error positioned, which tools that parse "file:line:col" rely on.
func (p *parser) syntaxError(err error) {
	msg, line := err.Error(), 1
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil && n > 0 {
			line = n
		}
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Column: 1, Msg: "invalid YAML: " + msg})
}

// decode returns the document's root node, or nil after reporting why there is none.
func (p *parser) decode(src []byte) (root *yaml.Node) {
	// yaml.v3 converts its own failures to errors, but it is third-party code fed untrusted
	// input; a policy upload must never take the server down with it.
	defer func() {
		if r := recover(); r != nil {
			p.errs = append(p.errs, &Error{File: p.file, Line: 1, Column: 1, Msg: fmt.Sprintf("invalid YAML: parser failed: %v", r)})
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(nil, "empty policy")
		} else {
			p.syntaxError(err)
		}
		return nil
	}
	// A second document would be silently ignored by a plain Unmarshal, and with it whatever the
	// author put there. Empty ones (a trailing "---", as some generators write) lose nothing.
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			p.syntaxError(err)
			break
		}
		if len(extra.Content) > 0 && !isNull(extra.Content[0]) {
			p.errorf(&extra, "a second YAML document starts here; a policy file holds exactly one document (remove this \"---\" and what follows, or merge it into the first)")
			break
		}
	}
	root = &doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			p.errorf(&doc, "empty policy")
			return nil
		}
		root = doc.Content[0]
	}
	if isNull(root) {
		p.errorf(root, "empty policy")
		return nil
	}
	return root
}

// expand returns a copy of n with every alias replaced by a copy of what it refers to and every
// merge key ("<<: *base") applied, so that validation and the packages reading the raw sections
// see plain trees. active holds the anchored nodes being expanded, to catch an anchor that
// contains an alias to itself, which yaml.v3 leaves as a cycle when decoding to nodes.
func (p *parser) expand(n *yaml.Node, active map[*yaml.Node]bool) *yaml.Node {
	if p.budget <= 0 {
		if !p.tooBig {
			p.tooBig = true
			p.errorf(n, "document too large once aliases are expanded (more than %d nodes); use fewer aliases", aliasHeadroom)
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
	}
	p.budget--
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || active[n.Alias] {
			p.errorf(n, "alias *%s is used inside its own anchor &%s, which would repeat forever", n.Value, n.Value)
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
		}
		return p.expand(n.Alias, active)
	}
	c := *n
	c.Content, c.Alias = nil, nil
	if len(n.Content) == 0 {
		return &c
	}
	if n.Anchor != "" {
		active[n] = true
		defer delete(active, n)
	}
	if n.Kind != yaml.MappingNode {
		c.Content = make([]*yaml.Node, 0, len(n.Content))
		for _, child := range n.Content {
			c.Content = append(c.Content, p.expand(child, active))
		}
		return &c
	}
	var merges []*yaml.Node
	c.Content = make([]*yaml.Node, 0, len(n.Content))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			merges = append(merges, p.expand(v, active))
			continue
		}
		c.Content = append(c.Content, p.expand(k, active), p.expand(v, active))
	}
	if len(merges) == 0 {
		return &c
	}
	// YAML merge semantics: keys written in the mapping win over merged ones, and among merged
	// mappings the earlier one wins.
	seen := map[string]bool{}
	for i := 0; i < len(c.Content); i += 2 {
		seen[c.Content[i].Value] = true
	}
	for _, m := range merges {
		sources := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, s := range sources {
			if s.Kind != yaml.MappingNode {
				p.errorf(s, "merge key << needs a mapping or a list of mappings, got %s", describe(s))
				continue
			}
			for i := 0; i+1 < len(s.Content); i += 2 {
				k := s.Content[i]
				if k.Kind == yaml.ScalarNode && seen[k.Value] {
					continue
				}
				seen[k.Value] = true
				c.Content = append(c.Content, k, s.Content[i+1])
			}
		}
	}
	return &c
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "got ..." in messages; values are quoted and shortened so
// a message stays one readable line whatever the document holds.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!int", "!!float", "!!bool":
			return short(n.Value)
		}
		return q(n.Value)
	}
	return "an unsupported node"
}

const maxQuoted = 60

func short(s string) string {
	if utf8.RuneCountInString(s) <= maxQuoted {
		return s
	}
	r := []rune(s)
	return string(r[:maxQuoted]) + "..."
}

// q quotes a value from the document for a message.
func q(s string) string { return strconv.Quote(short(s)) }

// mapping is a checked YAML mapping: keys are unique scalars.
type mapping struct {
	node *yaml.Node
	keys map[string]*yaml.Node
	vals map[string]*yaml.Node
}

// get returns the value of key, or nil when the key is absent or null: for every optional
// setting, "key:" with nothing after it means the same as leaving the key out.
func (m mapping) get(key string) *yaml.Node {
	v := m.vals[key]
	if isNull(v) {
		return nil
	}
	return v
}

// where is the best node to blame for a missing or empty key: the key itself when written,
// else the mapping.
func (m mapping) where(key string) *yaml.Node {
	if k := m.keys[key]; k != nil {
		return k
	}
	return m.node
}

// mapOf checks that n is a mapping with unique scalar keys, all of them in allowed (nil allows
// any key); what names the mapping in messages ("team"). Unknown keys are errors because a
// misspelt optional key would otherwise be ignored and its setting silently lost.
func (p *parser) mapOf(n *yaml.Node, path, what string, allowed []string) (mapping, bool) {
	m := mapping{node: n, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}}
	if n.Kind != yaml.MappingNode {
		if allowed != nil {
			p.errorf(n, "%s", at(path, fmt.Sprintf("must be %s %s mapping with keys %s, got %s", article(what), what, strings.Join(allowed, ", "), describe(n))))
		} else {
			p.errorf(n, "%s", at(path, fmt.Sprintf("must be %s %s mapping, got %s", article(what), what, describe(n))))
		}
		return m, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s", at(path, fmt.Sprintf("a key must be a plain word, got %s", describe(k))))
			continue
		}
		if first, dup := m.keys[k.Value]; dup {
			p.errorf(k, "%s", at(path, fmt.Sprintf("duplicate key %s (first at line %d); each key may appear once", q(k.Value), first.Line)))
			continue
		}
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			if path == "" {
				p.errorf(k, "unknown key %s (allowed top-level keys: %s)", q(k.Value), strings.Join(allowed, ", "))
			} else {
				// No path prefix: "in team" already says where, and the position says which one.
				p.errorf(k, "unknown key %s in %s (allowed: %s)", q(k.Value), what, strings.Join(allowed, ", "))
			}
		}
		m.keys[k.Value] = k
		m.vals[k.Value] = v
	}
	return m, true
}

// article is "a" or "an" for the nouns mapOf names; "SLA" is read "ess-el-ay".
func article(noun string) string {
	if strings.HasPrefix(noun, "SLA") || noun != "" && strings.ContainsAny(noun[:1], "aeiou") {
		return "an"
	}
	return "a"
}

// listOf checks that n is a list; what describes its items ("teams").
func (p *parser) listOf(n *yaml.Node, path, what string) ([]*yaml.Node, bool) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s", at(path, fmt.Sprintf("must be a list of %s (one \"- ...\" entry each), got %s", what, describe(n))))
		return nil, false
	}
	return n.Content, true
}

// str reads a scalar as text. Any scalar counts, so "id: 42" or "name: yes" mean the text that
// was written rather than a type error the author cannot see the reason for.
func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.errorf(n, "%s", at(path, fmt.Sprintf("must be a single value, got %s", describe(n))))
		return "", false
	}
	return n.Value, true
}

// item is one string of a list, with its node and path so a later check can blame it.
type item struct {
	s    string
	node *yaml.Node
	path string
}

// strList reads a list of non-empty scalars, or a single scalar when one is allowed
// (`from: frontline` for `from: [frontline]`). Bad items are reported and left out.
func (p *parser) strList(n *yaml.Node, path, example string, scalarOK bool) []item {
	if scalarOK && n.Kind == yaml.ScalarNode && !isNull(n) {
		if n.Value == "" {
			p.errorf(n, "%s", at(path, "must not be empty"))
			return nil
		}
		return []item{{n.Value, n, path}}
	}
	if n.Kind != yaml.SequenceNode {
		hint := "a list like " + example
		if scalarOK {
			hint = "a value or " + hint
		}
		p.errorf(n, "%s", at(path, fmt.Sprintf("must be %s, got %s", hint, describe(n))))
		return nil
	}
	out := make([]item, 0, len(n.Content))
	for i, child := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		s, ok := p.str(child, ipath)
		if !ok {
			continue
		}
		if s == "" {
			p.errorf(child, "%s", at(ipath, "must not be empty"))
			continue
		}
		out = append(out, item{s, child, ipath})
	}
	return out
}

// texts returns just the strings of items.
func texts(items []item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.s
	}
	return out
}

// intVal reads a whole number of at least lo; rule is the allowed range as the message states
// it ("a whole number >= 1 (1 = frontline)").
func (p *parser) intVal(n *yaml.Node, path string, lo int, rule string) (int, bool) {
	var v int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil || v < lo {
		p.errorf(n, "%s", at(path, fmt.Sprintf("must be %s, got %s", rule, describe(n))))
		return 0, false
	}
	return v, true
}

// known lists ids for "(known teams: ...)"; long lists are cut because a message with three
// hundred agent ids helps nobody.
func known(ids []string) string {
	if len(ids) == 0 {
		return "none defined"
	}
	const maxShown = 20
	shown := make([]string, 0, min(len(ids), maxShown))
	for _, id := range ids[:min(len(ids), maxShown)] {
		shown = append(shown, short(id))
	}
	if len(ids) > maxShown {
		shown = append(shown, fmt.Sprintf("... (%d more)", len(ids)-maxShown))
	}
	return strings.Join(shown, ", ")
}
