package policy

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// eventBatch runs the conditions of every rule that listens to one event type in a single run
// of the VM, as one array expression. A decision tries every rule, and starting the VM once
// instead of a hundred times is a good part of its cost. Each condition was compiled and
// checked on its own first; the batch is only a faster way to the same values, and whenever it
// cannot give one (a condition fails at run time, or is not a bool) the rule's own program is
// run instead, which also yields the error to report.
type eventBatch struct {
	program *vm.Program
	slot    []int // per rule (indexed like Policy.Rules): its element of the result, or -1
	size    int
}

// batch builds the batches of a valid policy, one per event type that at least two
// conditions listen to.
func (pol *Policy) batch() {
	pol.batches = map[string]*eventBatch{}
	for _, ev := range EventTypes {
		b := &eventBatch{slot: make([]int, len(pol.Rules))}
		var conds []*Condition
		for i := range pol.Rules {
			r := &pol.Rules[i]
			b.slot[i] = -1
			if r.When == nil || r.When.constKnown || !r.Listens(ev) {
				continue // nothing to evaluate, or a value known since load
			}
			b.slot[i] = len(conds)
			conds = append(conds, r.When)
		}
		if len(conds) < 2 {
			continue
		}
		opts := append(exprOptions(Env{}, false), expr.MaxNodes(0))
		program, err := expr.Compile(batchSource(conds, true), opts...)
		if err != nil {
			// Without hoisting, in case a rewrite went wrong; failing that, the rules' own
			// programs still work.
			if program, err = expr.Compile(batchSource(conds, false), opts...); err != nil {
				continue
			}
		}
		b.program, b.size = program, len(conds)
		pol.batches[ev] = b
	}
}

// batchSource is the array expression of a batch. With hoist, every field path the
// conditions read through struct fields only is read once, into a variable, before the array:
// let _f0 = ticket.priority; let _f1 = message.keywords; [(_f0 == "urgent"), ("legal" in _f1)]
// A hundred conditions read the same dozen fields; the VM reads a struct field by reflection,
// and a variable by index. Such reads cannot fail, so reading them first changes no result.
func batchSource(conds []*Condition, hoist bool) string {
	var b strings.Builder
	vars := map[string]string{}
	var order []string
	if hoist {
		for _, c := range conds {
			for _, f := range c.fields {
				if _, ok := vars[f.Path]; !ok {
					vars[f.Path] = fmt.Sprintf("_f%d", len(order))
					order = append(order, f.Path)
				}
			}
		}
		for _, path := range order {
			fmt.Fprintf(&b, "let %s = %s;\n", vars[path], path)
		}
	}
	b.WriteString("[")
	for i, c := range conds {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("(")
		text, last := c.Text, 0
		if hoist {
			for _, f := range c.fields {
				b.WriteString(text[last:f.From])
				b.WriteString(vars[f.Path])
				last = f.To
			}
		}
		b.WriteString(text[last:])
		// A line break ends a trailing // comment before the parenthesis closes.
		b.WriteString("\n)")
	}
	b.WriteString("]")
	return b.String()
}

// Prepare evaluates, in one run, the conditions of all the rules of pol that listen to event;
// Match then answers from those values. Without Prepare, Match evaluates each condition on
// its own, with the same results.
func (e *Evaluator) Prepare(pol *Policy, event string) {
	e.pol, e.results, e.slot = nil, nil, nil
	b := pol.batches[event]
	if b == nil {
		return
	}
	// The budget covers the result array and every condition's own budget's worth at most;
	// a batch that exceeds it falls back to one condition at a time.
	e.vm.MemoryBudget = conditionMemoryBudget + uint(b.size)
	if e.env == nil {
		return
	}
	out, err := e.vm.Run(b.program, e.env)
	if err != nil {
		return
	}
	results, ok := out.([]any)
	if !ok || len(results) != b.size {
		return
	}
	e.pol, e.results, e.slot = pol, results, b.slot
}

// Match reports whether the condition of rule i of pol holds for the evaluator's Env; a rule
// without a condition always matches. It uses the values Prepare computed when it can.
func (e *Evaluator) Match(pol *Policy, i int) (bool, error) {
	c := pol.Rules[i].When
	if c == nil {
		return true, nil
	}
	if e.pol == pol {
		if k := e.slot[i]; k >= 0 {
			if v, ok := e.results[k].(bool); ok {
				return v, nil
			}
		}
	}
	return c.Eval(e)
}
