// Command gen writes history.jsonl: a month of Shipwell's support desk as it ran under
// baseline.yaml, for `escalated simulate` to replay through draft.yaml.
//
//	go run ./examples/simulate-integration-tier/gen -out examples/simulate-integration-tier/history.jsonl
//
// The history is deterministic: the same -tickets and -seed write the same bytes, so the
// committed file can be checked against the generator (gen's test does). There is no wall clock
// in it; tickets arrive from 2026-10-01 over 30 days, mostly in Berlin office hours.
//
// What makes the example's point is a quota, not chance: 20% of tickets are escalated by a
// frontline agent, and exactly 35% of those (rounded) are API integration questions, which
// under baseline.yaml can only go to Engineering. The rest of the desk is there so that the
// replay has a realistic load around them: tickets frontline solves, billing disputes and
// chased integration tickets that baseline.yaml's rules escalated live, returns of escalations
// that should not have come, and tier-2 tickets passed on to Engineering.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Berlin must not depend on the host's zoneinfo, or output would vary

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/history"
)

// The shape of the month. manualRate and apiShare make the scenario; the others are set so the
// month looks like a real desk of this size.
const (
	manualRate  = 0.20  // tickets a frontline agent escalates
	apiShare    = 0.35  // of those, API integration questions
	disputeRate = 0.035 // tickets opened as billing disputes (baseline's billing-dispute rule)
	chasedRate  = 0.02  // integration tickets chased to a third message (integration-unsolved)
	returnRate  = 0.09  // manual escalations the receiving team returns as unnecessary
	onwardRate  = 0.35  // tier-2 escalations whose scenario allows it that go on to Engineering
	hardAPIRate = 0.25  // escalated integration questions that take several rounds to fix
	closeRate   = 0.25  // solved tickets the help desk's automation closes four days later
	firstTicket = 48213 // the desk has been running for a while; ids continue its numbering
	days        = 30
	minTickets  = 50 // below this the quotas round to nothing

	// The committed history.jsonl: about 80 tickets a working day for six frontline agents,
	// under 3 MB.
	defaultTickets        = 1800
	defaultSeed    uint64 = 1
	accountCount          = 380
)

// start is the first moment of the month; nothing in the history depends on when it is written.
var start = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

func main() {
	out := flag.String("out", "", "file to write the history to (required)")
	tickets := flag.Int("tickets", defaultTickets, "tickets opened over the month")
	seed := flag.Uint64("seed", defaultSeed, "random seed; the same seed and -tickets write the same file")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: gen -out FILE [-tickets 2000] [-seed 1]")
		os.Exit(2)
	}
	var buf bytes.Buffer
	sum, err := generate(&buf, *tickets, *seed)
	if err == nil {
		err = os.WriteFile(*out, buf.Bytes(), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", *out, sum)
}

// summary is what the generator reports, counted from the events it wrote.
type summary struct {
	tickets, events int
	manual, api     int // frontline's manual escalations, and those of API integration tickets
	size            int
}

func (s summary) String() string {
	return fmt.Sprintf("%d tickets, %d events, %d manual tier-1 escalations, %d API integration (%.1f%%), %.1f MB",
		s.tickets, s.events, s.manual, s.api, 100*float64(s.api)/float64(max(s.manual, 1)), float64(s.size)/1e6)
}

// generate writes the history of tickets tickets, drawn with seed, to w.
func generate(w io.Writer, tickets int, seed uint64) (summary, error) {
	if tickets < minTickets {
		return summary{}, fmt.Errorf("-tickets %d: need at least %d for the escalation quotas to mean anything", tickets, minTickets)
	}
	// The second PCG word is fixed: -seed alone chooses the stream.
	g := &gen{rng: rand.New(rand.NewPCG(seed, 0x5eed_0f_5419))}
	g.makeAccounts()
	plans := g.plan(tickets)
	for i, at := range g.arrivals(tickets) {
		g.ticket(fmt.Sprintf("SW-%d", firstTicket+i), at, plans[i])
	}
	history.Sort(g.events)

	cw := &countingWriter{w: w}
	hw := history.NewWriter(cw)
	sum := summary{tickets: tickets, events: len(g.events)}
	issue := map[string]string{}
	for i := range g.events {
		e := &g.events[i]
		if err := e.Check(); err != nil {
			return summary{}, fmt.Errorf("ticket %s, %s: %w", e.Ticket, e.Type, err)
		}
		switch {
		case e.Type == history.TicketCreated:
			issue[e.Ticket] = e.New.IssueType
		case e.Type == history.EscalationCreated && e.Trigger == string(escalated.TriggerManual) && e.From == "frontline":
			sum.manual++
			if issue[e.Ticket] == apiIntegration {
				sum.api++
			}
		}
		if err := hw.Write(*e); err != nil {
			return summary{}, err
		}
	}
	if err := hw.Flush(); err != nil {
		return summary{}, err
	}
	sum.size = cw.n
	return sum, nil
}

type countingWriter struct {
	w io.Writer
	n int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	return n, err
}

// kind is how a ticket's month goes.
type kind int

const (
	solvedAtFrontline kind = iota
	escalatedByAgent       // a frontline agent escalates it to target
	disputeByRule          // baseline's billing-dispute rule sends it to Billing on arrival
	chasedByRule           // baseline's integration-unsolved rule fires on the third customer message
)

type plan struct {
	kind   kind
	issue  string
	target string // the team escalatedByAgent goes to
}

// plan lays out every ticket's course by quota and shuffles them, so the shares are exact
// whatever the seed: share = round(0.35 * round(0.2 * tickets)) / round(0.2 * tickets).
func (g *gen) plan(n int) []plan {
	round := func(f float64) int { return int(math.Round(f)) }
	manual := round(float64(n) * manualRate)
	api := round(float64(manual) * apiShare)
	billing := round(float64(manual) * 0.275)
	data := round(float64(manual) * 0.125)
	account := manual - api - billing - data
	disputes := round(float64(n) * disputeRate)
	chased := round(float64(n) * chasedRate)

	var out []plan
	add := func(k int, p plan) {
		for range k {
			out = append(out, p)
		}
	}
	add(api, plan{escalatedByAgent, apiIntegration, "engineering"})
	add(billing, plan{escalatedByAgent, billingQuestion, "billing"})
	add(account, plan{escalatedByAgent, accountAccess, "accounts"})
	add(data, plan{escalatedByAgent, dataRequest, "accounts"})
	add(disputes, plan{kind: disputeByRule, issue: billingDispute})
	add(chased, plan{kind: chasedByRule, issue: apiIntegration})
	// What frontline solves itself, in the proportions of a shipping platform's desk: parcels
	// first, integration how-tos a good share because the customers are developers too.
	mix := []struct {
		issue  string
		weight int
	}{{shipmentIssue, 24}, {howTo, 22}, {accountAccess, 14}, {billingQuestion, 13}, {apiIntegration, 13}, {featureRequest, 8}, {dataRequest, 6}}
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	for len(out) < n {
		r := g.rng.IntN(total)
		for _, m := range mix {
			if r -= m.weight; r < 0 {
				out = append(out, plan{kind: solvedAtFrontline, issue: m.issue})
				break
			}
		}
	}
	g.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// arrivals draws n arrival times over the month, weighted by the hour in Berlin: a working
// day's curve with a dip at lunch, a tail into the evening, a little at night and at weekends.
func (g *gen) arrivals(n int) []time.Time {
	hours := days * 24
	cum := make([]float64, hours)
	total := 0.0
	for h := range hours {
		total += arrivalWeight(start.Add(time.Duration(h) * time.Hour))
		cum[h] = total
	}
	out := make([]time.Time, n)
	for i := range out {
		h, _ := slices.BinarySearch(cum, g.rng.Float64()*total)
		out[i] = start.Add(time.Duration(h)*time.Hour + time.Duration(g.rng.IntN(3600))*time.Second)
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

func arrivalWeight(t time.Time) float64 {
	l := t.In(berlin)
	h := l.Hour()
	if !workday(l) {
		if 9 <= h && h < 20 {
			return 0.8
		}
		return 0.2
	}
	day := [...]float64{8: 7, 9: 10, 10: 11, 11: 10, 12: 7, 13: 8, 14: 10, 15: 10, 16: 8, 17: 6}
	switch {
	case h < 7:
		return 0.3
	case h == 7:
		return 2
	case h < 18:
		return day[h]
	case h < 22:
		return 2.5
	default:
		return 0.8
	}
}

// The office calendar: berlin-office in baseline.yaml and draft.yaml. Agents act only while it
// is open, which is also when the SLA clocks run, so the delays below are the ones the SLA
// targets measure.
var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err) // embedded by time/tzdata: cannot happen
	}
	return l
}()

const openHour, closeHour = 8, 18

var holidays = map[string]bool{"2026-10-03": true} // the policies' holidays that fall in or near the month

func workday(l time.Time) bool {
	wd := l.Weekday()
	return wd != time.Saturday && wd != time.Sunday && !holidays[l.Format(time.DateOnly)]
}

// opening is t when the office is open then, else the moment it next opens.
func opening(t time.Time) time.Time {
	l := t.In(berlin)
	for {
		if workday(l) && l.Hour() >= openHour && l.Hour() < closeHour {
			return l.UTC()
		}
		if workday(l) && l.Hour() < openHour {
			return time.Date(l.Year(), l.Month(), l.Day(), openHour, 0, 0, 0, berlin).UTC()
		}
		l = time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, berlin)
	}
}

// work is the moment d of office time after t.
func work(t time.Time, d time.Duration) time.Time {
	for {
		t = opening(t)
		l := t.In(berlin)
		end := time.Date(l.Year(), l.Month(), l.Day(), closeHour, 0, 0, 0, berlin)
		if left := end.Sub(t); d < left {
			return t.Add(d)
		}
		d -= end.Sub(t)
		t = end
	}
}

type account struct {
	id, name, tier, country, slug string
	people                        []person
}

type person struct {
	id, first, last, email string
}

// agentNames are the desk's people as baseline.yaml names them; the test holds the two together.
var agentNames = map[string]string{
	"lena": "Lena Hoffmann", "marco": "Marco Rossi", "aisha": "Aisha Bello", "jakob": "Jakob Lindqvist",
	"noor": "Noor Haddad", "felix": "Felix Wagner",
	"ines": "Inês Carvalho", "oskar": "Oskar Nowak", "mei": "Mei Lin",
	"david": "David Mensah", "sara": "Sara Jovanović", "kemal": "Kemal Arslan",
	"ravi": "Ravi Iyer", "jonas": "Jonas Brandt", "elif": "Elif Kaya",
}

// weighted is a pick where some choices are likelier.
type weighted []struct {
	id string
	w  float64
}

var (
	frontline = []string{"lena", "marco", "aisha", "jakob", "noor", "felix"}
	// Who escalates: Felix is the newest on the desk and escalates about twice as often as the
	// others, the kind of spread the insights report is for.
	escalators = weighted{{"lena", 0.8}, {"marco", 1}, {"aisha", 0.9}, {"jakob", 1.1}, {"noor", 0.8}, {"felix", 1.9}}
	receivers  = map[string]weighted{
		"billing":  {{"ines", 1}, {"oskar", 1}, {"mei", 1}},
		"accounts": {{"david", 1}, {"sara", 1}, {"kemal", 1}},
		// Only Ravi and Jonas have the api skill routing looks for; Elif takes platform defects.
		"engineering": {{"ravi", 1}, {"jonas", 1}},
		"onward":      {{"ravi", 1}, {"jonas", 1}, {"elif", 2}},
	}
)

func (g *gen) pick(w weighted) string {
	total := 0.0
	for _, c := range w {
		total += c.w
	}
	r := g.rng.Float64() * total
	for _, c := range w {
		if r -= c.w; r < 0 {
			return c.id
		}
	}
	return w[len(w)-1].id
}

type gen struct {
	rng      *rand.Rand
	events   []history.Event
	accounts []account
	cumAcct  []float64 // cumulative ticket weights of accounts
}

func (g *gen) one(list []string) string { return list[g.rng.IntN(len(list))] }
func (g *gen) chance(p float64) bool    { return g.rng.Float64() < p }

// fresh is a pick from list that the ticket has not used yet, so that a long conversation does
// not repeat itself; once all are used, any will do.
func (g *gen) fresh(t *tk, list []string) string {
	if t.used == nil {
		t.used = map[string]bool{}
	}
	var left []string
	for _, s := range list {
		if !t.used[s] {
			left = append(left, s)
		}
	}
	if len(left) == 0 {
		return g.one(list)
	}
	s := g.one(left)
	t.used[s] = true
	return s
}

// minutes is a uniform duration between lo and hi minutes, to the second.
func (g *gen) minutes(lo, hi int) time.Duration {
	return time.Duration(lo)*time.Minute + time.Duration(g.rng.IntN((hi-lo)*60+1))*time.Second
}

// makeAccounts creates the shops that write in. Enterprise accounts write more often and have
// more people writing.
func (g *gen) makeAccounts() {
	seen := map[string]bool{}
	total := 0.0
	for len(g.accounts) < accountCount {
		lf := legalForms[g.rng.IntN(len(legalForms))]
		base := g.one(shopWords) + " " + g.one(shopThings)
		if seen[base] {
			continue
		}
		seen[base] = true
		a := account{
			// Spread out: the shop has many more customers than write in during one month.
			id: fmt.Sprintf("acc_%05d", 10000+len(g.accounts)*7), name: base + " " + lf.form,
			country: lf.country, slug: slug(base),
		}
		people, weight := 1, 1.0
		switch r := g.rng.Float64(); {
		case r < 0.15:
			a.tier, people, weight = "enterprise", 2+g.rng.IntN(3), 4
		case r < 0.60:
			a.tier, people, weight = "pro", 1+g.rng.IntN(2), 2
		default:
			a.tier = "free"
		}
		for range people {
			first, last := g.one(firstNames), g.one(lastNames)
			a.people = append(a.people, person{
				id:    fmt.Sprintf("cus_%06d", 200000+13*(len(g.accounts)*8+len(a.people))),
				first: first, last: last,
				email: slug(first) + "." + slug(last) + "@" + a.slug + ".example",
			})
		}
		g.accounts = append(g.accounts, a)
		total += weight
		g.cumAcct = append(g.cumAcct, total)
	}
}

// slug is s in lower-case ASCII with dashes, for e-mail addresses.
func slug(s string) string {
	s = strings.ToLower(asciiFold.Replace(s))
	var b strings.Builder
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		}
	}
	return strings.Trim(b.String(), "-")
}

var asciiFold = strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss", "é", "e", "è", "e", "ê", "e", "á", "a",
	"í", "i", "ó", "o", "ñ", "n", "ç", "c", "ı", "i", "ł", "l", "ń", "n", "ć", "c", "ž", "z", "š", "s", "&", "and", "'", "")

// tk is one ticket while its events are made.
type tk struct {
	id       string
	acct     *account
	who      person
	issue    string
	priority string
	sc       scenario
	fill     *strings.Replacer
	fast     bool // enterprise or urgent: the tight SLA plans, so people answer sooner
	contacts int  // customer messages so far, which rules read as ticket.customer_contacts
	answered bool // an agent has written to the customer
	used     map[string]bool
}

func (g *gen) ticket(id string, at time.Time, p plan) {
	r := g.rng.Float64() * g.cumAcct[len(g.cumAcct)-1]
	ai, _ := slices.BinarySearch(g.cumAcct, r)
	a := &g.accounts[ai]
	t := &tk{id: id, acct: a, who: a.people[g.rng.IntN(len(a.people))], issue: p.issue}
	t.priority = "normal"
	switch r := g.rng.Float64(); {
	case p.kind == disputeByRule: // the rule raises it
	case r < 0.03:
		t.priority = "urgent"
	case r < 0.17:
		t.priority = "high"
	case r < 0.26:
		t.priority = "low"
	}
	t.fast = a.tier == "enterprise" || t.priority == "urgent"
	t.sc = g.scenario(p)
	t.fill = g.vars(t, at)

	channel := "email"
	switch r := g.rng.Float64(); {
	case r < 0.35:
		channel = "web"
	case r < 0.50:
		channel = "chat"
	}
	g.add(history.Event{Type: history.TicketCreated, At: at, Ticket: id,
		New: &history.NewTicket{
			Subject: t.fill.Replace(t.sc.subject), Priority: t.priority, Channel: channel, IssueType: t.issue, Language: "en",
			Customer: &escalated.Customer{ID: t.who.id, Name: t.who.first + " " + t.who.last, Email: t.who.email, AccountID: a.id},
			Account: &escalated.Account{ID: a.id, Name: a.name, Tier: a.tier,
				Attributes: map[string]any{"country": a.country}},
		},
		Message: g.customerMessage(t, t.sc.body, true),
	})
	t.contacts++
	switch p.kind {
	case solvedAtFrontline:
		g.solveAtFrontline(t, at)
	case escalatedByAgent:
		g.escalateByAgent(t, at, p.target)
	case disputeByRule:
		g.dispute(t, at)
	case chasedByRule:
		g.chase(t, at)
	}
}

// scenario picks what the ticket is about among those that can go the planned way.
func (g *gen) scenario(p plan) scenario {
	var fit []scenario
	for _, s := range scenarios[p.issue] {
		switch p.kind {
		case solvedAtFrontline:
			if s.answer != "" {
				fit = append(fit, s)
			}
		case escalatedByAgent, chasedByRule:
			if s.note != "" {
				fit = append(fit, s)
			}
		default:
			fit = append(fit, s)
		}
	}
	return fit[g.rng.IntN(len(fit))]
}

// vars are the ticket's particulars the templates name.
func (g *gen) vars(t *tk, at time.Time) *strings.Replacer {
	hex := func(prefix string, n int) string {
		return prefix + strconv.FormatUint(g.rng.Uint64(), 16)[:n]
	}
	l := at.In(berlin)
	first, last := g.one(firstNames), g.one(lastNames)
	return strings.NewReplacer(
		"{first}", t.who.first, "{last}", t.who.last,
		"{carrier}", g.one(carriers), "{sdk}", g.one(sdks), "{platform}", g.one(platforms), "{lang}", g.one(langs),
		"{idp}", g.one(idps), "{country}", g.one(countries), "{warehouse}", g.one(sites),
		"{ver}", fmt.Sprintf("%d.%d.%d", 2+g.rng.IntN(3), g.rng.IntN(12), g.rng.IntN(6)),
		"{req}", hex("req_", 12), "{req2}", hex("req_", 12), "{dlv}", hex("whd_", 10), "{ship}", hex("shp_", 10),
		"{batch}", hex("bat_", 8), "{merchant}", fmt.Sprintf("acc_%05d", 10000+g.rng.IntN(90000)),
		"{merchant2}", fmt.Sprintf("acc_%05d", 10000+g.rng.IntN(90000)),
		"{tracking}", fmt.Sprintf("00340%09d", g.rng.IntN(1e9)),
		"{invoice}", fmt.Sprintf("INV-2026-%05d", 10000+g.rng.IntN(90000)),
		"{amount}", fmt.Sprintf("€%d.%02d", 19+g.rng.IntN(600), g.rng.IntN(100)),
		"{n}", strconv.Itoa(12+g.rng.IntN(480)), "{n2}", strconv.Itoa(8+g.rng.IntN(150)),
		"{weekday}", g.one(weekdays), "{month}", g.one(months), "{dom}", ordinal(1+g.rng.IntN(28)),
		"{clock}", l.Add(-g.minutes(5, 300)).UTC().Format("15:04"),
		"{user}", first+" "+last,
		"{billing_email}", "accounting@"+t.acct.slug+".example",
		"{email_end}", slug(g.one(firstNames))+"."+slug(g.one(lastNames))+"@mail.example",
		"{slug}", t.acct.slug,
	)
}

func ordinal(d int) string {
	switch {
	case d%10 == 1 && d != 11:
		return strconv.Itoa(d) + "st"
	case d%10 == 2 && d != 12:
		return strconv.Itoa(d) + "nd"
	case d%10 == 3 && d != 13:
		return strconv.Itoa(d) + "rd"
	}
	return strconv.Itoa(d) + "th"
}

func (g *gen) add(e history.Event) { g.events = append(g.events, e) }

func (g *gen) customerMessage(t *tk, body string, first bool) *history.Message {
	text := t.fill.Replace(body)
	if first {
		if o := g.one(customerOpeners); o != "" {
			text = o + "\n\n" + text
		}
		text += "\n\n" + t.fill.Replace(g.one(customerClosers))
	}
	return &history.Message{Author: escalated.Author{Kind: escalated.AuthorCustomer, ID: t.who.id, Name: t.who.first + " " + t.who.last}, Body: text}
}

func (g *gen) customerSays(t *tk, at time.Time, body string) {
	g.add(history.Event{Type: history.MessageAdded, At: at, Ticket: t.id, Message: g.customerMessage(t, body, false)})
	t.contacts++
}

func (g *gen) agentSays(t *tk, at time.Time, agent, body string) {
	openers := laterOpeners
	if !t.answered {
		openers, t.answered = firstOpeners, true
	}
	// Agents' signatures are the help desk's, added on sending; the history keeps what they wrote.
	text := t.fill.Replace(g.one(openers)) + "\n\n" + t.fill.Replace(body)
	g.add(history.Event{Type: history.MessageAdded, At: at, Ticket: t.id,
		Message: &history.Message{Author: escalated.Author{Kind: escalated.AuthorAgent, ID: agent, Name: agentNames[agent]}, Body: text}})
}

func (g *gen) status(t *tk, at time.Time, by, status string) {
	g.add(history.Event{Type: history.TicketUpdated, At: at, Ticket: t.id, By: by, Update: &history.Update{Status: status}})
}

// Delays, in office time. First responses stay inside the policies' first_response targets
// (1 h for fast tickets, 2 h otherwise) and acknowledgements inside the acknowledge targets
// (30 min, 1 h): the live desk met those, so first-response-breach and nobody-picked-it-up did
// not fire and the history has no escalations by them. Later replies, Engineering's above all,
// do run past next_reply and resolution targets at times; no rule acts on those.
func (g *gen) firstResponse(t *tk, at time.Time) time.Time {
	if t.fast {
		return work(at, g.minutes(4, 40))
	}
	return work(at, g.minutes(8, 100))
}

func (g *gen) nextReply(t *tk, at time.Time) time.Time {
	if t.fast {
		return work(at, g.minutes(5, 70))
	}
	return work(at, g.minutes(8, 110))
}

func (g *gen) acknowledge(t *tk, at time.Time) time.Time {
	if t.fast {
		return work(at, g.minutes(2, 25))
	}
	return work(at, g.minutes(3, 50))
}

// customerDelay is how long a customer takes to answer, in wall time: often within the hour,
// sometimes the next day.
func (g *gen) customerDelay(at time.Time) time.Time {
	switch r := g.rng.Float64(); {
	case r < 0.55:
		return at.Add(g.minutes(4, 75))
	case r < 0.88:
		return at.Add(g.minutes(75, 420))
	default:
		return at.Add(g.minutes(720, 1500))
	}
}

// solved ends a ticket as solved by agent at, and maybe closed days later.
func (g *gen) solved(t *tk, at time.Time, agent string) {
	if agent != "" {
		g.status(t, at, agent, string(escalated.StatusSolved))
	}
	if g.chance(closeRate) {
		g.status(t, at.Add(96*time.Hour+g.minutes(0, 600)), "", string(escalated.StatusClosed))
	}
}

// ask is frontline asking for details and setting the ticket pending; the customer's answer
// reopens it. It returns when the answer arrived.
func (g *gen) ask(t *tk, at time.Time, agent, question, answer string) time.Time {
	g.agentSays(t, at, agent, question)
	g.status(t, at, agent, string(escalated.StatusPending))
	at = g.customerDelay(at)
	g.customerSays(t, at, answer)
	return at
}

func (g *gen) solveAtFrontline(t *tk, at time.Time) {
	a := g.one(frontline)
	at = g.firstResponse(t, at)
	// The integration questions frontline solves are the help-centre ones it answers at once;
	// one it has to ask the developer about is one it cannot solve (see escalateByAgent).
	if t.sc.ask != "" && t.issue != apiIntegration && g.chance(0.5) {
		at = g.nextReply(t, g.ask(t, at, a, t.sc.ask, t.sc.details))
	}
	g.agentSays(t, at, a, t.sc.answer)
	g.solved(t, work(at, g.minutes(0, 3)), a)
}

// escalateByAgent is the example's subject: frontline gathers what the next team needs,
// escalates with a note, and the receiving team acknowledges and works it.
func (g *gen) escalateByAgent(t *tk, at time.Time, target string) {
	a := g.pick(escalators)
	at = g.firstResponse(t, at)
	q, d := t.sc.ask, t.sc.details
	if q == "" && t.issue == apiIntegration {
		// Engineering wants a request ID before it looks at anything: frontline always asks,
		// and escalates on the developer's answer (draft.yaml's integration-to-specialists
		// rule acts on that same answer).
		q, d = genericAsk, genericDetails
	}
	if q != "" {
		at = g.nextReply(t, g.ask(t, at, a, q, d))
	}
	if t.sc.ask == "" || g.chance(0.6) {
		// Told before the ticket leaves frontline, while the agent still holds it. Without an
		// earlier reply this is also the first response the SLA waits for.
		g.agentSays(t, at, a, g.one(handovers[target]))
		at = work(at, g.minutes(0, 2))
	}
	g.add(history.Event{Type: history.EscalationCreated, At: at, Ticket: t.id, Escalation: 1,
		From: "frontline", To: target, Trigger: string(escalated.TriggerManual), Reason: g.reason(t),
		Note: t.fill.Replace(t.sc.note), By: a})

	r := g.pick(receivers[target])
	if t.issue == dataRequest {
		r = g.pick(weighted{{"sara", 2}, {"kemal", 1}}) // the two with the data skill
	}
	at = g.acknowledge(t, at)
	g.ack(t, at, 1, r, g.chance(0.85))

	switch {
	case g.chance(returnRate):
		gb := returns[target][g.rng.IntN(len(returns[target]))]
		at = work(at, g.minutes(10, 90))
		g.add(history.Event{Type: history.EscalationReturned, At: at, Ticket: t.id, Escalation: 1, By: r,
			Necessary: new(false), ReturnReason: gb.reason})
		at = g.nextReply(t, at)
		g.agentSays(t, at, a, gb.answer)
		g.solved(t, work(at, g.minutes(0, 3)), a)
	case target != "engineering" && t.sc.onward != "" && g.chance(onwardRate):
		at = work(at, g.minutes(15, 120))
		g.agentSays(t, at, r, "Thanks for your patience. I have found what went wrong and made the correction for you; the underlying cause needs a fix on our platform, which I have asked our engineers for.")
		at = work(at, g.minutes(5, 60))
		g.add(history.Event{Type: history.EscalationCreated, At: at, Ticket: t.id, Escalation: 2,
			From: target, To: "engineering", Trigger: string(escalated.TriggerManual), Reason: string(escalated.ReasonComplexity),
			Note: t.fill.Replace(t.sc.onward), By: r})
		e := g.pick(receivers["onward"])
		at = g.acknowledge(t, at)
		g.ack(t, at, 2, e, g.chance(0.9))
		at = work(at, g.minutes(120, 1200))
		g.agentSays(t, at, e, "The platform fix for this is deployed now, so it will not happen again. Thank you for reporting it.")
		g.resolve(t, work(at, g.minutes(0, 5)), 2, e, "Platform defect fixed and deployed. "+t.fill.Replace(t.sc.resolve))
	case t.issue == apiIntegration:
		g.workIntegration(t, at, r, 1)
	default:
		at = work(at, g.minutes(15, 240))
		g.agentSays(t, at, r, t.sc.reply)
		if g.chance(0.3) {
			at = g.customerDelay(at)
			g.customerSays(t, at, g.one(plainFollowUps))
			at = g.nextReply(t, at)
			g.agentSays(t, at, r, "You are welcome. Everything is done on our side; I will close this now, and you can reply here any time if something is still not right.")
		}
		g.resolve(t, work(at, g.minutes(0, 5)), 1, r, t.fill.Replace(t.sc.resolve))
	}
}

// workIntegration is Engineering working an integration question, escalation n of the ticket.
// The hard ones take three more customer messages: five in all, which in draft.yaml is where
// integration-to-engineering takes the ticket from Integrations to Engineering.
func (g *gen) workIntegration(t *tk, at time.Time, eng string, n int) {
	if g.chance(hardAPIRate) {
		at = work(at, g.minutes(20, 180))
		g.agentSays(t, at, eng, g.fresh(t, engInterim))
		for i := 0; t.contacts < 5; i++ {
			at = g.customerDelay(at)
			body := g.fresh(t, apiFollowUps)
			if i == 1 && t.acct.tier != "free" && g.chance(0.3) {
				body = g.one(churnFollowUps)
			}
			g.customerSays(t, at, body)
			at = g.nextReply(t, at)
			if t.contacts < 5 {
				g.agentSays(t, at, eng, g.fresh(t, engInterim))
			}
		}
		at = work(at, g.minutes(60, 900))
	} else {
		at = work(at, g.minutes(30, 600))
	}
	g.agentSays(t, at, eng, t.sc.reply)
	g.solvedByEngineer(t, work(at, g.minutes(1, 30)), n, eng)
}

// solvedByEngineer resolves escalation n. Developers often confirm the fix afterwards, which
// reopens the solved ticket, and the engineer solves it again: a reopen the analytics count,
// and a later solve that a replay resolving the escalation earlier still finds.
func (g *gen) solvedByEngineer(t *tk, at time.Time, n int, eng string) {
	g.resolve(t, at, n, eng, t.fill.Replace(t.sc.resolve))
	if g.chance(0.35) {
		at = g.customerDelay(at)
		g.customerSays(t, at, g.one(thanks))
		g.status(t, g.nextReply(t, at), eng, string(escalated.StatusSolved))
	}
}

// dispute is a contested charge: baseline's billing-dispute rule escalated it to Billing on the
// customer's first message, before anyone at frontline saw it.
func (g *gen) dispute(t *tk, at time.Time) {
	g.add(history.Event{Type: history.EscalationCreated, At: at, Ticket: t.id, Escalation: 1,
		From: "frontline", To: "billing", Trigger: "rule", Rule: "billing-dispute", Reason: string(escalated.ReasonPriority),
		Note: "Customer disputes a charge; Billing owns disputes and chargebacks."})
	r := g.pick(receivers["billing"])
	ackAt := g.acknowledge(t, at)
	g.ack(t, ackAt, 1, r, true)
	// Billing's reply is the ticket's first response, so it keeps to the first_response target.
	if at = g.firstResponse(t, at); at.Before(ackAt) {
		at = ackAt
	}
	at = work(at, g.minutes(1, 5))
	g.agentSays(t, at, r, t.sc.reply)
	if g.chance(0.3) {
		at = g.customerDelay(at)
		g.customerSays(t, at, g.one(plainFollowUps))
		at = g.nextReply(t, at)
		g.agentSays(t, at, r, "The refund is on its way; the bank shows it on your statement within 5 to 10 business days.")
	}
	g.resolve(t, work(at, g.minutes(0, 5)), 1, r, t.fill.Replace(t.sc.resolve))
}

// chase is an integration ticket frontline tries to answer twice; the customer's third message
// made baseline's integration-unsolved rule send it to Engineering, at that same moment.
func (g *gen) chase(t *tk, at time.Time) {
	a := g.one(frontline)
	q, d := t.sc.ask, t.sc.details
	if q == "" {
		q, d = genericAsk, genericDetails
	}
	at = g.ask(t, g.firstResponse(t, at), a, q, d)
	at = g.nextReply(t, at)
	g.agentSays(t, at, a, g.one(frontlineTries))
	at = g.customerDelay(at)
	body := g.fresh(t, apiFollowUps)
	if t.acct.tier != "free" && g.chance(0.2) {
		body = g.one(churnFollowUps)
	}
	g.customerSays(t, at, body)
	g.add(history.Event{Type: history.EscalationCreated, At: at, Ticket: t.id, Escalation: 1,
		From: "frontline", To: "engineering", Trigger: "rule", Rule: "integration-unsolved", Reason: string(escalated.ReasonComplexity),
		Note: "Integration question still unsolved after the customer's third message."})
	r := g.pick(receivers["engineering"])
	at = g.acknowledge(t, at)
	g.ack(t, at, 1, r, g.chance(0.6))
	at = work(at, g.minutes(30, 600))
	g.agentSays(t, at, r, t.sc.reply)
	g.solvedByEngineer(t, work(at, g.minutes(1, 30)), 1, r)
}

// genericAsk is what frontline asks of any integration question it has no specific question for.
const (
	genericAsk     = "Could you send the X-Request-Id of one failing call, the time it happened and whether it was production or the sandbox? Then we can look it up."
	genericDetails = "Request {req} at {clock} UTC, production. It happens several times an hour."
)

// frontlineTries are what a frontline agent without API access can suggest; in chased tickets
// they do not help, which is the point.
var frontlineTries = []string{
	"Thank you. Our status page shows no incident, and the request looks right to me. Could you create a new key, make sure it is for production, and try once more? If it still fails, reply here.",
	"Thanks for the details. I compared them with our developer guide and could not spot a difference. Could you check whether a proxy or firewall in front of your server changes the requests?",
	"I have gone through our help centre articles for this error and everything you describe matches the setup they recommend. Could you try with the latest SDK version, which fixed several such issues?",
}

func (g *gen) reason(t *tk) string {
	switch {
	case t.priority == "urgent" || (t.priority == "high" && g.chance(0.5)):
		return string(escalated.ReasonPriority)
	case t.acct.tier == "enterprise" && g.chance(0.3):
		return string(escalated.ReasonCustomerTier)
	case t.issue != apiIntegration && g.chance(0.15):
		return string(escalated.ReasonOther)
	}
	return string(escalated.ReasonComplexity)
}

func (g *gen) ack(t *tk, at time.Time, n int, by string, sufficient bool) {
	g.add(history.Event{Type: history.EscalationAcknowledged, At: at, Ticket: t.id, Escalation: n, By: by, ContextSufficient: &sufficient})
}

func (g *gen) resolve(t *tk, at time.Time, n int, by, resolution string) {
	g.add(history.Event{Type: history.EscalationResolved, At: at, Ticket: t.id, Escalation: n, By: by, Resolution: resolution})
	g.solved(t, at, "") // resolving solves the ticket; only the later close is a separate change
}
