package signals

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/jonreiter/govader"

	escalated "github.com/escalated/escalated"
)

// MaxPhraseWords bounds a phrase's length so a pasted paragraph in the policy is refused with a
// clear message instead of silently never matching.
const MaxPhraseWords = 32

// Config is the signals section of the policy, already decoded. Lists are compiled once by New
// when the policy loads.
type Config struct {
	// Keywords are the policy's signals.keywords lists in file order.
	Keywords []KeywordList
	// WantsHuman are extra "wants a human" phrases, added to the built-in English list (useful
	// for other languages: "falar com um atendente").
	WantsHuman []string
	// Profanity are extra profanity words or phrases, added to the built-in list.
	Profanity []string
}

// KeywordList is one named list of phrases; a message hitting any phrase carries ID in
// Signals.Keywords.
type KeywordList struct {
	ID      string
	Phrases []string
}

// ConfigError is one problem in a Config, located by list and phrase index so that the policy
// compiler can report the line:column of the YAML node it came from.
type ConfigError struct {
	Field  string // "keywords", "wants_human" or "profanity"
	List   int    // index into Config.Keywords; -1 for the other fields
	ID     string // the list's id, when Field is "keywords"
	Phrase int    // index of the phrase; -1 when the problem is the list itself
	Msg    string // what is wrong and what is allowed
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("signals.")
	b.WriteString(e.Field)
	if e.Field == "keywords" {
		if e.ID != "" {
			b.WriteString("." + e.ID)
		} else {
			b.WriteString("[" + strconv.Itoa(e.List) + "]")
		}
	}
	if e.Phrase >= 0 {
		b.WriteString("[" + strconv.Itoa(e.Phrase) + "]")
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// ConfigErrors is every problem found in one Config: a policy author fixing one mistake per
// load would need as many loads as there are mistakes.
type ConfigErrors []*ConfigError

func (l ConfigErrors) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap exposes the individual problems to errors.As.
func (l ConfigErrors) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// Extractor computes the signals of one message. It is built once per policy by New and is
// immutable afterwards, so any number of goroutines may call Message concurrently.
type Extractor struct {
	// Two automata step through the same token loop: the built-in lists (thousands of phrases,
	// identical for every policy, so built once per process) and the policy's own. Building the
	// built-in one per policy load would cost tens of milliseconds for nothing.
	base      *automaton
	baseLabel [nBase]int32 // built-in label -> this extractor's label
	pol       *automaton

	lists      []string // label -> keyword list id, sorted, so hits come out sorted
	labelHuman int32
	labelProf  int32
	nLabels    int

	// vocab answers everything about a token with one map lookup: its id in each automaton
	// and whether it is profane. Four lookups per token cost more than the automata.
	vocab map[string]tokenInfo

	// Single-word profanity, folded, for the obfuscation checks that the automata cannot do.
	profane      map[string]bool
	profaneByLen map[int][]string // for "f*ck": compare against words of the same length
	squeezed     map[string]bool  // "fuuuck" -> "fuck": words with letter runs squeezed to one

	vader *vader
}

// tokenInfo is what the extractor knows about one token.
type tokenInfo struct {
	base, pol int32 // ids in the two automata; -1 when absent
	profane   bool
	// transparent marks profane words that no other phrase uses. Matching steps over them,
	// so "talk to a damn agent" still hits "talk to an agent": people swear in the middle of
	// exactly the requests we want to catch.
	transparent bool
}

// Labels of the built-in automaton.
const (
	baseComplaint = iota
	baseHuman
	baseProfanity
	nBase
)

// builtinSet is the compiled built-in lists, shared read-only by every Extractor.
type builtinSet struct {
	ac      *automaton
	used    map[string]bool // words of the non-profanity phrases
	profane [][]string      // profanity phrases, tokenised
}

var builtins = sync.OnceValue(func() *builtinSet {
	b := &builtinSet{ac: newAutomaton(), used: map[string]bool{}}
	add := func(p string, label int32) {
		w := words(p)
		b.ac.add(w, label)
		for _, t := range w {
			b.used[t] = true
		}
	}
	for _, p := range builtinComplaint() {
		add(p, baseComplaint)
	}
	for _, p := range builtinWantsHuman() {
		add(p, baseHuman)
	}
	for _, p := range builtinProfanity {
		w := words(p)
		b.profane = append(b.profane, w)
		if len(w) > 1 {
			b.ac.add(w, baseProfanity)
		}
	}
	b.ac.build()
	return b
})

// sharedVader is one analyzer for the process: it parses a 7,500-word lexicon on construction
// and only reads it afterwards, so sharing it is safe and saves that work per policy load.
var sharedVader = sync.OnceValue(func() *vader { return newVader(govader.NewSentimentIntensityAnalyzer()) })

// New compiles cfg into an Extractor. It reports every empty id, duplicate id, empty list and
// phrase without words, as ConfigErrors.
func New(cfg Config) (*Extractor, error) {
	var errs ConfigErrors

	// Labels for keyword lists are assigned in sorted id order so that Message can emit ids by
	// walking labels, which yields the sorted, unique slice without sorting per message.
	idSet := map[string]int{ComplaintList: -1}
	for i, kl := range cfg.Keywords {
		switch prev, dup := idSet[kl.ID]; {
		case strings.TrimSpace(kl.ID) == "":
			errs = append(errs, &ConfigError{Field: "keywords", List: i, Phrase: -1, Msg: "list id is empty; give the list a name such as legal"})
		case dup && (kl.ID != ComplaintList || prev >= 0):
			errs = append(errs, &ConfigError{Field: "keywords", List: i, ID: kl.ID, Phrase: -1,
				Msg: fmt.Sprintf("list id %q is used by list %d too; ids must be unique", kl.ID, prev)})
		default:
			idSet[kl.ID] = i // a policy "complaint" list extends the built-in one
		}
		if len(kl.Phrases) == 0 {
			errs = append(errs, &ConfigError{Field: "keywords", List: i, ID: kl.ID, Phrase: -1, Msg: "list has no phrases; add at least one or remove the list"})
		}
	}
	ids := make([]string, 0, len(idSet))
	for id := range idSet {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	labelOf := make(map[string]int32, len(ids))
	for i, id := range ids {
		labelOf[id] = int32(i)
	}

	b := builtins()
	x := &Extractor{
		base:         b.ac,
		pol:          newAutomaton(),
		lists:        ids,
		labelHuman:   int32(len(ids)),
		labelProf:    int32(len(ids) + 1),
		nLabels:      len(ids) + 2,
		profane:      map[string]bool{},
		profaneByLen: map[int][]string{},
		squeezed:     map[string]bool{},
		vader:        sharedVader(),
	}
	x.baseLabel = [nBase]int32{baseComplaint: labelOf[ComplaintList], baseHuman: x.labelHuman, baseProfanity: x.labelProf}

	// check validates one phrase; it returns its words or records the problem.
	check := func(field string, list int, id string, idx int, p string) []string {
		w := words(p)
		msg := ""
		switch {
		case strings.TrimSpace(p) == "":
			msg = "phrase is empty"
		case len(w) == 0:
			msg = fmt.Sprintf("phrase %q has no words; a phrase needs at least one letter or digit", p)
		case len(w) > MaxPhraseWords:
			msg = fmt.Sprintf("phrase %q has %d words; at most %d are allowed", p, len(w), MaxPhraseWords)
		default:
			return w
		}
		errs = append(errs, &ConfigError{Field: field, List: list, ID: id, Phrase: idx, Msg: msg})
		return nil
	}

	// used collects the words of the policy's non-profanity phrases: a profane word that some
	// list needs (a policy list "bloody invoice", say) must stay visible to the automata.
	used := map[string]bool{}
	add := func(w []string, label int32) {
		x.pol.add(w, label)
		for _, t := range w {
			used[t] = true
		}
	}
	for i, kl := range cfg.Keywords {
		l, ok := labelOf[kl.ID]
		if !ok {
			continue // empty id already reported
		}
		for j, p := range kl.Phrases {
			if w := check("keywords", i, kl.ID, j, p); w != nil {
				add(w, l)
			}
		}
	}
	for j, p := range cfg.WantsHuman {
		if w := check("wants_human", -1, "", j, p); w != nil {
			add(w, x.labelHuman)
		}
	}
	profanity := slices.Clone(b.profane)
	for j, p := range cfg.Profanity {
		if w := check("profanity", -1, "", j, p); w != nil {
			profanity = append(profanity, w)
			if len(w) > 1 {
				x.pol.add(w, x.labelProf)
			}
		}
	}
	if len(errs) > 0 {
		// Report in document order (the policy file lists keywords, then the extra lists),
		// whatever order the checks ran in.
		field := map[string]int{"keywords": 0, "wants_human": 1, "profanity": 2}
		slices.SortStableFunc(errs, func(a, b *ConfigError) int {
			return cmp.Or(cmp.Compare(field[a.Field], field[b.Field]), cmp.Compare(a.List, b.List), cmp.Compare(a.Phrase, b.Phrase))
		})
		return nil, errs
	}
	// Single profane words are never automaton phrases: they are found by the transparent
	// set, or, when a list uses the word, by lookup below so the automaton keeps seeing it.
	x.vocab = make(map[string]tokenInfo, len(b.ac.vocab)+len(x.pol.vocab)+len(profanity))
	info := func(t string) tokenInfo {
		ti, ok := x.vocab[t]
		if !ok {
			ti = tokenInfo{base: -1, pol: -1}
		}
		return ti
	}
	for t, id := range b.ac.vocab {
		ti := info(t)
		ti.base = id
		x.vocab[t] = ti
	}
	for t, id := range x.pol.vocab {
		ti := info(t)
		ti.pol = id
		x.vocab[t] = ti
	}
	for _, w := range profanity {
		if len(w) != 1 {
			continue
		}
		t := w[0]
		x.profane[t] = true
		x.profaneByLen[len(t)] = append(x.profaneByLen[len(t)], t)
		x.squeezed[squeeze(t)] = true
		ti := info(t)
		ti.profane = true
		ti.transparent = !used[t] && !b.used[t]
		x.vocab[t] = ti
	}
	x.pol.build()
	return x, nil
}

// Lists returns the keyword list ids the extractor reports, sorted: the policy's lists plus
// ComplaintList. Policy lint uses it to know which ids a rule may test.
func (x *Extractor) Lists() []string { return slices.Clone(x.lists) }

// Message computes the signals of one message body. It never fails: any text, including
// invalid UTF-8, yields a result.
func (x *Extractor) Message(body string) escalated.Signals {
	s := x.text(body)
	s.Sentiment = x.sentiment(body)
	return s
}

// text computes every signal except sentiment: one fold, one tokenisation, one pass over the
// tokens. Split from Message so that the benchmark can show what VADER costs on its own.
func (x *Extractor) text(body string) escalated.Signals {
	folded := fold(make([]byte, 0, len(body)+8), body)
	toks := tokenize(make([]span, 0, len(body)/5+1), folded)
	hit := make([]bool, x.nLabels)
	var sb, sp int32 // states of the built-in and the policy automaton
	for _, t := range toks {
		tok := folded[t.start:t.end]
		// string(tok) does not allocate here: the compiler special-cases map indexing by a
		// converted byte slice.
		ti, ok := x.vocab[string(tok)]
		switch {
		case !ok:
			if x.unmaskProfanity(tok) {
				hit[x.labelProf] = true
				continue // a disguised swear word is as transparent as a plain one
			}
			ti = tokenInfo{base: -1, pol: -1}
		case ti.transparent:
			hit[x.labelProf] = true
			continue // stepped over, see tokenInfo.transparent
		case ti.profane:
			hit[x.labelProf] = true // profane, but some phrase needs the word: keep stepping
		}
		sb = x.base.step(sb, ti.base)
		for _, l := range x.base.out[sb] {
			hit[x.baseLabel[l]] = true
		}
		sp = x.pol.step(sp, ti.pol)
		for _, l := range x.pol.out[sp] {
			hit[l] = true
		}
	}
	s := escalated.Signals{
		Keywords:   []string{},
		WantsHuman: hit[x.labelHuman],
		Profanity:  hit[x.labelProf],
		Shouting:   Shouting(body),
	}
	for l, id := range x.lists {
		if hit[l] {
			s.Keywords = append(s.Keywords, id)
		}
	}
	return s
}

// unmaskProfanity catches the cheap, common disguises of a single profane word: asterisks
// ("f*ck", "sh**"), digits for letters ("sh1t", "a55") and stretched letters ("fuuuuck").
// Each costs nothing for ordinary words because it first checks for the disguise.
func (x *Extractor) unmaskProfanity(tok []byte) bool {
	var stars, letters, digits int
	run, maxRun := 0, 0
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c == '*':
			stars++
		case '0' <= c && c <= '9':
			digits++
		case c >= 'a' && c <= 'z' || c >= utf8.RuneSelf:
			letters++
		}
		if i > 0 && tok[i] == tok[i-1] && c != '*' {
			run++
		} else {
			run = 1
		}
		maxRun = max(maxRun, run)
	}
	if stars > 0 && letters >= 2 && tok[0] != '*' {
		// A mask matches a word of the same length that agrees on every unmasked letter.
	words:
		for _, w := range x.profaneByLen[len(tok)] {
			for i := 0; i < len(tok); i++ {
				if tok[i] != '*' && tok[i] != w[i] {
					continue words
				}
			}
			return true
		}
	}
	if digits > 0 && letters >= 1 {
		b := make([]byte, len(tok))
		for i, c := range tok {
			b[i] = unleet(c)
		}
		if x.profane[string(b)] {
			return true
		}
	}
	if maxRun >= 3 { // doubled letters are normal spelling ("ass"); tripled ones are emphasis
		return x.squeezed[squeeze(string(tok))]
	}
	return false
}

func unleet(c byte) byte {
	switch c {
	case '0':
		return 'o'
	case '1':
		return 'i'
	case '3':
		return 'e'
	case '4':
		return 'a'
	case '5':
		return 's'
	case '7':
		return 't'
	case '8':
		return 'b'
	}
	return c
}

// squeeze collapses every run of a repeated byte to one ("fuuuck" -> "fuck", "asshole" ->
// "ashole"); comparing squeezed forms on both sides makes the stretch length irrelevant.
func squeeze(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if i == 0 || s[i] != s[i-1] {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// Shouting thresholds: see Shouting.
const (
	ShoutMinLetters = 12
	ShoutUpperShare = 0.7
	ShoutBangs      = 3
)

// Shouting reports a message written mostly in capitals or with a run of exclamation marks.
// The rule: at least ShoutMinLetters cased letters of which at least ShoutUpperShare are upper
// case, or ShoutBangs or more '!' in a row. Letters inside words that contain a digit are not
// counted, because order numbers and error codes ("ERR-42X", "INV2024AB") are upper case
// without anyone shouting; the minimum keeps "OK THX" and "ASAP" from counting.
func Shouting(body string) bool {
	var upper, lower, wordUpper, wordLower, bangs int
	wordDigit := false
	for _, r := range body {
		if r == '!' || r == '\uff01' {
			bangs++
			if bangs >= ShoutBangs {
				return true
			}
		} else {
			bangs = 0
		}
		switch shoutClass(r) {
		case classUpper:
			wordUpper++
		case classLower:
			wordLower++
		case classDigit:
			wordDigit = true
		case classInWord:
		default: // a separator ends the word: count its letters unless it was a code
			if !wordDigit {
				upper += wordUpper
				lower += wordLower
			}
			wordUpper, wordLower, wordDigit = 0, 0, false
		}
	}
	if !wordDigit {
		upper += wordUpper
		lower += wordLower
	}
	letters := upper + lower
	return letters >= ShoutMinLetters && float64(upper) >= ShoutUpperShare*float64(letters)
}

// Character classes for Shouting.
const (
	classSep = iota
	classUpper
	classLower
	classDigit
	classInWord // uncased letters, marks and joiners: inside a word, not counted
)

func shoutClass(r rune) int {
	if r < utf8.RuneSelf {
		switch {
		case 'A' <= r && r <= 'Z':
			return classUpper
		case 'a' <= r && r <= 'z':
			return classLower
		case '0' <= r && r <= '9':
			return classDigit
		case r == '\'' || r == '-' || r == '_':
			return classInWord
		}
		return classSep
	}
	switch {
	case unicode.IsUpper(r):
		return classUpper
	case unicode.IsLower(r):
		return classLower
	case unicode.IsDigit(r):
		return classDigit
	case unicode.IsLetter(r), unicode.IsMark(r):
		return classInWord
	}
	return classSep
}

// sentiment is VADER's compound score of body, rounded to four places like the reference
// implementation so that stored values read back identically on every platform.
func (x *Extractor) sentiment(body string) float64 {
	// govader splits words on single spaces only; a line break would glue two words into one
	// token that no lexicon entry matches.
	c := x.vader.body(body)
	if math.IsNaN(c) {
		return 0
	}
	return math.Round(max(-1, min(1, c))*10000) / 10000
}

// NegativeThreshold is the sentiment at or below which a message counts as negative on its
// own; see Negative.
const NegativeThreshold = -0.6

// Negative reports a message that complains or is clearly unhappy: it hit the built-in
// complaint list (ComplaintList), or its VADER sentiment is at or below NegativeThreshold.
//
// Profanity does not count by itself, and the threshold is stricter than VADER's usual
// "negative" cut (-0.05) or the common "strongly negative" -0.5, for the same reason:
// customers swear at the process far more often than they complain ("where is my damn
// parcel", "how do I talk to damn customer service"), and VADER scores every swear word
// negative. On the Bitext sample, counting profanity added 20 times more false alarms than
// complaints, and each 0.1 of threshold between -0.3 and -0.6 traded many false alarms for no
// recall; see TestBitextQuality.
func Negative(s escalated.Signals) bool {
	return slices.Contains(s.Keywords, ComplaintList) || s.Sentiment <= NegativeThreshold
}
