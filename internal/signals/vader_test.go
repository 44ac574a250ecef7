package signals

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/jonreiter/govader"

	"github.com/escalated/escalated/internal/demo"
)

// vaderCases exercise every rule of govader's scoring: boosters before and after, capitals
// among lower case, negations one to three words back, "never so", "without doubt", "least",
// "but", "kind of", the special idioms and booster n-grams, "no" before a sentiment word,
// punctuation emphasis, emoji (one and several code points), invalid UTF-8 and odd spacing.
var vaderCases = []string{
	"",
	"   ",
	"I was charged twice for my order and nobody answers; please refund the second payment.",
	"This is GREAT but the delivery was TERRIBLE!!!",
	"The service is extremely good",
	"The service is not very good at all",
	"It isn't bad, it's just not great",
	"never so happy in my life",
	"without a doubt the best support",
	"I am the least happy customer, at least happy, very least happy",
	"least happy",
	"it is kind of bad",
	"this product is the bomb and the shit",
	"yeah right, kiss of death, to die for",
	"kind of sort of good",
	"no problem, no good, no",
	"not bad or good, no or nor happy",
	"WHY IS NOTHING WORKING??? HELP!!!",
	"why is nothing working???? help!!!!!!",
	"Is it good? Really?",
	"I love it 😀 so much😂!",
	"thumbs 👍🏽 up",
	"broken \xff\xfe bytes and bad",
	"\"Terrible\" (awful) -- 'horrible'...",
	"hello\nworld\tbad  day",
	"uh-uh, won't, can't, ain't, doesn't work, wouldn't help",
	"despite the great price, seldom happy",
	"the upper hand, under the weather, cut the mustard",
	"VERY GOOD service but NOT good food",
	"ok ok OK ok",
	"A",
	"!!!",
	"no no no bad bad bad",
	"he said that it was so NOT good",
}

func TestVaderMatchesGovader(t *testing.T) {
	sia := govader.NewSentimentIntensityAnalyzer()
	v := newVader(sia)
	texts := append([]string{}, vaderCases...)
	texts = append(texts, benchMessage)
	// The demo's tickets (Bitext texts, embedded) are always there; the whole Bitext sample
	// only beside a checkout that has shared/ (loadBitext would skip the whole test without it).
	demoTickets, err := demo.Tickets()
	if err != nil {
		t.Fatal(err)
	}
	for _, dt := range demoTickets {
		for _, m := range dt.Messages {
			texts = append(texts, m.Body)
		}
	}
	if _, err := os.Stat(bitextPath); err == nil {
		for _, r := range loadBitext(t) {
			texts = append(texts, r.instruction)
		}
	} else {
		t.Logf("Bitext sample not found at %s: comparing the rule cases and the demo's messages only", bitextPath)
	}
	differ := 0
	for _, text := range texts {
		want := sia.PolarityScores(strings.Join(strings.Fields(text), " ")).Compound
		got := v.body(text)
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			differ++
			if differ <= 10 {
				t.Errorf("%q: %v, govader %v", text, got, want)
			}
		}
		if wantC, gotC := sia.PolarityScores(text).Compound, v.compound(text); math.Float64bits(gotC) != math.Float64bits(wantC) {
			t.Errorf("compound(%q) = %v, govader %v", text, gotC, wantC)
		}
	}
	if differ > 0 {
		t.Fatalf("%d of %d texts scored differently from govader", differ, len(texts))
	}
	t.Logf("%d texts scored as govader scores them", len(texts))
}

func FuzzVaderMatchesGovader(f *testing.F) {
	for _, s := range vaderCases {
		f.Add(s)
	}
	sia := govader.NewSentimentIntensityAnalyzer()
	v := newVader(sia)
	f.Fuzz(func(t *testing.T, text string) {
		want := sia.PolarityScores(strings.Join(strings.Fields(text), " ")).Compound
		got := v.body(text)
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("%q: %v, govader %v", text, got, want)
		}
	})
}
