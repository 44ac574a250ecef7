//go:build ignore

// Command gen derives the demo tickets (internal/demo/tickets.jsonl) from the Bitext customer
// support sample. It picks rows deterministically (fixed seed, spread over every intent, more of
// the complaint and "talk to a human" intents, a share of rows with offensive, colloquial or
// misspelt wording), invents fictional customers and accounts, fills the Bitext placeholders
// with plausible values and decides which tickets frontline escalates and how that ended.
//
// Run from the module root:
//
//	go run internal/demo/gen/main.go -in ../shared/data/bitext/customer_support_training_sample.csv -out internal/demo/tickets.jsonl
//
// The same input always gives byte-identical output. Agent, team and account ids used here must
// match internal/demo/policy.yaml; the package test checks that they do.
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// seed fixes every random choice; change it only on purpose, since it reshuffles the demo.
const (
	seed1 = 2026
	seed2 = 14
)

func main() {
	in := flag.String("in", "../shared/data/bitext/customer_support_training_sample.csv", "Bitext CSV file")
	out := flag.String("out", "internal/demo/tickets.jsonl", "output JSONL file")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		log.Fatal(err)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := readRows(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	g := newGenerator()
	picked := g.pick(rows)
	tickets := make([]ticket, 0, len(picked))
	for _, r := range picked {
		tickets = append(tickets, g.ticket(r))
	}
	g.markRuleTickets(tickets)
	// Oldest first, the order a loader replays them in.
	slices.SortStableFunc(tickets, func(a, b ticket) int { return b.AgeMinutes - a.AgeMinutes })

	var buf bytes.Buffer
	for i := range tickets {
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(tickets[i]); err != nil {
			return err
		}
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	esc := 0
	for _, t := range tickets {
		if t.Escalate != nil {
			esc++
		}
	}
	log.Printf("wrote %d tickets (%d escalated, %.0f%%), %d bytes to %s", len(tickets), esc,
		100*float64(esc)/float64(len(tickets)), buf.Len(), out)
	return nil
}

// row is one line of the Bitext CSV.
type row struct {
	line        int
	instruction string
	intent      string
	entityType  string
	entityValue string
	category    string
	tags        string
	response    string
}

func (r row) tagged(c byte) bool { return strings.IndexByte(r.tags, c) >= 0 }

func readRows(r io.Reader) ([]row, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, name := range []string{"instruction", "intent", "entity_type", "entity_value", "category", "tags", "response"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("missing column %q", name)
		}
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		rows = append(rows, row{
			line:        line,
			instruction: strings.TrimSpace(rec[col["instruction"]]),
			intent:      rec[col["intent"]],
			entityType:  rec[col["entity_type"]],
			entityValue: rec[col["entity_value"]],
			category:    rec[col["category"]],
			tags:        rec[col["tags"]],
			response:    strings.ReplaceAll(rec[col["response"]], "\r\n", "\n"),
		})
	}
	return rows, nil
}

// Output shape; internal/demo.Ticket decodes it strictly.
type ticket struct {
	Subject    string      `json:"subject"`
	Priority   string      `json:"priority"`
	Channel    string      `json:"channel"`
	IssueType  string      `json:"issue_type"`
	Category   string      `json:"category"`
	Language   string      `json:"language"`
	Tags       []string    `json:"tags"`
	Customer   customer    `json:"customer"`
	Account    account     `json:"account"`
	Messages   []message   `json:"messages"`
	AgeMinutes int         `json:"age_minutes"`
	Escalate   *escalation `json:"escalate"`

	// Generation state, not written.
	row   row   `json:"-"`
	facts facts `json:"-"`
}

type customer struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type account struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Tier       string     `json:"tier"`
	Attributes attributes `json:"attributes"`
}

type attributes struct {
	Plan   string `json:"plan"`
	ARR    int    `json:"arr"`
	Region string `json:"region"`
}

type author struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

type message struct {
	Author        author `json:"author"`
	Body          string `json:"body"`
	OffsetMinutes int    `json:"offset_minutes"`
}

type escalation struct {
	To     string  `json:"to"`
	Reason string  `json:"reason"`
	Note   string  `json:"note"`
	By     string  `json:"by"`
	Then   *string `json:"then"`
}

// facts are the concrete values one ticket talks about, shared by its messages and note.
type facts struct {
	order   string
	invoice string
	amount  string
	date    string
	special string // "legal" or "fraud" when a follow-up is meant to trip that keyword rule
}

// Accounts. Ids of the enterprise ones are listed under enterprise-desk in policy.yaml. Plans
// reuse the Bitext account types (Freemium, Standard, Premium, Gold, Platinum).
var accounts = []account{
	{"halvorsen-maritime", "Halvorsen Maritime AS", "enterprise", attributes{"platinum", 420000, "eu"}},
	{"quantora-health", "Quantora Health Inc.", "enterprise", attributes{"platinum", 310000, "us"}},
	{"kestrel-aerolabs", "Kestrel Aerolabs", "enterprise", attributes{"platinum", 185000, "us"}},
	{"tanjong-retail", "Tanjong Retail Group", "enterprise", attributes{"platinum", 240000, "apac"}},

	{"bluefen-studio", "Bluefen Studio", "pro", attributes{"gold", 14400, "eu"}},
	{"copperleaf-bakery", "Copperleaf Bakery", "pro", attributes{"standard", 2400, "us"}},
	{"dunmore-outfitters", "Dunmore Outfitters", "pro", attributes{"premium", 7800, "eu"}},
	{"emberline-fitness", "Emberline Fitness", "pro", attributes{"premium", 6000, "us"}},
	{"fjordlight-design", "Fjordlight Design", "pro", attributes{"gold", 18000, "eu"}},
	{"greyhaven-books", "Greyhaven Books", "pro", attributes{"standard", 1800, "eu"}},
	{"harbourview-dental", "Harbourview Dental", "pro", attributes{"premium", 9600, "apac"}},
	{"ironbark-tools", "Ironbark Tools Pty Ltd", "pro", attributes{"gold", 21600, "apac"}},
	{"juniper-events", "Juniper & Co. Events", "pro", attributes{"standard", 3000, "us"}},
	{"lakeside-veterinary", "Lakeside Veterinary Clinic", "pro", attributes{"premium", 8400, "us"}},
	{"mosaic-language-school", "Mosaic Language School", "pro", attributes{"standard", 2700, "eu"}},
	{"nordwind-cycles", "Nordwind Cycles GmbH", "pro", attributes{"gold", 16800, "eu"}},
	{"orchard-lane-cafe", "Orchard Lane Café", "pro", attributes{"standard", 1500, "us"}},
	{"pinecrest-realty", "Pinecrest Realty", "pro", attributes{"premium", 10800, "us"}},

	{"amberwick-crafts", "Amberwick Crafts", "free", attributes{"freemium", 0, "eu"}},
	{"brookside-tutoring", "Brookside Tutoring", "free", attributes{"freemium", 0, "us"}},
	{"cinder-and-sage", "Cinder & Sage", "free", attributes{"freemium", 0, "us"}},
	{"dewpoint-photography", "Dewpoint Photography", "free", attributes{"freemium", 0, "apac"}},
	{"elmstead-garden-club", "Elmstead Garden Club", "free", attributes{"freemium", 0, "eu"}},
	{"foxglove-ceramics", "Foxglove Ceramics", "free", attributes{"freemium", 0, "eu"}},
	{"gullwing-surf-school", "Gullwing Surf School", "free", attributes{"freemium", 0, "apac"}},
	{"hollowtree-games", "Hollowtree Games", "free", attributes{"freemium", 0, "us"}},
	{"inkwell-print-shop", "Inkwell Print Shop", "free", attributes{"freemium", 0, "eu"}},
	{"jadeport-imports", "Jadeport Imports", "free", attributes{"freemium", 0, "apac"}},
	{"kettlebrook-farm", "Kettlebrook Farm", "free", attributes{"freemium", 0, "us"}},
	{"lumen-yoga", "Lumen Yoga", "free", attributes{"freemium", 0, "eu"}},
	{"marlow-music-lessons", "Marlow Music Lessons", "free", attributes{"freemium", 0, "eu"}},
	{"nettle-and-thread", "Nettle & Thread", "free", attributes{"freemium", 0, "eu"}},
	{"oakhurst-home-repairs", "Oakhurst Home Repairs", "free", attributes{"freemium", 0, "us"}},
	{"pebblebeach-pets", "Pebblebeach Pets", "free", attributes{"freemium", 0, "apac"}},
	{"quillon-translations", "Quillon Translations", "free", attributes{"freemium", 0, "eu"}},
	{"riverbend-scouts", "Riverbend Scouts", "free", attributes{"freemium", 0, "us"}},
	{"saltmarsh-kayaks", "Saltmarsh Kayaks", "free", attributes{"freemium", 0, "eu"}},
	{"thistle-tea-room", "Thistle Tea Room", "free", attributes{"freemium", 0, "eu"}},
	{"umber-vintage", "Umber Vintage", "free", attributes{"freemium", 0, "us"}},
	{"wrenfield-bikes", "Wrenfield Bikes", "free", attributes{"freemium", 0, "apac"}},
}

var (
	firstNames = map[string][]string{
		"eu":   {"Lena", "Matteo", "Sophie", "Lukas", "Emma", "Jan", "Chiara", "Noah", "Inès", "Mikkel", "Freya", "Tomás", "Elise", "Oskar", "Amélie", "Pieter", "Zofia", "Henrik"},
		"us":   {"Emily", "Marcus", "Jasmine", "Tyler", "Olivia", "Andre", "Megan", "Carlos", "Rachel", "Derek", "Aisha", "Kevin", "Lauren", "Jamal"},
		"apac": {"Aiko", "Wei", "Priyanka", "Jun", "Mei", "Arjun", "Siti", "Hiroshi", "Chloe", "Rangi", "Anh", "Daniel"},
	}
	lastNames = map[string][]string{
		"eu":   {"Hansen", "Rossi", "Müller", "Janssen", "Nowak", "Lefèvre", "Bergström", "Moreau", "Schmidt", "Kovač", "de Vries", "Lindqvist", "García", "O'Brien"},
		"us":   {"Johnson", "Carter", "Nguyen", "Brooks", "Patel", "Ramirez", "Thompson", "Reyes", "Coleman", "Fischer", "Washington", "Kim", "Murphy", "Hughes"},
		"apac": {"Tan", "Watanabe", "Chen", "Lim", "Kumar", "Nakamura", "Wong", "Singh", "Park", "Walker", "Tran", "Taylor"},
	}
)

// Frontline agents and the categories each prefers; ids must exist in policy.yaml.
var (
	frontline    = []string{"ana", "liam", "sofia", "jonas"}
	preferredBy  = map[string]string{"ACCOUNT": "ana", "ORDER": "ana", "DELIVERY": "liam", "SHIPPING_ADDRESS": "liam", "PAYMENT": "sofia", "REFUND": "sofia", "INVOICE": "sofia", "CANCELLATION_FEE": "sofia", "NEWSLETTER": "jonas", "FEEDBACK": "jonas", "CONTACT": "jonas"}
	billingCats  = map[string]bool{"PAYMENT": true, "REFUND": true, "INVOICE": true, "CANCELLATION_FEE": true}
	lowPriority  = map[string]bool{"newsletter_subscription": true, "review": true, "delivery_options": true, "check_payment_methods": true, "check_refund_policy": true, "contact_customer_service": true}
	highPriority = map[string]bool{"complaint": true, "payment_issue": true}
)

// quota is how many rows to take per intent; intents not listed get defaultQuota.
var (
	quota        = map[string]int{"contact_human_agent": 24, "complaint": 24, "payment_issue": 12}
	defaultQuota = 10
)

type generator struct {
	rng       *rand.Rand
	customers map[string][]customer // by account id
	orderSeq  int
}

func newGenerator() *generator {
	g := &generator{rng: rand.New(rand.NewPCG(seed1, seed2)), customers: map[string][]customer{}}
	used := map[string]bool{}
	n := 0
	for _, a := range accounts {
		count := 1 + g.rng.IntN(2)
		switch a.Tier {
		case "enterprise":
			count = 4
		case "pro":
			count = 2 + g.rng.IntN(2)
		}
		for range count {
			var name string
			for {
				name = pickFrom(g.rng, firstNames[a.Attributes.Region]) + " " + pickFrom(g.rng, lastNames[a.Attributes.Region])
				if !used[name] {
					used[name] = true
					break
				}
			}
			n++
			first, last, _ := strings.Cut(name, " ")
			g.customers[a.ID] = append(g.customers[a.ID], customer{
				ID:    fmt.Sprintf("cus-%04d", n),
				Name:  name,
				Email: emailLocal(first) + "." + emailLocal(last) + "@" + a.ID + ".example",
			})
		}
	}
	return g
}

func pickFrom[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

func emailLocal(s string) string {
	r := strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "é", "e", "è", "e", "á", "a", "í", "i", "ó", "o", "ò", "o", "ñ", "n", "č", "c", "'", "", " ", "")
	return r.Replace(strings.ToLower(s))
}

// badPlaceholder matches placeholders that are template instructions or enumerations rather
// than a value to fill in ("{{Case 1}}", "{{provide instructions to request a refund}}").
var (
	placeholderRE = regexp.MustCompile(`\{\{([^{}]*)\}\}`)
	enumeratedRE  = regexp.MustCompile(`^(Case|Situation|Review Website) \d+$`)
)

func usable(r row) bool {
	if len(r.instruction) < 10 || len(r.response) < 200 {
		return false
	}
	for _, m := range placeholderRE.FindAllStringSubmatch(r.response, -1) {
		inner := m[1]
		if enumeratedRE.MatchString(inner) {
			return false
		}
		if _, ok := placeholderValues[inner]; ok {
			continue
		}
		if r0 := []rune(inner); len(r0) > 0 && unicode.IsLower(r0[0]) && strings.Count(inner, " ") >= 2 {
			return false
		}
	}
	return true
}

// pick takes quota rows per intent: about a sixth with offensive language (tag W), a third
// colloquial or misspelt (Q, Z), the rest from anything left.
func (g *generator) pick(rows []row) []row {
	byIntent := map[string][]row{}
	var intents []string
	for _, r := range rows {
		if !usable(r) {
			continue
		}
		if _, ok := byIntent[r.intent]; !ok {
			intents = append(intents, r.intent)
		}
		byIntent[r.intent] = append(byIntent[r.intent], r)
	}
	slices.Sort(intents)
	var picked []row
	for _, in := range intents {
		rs := slices.Clone(byIntent[in])
		g.rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
		q := defaultQuota
		if v, ok := quota[in]; ok {
			q = v
		}
		take := map[int]bool{}
		var got []row
		add := func(want int, ok func(row) bool) {
			for _, r := range rs {
				if len(got) >= q || want == 0 {
					return
				}
				if !take[r.line] && ok(r) {
					take[r.line] = true
					got = append(got, r)
					want--
				}
			}
		}
		add(q/6, func(r row) bool { return r.tagged('W') })
		add(q/3, func(r row) bool { return r.tagged('Q') || r.tagged('Z') })
		add(q, func(row) bool { return true })
		picked = append(picked, got...)
	}
	g.rng.Shuffle(len(picked), func(i, j int) { picked[i], picked[j] = picked[j], picked[i] })
	return picked
}

func (g *generator) account() account {
	weights := map[string]float64{"enterprise": 1.6, "pro": 1.2, "free": 1}
	total := 0.0
	for _, a := range accounts {
		total += weights[a.Tier]
	}
	x := g.rng.Float64() * total
	for _, a := range accounts {
		x -= weights[a.Tier]
		if x < 0 {
			return a
		}
	}
	return accounts[len(accounts)-1]
}

var (
	digitsRE = regexp.MustCompile(`\d{5,}`)
	amountRE = regexp.MustCompile(`\$\s?\d+|\d+\s?dollars`)
)

func (g *generator) digits(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + g.rng.IntN(10)))
	}
	return b.String()
}

// facts invents the order, invoice and amount a ticket talks about and puts them into the
// customer's message: Bitext reuses a handful of ids across hundreds of rows.
func (g *generator) facts(r row) (facts, string) {
	f := facts{
		order:   g.digits(8 + g.rng.IntN(5)),
		invoice: fmt.Sprintf("INV-2026-%05d", 1000+g.rng.IntN(90000)),
		amount:  fmt.Sprintf("$%d.%02d", 15+g.rng.IntN(480), g.rng.IntN(100)),
		date:    fmt.Sprintf("%d %s", 1+g.rng.IntN(28), pickFrom(g.rng, []string{"January", "February", "March", "April", "May", "June"})),
	}
	text := r.instruction
	switch r.entityType {
	case "order_id":
		if m := digitsRE.FindString(text); m != "" {
			f.order = g.digits(len(m))
			if strings.HasPrefix(m, "00") {
				f.order = "00" + f.order[2:]
			}
			text = strings.ReplaceAll(text, m, f.order)
		}
	case "invoice_id":
		if m := digitsRE.FindString(text); m != "" {
			n := g.digits(len(m))
			text = strings.ReplaceAll(text, m, n)
			f.invoice = "#" + n
		}
	case "refund_amount":
		if m := amountRE.FindString(text); m != "" {
			num := strings.TrimSpace(strings.Trim(strings.TrimSuffix(m, "dollars"), "$ "))
			f.amount = "$" + num
		}
	}
	return f, text
}

var dollarsRE = regexp.MustCompile(`\$\d[\d,]*(\.\d\d)?`)

// reply fills a Bitext response for this ticket. Where the customer named an amount, Bitext's
// reply sometimes quotes a different one ("refunding $12" answered with "$1200"); use theirs.
func reply(r row, f facts, c customer) string {
	s := fill(r.response, f, c)
	if r.entityType == "refund_amount" {
		s = dollarsRE.ReplaceAllLiteralString(s, f.amount)
	}
	return trim(s, 700)
}

var placeholderValues = map[string]string{
	"Customer Support Phone Number":                 "(800) 555-0142",
	"Customer Support Phone Number Anonymized":      "(800) 555-0142",
	"Customer Service Phone Number":                 "(800) 555-0142",
	"Support Phone Number":                          "(800) 555-0142",
	"customer support phone number":                 "(800) 555-0142",
	"Phone Number":                                  "(800) 555-0142",
	"Customer Assistance Phone Number":              "(800) 555-0142",
	"Complaint Phone Number":                        "(800) 555-0142",
	"Customer Support Email":                        "support@brightcart.example.test",
	"Customer Support Email Address":                "support@brightcart.example.test",
	"Customer Service Email":                        "support@brightcart.example.test",
	"Customer Service Email Address":                "support@brightcart.example.test",
	"Support Email":                                 "support@brightcart.example.test",
	"Support Email Address":                         "support@brightcart.example.test",
	"Feedback Email Address":                        "feedback@brightcart.example.test",
	"Complaint Email Address":                       "complaints@brightcart.example.test",
	"Customer Support Email or Phone Number":        "support@brightcart.example.test or (800) 555-0142",
	"Customer Support Availability":                 "Monday to Friday, 9 am to 5 pm",
	"Customer Support Availability Anonymized":      "Monday to Friday, 9 am to 5 pm",
	"Customer Support Hours":                        "9 am to 5 pm, Monday to Friday",
	"Customer Service Hours":                        "9 am to 5 pm, Monday to Friday",
	"Customer Assistance Hours":                     "9 am to 5 pm, Monday to Friday",
	"Support Team Availability":                     "Monday to Friday, 9 am to 5 pm",
	"Operating Hours":                               "9 am to 5 pm, Monday to Friday",
	"Operating Hours Weekdays":                      "9 am to 5 pm",
	"Operating Hours Weekends":                      "10 am to 2 pm",
	"Operating Hours Holidays":                      "closed",
	"Business Hours Start Time":                     "9 am",
	"Business Hours End Time":                       "5 pm",
	"Customer Service Start Time":                   "9 am",
	"Customer Service End Time":                     "5 pm",
	"Response Time":                                 "one business day",
	"Website Name":                                  "Brightcart",
	"Website Name Anonymized":                       "Brightcart",
	"Company Name":                                  "Brightcart",
	"website":                                       "Brightcart website",
	"Website":                                       "Brightcart website",
	"Website URL":                                   "https://www.brightcart.example.test",
	"Company Website":                               "https://www.brightcart.example.test",
	"Service Website":                               "https://www.brightcart.example.test",
	"Website/App Name":                              "Brightcart",
	"Website or App":                                "Brightcart website or app",
	"Mobile App":                                    "Brightcart app",
	"Mobile App Name":                               "Brightcart app",
	"Live Chat":                                     "Live Chat",
	"Live Chat Anonymized":                          "Live Chat",
	"live chat":                                     "live chat",
	"number of days":                                "14",
	"Percentage or Full":                            "full",
	"Percentage":                                    "50%",
	"Refund Timeframe":                              "5 to 10 business days",
	"Refund Processing Time":                        "5 to 10 business days",
	"refund processing time":                        "5 to 10 business days",
	"Refund Processing Time Frame":                  "5 to 10 business days",
	"refund period":                                 "30 days",
	"ETA":                                           "2 to 4 business days",
	"Estimated Time of Arrival":                     "2 to 4 business days",
	"Order Number":                                  "", // filled per ticket
	"Order Number Anonymized":                       "",
	"Order ID Anonymized":                           "",
	"Purchase ID Anonymized":                        "",
	"Purchase Number Anonymized":                    "",
	"order number":                                  "",
	"tracking number":                               "",
	"Bill Number Anonymized":                        "",
	"Invoice Number Anonymized":                     "",
	"Purchase Date Anonymized":                      "",
	"Payment Method Anonymized":                     "Visa card ending in 4242",
	"Name Field Anonymized":                         "",
	"Customer Support Contact Information":          "(800) 555-0142 or support@brightcart.example.test",
	"\"Refund Policy\" or \"Money Back Guarantee\"": "Refund Policy",
}

var websiteNameRE = regexp.MustCompile(`(website )?\{\{Website Name\}\}( (account|login|homepage|website|platform|app)\b)?`)

var rawValueRE = regexp.MustCompile(`^[0-9A-F]{5,}$`)

// fill replaces every {{placeholder}}: known values from the table, per-ticket facts for ids,
// and the label itself for UI element names ("{{Order History}}" -> "Order History").
func fill(s string, f facts, c customer) string {
	// "our {{Website Name}}" means "our website", "your {{Website Name}} account" the shop's name.
	s = websiteNameRE.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "{{") && strings.HasSuffix(m, "}}") {
			return "Brightcart website"
		}
		return strings.Replace(m, "{{Website Name}}", "Brightcart", 1)
	})
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		inner := m[2 : len(m)-2]
		switch inner {
		case "Order Number", "Order Number Anonymized", "Order ID Anonymized", "Purchase ID Anonymized",
			"Purchase Number Anonymized", "order number":
			return f.order
		case "tracking number":
			return "1Z" + f.order
		case "Bill Number Anonymized", "Invoice Number Anonymized":
			return f.invoice
		case "Purchase Date Anonymized":
			return f.date
		case "Name Field Anonymized":
			return c.Name
		}
		if v, ok := placeholderValues[inner]; ok {
			return v
		}
		if rawValueRE.MatchString(inner) {
			// Bitext sometimes wrapped the customer's own order number (or a hash) in braces.
			return f.order
		}
		return inner
	})
}

// trim shortens a reply to at most max bytes at a paragraph, else sentence, boundary.
func trim(s string, max int) string {
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	cut := s[:max]
	if i := strings.LastIndex(cut, "\n\n"); i >= max/2 {
		return strings.TrimSpace(cut[:i])
	}
	if i := strings.LastIndex(cut, ". "); i >= max/3 {
		return strings.TrimSpace(cut[:i+1])
	}
	if i := strings.LastIndex(cut, " "); i > 0 {
		return strings.TrimSpace(cut[:i]) + "…"
	}
	return cut
}

var subjects = map[string][]string{
	"cancel_order":             {"Cancel order {order}", "Please cancel my order", "Cancellation request for order {order}"},
	"change_order":             {"Change items in order {order}", "Modify my order", "Swap a product in my order"},
	"place_order":              {"Help placing an order", "Can't complete my purchase", "How do I order?"},
	"track_order":              {"Where is order {order}?", "Tracking my order", "Order status"},
	"delivery_options":         {"Delivery options", "Which shipping methods do you offer?", "Is express delivery available?"},
	"delivery_period":          {"When will my order arrive?", "Delivery time", "How long does shipping take?"},
	"change_shipping_address":  {"Change shipping address", "Update delivery address", "Wrong address on my order"},
	"set_up_shipping_address":  {"Add a new shipping address", "Set up a delivery address", "Can't save my address"},
	"check_invoice":            {"Question about invoice {invoice}", "Where can I see my invoices?", "Checking a bill"},
	"get_invoice":              {"Need a copy of invoice {invoice}", "Download invoice", "Invoice request"},
	"check_payment_methods":    {"Accepted payment methods", "Which payment methods can I use?", "Paying by bank transfer?"},
	"payment_issue":            {"Payment failed", "Problem paying for my order", "Card declined at checkout"},
	"get_refund":               {"Refund request", "Refund of {amount}", "I want my money back"},
	"track_refund":             {"Refund status", "Where is my refund?", "Refund not received yet"},
	"check_refund_policy":      {"Refund policy question", "Am I eligible for a refund?", "Money-back guarantee"},
	"check_cancellation_fee":   {"Early termination fee", "Cancellation fee question", "What does it cost to cancel?"},
	"create_account":           {"Open a {acct} account", "Create an account", "Sign-up help"},
	"edit_account":             {"Update my account details", "Edit profile", "Change account information"},
	"delete_account":           {"Delete my account", "Account removal", "Remove my profile"},
	"switch_account":           {"Switch to the {acct} plan", "Change account type", "Upgrade or downgrade my account"},
	"recover_password":         {"Password reset", "Can't log in, forgot password", "Reset link not working"},
	"registration_problems":    {"Problem signing up", "Registration error", "Can't finish registration"},
	"newsletter_subscription":  {"Newsletter subscription", "Unsubscribe from the newsletter", "Newsletter emails"},
	"review":                   {"Feedback about your service", "Leaving a review", "Product review"},
	"complaint":                {"Formal complaint", "Complaint about your service", "I want to file a complaint"},
	"contact_human_agent":      {"Speak to a human", "Need a real person", "Talk to an agent please"},
	"contact_customer_service": {"How do I contact customer service?", "Customer service hours", "Contact support"},
}

func (g *generator) subject(r row, f facts) string {
	opts := subjects[r.intent]
	if len(opts) == 0 {
		return trim(r.instruction, 60)
	}
	s := pickFrom(g.rng, opts)
	if strings.Contains(s, "{acct}") {
		if r.entityType != "account_type" {
			s = opts[1]
		} else {
			s = strings.ReplaceAll(s, "{acct}", titleCase(r.entityValue))
		}
	}
	s = strings.ReplaceAll(s, "{order}", f.order)
	s = strings.ReplaceAll(s, "{invoice}", f.invoice)
	return strings.ReplaceAll(s, "{amount}", f.amount)
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
}

var priorities = []string{"low", "normal", "high", "urgent"}

func (g *generator) priority(r row, a account) string {
	p := 1
	switch {
	case lowPriority[r.intent]:
		p = 0
	case highPriority[r.intent]:
		p = 2
	}
	if r.tagged('W') {
		p++
	}
	if a.Tier == "enterprise" {
		p++
	}
	switch x := g.rng.IntN(10); {
	case x == 0 && p > 0:
		p--
	case x == 1:
		p++
	}
	return priorities[min(p, 3)]
}

func (g *generator) channel() string {
	x := g.rng.IntN(100)
	switch {
	case x < 40:
		return "chat"
	case x < 65:
		return "email"
	case x < 85:
		return "web"
	case x < 95:
		return "phone"
	}
	return "api"
}

// replyDelay is how long after the first message the agent answered, by channel.
func (g *generator) replyDelay(ch string) int {
	switch ch {
	case "chat", "api":
		return 1 + g.rng.IntN(9)
	case "phone":
		return 2 + g.rng.IntN(14)
	case "web":
		return 15 + g.rng.IntN(165)
	}
	return 20 + g.rng.IntN(220)
}

var (
	unhappyFollowUps = map[string][]string{
		"":                 {"I already tried that and it did not work. Can someone actually look into my case?", "This is the third time I'm writing about this. I need a person who can fix it, not a list of steps.", "That doesn't answer my question. Please pass this to someone who can see my account."},
		"ORDER":            {"Order {order} doesn't show a Cancel or Edit button anymore, it just says 'processing'. What now?", "I followed the steps but the change to order {order} never saved."},
		"PAYMENT":          {"My card was declined again at checkout even though my bank says everything is fine.", "The payment page just spins and then times out. I've tried two browsers."},
		"REFUND":           {"It has been over two weeks and the refund of {amount} still isn't on my statement.", "The refund page says 'approved' since {date} but I haven't seen any money."},
		"DELIVERY":         {"The tracking page hasn't updated in five days. Where is my parcel?", "The courier marked order {order} as delivered but nothing arrived."},
		"SHIPPING_ADDRESS": {"The address form keeps rejecting my postcode, so I can't save the new address.", "I changed the address but order {order} still shows the old one."},
		"INVOICE":          {"Invoice {invoice} shows the wrong company name and our accountant needs it corrected.", "The download link for invoice {invoice} gives me an error page."},
		"ACCOUNT":          {"I tried exactly that and got an error page. Can someone check my account directly?"},
		"CANCELLATION_FEE": {"Nobody told me about an early termination fee when I signed up. I want it waived.", "The fee you quoted is different from what's on my contract."},
		"FEEDBACK":         {"Nobody answered my earlier complaint either. I expect a proper written reply this time.", "I don't want a form, I want someone responsible to call me back."},
		"CONTACT":          {"I don't want another link, I want to talk to a person today.", "I've been waiting on the phone line for 40 minutes. Can someone just call me?"},
		"NEWSLETTER":       {"I unsubscribed twice and I still get the emails every day.", "I never signed up for this newsletter in the first place."},
		// Intents whose category pool would not fit.
		"recover_password":      {"I never get the reset email, I checked spam too. I'm locked out.", "The reset link says it has expired the moment I click it."},
		"registration_problems": {"It keeps saying my email is already registered, but I can't log in with it.", "The sign-up form rejects my phone number whatever format I use."},
		"create_account":        {"It keeps saying my email is already registered, but I can't log in with it."},
		"switch_account":        {"The plan change button is greyed out for me.", "I switched plans last week but I'm still billed at the old price."},
		"edit_account":          {"The form says 'saved' but my details are back to the old ones after I log in again."},
		"delete_account":        {"I asked for deletion a week ago and I can still log in. I want my data removed."},
		"track_order":           {"The tracking link for order {order} has said 'label created' for a week now.", "The courier marked order {order} as delivered but nothing arrived."},
		"place_order":           {"The checkout keeps emptying my basket at the payment step.", "I get 'item unavailable' at the last step although the product page says in stock."},
		"check_payment_methods": {"Your checkout doesn't offer PayPal even though your FAQ says it should."},
		"check_refund_policy":   {"The item arrived damaged, surely that's covered? Your policy page doesn't say."},
		"delivery_options":      {"I need delivery to a PO box and the address form doesn't allow it."},
		"review":                {"I posted my review three days ago and it still isn't visible."},
	}
	happyFollowUps = []string{"Thanks, that worked.", "Great, found it. Thank you!", "Perfect, that's all I needed.", "Thanks for the quick answer, I'll try that tonight.", "OK, got it, thanks."}
	// These trip the legal and fraud keyword rules of policy.yaml on purpose, so the demo shows
	// rule-driven escalations; such tickets carry no manual escalation.
	legalFollowUps = []string{"This is unacceptable. If I don't hear back by Friday I will hand this to my lawyer.", "I've had enough. I'm talking to consumer protection about this."}
	fraudFollowUps = []string{"I just noticed I was charged twice for order {order}, I only placed it once.", "There's an unauthorized charge of {amount} on my card from you. I didn't buy anything."}
)

func expand(s string, f facts) string {
	return strings.NewReplacer("{order}", f.order, "{invoice}", f.invoice, "{amount}", f.amount, "{date}", f.date).Replace(s)
}

func (g *generator) ticket(r row) ticket {
	a := g.account()
	c := pickFrom(g.rng, g.customers[a.ID])
	f, text := g.facts(r)
	t := ticket{
		row:       r,
		Priority:  g.priority(r, a),
		Channel:   g.channel(),
		IssueType: r.intent,
		Category:  strings.ToLower(r.category),
		Language:  "en",
		Customer:  c,
		Account:   a,
	}
	t.Subject = g.subject(r, f)
	t.Tags = []string{t.Category}
	switch r.intent {
	case "contact_human_agent":
		t.Tags = append(t.Tags, "wants-human")
	case "complaint":
		t.Tags = append(t.Tags, "complaint")
	}
	if r.tagged('W') {
		t.Tags = append(t.Tags, "profanity")
	}
	if a.Tier == "enterprise" {
		t.Tags = append(t.Tags, "enterprise")
	}

	agent := preferredBy[r.category]
	if agent == "" || g.rng.IntN(10) < 3 {
		agent = pickFrom(g.rng, frontline)
	}
	// Spread over the last 14 days; at least 45 minutes old so the first reply exists.
	t.AgeMinutes = 45 + g.rng.IntN(14*24*60-45)
	replyAt := min(g.replyDelay(t.Channel), t.AgeMinutes-5)
	t.Messages = []message{
		{Author: author{Kind: "customer"}, Body: text, OffsetMinutes: 0},
		{Author: author{Kind: "agent", ID: agent}, Body: reply(r, f, c), OffsetMinutes: replyAt},
	}

	esc := g.wantsEscalation(r, a, t.Priority)
	followAt := replyAt + 10 + g.rng.IntN(600)
	switch {
	case followAt >= t.AgeMinutes:
	case esc && g.rng.IntN(100) < 55:
		pool := unhappyFollowUps[r.category]
		if p, ok := unhappyFollowUps[r.intent]; ok {
			pool = p
		}
		if g.rng.IntN(4) == 0 {
			pool = unhappyFollowUps[""]
		}
		t.Messages = append(t.Messages, message{Author: author{Kind: "customer"}, Body: expand(pickFrom(g.rng, pool), f), OffsetMinutes: followAt})
	case !esc && g.rng.IntN(100) < 25:
		t.Messages = append(t.Messages, message{Author: author{Kind: "customer"}, Body: pickFrom(g.rng, happyFollowUps), OffsetMinutes: followAt})
	}
	t.facts = f
	if esc && !(a.Tier == "enterprise" && t.Priority == "urgent") {
		t.Escalate = g.escalation(t, agent)
	}
	return t
}

// markRuleTickets gives a few tickets a follow-up that trips the legal or fraud keyword rules;
// those rules escalate by themselves, so the manual escalation is dropped.
func (g *generator) markRuleTickets(ts []ticket) {
	legal, fraud := 0, 0
	for i := range ts {
		t := &ts[i]
		var body string
		switch {
		case legal < 3 && t.IssueType == "complaint" && t.AgeMinutes > 900:
			legal++
			body = pickFrom(g.rng, legalFollowUps)
		case fraud < 3 && t.IssueType == "payment_issue" && t.AgeMinutes > 900:
			fraud++
			body = expand(pickFrom(g.rng, fraudFollowUps), t.facts)
		default:
			continue
		}
		t.Messages = append(t.Messages[:2], message{Author: author{Kind: "customer"}, Body: body, OffsetMinutes: t.Messages[1].OffsetMinutes + 30 + g.rng.IntN(300)})
		t.Escalate = nil
		if t.Priority == "low" || t.Priority == "normal" {
			t.Priority = "high"
		}
	}
}

func (g *generator) wantsEscalation(r row, a account, priority string) bool {
	p := 0.18
	switch r.intent {
	case "complaint":
		p = 0.7
	case "contact_human_agent":
		p = 0.6
	case "payment_issue":
		p = 0.5
	case "get_refund", "track_refund":
		p = 0.35
	case "check_cancellation_fee", "delete_account", "recover_password":
		p = 0.25
	case "newsletter_subscription", "review", "delivery_options", "check_payment_methods":
		p = 0.05
	}
	if a.Tier == "enterprise" {
		p = max(p, 0.6)
	}
	if r.tagged('W') {
		p += 0.15
	}
	if priority == "urgent" || priority == "high" {
		p += 0.05
	}
	return g.rng.Float64() < p
}

func (g *generator) escalation(t ticket, by string) *escalation {
	r, a, f := t.row, t.Account, t.facts
	e := &escalation{By: by}
	unhappy := len(t.Messages) > 2
	switch {
	case a.Tier == "enterprise" && g.rng.IntN(4) > 0:
		e.To, e.Reason = "enterprise-desk", "customer_tier"
	case billingCats[r.category]:
		e.To = "billing"
	default:
		e.To = "accounts-orders"
	}
	if e.Reason == "" {
		switch {
		case r.intent == "complaint" || r.tagged('W'):
			e.Reason = "dissatisfaction"
		case r.intent == "contact_human_agent":
			e.Reason = pickFrom(g.rng, []string{"dissatisfaction", "other"})
		case unhappy && g.rng.IntN(2) == 0:
			e.Reason = "dissatisfaction"
		case a.Tier == "enterprise":
			e.Reason = "customer_tier"
		case (t.Priority == "high" || t.Priority == "urgent") && g.rng.IntN(2) == 0:
			e.Reason = "priority"
		default:
			e.Reason = "complexity"
		}
	}
	e.Note = g.note(t, e.To, f)

	// What happened after: recent escalations are still waiting; older ones mostly got an answer.
	var then string
	x := g.rng.IntN(100)
	returnShare := 12
	if e.Reason == "other" || lowPriority[r.intent] {
		returnShare = 35
	}
	switch {
	case t.AgeMinutes < 180 || x < 10:
	case x < 10+returnShare:
		then = "return"
	case x < 40+returnShare:
		then = "acknowledge"
	default:
		then = "resolve"
	}
	if then != "" {
		e.Then = &then
	}
	return e
}

var notes = map[string][]string{
	"payment_issue":            {"Card payment for order {order} fails at the last checkout step; customer tried two cards. I can't see gateway errors, please check the processor log.", "Customer reports the payment page times out; no order was created but they fear a pending charge of {amount}. Needs a look at the payment provider."},
	"get_refund":               {"Customer wants a refund of {amount} for order {order}. It is outside the 14-day window, so it needs a billing decision.", "Refund request for {amount} on order {order}; item was returned but the return is not registered in our system."},
	"track_refund":             {"Refund of {amount} for order {order} was approved on {date} but the customer still hasn't received it. Please check with the payment provider.", "Customer has been waiting for a refund on order {order} for over 10 business days; status says processed."},
	"check_refund_policy":      {"Customer asks whether a partially used {amount} order qualifies for a refund; the macro doesn't cover it, please confirm before I answer."},
	"check_payment_methods":    {"Company wants to pay by invoice with 30-day terms; frontline can't approve payment terms."},
	"check_invoice":            {"Customer needs invoice {invoice} reissued with their company VAT number; I can't edit issued invoices.", "Invoice {invoice} total doesn't match order {order}; looks like shipping was charged twice on the invoice only."},
	"get_invoice":              {"Invoice {invoice} can't be downloaded from the portal (error page); customer needs it for month-end closing.", "Customer needs all invoices since {date} as one PDF for an audit; no self-service for that."},
	"check_cancellation_fee":   {"Customer disputes the early termination fee on their {plan} plan and asks for a waiver; needs billing approval.", "Fee shown in the portal differs from the contract the customer has; please confirm the correct cancellation fee."},
	"complaint":                {"Customer wants to file a formal complaint about order {order}; the standard reply did not settle it and they asked for a written response.", "Formal complaint about a late delivery and no answer to earlier emails; customer asks for compensation."},
	"contact_human_agent":      {"Customer asked twice to speak to a person; the bot answers did not help. Please reach them at {email}.", "Customer refuses self-service and wants a callback today; underlying issue looks like a delivery problem on order {order}."},
	"contact_customer_service": {"Customer could not reach the phone line during opening hours; asks for a callback about order {order}."},
	"recover_password":         {"Password reset emails are not arriving for {email}; checked spam and the address on file. Needs an account specialist to verify the mailbox.", "Customer locked out after too many reset attempts; account needs a manual unlock."},
	"registration_problems":    {"Sign-up fails with 'email already in use' for {email} although no account exists; please check for a half-created account.", "Registration form rejects the customer's company address; reproduced it myself in two browsers."},
	"delete_account":           {"Customer wants the account and all personal data deleted (GDPR request); I can't confirm data erasure from frontline.", "Account deletion requested but there is an open order {order}; need to know whether we can delete now."},
	"create_account":           {"Customer wants a {plan} business account with several users; frontline can't set up multi-user accounts."},
	"edit_account":             {"Customer needs the account email changed to a new domain; identity check required before I can do it."},
	"switch_account":           {"Customer wants to downgrade mid-contract and asks about pro-rated credit; needs someone who can change the plan."},
	"cancel_order":             {"Order {order} is already in 'processing' so the Cancel button is gone; customer needs it stopped before it ships.", "Customer cancelled order {order} on {date} but it still shipped; needs a return label and refund."},
	"change_order":             {"Customer wants to swap an item in order {order} that is already packed; warehouse has to intervene.", "Edit of order {order} fails with an error; item quantities not saved."},
	"place_order":              {"Checkout stops at the shipping step for the customer's address; order can't be placed at all."},
	"track_order":              {"Tracking for order {order} has not moved for 5 days; carrier says it left the depot. Needs a trace with the carrier.", "Order {order} marked as delivered but customer never got it; needs a carrier claim."},
	"delivery_period":          {"Order {order} is past the promised delivery date and the carrier gives no ETA; customer needs it for an event on {date}."},
	"delivery_options":         {"Customer asks for delivery to a country not in the dropdown; needs confirmation whether we can ship there."},
	"change_shipping_address":  {"Address change for order {order} after dispatch; customer moved and the parcel would go to the old address.", "Customer changed the address but order {order} still shows the old one on the label."},
	"set_up_shipping_address":  {"Address form rejects the customer's postcode as invalid; can't save a delivery address."},
	"newsletter_subscription":  {"Customer keeps receiving the newsletter after unsubscribing twice; the suppression list may be broken."},
	"review":                   {"Customer wants a published product review removed because it shows their full name."},
}

func (g *generator) note(t ticket, to string, f facts) string {
	a := t.Account
	body := "Customer needs help beyond the standard answer for " + strings.ReplaceAll(t.IssueType, "_", " ") + " on order {order}; please take over."
	if opts := notes[t.IssueType]; len(opts) > 0 {
		body = pickFrom(g.rng, opts)
	}
	if t.IssueType == "complaint" && t.row.tagged('W') {
		body = "Very unhappy customer (strong language), second contact about the same problem. Wants someone senior to call back."
	}
	if len(t.Messages) > 2 {
		// Quote the customer's comeback rather than invent a diagnosis that might contradict it.
		ask := map[string]string{
			"billing":         "Needs someone who can see the payment records.",
			"accounts-orders": "Needs someone who can look at the account and the order directly.",
			"enterprise-desk": "Please take it from here.",
		}[to]
		body = fmt.Sprintf("Standard answer did not help; customer wrote back: “%s” %s", t.Messages[2].Body, ask)
	}
	body = strings.NewReplacer("{plan}", a.Attributes.Plan, "{email}", t.Customer.Email).Replace(expand(body, f))
	if to == "enterprise-desk" {
		return fmt.Sprintf("%s is an enterprise account (ARR $%dk). %s", a.Name, a.Attributes.ARR/1000, body)
	}
	return body
}
