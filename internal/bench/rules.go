package bench

import (
	"fmt"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/escalated/escalated/internal/decide"
	"github.com/escalated/escalated/internal/policy"
	"github.com/escalated/escalated/internal/policy/policybench"
)

// runRules: one event decided against a policy of 100 rules, signals precomputed, against the
// same 100 conditions run as plain expr programs (no trace, no actions) in the same run.
func runRules(t T, o Options) []Row {
	pol, err := policybench.Policy(policybench.Rules100())
	if err != nil {
		t.Fatal(err)
	}
	in := func(env policy.Env) decide.Input {
		return decide.Input{Policy: pol, Event: "message.added", Env: env, Fired: map[string]bool{}, Escalations: 1}
	}
	typical, heavy := in(policybench.TypicalEnv()), in(policybench.HeavyEnv())
	fired := func(in decide.Input) int {
		d := decide.Decide(in)
		return len(d.Fired())
	}
	if fired(typical) == 0 || fired(heavy) <= fired(typical) {
		t.Fatalf("the benchmark policy fires %d rules on the typical event and %d on the heavy one: want some, and more on the heavy one", fired(typical), fired(heavy))
	}
	decideNs := func(in decide.Input) testing.BenchmarkResult {
		return testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				decide.Decide(in)
			}
		})
	}
	programs := make([]*vm.Program, 0, len(pol.Rules))
	for _, r := range pol.Rules {
		p, err := expr.Compile(r.When.Text, expr.Env(policy.Env{}), expr.AsBool())
		if err != nil {
			t.Fatal(err)
		}
		programs = append(programs, p)
	}
	exprNs := func(env policy.Env) testing.BenchmarkResult {
		return testing.Benchmark(func(b *testing.B) {
			var machine vm.VM
			for b.Loop() {
				for _, p := range programs {
					machine.Run(p, &env)
				}
			}
		})
	}
	ty, hv := decideNs(typical), decideNs(heavy)
	tyBase, hvBase := exprNs(typical.Env), exprNs(heavy.Env)
	us := func(r testing.BenchmarkResult) float64 { return float64(r.NsPerOp()) / 1000 }
	baseText := func(r testing.BenchmarkResult) string { return fmt.Sprintf("100 plain expr programs %.1f µs", us(r)) }
	return []Row{
		{Figure: "100-rule policy, ordinary event", Target: "< 20 µs/event", Value: us(ty), Unit: "µs",
			Text: fmt.Sprintf("%.1f µs", us(ty)), Baseline: baseText(tyBase), BaselineValue: us(tyBase), Ratio: us(ty) / us(tyBase),
			Met:  verdict(us(ty) < 20),
			Note: fmt.Sprintf("%d rules fire, %d allocations; %d iterations", fired(typical), ty.AllocsPerOp(), ty.N)},
		{Figure: "100-rule policy, heavy event", Target: "< 20 µs/event", Value: us(hv), Unit: "µs",
			Text: fmt.Sprintf("%.1f µs", us(hv)), Baseline: baseText(hvBase), BaselineValue: us(hvBase), Ratio: us(hv) / us(hvBase),
			Met:  verdict(us(hv) < 20),
			Note: fmt.Sprintf("%d rules fire, %d allocations; %d iterations", fired(heavy), hv.AllocsPerOp(), hv.N)},
	}
}
