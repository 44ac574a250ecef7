package signals

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	escalated "github.com/escalated/escalated"
)

func TestTicketAdd(t *testing.T) {
	t.Parallel()
	var tk Ticket
	msgs := []escalated.Signals{
		{Keywords: []string{"outage"}, Sentiment: 0.2},
		{Keywords: []string{"legal", "churn"}, Sentiment: -0.1, WantsHuman: true},
		{Keywords: []string{}, Sentiment: -0.3},
		{Keywords: []string{"churn"}, Sentiment: -0.5},
		{Sentiment: -0.6},
		{Sentiment: -0.9},
	}
	for i, m := range msgs {
		tk = tk.Add(m, 0, i+1)
	}
	if tk.Sentiment != -0.9 {
		t.Errorf("Sentiment = %v, want the last message's -0.9", tk.Sentiment)
	}
	if want := []float64{-0.1, -0.3, -0.5, -0.6, -0.9}; !slices.Equal(tk.Trend, want) {
		t.Errorf("Trend = %v, want the last %d, oldest first: %v", tk.Trend, TrendLen, want)
	}
	if want := []string{"churn", "legal", "outage"}; !slices.Equal(tk.Keywords, want) {
		t.Errorf("Keywords = %q, want sorted union %q", tk.Keywords, want)
	}
	if !tk.WantsHuman {
		t.Error("WantsHuman forgot an earlier request")
	}
	if want := Frustration(tk.Trend, 0, len(msgs), true); tk.Frustration != want {
		t.Errorf("Frustration = %v, want Frustration(trend...) = %v", tk.Frustration, want)
	}

	empty := Ticket{}.Add(escalated.Signals{Sentiment: 0.5}, 0, 1)
	if empty.Keywords == nil || empty.Trend == nil {
		t.Errorf("nil slices in %+v; JSON must render [] not null", empty)
	}
}

func TestTicketAddDoesNotAlias(t *testing.T) {
	t.Parallel()
	// Spare capacity is where an in-place append would write.
	old := Ticket{Trend: make([]float64, 2, 16), Keywords: make([]string, 1, 16)}
	old.Trend[0], old.Trend[1], old.Keywords[0] = -0.5, -0.4, "legal"
	next := old.Add(escalated.Signals{Keywords: []string{"churn"}, Sentiment: -0.7}, 1, 3)
	next.Trend[0], next.Keywords[0] = 99, "changed"
	if old.Trend[:3][2] != 0 || old.Trend[0] != -0.5 || old.Keywords[:2][1] != "" || old.Keywords[0] != "legal" {
		t.Errorf("Add wrote into the old aggregate: trend %v keywords %q", old.Trend[:3], old.Keywords[:2])
	}
	re := next.Rescore(2, 3)
	re.Trend[0] = 42
	if next.Trend[0] != 99 {
		t.Error("Rescore shares the trend with its receiver")
	}
	if re.Frustration <= next.Frustration {
		t.Errorf("Rescore with one more reopen = %v, not above %v", re.Frustration, next.Frustration)
	}
}

func TestFrustrationValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		trend    []float64
		reopens  int
		contacts int
		human    bool
		want     float64
	}{
		{"nothing", nil, 0, 0, false, 0},
		{"calm conversation", []float64{0.4, 0.2, 0.5}, 0, 2, false, 0},
		{"one very angry message", []float64{-1}, 0, 1, false, 0.7},
		{"asked for a human only", []float64{0}, 0, 1, true, 0.3},
		{"one reopen only", []float64{0}, 1, 1, false, 0.3},
		{"souring conversation", []float64{0.3, -0.2, -0.7}, 0, 3, false, 0.6047},
		{"same moods, improving", []float64{-0.7, -0.2, 0.3}, 0, 3, false, 0.1893},
		{"everything at once", []float64{1, -1, -1, -1, -1}, 10, 50, true, 0.9621},
	}
	for _, tt := range tests {
		if got := Frustration(tt.trend, tt.reopens, tt.contacts, tt.human); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: Frustration(%v, %d, %d, %v) = %v, want %v", tt.name, tt.trend, tt.reopens, tt.contacts, tt.human, got, tt.want)
		}
	}
}

// TestFrustrationProperties checks, over random inputs, the promises Frustration's doc makes:
// bounded, and never lower when things get worse.
func TestFrustrationProperties(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: a failure reproduces
	randTrend := func() []float64 {
		tr := make([]float64, rng.IntN(TrendLen+1))
		for i := range tr {
			tr[i] = math.Round((rng.Float64()*2-1)*1e4) / 1e4
		}
		return tr
	}
	for range 20000 {
		tr := randTrend()
		r, c, h := rng.IntN(6), rng.IntN(12), rng.IntN(2) == 1
		f := Frustration(tr, r, c, h)
		if f < 0 || f > 1 || math.IsNaN(f) {
			t.Fatalf("Frustration(%v, %d, %d, %v) = %v, outside [0, 1]", tr, r, c, h, f)
		}
		if g := Frustration(tr, r, c, h); g != f {
			t.Fatalf("not deterministic: %v then %v", f, g)
		}
		if g := Frustration(tr, r+1, c, h); g <= f {
			t.Fatalf("one more reopen did not raise it: %v -> %v for %v, %d, %d, %v", f, g, tr, r, c, h)
		}
		if g := Frustration(tr, r, c+1, h); g < f {
			t.Fatalf("one more contact lowered it: %v -> %v", f, g)
		}
		if !h {
			if g := Frustration(tr, r, c, true); g <= f {
				t.Fatalf("asking for a human did not raise it: %v -> %v", f, g)
			}
		}
		if len(tr) == 0 {
			continue
		}
		// Shift by at most the headroom above -1: sentiments never leave [-1, 1], and a shift
		// that clamped some values would flatten the trend rather than worsen it.
		d := rng.Float64() * (slices.Min(tr) + 1)
		down := make([]float64, len(tr))
		for i, s := range tr {
			down[i] = s - d
		}
		if g := Frustration(down, r, c, h); g < f {
			t.Fatalf("a more negative trend lowered it: %v -> %v (%v -> %v)", f, g, tr, down)
		}
		last := slices.Clone(tr)
		last[len(last)-1] -= rng.Float64() * (last[len(last)-1] + 1)
		if g := Frustration(last, r, c, h); g < f {
			t.Fatalf("a more negative last message lowered it: %v -> %v (%v -> %v)", f, g, tr, last)
		}
	}
}

func TestFrustrationBadInput(t *testing.T) {
	t.Parallel()
	for _, tr := range [][]float64{{math.NaN()}, {math.Inf(-1), math.Inf(1)}, {-5, 7, -3}} {
		for _, n := range []int{-3, 0, math.MaxInt32} {
			if f := Frustration(tr, n, n, true); f < 0 || f > 1 || math.IsNaN(f) {
				t.Errorf("Frustration(%v, %d, %d) = %v", tr, n, n, f)
			}
		}
	}
	tk := Ticket{}.Add(escalated.Signals{Sentiment: math.NaN()}, 0, 1)
	if tk.Sentiment != 0 || tk.Frustration != 0 {
		t.Errorf("NaN sentiment gave %+v", tk)
	}
}

// TestTicketReplay checks that the aggregate depends only on the messages and counters: the
// ticket service may rebuild it from history (after a migration, say) and get the stored value.
func TestTicketReplay(t *testing.T) {
	t.Parallel()
	x := mustNew(t, testConfig)
	bodies := []string{"my dashboard is down", "still down, this is terrible", "I WANT TO TALK TO A HUMAN NOW!!!", "my lawyer will hear about this", "thanks, it works now"}
	run := func() Ticket {
		var tk Ticket
		for i, b := range bodies {
			tk = tk.Add(x.Message(b), i/3, i+1)
		}
		return tk
	}
	a, b := run(), run()
	if a.Frustration != b.Frustration || !slices.Equal(a.Trend, b.Trend) || !slices.Equal(a.Keywords, b.Keywords) {
		t.Errorf("replay differs: %+v vs %+v", a, b)
	}
	if want := []string{"legal", "outage"}; !slices.Equal(a.Keywords, want) || !a.WantsHuman {
		t.Errorf("aggregate = %+v, want keywords %q and wants_human", a, want)
	}
}
