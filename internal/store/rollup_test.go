package store

import (
	"context"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestDeltasMergeLikeMergeCells: accumulating fact saves in one Deltas gives the cells that
// merging each save's own delta list gives, whatever the saves (tickets and escalations,
// created, changed, moved between teams, saved twice, undone).
func TestDeltasMergeLikeMergeCells(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	day := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	ticket := func(id string) *TicketFact {
		if r.IntN(4) == 0 {
			return nil
		}
		f := &TicketFact{TicketID: id, CreatedAt: day.Add(time.Duration(r.IntN(72)) * time.Hour),
			IssueType: pick("billing", "bug"), Channel: pick("email", "chat"), CustomerTier: pick("", "pro"),
			AccountID: pick("", "acme"), IntakeTeam: pick("", "support", "billing"), FirstAgent: pick("", "ana"),
			Solved: r.IntN(2) == 0, Escalations: r.IntN(3), Reopens: r.IntN(2), BreachesBeforeEscalation: r.IntN(2),
			MaxFrustration: float64(r.IntN(100)) / 100}
		return f
	}
	escalation := func(id string) *EscalationFact {
		if r.IntN(4) == 0 {
			return nil
		}
		ack := time.Duration(r.IntN(3600)) * time.Second
		after := time.Duration(r.IntN(7200)) * time.Second
		f := &EscalationFact{EscalationID: id, TicketID: "t" + id, CreatedAt: day.Add(time.Duration(r.IntN(72)) * time.Hour),
			FromTeam: pick("support", "billing"), ToTeam: pick("", "billing", "t2"), FromTier: pick("t1", "t2"), ToTier: pick("t2", "t3"),
			ByAgent: pick("", "ana"), Trigger: pick("rule", "agent"), Reason: "other", RuleID: pick("", "angry"),
			IssueType: pick("billing", "bug"), Channel: "email", TimeToEscalate: time.Duration(r.IntN(5000)) * time.Second,
			State: pick("pending", "resolved"), Returned: r.IntN(2) == 0, ResolvedAtTarget: r.IntN(2) == 0,
			Completeness: float64(r.IntN(10)) / 10, PingPong: r.IntN(3) == 0}
		if r.IntN(2) == 0 {
			f.TimeToAck = &ack
		}
		if r.IntN(2) == 0 {
			f.ResolvedAfter = &after
		}
		return f
	}
	for round := range 200 {
		var d Deltas
		var lists [][]Cell
		for i := range 1 + r.IntN(6) {
			id := string(rune('a' + i%3)) // the same row saved more than once in a round
			if r.IntN(2) == 0 {
				old, new := ticket(id), ticket(id)
				lists = append(lists, TicketDelta(old, new, 4))
				d.Ticket(old, new, 4)
			} else {
				old, new := escalation(id), escalation(id)
				lists = append(lists, EscalationDelta(old, new, 4))
				d.Escalation(old, new, 4)
			}
		}
		want, got := MergeCells(lists...), d.Cells()
		if len(want) == 0 && len(got) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: Deltas gave\n%+v\nMergeCells gives\n%+v", round, got, want)
		}
		if again := d.Cells(); again != nil {
			t.Fatalf("round %d: Cells did not empty the deltas: %+v", round, again)
		}
	}
}

// TestBlockCells: the account dimension's cells hold 32 aligned days each, with each day's
// counts inside; their values decode to what was encoded, days that come to count nothing
// leave the value, and a value cut short or with bytes left over is an error, not counts.
func TestBlockCells(t *testing.T) {
	t.Parallel()
	for day, want := range map[int64]int64{0: 0, 31: 0, 32: 32, 20_513: 20_512, -1: -32, -32: -32, -33: -64} {
		if got := blockOf(day); got != want {
			t.Errorf("blockOf(%d) = %d, want %d", day, got, want)
		}
	}
	at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC) // day 20,515: the 4th day of block 20,512
	ticket := &TicketFact{TicketID: "tkt_1", CreatedAt: at, AccountID: "acme", IssueType: "login", MaxFrustration: 0.8}
	later := &TicketFact{TicketID: "tkt_2", CreatedAt: at.Add(40 * 24 * time.Hour), AccountID: "acme", IssueType: "login"}
	cells := AllCells([]*TicketFact{ticket, later}, nil, 1)
	var blocks []Cell
	for _, c := range cells {
		if c.Dim == GroupAccount {
			blocks = append(blocks, c)
		} else if c.Days != nil {
			t.Errorf("cell %+v of a daily dimension has days", c.CellID)
		}
	}
	if len(blocks) != 2 || blocks[0].Day != 20_512 || blocks[1].Day != 20_544 {
		t.Fatalf("account cells %+v, want blocks 20512 and 20544 of the empty scope", blocks)
	}
	if d := blocks[0].Days[20_515]; len(blocks[0].Days) != 1 || d == nil || d.Tickets != 1 || d.Opened != 1 {
		t.Fatalf("block 20512 holds %+v, want one ticket on day 20515", blocks[0].Days)
	}
	enc := blocks[0].Encode()
	back, err := DecodeCounts(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, blocks[0].Counts) {
		t.Errorf("decoded %+v, encoded %+v", back, blocks[0].Counts)
	}
	// Undoing the ticket empties the block: the day leaves, and the cell counts nothing.
	undo := EscalationDelta(nil, nil, 1)
	undo = append(undo, TicketDelta(ticket, nil, 1)...)
	c := Cell{CellID: blocks[0].CellID}
	if err := c.AddEncoded(enc, PartAll); err != nil {
		t.Fatal(err)
	}
	for _, d := range undo {
		if d.CellID == c.CellID {
			c.Add(&d.Counts, PartAll)
		}
	}
	if !c.Zero() || len(c.Days) != 0 {
		t.Errorf("after undoing its only ticket the block holds %+v", c.Days)
	}
	for _, bad := range [][]byte{enc[:len(enc)-1], append(append([]byte{}, enc...), 0), enc[:3]} {
		if _, err := DecodeCounts(bad); err == nil {
			t.Errorf("DecodeCounts(%x) took a malformed block value", bad)
		}
	}
	// A daily cell's value never starts with the block mark.
	for _, n := range []int64{0, 1, 63, 64, -65, 1 << 40} {
		if v := (&Counts{Tickets: n}).Encode(); v[0] == blockMark[0] && v[1] == blockMark[1] {
			t.Errorf("a daily value of %d tickets starts with the block mark: %x", n, v)
		}
	}
}

// TestBlockCellEdges: tickets without an account keep daily cells (a block of them would hold
// a month of every such ticket); a block cell that also has counts of its own (a day's cell
// kept before block cells, on the block's first day) writes them as that day's; and a block
// value naming a day outside the block of its row, or days out of order, is refused.
func TestBlockCellEdges(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC) // day 20,515 of block 20,512
	for _, c := range AllCells([]*TicketFact{{TicketID: "tkt_1", CreatedAt: at, IssueType: "login"}}, nil, 1) {
		if c.Dim == GroupAccount && (c.Key != "" || c.Day != 20_515 || c.Days != nil) {
			t.Errorf("the cell of a ticket without an account is %+v, want the daily cell of day 20515", c.CellID)
		}
	}

	old := Cell{CellID: CellID{Dim: GroupAccount, Key: "acme", Day: 20_512}, Counts: Counts{Tickets: 5, Opened: 5}}
	delta := TicketDelta(nil, &TicketFact{TicketID: "tkt_2", CreatedAt: at, AccountID: "acme"}, 1)
	for _, d := range delta {
		if d.CellID == old.CellID {
			old.Add(&d.Counts, PartAll)
		}
	}
	back, err := DecodeCounts(old.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Days) != 2 || back.Days[20_512] == nil || back.Days[20_512].Tickets != 5 || back.Days[20_515].Tickets != 1 || back.Tickets != 0 {
		t.Errorf("a first day's daily cell with a change of day 20515 encodes as %+v, days %+v", back, back.Days)
	}

	src := &cellsOnly{}
	for _, bad := range []map[int64]*Counts{
		{20_544: {Tickets: 1}},                       // the next block's day
		{20_511: {Tickets: 1}, 20_512: {Tickets: 1}}, // the day before the block
	} {
		src.value = (&Counts{Days: bad}).Encode()
		q := ReportQuery{GroupBy: GroupAccount, Since: dayStart(20_512), Until: dayStart(20_544)}
		if _, err := BuildReport(context.Background(), src, q); err == nil {
			t.Errorf("a block row of day 20512 holding days %v was read", slices.Sorted(maps.Keys(bad)))
		}
	}
	// Days out of order: the second day's difference is not above zero.
	v := append(append([]byte{}, blockMark...), 2, 0x80, 0x80, 0x05 /* day 40960 */)
	v = append(v, 1, 0) // its counts: an empty mask
	v = append(v, 0 /* dd 0 */, 1, 0)
	if _, err := DecodeCounts(v); err == nil {
		t.Error("a block value with a day twice was read")
	}
}

// cellsOnly is a RollupSource of one account row of block 20,512 holding value, and no facts.
type cellsOnly struct{ value []byte }

func (s *cellsOnly) RollupCells(_ context.Context, scope, dim string, from, to int64, fn func(string, int64, []byte) error) error {
	if scope == "" && dim == GroupAccount && from <= 20_512 && 20_512 < to {
		return fn("acme", 20_512, s.value)
	}
	return nil
}

func (s *cellsOnly) FactsCreated(context.Context, time.Time, time.Time) ([]*TicketFact, []*EscalationFact, error) {
	return nil, nil, nil
}
