package policy

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	exprparser "github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"
)

// Limits that keep every condition cheap to run whatever its author wrote. A condition is
// evaluated for every event of every ticket, so it must neither hang nor allocate without
// bound: the text and the syntax tree are capped here, the functions that can build large
// values (repeat, replace, reduce, concat, split, ...) are not offered, loops do not nest,
// ranges are written out and short, and the VM's memory budget stops what remains.
const (
	// MaxConditionLength is the longest condition text accepted, in bytes.
	MaxConditionLength = 2000
	// MaxConditionNodes is the largest syntax tree a condition may compile to.
	MaxConditionNodes = 200
	// maxRangeSize bounds a written-out range such as 1..10.
	maxRangeSize = 1000
	// conditionMemoryBudget is the expr VM's memory budget for one evaluation; the VM counts
	// the elements of the ranges, arrays and maps it builds and stops at this many.
	conditionMemoryBudget = 10_000
	// maxExplainReads is how many fields of a condition Explain quotes.
	maxExplainReads = 4
)

// conditionFunctions are the builtins conditions may call: pure, deterministic, and linear in
// their input. Left out: now/date/timezone (clock and zone database reads: a decision must
// depend on its input alone), and every function whose output can be much larger than its
// input or whose cost grows with a loop (repeat, replace, split, concat, flatten, reduce,
// groupBy, sortBy, toJSON, fromJSON, base64).
var conditionFunctions = []string{
	"all", "any", "none", "one", "filter", "map", "count", "find", "findIndex", "findLast", "findLastIndex",
	"len", "sum", "max", "min", "mean", "median", "first", "last", "get", "keys", "values",
	"lower", "upper", "trim", "trimPrefix", "trimSuffix", "hasPrefix", "hasSuffix", "indexOf", "lastIndexOf",
	"abs", "ceil", "floor", "round", "int", "float", "string", "type", "duration",
}

// envNames are the top-level names of Env, in declaration order.
var envNames = tagNames(reflect.TypeFor[Env]())

// stringIn is `text in list` for a list of texts, the commonest test in rules ("legal" in
// message.keywords, "vip" in ticket.tags). The expression engine's own `in` walks a list by
// reflection and allocates for every element it looks at; this does not.
func stringIn(params ...any) (any, error) {
	s, _ := params[0].(string)
	list, _ := params[1].([]string)
	return slices.Contains(list, s), nil
}

// stringInName is the name `in` is overloaded with for (string, []string). Conditions cannot
// call it by name: the walker accepts only conditionFunctions.
const stringInName = "__stringIn"

// exprOptions are the compiler options every condition is compiled with.
func exprOptions(env any, asBool bool) []expr.Option {
	opts := []expr.Option{
		expr.Env(env), expr.MaxNodes(MaxConditionNodes), expr.DisableAllBuiltins(),
		expr.Function(stringInName, stringIn, new(func(string, []string) bool)),
		expr.Operator("in", stringInName),
	}
	for _, name := range conditionFunctions {
		opts = append(opts, expr.EnableBuiltin(name))
	}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	return opts
}

// Condition is a compiled `when` expression. It is compiled once, when the policy is loaded,
// and is immutable afterwards; Eval may run it from any number of goroutines, each with its
// own Evaluator.
type Condition struct {
	// Text is the expression as written in the policy.
	Text string
	// Line and Column are where the expression starts in the policy file (0 when the
	// condition was compiled from text alone).
	Line, Column int

	program *vm.Program
	reads   []conditionRead // fields the condition reads, for Explain
	fields  []fieldUse      // where the text reads plain struct fields, for batches
	strs    []string        // string literals in the condition
	keyword bool            // the condition reads a keywords list
	// constant is set when the condition reads nothing from the environment: its value was
	// computed at load (constValue), or computing it failed (constErr).
	constant   bool
	constKnown bool // constValue holds the value: Eval returns it without running anything
	constValue bool
	constErr   string
	// whenTrue and whenFalse are the trace's reasons, built once at load so that a decision
	// does not format text for every rule it tries.
	whenTrue, whenFalse string
}

// fieldUse is one place where a condition's text reads a field of Env through struct fields
// only (ticket.priority, account.attributes, now): such a read cannot fail, so a batch may
// read it once for all its conditions (see batch.go). From and To are byte offsets of the
// path in the text, which reads exactly Path there.
type fieldUse struct {
	From, To int
	Path     string
}

// conditionRead is one field path a condition reads and a program that reads it alone.
type conditionRead struct {
	path    string
	program *vm.Program
}

// ConditionError is a problem in a condition's text; Offset is in characters (runes) from
// the start of the text, for placing the problem in the file that holds the condition.
type ConditionError struct {
	Offset int
	Msg    string
}

func (e *ConditionError) Error() string {
	return fmt.Sprintf("%s (at character %d)", e.Msg, e.Offset+1)
}

// CompileCondition compiles a condition against Env. A problem is a *ConditionError. Callers
// that have the condition's YAML node should use CompileConditionNode, which positions the
// problem in the file.
func CompileCondition(text string) (*Condition, error) {
	c, cerr := compileCondition(text)
	if cerr != nil {
		return nil, cerr
	}
	return c, nil
}

// CompileConditionNode compiles the condition held by the scalar node n of the policy
// document src (the file named file), and reports a problem as an *Error at the exact line and
// column of the offending part of the expression; path prefixes the message ("sla[0].when").
// The SLA engine compiles its plans' `when` with it, so that they read the same environment
// and report errors the same way as rules.
func CompileConditionNode(file string, src []byte, n *yaml.Node, path string) (*Condition, *Error) {
	c, cerr := compileCondition(n.Value)
	if cerr != nil {
		line, col := scalarPos(src, n, cerr.Offset)
		return nil, &Error{File: file, Line: line, Column: col, Msg: at(path, cerr.Msg)}
	}
	c.Line, c.Column = n.Line, n.Column
	return c, nil
}

func compileCondition(text string) (*Condition, *ConditionError) {
	switch {
	case strings.TrimSpace(text) == "":
		return nil, &ConditionError{Msg: "the condition is empty (leave `when` out for a rule that matches every event it listens to)"}
	case len(text) > MaxConditionLength:
		return nil, &ConditionError{Msg: fmt.Sprintf("the condition is longer than %d characters; split the rule in two or simplify it", MaxConditionLength)}
	case !utf8.ValidString(text):
		return nil, &ConditionError{Msg: "the condition is not valid UTF-8 text"}
	}
	// Parse alone first: the checks below give better messages than the type checker for the
	// mistakes people make (a misspelt field, a function that is not offered), and the limits
	// must hold before anything is compiled or evaluated.
	cfg := conf.CreateNew()
	for _, opt := range exprOptions(Env{}, true) {
		opt(cfg)
	}
	for name := range cfg.Disabled {
		delete(cfg.Builtins, name)
	}
	tree, err := exprparser.ParseWithConfig(text, cfg)
	if err != nil {
		return nil, exprError(err, "syntax error: ")
	}
	w := &condWalker{text: text}
	w.walk(tree.Node)
	if w.err != nil {
		return nil, w.err
	}
	program, err := expr.Compile(text, exprOptions(Env{}, true)...)
	if err != nil {
		return nil, exprError(err, "type error: ")
	}
	c := &Condition{Text: text, program: program, fields: w.fields, strs: w.strs, keyword: w.keyword}
	for _, path := range w.reads {
		if len(c.reads) == maxExplainReads {
			break
		}
		if p, err := expr.Compile(path, exprOptions(Env{}, false)...); err == nil {
			c.reads = append(c.reads, conditionRead{path, p})
		}
	}
	if !w.envRef {
		// Nothing from the environment: the value is the same for every event, so compute it
		// now; the limits above make that safe. Lint reports a condition that is always false.
		c.constant = true
		var e Evaluator
		e.Reset(&Env{})
		c.constValue, err = c.Eval(&e)
		if err != nil {
			c.constErr = err.Error()
		} else {
			c.constKnown = true
		}
	}
	shown := quoteCondition(text)
	c.whenTrue = "condition " + shown + " was true"
	c.whenFalse = "condition " + shown + " was false"
	return c, nil
}

// quoteCondition renders a condition for a one-line message: whitespace runs (block scalars
// span lines) become one space, and a long condition is shortened.
func quoteCondition(text string) string {
	s := strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(s) > 120 {
		s = string([]rune(s)[:120]) + "..."
	}
	return "`" + s + "`"
}

// typeNames turns Go type names in the type checker's messages into the names a policy
// author sees.
var typeNames = strings.NewReplacer(
	"policy.TicketEnv", "ticket", "policy.AccountEnv", "account", "policy.CustomerEnv", "customer",
	"policy.MessageEnv", "message", "policy.SignalsEnv", "signals", "policy.SLAEnv", "sla",
	"policy.EscalationEnv", "escalation", "policy.EventEnv", "event", "policy.Env", "the environment",
	"map[string]interface {}", "map", "interface {}", "any", "time.Time", "time", "time.Duration", "duration",
)

// exprError turns an error of the expression parser (kind "syntax error: ") or type checker
// ("type error: ") into a ConditionError.
func exprError(err error, kind string) *ConditionError {
	var fe *file.Error
	if !errors.As(err, &fe) {
		msg := typeNames.Replace(err.Error())
		if got, ok := strings.CutPrefix(msg, "expected bool, but got "); ok {
			msg = fmt.Sprintf("the condition must be true or false, but it gives %s (compare it with something, like ticket.status == \"open\")", article(got)+" "+got)
		} else {
			msg = kind + msg
		}
		return &ConditionError{Msg: msg}
	}
	msg := typeNames.Replace(fe.Message)
	switch {
	case strings.Contains(msg, "exceeds maximum allowed nodes"):
		msg = fmt.Sprintf("the condition has more than %d parts; split the rule in two or simplify it", MaxConditionNodes)
	case strings.HasSuffix(msg, "divide by zero"):
		// Constants are folded while compiling, so 1 % 0 fails here rather than at run time.
		msg = "the condition divides by zero"
	default:
		msg = kind + msg
	}
	return &ConditionError{Offset: fe.From, Msg: msg}
}

// condWalker checks a parsed condition before it is compiled and collects what lint and
// Explain need.
type condWalker struct {
	text    string
	fields  []fieldUse
	err     *ConditionError
	loops   int      // predicate closures around the current node
	envRef  bool     // the condition reads the environment
	reads   []string // field paths read, in order of appearance, without repeats
	strs    []string // string literals
	keyword bool     // a keywords list is read
}

func (w *condWalker) fail(n ast.Node, format string, args ...any) {
	if w.err == nil {
		w.err = &ConditionError{Offset: n.Location().From, Msg: fmt.Sprintf(format, args...)}
	}
}

func (w *condWalker) walk(n ast.Node) {
	if n == nil || w.err != nil {
		return
	}
	switch n := n.(type) {
	case *ast.IdentifierNode:
		if !slices.Contains(envNames, n.Value) {
			w.fail(n, "unknown name %s (a condition reads %s)", q(n.Value), strings.Join(envNames, ", "))
			return
		}
		w.envRef = true
		w.read(n.Value)
		w.use(n, n.Value)
	case *ast.StringNode:
		w.strs = append(w.strs, n.Value)
	case *ast.MemberNode:
		if w.member(n) {
			return
		}
		w.walk(n.Node)
		w.walk(n.Property)
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			w.fail(id, "unknown function %s (conditions may call: %s)", q(id.Value), strings.Join(conditionFunctions, ", "))
			return
		}
		w.walk(n.Callee)
		for _, a := range n.Arguments {
			w.walk(a)
		}
	case *ast.BuiltinNode:
		if w.loops > 0 && slices.ContainsFunc(n.Arguments, func(a ast.Node) bool { _, ok := a.(*ast.PredicateNode); return ok }) {
			w.fail(n, "loops may not be nested (%s inside another loop); write two conditions joined with && instead", n.Name)
			return
		}
		for _, a := range n.Arguments {
			w.walk(a)
		}
	case *ast.PredicateNode:
		w.loops++
		w.walk(n.Node)
		w.loops--
	case *ast.VariableDeclaratorNode:
		w.fail(n, "let is not supported in conditions; write the expression out")
	case *ast.BinaryNode:
		switch n.Operator {
		case "matches":
			if _, ok := n.Right.(*ast.StringNode); !ok {
				w.fail(n.Right, "the pattern after matches must be written as a quoted string, like message.body matches \"(?i)refund\"")
				return
			}
		case "..":
			lo, lok := n.Left.(*ast.IntegerNode)
			hi, hok := n.Right.(*ast.IntegerNode)
			if !lok || !hok || hi.Value-lo.Value >= maxRangeSize {
				w.fail(n, "a range must be written with whole numbers at most %d apart, like 1..5", maxRangeSize-1)
				return
			}
		}
		w.walk(n.Left)
		w.walk(n.Right)
	case *ast.UnaryNode:
		w.walk(n.Node)
	case *ast.ChainNode:
		w.walk(n.Node)
	case *ast.SliceNode:
		w.walk(n.Node)
		w.walk(n.From)
		w.walk(n.To)
	case *ast.ConditionalNode:
		w.walk(n.Cond)
		w.walk(n.Exp1)
		w.walk(n.Exp2)
	case *ast.SequenceNode:
		for _, s := range n.Nodes {
			w.walk(s)
		}
	case *ast.ArrayNode:
		for _, s := range n.Nodes {
			w.walk(s)
		}
	case *ast.MapNode:
		for _, s := range n.Pairs {
			w.walk(s)
		}
	case *ast.PairNode:
		w.walk(n.Key)
		w.walk(n.Value)
	}
}

// member checks a field path rooted at an environment name (ticket.team, account.attributes.plan)
// against Env, so that a misspelt field is reported with the fields that exist. It reports
// whether it handled n; paths rooted elsewhere (#.id, a call's result) are walked as usual.
func (w *condWalker) member(n *ast.MemberNode) bool {
	var chain []*ast.MemberNode
	var cur ast.Node = n
	for {
		m, ok := cur.(*ast.MemberNode)
		if !ok {
			break
		}
		chain = append(chain, m)
		cur = m.Node
	}
	root, ok := cur.(*ast.IdentifierNode)
	if !ok {
		for _, m := range chain {
			if s, ok := m.Property.(*ast.StringNode); ok && m.Method && s.Value == "Local" {
				w.fail(s, "Local() depends on the server's time zone; use the time as given")
				return true
			}
		}
		return false
	}
	if !slices.Contains(envNames, root.Value) {
		w.walk(root) // reports the unknown name
		return true
	}
	w.envRef = true
	slices.Reverse(chain) // outermost last: chain[0] is the access right after the root
	t := fieldType(reflect.TypeFor[Env](), root.Value)
	path := root.Value
	structPath := path // the longest prefix read through struct fields only
	inStruct := true   // path so far is structPath
	readable := true   // path is still a plain field path (no index, method or computed key)
	for _, m := range chain {
		if inStruct {
			prop, isStr := m.Property.(*ast.StringNode)
			if isStr && !m.Method && !m.Optional && t != nil && t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Time]() && fieldType(t, prop.Value) != nil {
				structPath += "." + prop.Value
			} else {
				inStruct = false
			}
		}
		prop, isStr := m.Property.(*ast.StringNode)
		if !isStr {
			readable = false
			w.walk(m.Property)
			t = nil
			continue
		}
		if m.Method {
			readable = false
			if prop.Value == "Local" {
				w.fail(prop, "Local() depends on the server's time zone; use the time as given")
				return true
			}
			t = nil
			continue
		}
		if t != nil && t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Time]() {
			ft := fieldType(t, prop.Value)
			if ft == nil {
				w.fail(prop, "unknown field %s.%s (%s has: %s)", path, prop.Value, path, strings.Join(tagNames(t), ", "))
				return true
			}
			t = ft
		} else {
			// A map key (custom_fields.plan) is free-form; anything else is the type
			// checker's to judge.
			t = nil
		}
		if readable {
			path += "." + prop.Value
		}
	}
	// The plain part of the path is worth quoting: signals.trend for signals.trend[0], now for
	// now.Hour().
	if path != root.Value || root.Value == "now" {
		w.read(path)
	}
	w.use(root, structPath)
	return true
}

// use records that the text reads path starting at identifier root, if the text there is
// exactly the path (ticket.priority, not ticket . priority or ticket["priority"]).
func (w *condWalker) use(root ast.Node, path string) {
	from := runeToByte(w.text, root.Location().From)
	if from < 0 || !strings.HasPrefix(w.text[from:], path) {
		return
	}
	to := from + len(path)
	if to < len(w.text) && (isIdentByte(w.text[to]) || w.text[to] == '(') {
		return // a longer name, or a call
	}
	w.fields = append(w.fields, fieldUse{From: from, To: to, Path: path})
}

func isIdentByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// runeToByte converts a rune offset in s to a byte offset, or -1 when s is shorter.
func runeToByte(s string, runes int) int {
	for i := range s {
		if runes == 0 {
			return i
		}
		runes--
	}
	if runes == 0 {
		return len(s)
	}
	return -1
}

func (w *condWalker) read(path string) {
	if strings.HasSuffix(path, ".keywords") {
		w.keyword = true
	}
	// A longer path supersedes its prefix (ticket.custom_fields.plan over ticket), and a bare
	// root is not worth quoting when a field of it is read.
	for i, r := range w.reads {
		if r == path || strings.HasPrefix(path, r+".") {
			w.reads[i] = path
			w.reads = slices.Compact(w.reads)
			return
		}
		if strings.HasPrefix(r, path+".") {
			return
		}
	}
	w.reads = append(w.reads, path)
}

// fieldType is the type of the field of struct t named name in its expr tag, or nil.
func fieldType(t reflect.Type, name string) reflect.Type {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Tag.Get("expr") == name {
			return f.Type
		}
	}
	return nil
}

// tagNames lists the expr names of struct t's fields.
func tagNames(t reflect.Type) []string {
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if name := t.Field(i).Tag.Get("expr"); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// Evaluator runs conditions against one Env. Reset binds it to an Env; it keeps the
// expression VM's stack and buffers between runs, and Prepare evaluates all of one event's
// conditions in a single run. Not safe for concurrent use: one Evaluator per goroutine.
type Evaluator struct {
	vm  vm.VM
	own Env  // the Env Reset copied
	env *Env // &own once Reset, nil before

	// What Prepare computed: the batch's values for pol's rules.
	pol     *Policy
	results []any
	slot    []int
}

// Reset binds the evaluator to a copy of env (its slices and maps are shared, and must not
// change while the evaluator uses them), and forgets what Prepare computed. Copying lets a
// caller pass the address of a value on its stack without it escaping to the heap.
func (e *Evaluator) Reset(env *Env) {
	e.own, e.env = *env, &e.own
	e.pol, e.results, e.slot = nil, nil, nil
}

// Clear drops the evaluator's references to the last Env and its results, so that an
// evaluator kept for reuse does not keep a message body or a ticket alive.
func (e *Evaluator) Clear() {
	e.own, e.env = Env{}, nil
	e.pol, e.results, e.slot = nil, nil, nil
}

// Eval runs the condition against the evaluator's Env. Any failure at run time (a division by
// zero, a field of a missing map entry, the memory budget) is an error, never a panic.
func (c *Condition) Eval(e *Evaluator) (bool, error) {
	if c.constKnown {
		return c.constValue, nil
	}
	if e.env == nil {
		return false, errors.New("no environment to evaluate the condition in")
	}
	e.vm.MemoryBudget = conditionMemoryBudget
	out, err := e.vm.Run(c.program, e.env)
	if err != nil {
		return false, runError(err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("the condition gave %s, not true or false", formatValue(out))
	}
	return b, nil
}

// runError strips the expression engine's source snippet (a multi-line drawing) from a run
// time error and keeps its message and column.
func runError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		msg := typeNames.Replace(fe.Message)
		// AsBool lets a value of unknown type (a custom field) through the type checker and
		// converts it at the end; a value that is not a bool fails there.
		if got, ok := strings.CutPrefix(msg, "invalid operation: bool("); ok && fe.From == 0 {
			return fmt.Errorf("the condition gave %s, not true or false", article(got[:len(got)-1])+" "+got[:len(got)-1])
		}
		return fmt.Errorf("%s (at character %d)", msg, fe.From+1)
	}
	return err
}

// Describe is the trace's reason for a condition that was true or false: the condition's text
// and its value. It returns a string built at load, so it costs nothing per decision.
func (c *Condition) Describe(result bool) string {
	if result {
		return c.whenTrue
	}
	return c.whenFalse
}

// Explain quotes the current values of the fields the condition reads (at most four), like
// `account.tier = "pro", ticket.priority = "high"`, for a person asking why a rule did not
// fire. It allocates, so decisions call it only when asked to explain.
func (c *Condition) Explain(e *Evaluator) string {
	var b strings.Builder
	for _, r := range c.reads {
		e.vm.MemoryBudget = conditionMemoryBudget
		v, err := e.vm.Run(r.program, e.env)
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.path)
		if err != nil {
			b.WriteString(" cannot be read")
			continue
		}
		b.WriteString(" = ")
		b.WriteString(formatValue(v))
	}
	return b.String()
}

// Constant reports whether the condition reads nothing from the environment, and if so its
// value and the error computing it gave ("" when none). Lint uses it to find rules that can
// never fire.
func (c *Condition) Constant() (constant, value bool, err string) {
	return c.constant, c.constValue, c.constErr
}

// Strings are the string literals the condition contains; lint uses them to find keyword
// lists no rule reads. The slice belongs to the condition.
func (c *Condition) Strings() []string { return c.strs }

// ReadsKeywords reports whether the condition reads message.keywords or signals.keywords.
func (c *Condition) ReadsKeywords() bool { return c.keyword }

// formatValue renders a value for a trace: text quoted and shortened, lists and maps in
// brackets, times in RFC 3339.
func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case string:
		return q(v)
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'g', 6, 64)
	case time.Time:
		if v.IsZero() {
			return "zero time"
		}
		return v.Format(time.RFC3339)
	case time.Duration:
		return v.String()
	case []string:
		parts := make([]string, len(v))
		for i, s := range v {
			parts[i] = q(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = formatValue(rv.Index(i).Interface())
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return short(fmt.Sprintf("%v", v))
}
