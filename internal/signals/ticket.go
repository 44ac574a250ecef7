package signals

import (
	"math"
	"slices"

	escalated "github.com/escalated/escalated"
)

// TrendLen is how many customer messages the sentiment trend keeps: enough to see a
// conversation turning sour, few enough that an angry first message does not weigh on a
// ticket forever.
const TrendLen = 5

// Ticket is the per-ticket aggregate of message signals. The ticket service stores it with the
// ticket and updates it one customer message at a time with Add, so that neither it nor the
// rules ever reread the history. Its fields match escalated.TicketSignals one for one, so the
// two convert with a plain type conversion.
type Ticket struct {
	Sentiment   float64   `json:"sentiment"`   // the last customer message's sentiment
	Trend       []float64 `json:"trend"`       // sentiments of the last TrendLen customer messages, oldest first
	Keywords    []string  `json:"keywords"`    // union of the keyword list ids hit so far, sorted
	WantsHuman  bool      `json:"wants_human"` // any customer message asked for a human
	Frustration float64   `json:"frustration"` // 0..1, see Frustration
}

// Add returns the aggregate after one more customer message with signals m; reopens and
// customerContacts are the ticket's counters after that message (escalated.Counters). Only
// customer messages belong here: an agent's cheerful reply says nothing about the customer's
// mood. t is not modified, and the result shares no slice with it, so a caller may keep the old
// value (for an event's before/after) safely.
func (t Ticket) Add(m escalated.Signals, reopens, customerContacts int) Ticket {
	s := clampSentiment(m.Sentiment)
	keep := t.Trend
	if len(keep) > TrendLen-1 {
		keep = keep[len(keep)-(TrendLen-1):]
	}
	trend := make([]float64, 0, TrendLen)
	trend = append(trend, keep...)
	trend = append(trend, s)

	kw := make([]string, 0, len(t.Keywords)+len(m.Keywords))
	kw = append(kw, t.Keywords...)
	kw = append(kw, m.Keywords...)
	slices.Sort(kw)
	kw = slices.Compact(kw)

	out := Ticket{
		Sentiment:  s,
		Trend:      trend,
		Keywords:   kw,
		WantsHuman: t.WantsHuman || m.WantsHuman,
	}
	out.Frustration = Frustration(out.Trend, reopens, customerContacts, out.WantsHuman)
	return out
}

// Rescore returns the aggregate with Frustration recomputed for new counters, for changes that
// come without a customer message (a reopen by an agent, say). t is not modified.
func (t Ticket) Rescore(reopens, customerContacts int) Ticket {
	out := Ticket{
		Sentiment:  t.Sentiment,
		Trend:      slices.Clone(t.Trend),
		Keywords:   slices.Clone(t.Keywords),
		WantsHuman: t.WantsHuman,
	}
	if out.Trend == nil {
		out.Trend = []float64{}
	}
	if out.Keywords == nil {
		out.Keywords = []string{}
	}
	out.Frustration = Frustration(out.Trend, reopens, customerContacts, out.WantsHuman)
	return out
}

// Weights of the frustration components; see Frustration and doc.go. Each is the frustration
// one component alone can produce at its maximum, so they read as "a fully negative trend
// alone is 0.7".
const (
	weightLevel    = 0.7  // how negative the recent messages are
	weightDecline  = 0.4  // how fast sentiment has been falling
	weightReopens  = 0.6  // the ticket came back after being solved
	weightContacts = 0.35 // the customer keeps writing
	weightHuman    = 0.3  // the customer asked for a person

	// freeContacts customer messages are a normal conversation; only those beyond count.
	freeContacts = 2
)

// Frustration scores how frustrated a customer is, in [0, 1], from five components, each in
// [0, 1]:
//
//   - level: the negative part of the trend's sentiments, averaged with weights 1..n from
//     oldest to newest, so the latest mood counts most and positive messages count as calm
//     (zero), not as credit against an angry one;
//   - decline: the fall of a least-squares line through the trend over its length, clamped
//     to [0, 1] (0 for fewer than two messages or a rising trend);
//   - reopens: 1 - 0.5^reopens (one reopen 0.5, two 0.75, ...);
//   - contacts: 1 - 0.8^(customerContacts - 2), zero for the first two messages;
//   - human: 1 when the customer asked for a human.
//
// They are combined as a noisy-OR, 1 - Π(1 - weight·component), with the weights above. A
// noisy-OR stays within [0, 1] without clamping, rises with every component, and lets a single
// strong reason (a very angry message, repeated reopens) be enough on its own while several
// weak ones add up. Non-finite sentiments count as neutral and negative counters as zero, so
// bad input cannot produce NaN. The result is rounded to four places so that the stored score
// is stable.
func Frustration(trend []float64, reopens, customerContacts int, wantsHuman bool) float64 {
	level, decline := trendComponents(trend)
	r := 1 - math.Pow(0.5, float64(max(0, reopens)))
	c := 1 - math.Pow(0.8, float64(max(0, customerContacts-freeContacts)))
	h := 0.0
	if wantsHuman {
		h = 1
	}
	calm := (1 - weightLevel*level) * (1 - weightDecline*decline) * (1 - weightReopens*r) *
		(1 - weightContacts*c) * (1 - weightHuman*h)
	return math.Round((1-calm)*10000) / 10000
}

// trendComponents returns the level and decline components of Frustration.
func trendComponents(trend []float64) (level, decline float64) {
	n := len(trend)
	if n == 0 {
		return 0, 0
	}
	var wsum, neg, xm, ym float64
	for i, s := range trend {
		s = clampSentiment(s)
		w := float64(i + 1)
		wsum += w
		neg += w * max(0, -s)
		xm += float64(i)
		ym += s
	}
	level = neg / wsum
	if n < 2 {
		return level, 0
	}
	xm /= float64(n)
	ym /= float64(n)
	var sxy, sxx float64
	for i, s := range trend {
		dx := float64(i) - xm
		sxy += dx * (clampSentiment(s) - ym)
		sxx += dx * dx
	}
	change := sxy / sxx * float64(n-1) // fitted change from first to last message
	return level, max(0, min(1, -change))
}

func clampSentiment(s float64) float64 {
	if math.IsNaN(s) {
		return 0
	}
	return max(-1, min(1, s))
}
