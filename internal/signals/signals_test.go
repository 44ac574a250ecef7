package signals

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	escalated "github.com/escalated/escalated"
)

// testConfig mirrors the PRODUCT.md example policy plus lists that exercise accents,
// apostrophes and multi-word phrases.
var testConfig = Config{
	Keywords: []KeywordList{
		{ID: "legal", Phrases: []string{"lawyer", "legal action", "attorney", "sue"}},
		{ID: "churn", Phrases: []string{"cancel my subscription", "switch to another provider"}},
		{ID: "cafe", Phrases: []string{"Café Crème"}},
		{ID: "negation", Phrases: []string{"don't work"}},
		{ID: "outage", Phrases: []string{"down", "outage", "not loading"}},
	},
	WantsHuman: []string{"falar com um atendente"},
	Profanity:  []string{"frak"},
}

func mustNew(tb testing.TB, cfg Config) *Extractor {
	tb.Helper()
	x, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return x
}

func TestKeywords(t *testing.T) {
	t.Parallel()
	x := mustNew(t, testConfig)
	tests := []struct {
		name, body string
		want       []string
	}{
		{"single word", "I will call my lawyer", []string{"legal"}},
		{"case", "MY LAWYER WILL CALL", []string{"legal"}},
		{"accented text, plain phrase", "Mon avocat, un lawyér, appellera", []string{"legal"}},
		{"plain text, accented phrase", "two cafe creme please", []string{"cafe"}},
		{"decomposed accents", "cafe\u0301 cre\u0300me", []string{"cafe"}},
		{"full-width letters", "ｌａｗｙｅｒ", []string{"legal"}},
		{"multi-word across punctuation", "we will take legal... action", []string{"legal"}},
		{"multi-word across line breaks", "legal\n\n   action now", []string{"legal"}},
		{"multi-word with hyphen", "legal-action", []string{"legal"}},
		{"no partial word: sue in issue", "there is an issue with my invoice", []string{}},
		{"no partial word: lawyers", "lawyers", []string{}},
		{"no partial phrase", "cancel my", []string{}},
		{"phrase interrupted", "cancel all my subscription", []string{}},
		{"several lists sorted and unique", "lawyer! outage! cancel my subscription, sue, down", []string{"churn", "legal", "outage"}},
		{"apostrophe kept in token", "these buttons don't work", []string{"negation"}},
		{"curly apostrophe", "these buttons don’t work", []string{"negation"}},
		{"apostrophe not split", "don t work", []string{}},
		{"overlapping phrases", "page not loading and down", []string{"outage"}},
		{"suffix of another phrase", "switch to another provider", []string{"churn"}},
		{"built-in complaint list", "I want to file a formal complaint", []string{"complaint"}},
		{"empty", "", []string{}},
		{"only punctuation", "?!... --", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := x.Message(tt.body).Keywords
			if got == nil {
				t.Fatalf("Keywords is nil; want an empty slice so JSON renders []")
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Message(%q).Keywords = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

func TestWantsHuman(t *testing.T) {
	t.Parallel()
	x := mustNew(t, testConfig)
	tests := []struct {
		body string
		want bool
	}{
		{"I want to speak to a human", true},
		{"Can I TALK TO A PERSON please?", true},
		{"Is there a real person there?", true},
		{"get me a live agent", true},
		{"connect me with a customer service representative", true},
		{"I'd like to speak with someone", true},
		{"talk to an agent", true},
		{"I need to speak to your supervisor.", true},
		{"speak to a damn agent", true},    // swearing inside the phrase
		{"speak to a f*cking agent", true}, // and disguised swearing
		{"talk, to... a human!", true},
		{"Você pode me ajudar? Quero falar com um atendente", true},
		{"quero falar com um atendênte", true}, // accent-insensitive extras
		{"I don't want a bot", true},
		{"I am not a bot, let me log in", false},
		{"I need to talk to my manager first", false},
		{"when can I call customer service?", false}, // opening hours, not a person
		{"the agent I talked to was great", false},   // already had one
		{"my human resources department needs an invoice", false},
		{"this person's order is late", false},
		{"the operator network is down", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := x.Message(tt.body).WantsHuman; got != tt.want {
			t.Errorf("Message(%q).WantsHuman = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestShouting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want bool
	}{
		{"WHY IS MY ORDER STILL NOT HERE", true},
		{"Why is my order still not here!!!", true},
		{"Why is my order still not here!!", false},
		{"Why is my order still not here! Really!", false},
		{"WHERE IS IT ！！！", true},
		{"THIS IS UNACCEPTABLE, fix it", true},            // 22 upper of 27 letters
		{"OK THX", false},                                 // too short to be shouting
		{"ASAP please", false},                            // acronym in a normal sentence
		{"Error ERR42XQ on invoice INV2024ABCDEF", false}, // codes are not shouting
		{"ÇA NE MARCHE PAS DU TOUT", true},                // non-ASCII capitals count
		{"I have a VPN and API issue with AWS", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := Shouting(tt.body); got != tt.want {
			t.Errorf("Shouting(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestProfanity(t *testing.T) {
	t.Parallel()
	x := mustNew(t, testConfig)
	tests := []struct {
		body string
		want bool
	}{
		{"this is fucking ridiculous", true},
		{"What the HELL", true},
		{"where is my damn parcel", true},
		{"f*ck this", true},
		{"f**k this", true},
		{"sh*t service", true},
		{"sh1t service", true},
		{"fuuuuuck", true},
		{"frak this", true},                        // policy extra
		{"FRÄK this", true},                        // extras are accent-insensitive
		{"massive assessment of the class", false}, // no partial words
		{"hello shell scunthorpe", false},
		{"Dick Smith ordered a cocktail", false}, // names and innocent words
		{"5*3 = 15", false},
		{"***", false},
		{"pass the password", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := x.Message(tt.body).Profanity; got != tt.want {
			t.Errorf("Message(%q).Profanity = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestProfaneWordUsedByList(t *testing.T) {
	t.Parallel()
	// A policy phrase containing a swear word must still match: the word cannot be stepped
	// over, yet it must still count as profanity.
	x := mustNew(t, Config{Keywords: []KeywordList{{ID: "angry", Phrases: []string{"damn invoice"}}}})
	s := x.Message("where is the damn invoice")
	if !slices.Equal(s.Keywords, []string{"angry"}) || !s.Profanity {
		t.Errorf("got keywords %q profanity %v, want [angry] and true", s.Keywords, s.Profanity)
	}
	// while without the list, the swear word is transparent for the other phrases
	y := mustNew(t, Config{})
	if !y.Message("speak to a damn human").WantsHuman {
		t.Error("swear word inside a wants-human phrase broke the match")
	}
}

func TestSentiment(t *testing.T) {
	t.Parallel()
	x := mustNew(t, testConfig)
	tests := []struct {
		body     string
		min, max float64
	}{
		{"Thank you so much, this is great and works perfectly!", 0.5, 1},
		{"This is terrible, the worst service I have ever had. I am furious.", -1, -0.6},
		{"The parcel arrived on Tuesday.", -0.05, 0.05},
		{"", 0, 0},
		// line breaks separate words for VADER too
		{"great\nthanks", 0.5, 1},
	}
	for _, tt := range tests {
		got := x.Message(tt.body).Sentiment
		if got < tt.min || got > tt.max {
			t.Errorf("Message(%q).Sentiment = %v, want within [%v, %v]", tt.body, got, tt.min, tt.max)
		}
	}
}

func TestNegative(t *testing.T) {
	t.Parallel()
	x := mustNew(t, testConfig)
	tests := []struct {
		body string
		want bool
	}{
		{"I want to lodge a complaint against your company", true},
		{"how do I file a claim against your business", true},
		{"This is terrible, the worst service I have ever had. I am furious.", true},
		{"I'm very unhappy with your service", true},
		{"where is my damn parcel", false}, // swearing at the process is not a complaint
		{"can I claim my refund?", false},
		{"thanks, all good", false},
	}
	for _, tt := range tests {
		s := x.Message(tt.body)
		if got := Negative(s); got != tt.want {
			t.Errorf("Negative(Message(%q)) = %v (signals %+v), want %v", tt.body, got, s, tt.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	_, err := New(Config{
		Keywords: []KeywordList{
			{ID: "legal", Phrases: []string{"lawyer", "", "?!"}},
			{ID: "", Phrases: []string{"x"}},
			{ID: "legal", Phrases: []string{"sue"}},
			{ID: "empty"},
			{ID: "long", Phrases: []string{strings.Repeat("word ", MaxPhraseWords+1)}},
		},
		WantsHuman: []string{"  "},
		Profanity:  []string{"..."},
	})
	var list ConfigErrors
	if !errors.As(err, &list) {
		t.Fatalf("New error = %v (%T), want ConfigErrors", err, err)
	}
	want := []string{
		`signals.keywords.legal[1]: phrase is empty`,
		`signals.keywords.legal[2]: phrase "?!" has no words; a phrase needs at least one letter or digit`,
		`signals.keywords[1]: list id is empty; give the list a name such as legal`,
		`signals.keywords.legal: list id "legal" is used by list 0 too; ids must be unique`,
		`signals.keywords.empty: list has no phrases; add at least one or remove the list`,
		`signals.keywords.long[0]: phrase "word word`,
		`signals.wants_human[0]: phrase is empty`,
		`signals.profanity[0]: phrase "..." has no words; a phrase needs at least one letter or digit`,
	}
	var got []string
	for _, e := range list {
		got = append(got, e.Error())
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors:\n%s\nwant %d", len(got), strings.Join(got, "\n"), len(want))
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("missing error %q in:\n%s", w, strings.Join(got, "\n"))
		}
	}
	// the indexes let the policy compiler point at the YAML node
	var one *ConfigError
	if !errors.As(err, &one) || one.Field != "keywords" || one.List != 0 || one.Phrase != 1 {
		t.Errorf("first ConfigError = %+v, want keywords list 0 phrase 1", one)
	}
}

func TestComplaintListExtended(t *testing.T) {
	t.Parallel()
	x := mustNew(t, Config{Keywords: []KeywordList{{ID: ComplaintList, Phrases: []string{"queja"}}}})
	for _, body := range []string{"quiero poner una queja", "I want to make a complaint"} {
		if got := x.Message(body).Keywords; !slices.Equal(got, []string{ComplaintList}) {
			t.Errorf("Message(%q).Keywords = %q, want [complaint]", body, got)
		}
	}
	if got := x.Lists(); !slices.Equal(got, []string{ComplaintList}) {
		t.Errorf("Lists() = %q", got)
	}
	if _, err := New(Config{Keywords: []KeywordList{{ID: ComplaintList, Phrases: []string{"a"}}, {ID: ComplaintList, Phrases: []string{"b"}}}}); err == nil {
		t.Error("two complaint lists accepted")
	}
}

func TestManyLists(t *testing.T) {
	t.Parallel()
	cfg := benchConfig()
	x := mustNew(t, cfg)
	// every phrase of every list must be found on its own, and only its list (or lists that
	// share it) reported
	for _, kl := range cfg.Keywords {
		for _, p := range kl.Phrases {
			got := x.Message("before " + p + " after").Keywords
			if !slices.Contains(got, kl.ID) {
				t.Fatalf("phrase %q of list %s not found; got %q", p, kl.ID, got)
			}
		}
	}
}

// TestConcurrent runs extraction from many goroutines; with -race it proves that Message
// shares no mutable state.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	x := mustNew(t, testConfig)
	want := x.Message(benchMessage)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if got := x.Message(benchMessage); !equalSignals(got, want) {
					t.Errorf("concurrent Message = %+v, want %+v", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestDeterministic checks that two extractors built from the same policy agree, whatever
// map iteration order their construction saw.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	cfg := benchConfig()
	a, b := mustNew(t, cfg), mustNew(t, cfg)
	for _, body := range []string{benchMessage, "I want to talk to a human", "SUE YOU!!!", ""} {
		if sa, sb := a.Message(body), b.Message(body); !equalSignals(sa, sb) {
			t.Errorf("Message(%q) differs: %+v vs %+v", body, sa, sb)
		}
	}
}

func equalSignals(a, b escalated.Signals) bool {
	return slices.Equal(a.Keywords, b.Keywords) && a.Sentiment == b.Sentiment &&
		a.WantsHuman == b.WantsHuman && a.Shouting == b.Shouting && a.Profanity == b.Profanity
}

func TestTokenize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"Don't STOP", []string{"don't", "stop"}},
		{"'quoted' **bold** f*ck", []string{"quoted", "bold", "f*ck"}},
		{"Straße Øre Œuvre", []string{"strasse", "ore", "oeuvre"}},
		{"a,b;c\td", []string{"a", "b", "c", "d"}},
		{"it's'", []string{"it's"}},
		{"bad\xffutf8", []string{"bad", "utf8"}},
	}
	for _, tt := range tests {
		if got := words(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
