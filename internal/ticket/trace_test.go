package ticket

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestAppendTraceAsEncodingJSON: the decision's trace is written byte for byte as encoding/json
// wrote it (explain and the stored decisions read it back), whatever its text holds.
func TestAppendTraceAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	texts := []string{"", "possible-fraud", "message.added", "fired", "not matched: signals.sentiment < -0.5 (0.128)",
		`escalate suppressed: not possible: the ticket is already in team "billing"`, "<b>&</b>", "naïve \u2028 \xff", "tab\there"}
	text := func() string { return texts[r.IntN(len(texts))] }
	check := func(steps []Step) {
		t.Helper()
		want, err := json.Marshal(steps)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendTrace(nil, steps); string(got) != string(want) {
			t.Fatalf("%+v:\n%s\nencoding/json:\n%s", steps, got, want)
		}
		if size := traceSize(steps); size < len(want) && !escapes(want) {
			t.Fatalf("traceSize %d for a trace of %d bytes without escapes", size, len(want))
		}
	}
	// Every field of Step and RuleResult filled: a field added later is not left out silently.
	check([]Step{{Event: "e", Seq: 1, Rules: []RuleResult{{Rule: "r", Line: 2, Outcome: "o", Reason: "why"}}, Applied: []string{"a"}}})
	if n, m := reflect.TypeFor[Step]().NumField(), reflect.TypeFor[RuleResult]().NumField(); n != 4 || m != 4 {
		t.Fatalf("Step has %d fields and RuleResult %d; appendTrace writes 4 and 4: teach it the new ones", n, m)
	}
	check(nil)
	check([]Step{})
	check([]Step{{Event: "message.added"}}) // nil rules and applied: null
	for range 3000 {
		steps := make([]Step, 1+r.IntN(3))
		for i := range steps {
			st := Step{Event: text(), Seq: r.Int64N(1 << 40), Rules: []RuleResult{}, Applied: []string{}}
			for range r.IntN(5) {
				st.Rules = append(st.Rules, RuleResult{Rule: text(), Line: r.IntN(400) - 1, Outcome: text(), Reason: text()})
			}
			for range r.IntN(3) {
				st.Applied = append(st.Applied, text())
			}
			steps[i] = st
		}
		check(steps)
	}
}

// escapes says whether a trace has escaped characters (traceSize allows an eighth for them).
func escapes(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}
