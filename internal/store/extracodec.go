package store

import (
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/jsonenc"
)

// A direct codec for the tickets.extra column's common shape.
//
// Every change of a ticket encodes the column and the next read of the ticket decodes it, and
// through the JSON library's reflection that took about a tenth of a message's CPU on the
// ingest path (12 and 18 µs for the 1 KB column of a ticket with three SLA clocks, on a slow
// hour of the 2-core machine). The column's usual content is three small structs of numbers,
// times and plain ASCII words (signals, SLA clocks, analytics), so it is written and read here
// by hand, field by field, in the one order encoding/json writes them.
//
// Neither half ever decides a case the library would decide differently: each handles only
// what it can reproduce exactly and otherwise reports !ok, and the caller then goes through
// the library as before. The encoder declines a ticket with a recommendation or a bot handoff
// (free text), a string that is not UTF-8, a number encoding/json writes with an exponent, and
// a time RFC 3339 cannot hold. The decoder reads the keys in the
// encoder's order and the values it writes, and a few more the library reads the same way
// (numbers with exponents, an explicit false or empty value of an optional key, an empty object
// or list, null for a list); it declines whitespace, escapes and non-ASCII text, another key
// order, an unknown or repeated key, and every damaged column, so the library reports those as
// before.
// TestTicketExtraAsEncodingJSON holds both halves to encoding/json on random tickets, and
// FuzzTicketExtraDecode holds the decoder to the library on arbitrary bytes.

// appendExtra appends the column of t to b, or reports !ok when the library must write it.
func appendExtra(b []byte, t *escalated.Ticket) (_ []byte, ok bool) {
	if t.Recommendation != nil || t.Bot != nil {
		return b, false
	}
	e := directWriter{b: b, ok: true}
	s := &t.Signals
	e.raw(`{"signals":{"sentiment":`)
	e.float(s.Sentiment)
	e.raw(`,"trend":`)
	appendList(&e, s.Trend, e.float)
	e.raw(`,"keywords":`)
	appendList(&e, s.Keywords, e.str)
	e.raw(`,"wants_human":`)
	e.bool(s.WantsHuman)
	e.raw(`,"frustration":`)
	e.float(s.Frustration)
	e.raw("}")
	if sla := &t.SLA; sla.Plan != "" || len(sla.Clocks) > 0 || sla.Replied || sla.Tier != "" {
		e.raw(`,"sla":{`)
		o := e.object()
		if sla.Plan != "" {
			o.key("plan")
			e.str(sla.Plan)
		}
		if len(sla.Clocks) > 0 {
			o.key("clocks")
			appendList(&e, sla.Clocks, func(c escalated.Clock) { e.clock(&c) })
		}
		if sla.Replied {
			o.key("replied")
			e.raw("true")
		}
		if sla.Tier != "" {
			o.key("tier")
			e.str(sla.Tier)
		}
		e.raw("}")
	}
	if a := &t.Analytics; *a != (escalated.TicketAnalytics{}) {
		e.raw(`,"analytics":{`)
		o := e.object()
		if a.IntakeTeam != "" {
			o.key("intake_team")
			e.str(a.IntakeTeam)
		}
		if a.IntakeTier != "" {
			o.key("intake_tier")
			e.str(a.IntakeTier)
		}
		if a.FirstAgent != "" {
			o.key("first_agent")
			e.str(a.FirstAgent)
		}
		if a.SolvedAt != nil {
			o.key("solved_at")
			e.time(*a.SolvedAt)
		}
		if a.FirstEscalatedAt != nil {
			o.key("first_escalated_at")
			e.time(*a.FirstEscalatedAt)
		}
		if a.BreachesBeforeEscalation != 0 {
			o.key("breaches_before_escalation")
			e.int(int64(a.BreachesBeforeEscalation))
		}
		if a.SolvedInTier1 {
			o.key("solved_in_tier1")
			e.raw("true")
		}
		if a.ReopenedAfterT1 {
			o.key("reopened_after_t1")
			e.raw("true")
		}
		if a.ReopenedAfterT1Solve {
			o.key("reopened_after_t1_solve")
			e.raw("true")
		}
		if a.MaxFrustration != 0 {
			o.key("max_frustration")
			e.float(a.MaxFrustration)
		}
		if a.PingPongs != 0 {
			o.key("ping_pongs")
			e.int(int64(a.PingPongs))
		}
		e.raw("}")
	}
	e.raw("}")
	return e.b, e.ok
}

func (e *directWriter) clock(c *escalated.Clock) {
	e.raw(`{"target":`)
	e.str(c.Target)
	e.raw(`,"plan":`)
	e.str(c.Plan)
	if c.Escalation != "" {
		e.raw(`,"escalation":`)
		e.str(c.Escalation)
	}
	e.raw(`,"budget":`)
	e.int(int64(c.Budget))
	e.raw(`,"warn_at":`)
	e.float(c.WarnAt)
	e.raw(`,"elapsed":`)
	e.int(int64(c.Elapsed))
	if !c.Since.IsZero() {
		e.raw(`,"since":`)
		e.time(c.Since)
	}
	e.raw(`,"state":`)
	e.str(c.State)
	if !c.DueAt.IsZero() {
		e.raw(`,"due_at":`)
		e.time(c.DueAt)
	}
	if !c.WarnDue.IsZero() {
		e.raw(`,"warn_due":`)
		e.time(c.WarnDue)
	}
	if c.WarnFired {
		e.raw(`,"warn_fired":true`)
	}
	if !c.StoppedAt.IsZero() {
		e.raw(`,"stopped_at":`)
		e.time(c.StoppedAt)
	}
	e.raw("}")
}

// appendList writes xs as a JSON list (nil as null), each element with each.
func appendList[T any](e *directWriter, xs []T, each func(T)) {
	if xs == nil {
		e.raw("null")
		return
	}
	e.raw("[")
	for i, x := range xs {
		if i > 0 {
			e.raw(",")
		}
		each(x)
	}
	e.raw("]")
}

// directWriter appends JSON to b, for the extra column and the object columns (maptext.go); ok
// turns false at the first value it cannot write exactly as encoding/json does.
type directWriter struct {
	b  []byte
	ok bool
}

func (e *directWriter) raw(s string) { e.b = append(e.b, s...) }

func (e *directWriter) bool(v bool) { e.b = strconv.AppendBool(e.b, v) }

func (e *directWriter) int(v int64) { e.b = strconv.AppendInt(e.b, v, 10) }

// float writes f as encoding/json does where that needs no exponent (jsonenc.AppendFloat).
func (e *directWriter) float(f float64) {
	var ok bool
	if e.b, ok = jsonenc.AppendFloat(e.b, f); !ok {
		e.ok = false
	}
}

// str writes s quoted as encoding/json does (jsonenc.AppendString) unless it is not UTF-8: the
// column's library writes a bad byte's U+FFFD as the character where encoding/json writes the
// \ufffd escape (extraJSON), so that case is left to it.
func (e *directWriter) str(s string) {
	if !utf8.ValidString(s) {
		e.ok = false
		return
	}
	e.b = jsonenc.AppendString(e.b, s)
}

// time writes t as time.Time's MarshalJSON does (RFC 3339 with the nanoseconds it has), which
// refuses years outside 0-9999 and zone offsets of 24 hours or more; zones whose offset is not
// whole minutes are left to it too.
func (e *directWriter) time(t time.Time) {
	if y := t.Year(); y < 0 || y > 9999 {
		e.ok = false
		return
	}
	if _, off := t.Zone(); off%60 != 0 || off >= 24*3600 || off <= -24*3600 {
		e.ok = false // MarshalJSON refuses an offset of 24 hours or more
		return
	}
	e.b = append(e.b, '"')
	e.b = t.AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b, '"')
}

// object writes the commas between the keys of an object whose keys are each optional.
func (e *directWriter) object() objectKeys { return objectKeys{e: e} }

type objectKeys struct {
	e    *directWriter
	some bool
}

func (o *objectKeys) key(k string) {
	if o.some {
		o.e.b = append(o.e.b, ',')
	}
	o.some = true
	o.e.b = append(o.e.b, '"')
	o.e.b = append(o.e.b, k...)
	o.e.b = append(o.e.b, '"', ':')
}

// decodeExtra decodes col into x when col is exactly what appendExtra writes for some ticket,
// and reports !ok otherwise (x is then to be decoded by the library, from scratch).
func decodeExtra(col []byte, x *ticketExtra) (ok bool) {
	d := extraDecoder{b: col}
	if !d.lit(`{"signals":{"sentiment":`) {
		return false
	}
	s := &x.Signals
	s.Sentiment = d.float()
	if !d.lit(`,"trend":`) {
		return false
	}
	s.Trend = readList(&d, 5, d.float) // a trend keeps the last five (signals.TrendLen)
	if !d.lit(`,"keywords":`) {
		return false
	}
	s.Keywords = readList(&d, 1, d.str)
	if !d.lit(`,"wants_human":`) {
		return false
	}
	s.WantsHuman = d.bool()
	if !d.lit(`,"frustration":`) {
		return false
	}
	s.Frustration = d.float()
	if !d.lit("}") {
		return false
	}
	if d.lit(`,"sla":{`) {
		sla := &escalated.SLA{}
		o := d.object()
		if o.key("plan") {
			sla.Plan = d.str()
		}
		if o.key("clocks") {
			sla.Clocks = readList(&d, 4, func() (c escalated.Clock) { // one per target, of four
				if !d.clock(&c) {
					d.bad = true
				}
				return c
			})
		}
		if o.key("replied") {
			sla.Replied = d.bool()
		}
		if o.key("tier") {
			sla.Tier = d.str()
		}
		if !d.lit("}") {
			return false
		}
		x.SLA = sla
	}
	if d.lit(`,"analytics":{`) {
		a := &escalated.TicketAnalytics{}
		o := d.object()
		if o.key("intake_team") {
			a.IntakeTeam = d.str()
		}
		if o.key("intake_tier") {
			a.IntakeTier = d.str()
		}
		if o.key("first_agent") {
			a.FirstAgent = d.str()
		}
		if o.key("solved_at") {
			t := d.time()
			a.SolvedAt = &t
		}
		if o.key("first_escalated_at") {
			t := d.time()
			a.FirstEscalatedAt = &t
		}
		if o.key("breaches_before_escalation") {
			a.BreachesBeforeEscalation = d.intField()
		}
		if o.key("solved_in_tier1") {
			a.SolvedInTier1 = d.bool()
		}
		if o.key("reopened_after_t1") {
			a.ReopenedAfterT1 = d.bool()
		}
		if o.key("reopened_after_t1_solve") {
			a.ReopenedAfterT1Solve = d.bool()
		}
		if o.key("max_frustration") {
			a.MaxFrustration = d.float()
		}
		if o.key("ping_pongs") {
			a.PingPongs = d.intField()
		}
		if !d.lit("}") {
			return false
		}
		x.Analytics = a
	}
	return d.lit("}") && d.i == len(d.b) && !d.bad
}

func (d *extraDecoder) clock(c *escalated.Clock) bool {
	if !d.lit(`{"target":`) {
		return false
	}
	c.Target = d.str()
	if !d.lit(`,"plan":`) {
		return false
	}
	c.Plan = d.str()
	if d.lit(`,"escalation":`) {
		c.Escalation = d.str()
	}
	if !d.lit(`,"budget":`) {
		return false
	}
	c.Budget = time.Duration(d.int())
	if !d.lit(`,"warn_at":`) {
		return false
	}
	c.WarnAt = d.float()
	if !d.lit(`,"elapsed":`) {
		return false
	}
	c.Elapsed = time.Duration(d.int())
	if d.lit(`,"since":`) {
		c.Since = d.time()
	}
	if !d.lit(`,"state":`) {
		return false
	}
	c.State = d.str()
	if d.lit(`,"due_at":`) {
		c.DueAt = d.time()
	}
	if d.lit(`,"warn_due":`) {
		c.WarnDue = d.time()
	}
	if d.lit(`,"warn_fired":`) {
		c.WarnFired = d.bool()
	}
	if d.lit(`,"stopped_at":`) {
		c.StoppedAt = d.time()
	}
	return d.lit("}") && !d.bad
}

// readList reads a JSON list (null as nil, as the library reads it), each element with elem,
// into a slice made with room for n; a malformed list turns d.bad true.
func readList[T any](d *extraDecoder, n int, elem func() T) []T {
	if d.lit("null") {
		return nil
	}
	if !d.lit("[") {
		d.bad = true
		return nil
	}
	xs := make([]T, 0, n)
	for !d.bad && !d.lit("]") {
		if len(xs) > 0 && !d.lit(",") {
			d.bad = true
			break
		}
		xs = append(xs, elem())
	}
	return xs
}

// extraDecoder reads b from i; bad turns true at the first value that is not as appendExtra
// writes it.
type extraDecoder struct {
	b   []byte
	i   int
	bad bool
}

// lit consumes s if b continues with it.
func (d *extraDecoder) lit(s string) bool {
	if len(d.b)-d.i < len(s) || string(d.b[d.i:d.i+len(s)]) != s {
		return false
	}
	d.i += len(s)
	return true
}

func (d *extraDecoder) bool() bool {
	switch {
	case d.lit("true"):
		return true
	case d.lit("false"):
		return false
	}
	d.bad = true
	return false
}

// str reads a quoted string of the bytes str writes (no escape, nothing but printable ASCII).
func (d *extraDecoder) str() string { return d.strAs(func(b []byte) string { return string(b) }) }

// strAs is str, its bytes made a string by conv.
func (d *extraDecoder) strAs(conv func([]byte) string) string {
	if !d.lit(`"`) {
		d.bad = true
		return ""
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		if c == '"' {
			s := conv(d.b[start:d.i])
			d.i++
			return s
		}
		if c < 0x20 || c >= 0x7f || c == '\\' {
			break
		}
		d.i++
	}
	d.bad = true
	return ""
}

// number returns the bytes of a JSON number at i: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?,
// and whether it had a fraction or an exponent.
func (d *extraDecoder) number() (text string, integral bool) {
	start, b := d.i, d.b
	i := d.i
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch n := digits(); {
	case n == 0, n > 1 && b[i-n] == '0':
		d.bad = true
		return "", false
	}
	integral = true
	if i < len(b) && b[i] == '.' {
		i++
		integral = false
		if digits() == 0 {
			d.bad = true
			return "", false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		integral = false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			d.bad = true
			return "", false
		}
	}
	d.i = i
	return transient(b[start:i]), integral
}

// transient is b as a string without copying it, for a parse that keeps nothing of its input
// (strconv's errors copy it; the decoder never changes col): the copies were most of the
// decoder's allocations.
func transient(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (d *extraDecoder) float() float64 {
	text, _ := d.number()
	if d.bad {
		return 0
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		d.bad = true // out of range: the library's error
		return 0
	}
	return f
}

// int reads an integer written without fraction or exponent that fits in 64 bits (the library
// refuses the others into an integer field).
func (d *extraDecoder) int() int64 {
	text, integral := d.number()
	if d.bad || !integral {
		d.bad = true
		return 0
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		d.bad = true
		return 0
	}
	return n
}

// intField is int for a field of Go's int, which the library refuses to overflow.
func (d *extraDecoder) intField() int {
	n := d.int()
	if int64(int(n)) != n {
		d.bad = true
		return 0
	}
	return int(n)
}

// time reads an RFC 3339 time as time.Time's UnmarshalJSON does, for the one layout the
// encoder writes: date, time, optional fraction, "Z" or a whole-minute offset.
func (d *extraDecoder) time() time.Time {
	s := d.strAs(transient)
	if d.bad {
		return time.Time{}
	}
	if !rfc3339Shape(s) {
		d.bad = true
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.bad = true
		return time.Time{}
	}
	return t
}

// rfc3339Shape checks s is YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM) with digits where digits
// go, the strict form time.Time's UnmarshalJSON accepts (time.Parse also takes a comma before
// the fraction and other liberties, which are left to the library).
func rfc3339Shape(s string) bool {
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(layout)+1 {
		return false
	}
	for i := 0; i < len(layout); i++ {
		if c := s[i]; layout[i] == 'd' && (c < '0' || c > '9') || layout[i] != 'd' && c != layout[i] {
			return false
		}
	}
	rest := s[len(layout):]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return false
		}
		rest = rest[n:]
	}
	if rest == "Z" {
		return true
	}
	return len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && isDigit(rest[1]) && isDigit(rest[2]) &&
		rest[3] == ':' && isDigit(rest[4]) && isDigit(rest[5])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// object reads the keys of an object whose keys are each optional, in order.
func (d *extraDecoder) object() decodedKeys { return decodedKeys{d: d} }

type decodedKeys struct {
	d    *extraDecoder
	some bool
}

// key consumes `"k":` (after a comma unless it is the first key read) if that comes next.
func (o *decodedKeys) key(k string) bool {
	d, i := o.d, o.d.i
	if o.some && !d.lit(",") {
		return false
	}
	if !d.lit(`"`) || !d.lit(k) || !d.lit(`":`) {
		d.i = i
		return false
	}
	o.some = true
	return true
}
