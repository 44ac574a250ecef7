package jsonenc

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAppendStringAsEncodingJSON: every string, printable or not, UTF-8 or not, is quoted as
// encoding/json quotes it.
func TestAppendStringAsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `"quoted" \back\`, "<b>&amp;</b>", "\x00\x01\b\f\n\r\t\x1f\x7f",
		"naïve café ☕", "\u2028\u2029", "bad \xff\xfe byte", "\xe2\x82", "end\xc3", "escalate suppressed: not possible: the ticket is already in team \"billing\""} {
		checkString(t, s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", " ", "\"", "\\", "<", ">", "&", "\x00", "\x1f", "\x7f", "\n", "é", "☕", "\u2028", "\u2029", "\xff", "\xe2\x82", "𝄞"}
	for range 20000 {
		var s string
		for range r.IntN(12) {
			s += alphabet[r.IntN(len(alphabet))]
		}
		checkString(t, s)
	}
}

func checkString(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendString(nil, s); string(got) != string(want) {
		t.Fatalf("%q: got %s, encoding/json %s", s, got, want)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("<b>\"x\"\n\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) { checkString(t, s) })
}

// TestAppendStringsAsEncodingJSON: lists, nil and empty included.
func TestAppendStringsAsEncodingJSON(t *testing.T) {
	for _, s := range [][]string{nil, {}, {""}, {"a", "<b>", "\xff"}} {
		want, _ := json.Marshal(s)
		if got := AppendStrings(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s, encoding/json %s", s, got, want)
		}
	}
}

// TestAppendFloatAsEncodingJSON: where AppendFloat writes, it writes what encoding/json does;
// it declines exactly what encoding/json writes with an exponent or refuses, and negative zero.
func TestAppendFloatAsEncodingJSON(t *testing.T) {
	fs := []float64{0, 1, -1, 0.1, 0.128, 0.3495, 1e-6, 9.999999e-7, 1e20, 1e21, 123456789.125, -2.5e-3,
		math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.NaN(), math.Copysign(0, -1)}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		fs = append(fs, math.Float64frombits(r.Uint64()), (r.Float64()*2-1)*math.Pow(10, float64(r.IntN(30)-10)))
	}
	for _, f := range fs {
		checkFloat(t, f)
	}
}

func checkFloat(t *testing.T, f float64) {
	t.Helper()
	got, ok := AppendFloat(nil, f)
	want, err := json.Marshal(f)
	if !ok {
		if len(got) != 0 {
			t.Fatalf("%v: declined but appended %s", f, got)
		}
		if err == nil && !math.Signbit(f) && (f == 0 || (math.Abs(f) >= 1e-6 && math.Abs(f) < 1e21)) {
			t.Fatalf("%v: declined, encoding/json writes %s", f, want)
		}
		return
	}
	if err != nil || string(got) != string(want) {
		t.Fatalf("%v: got %s, encoding/json %s (%v)", f, got, want, err)
	}
}

func FuzzAppendFloat(f *testing.F) {
	f.Add(0.128)
	f.Add(1e-7)
	f.Fuzz(func(t *testing.T, v float64) { checkFloat(t, v) })
}
