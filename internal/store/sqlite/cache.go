package sqlite

import (
	"database/sql"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/escalated/escalated/internal/store"
)

// DefaultTicketCache is how many tickets the writer keeps cached at most (about 2 KB each).
const DefaultTicketCache = 4096

// ticketCache keeps the rows of the tickets the writer read or wrote recently, so that a write
// to a hot ticket (a new message, most often) does not read it from the database first: the
// read with its customer and account and the decoding of the row was a third of the writer's
// time per message.
//
// A cached row is always what a read inside the writer's transaction would return, because
// every way the rows behind it can change is seen:
//
//   - SQLite calls preUpdate for every row the writer connection inserts, updates or deletes,
//     whichever statement does it: a ticket's (an escalation's, an analytics row's) change
//     drops the ticket (the escalation, the analytics row: factcache.go), a customer's or an account's change makes every row joined to it
//     stale (gen);
//   - another connection or process committing to the file changes PRAGMA data_version, which
//     the writer reads at the start of every batch (checkDataVersion) and then drops everything;
//   - what a fn read and wrote is staged and enters the cache only once the fn succeeded
//     (release); a fn that fails leaves nothing behind (rollback), and a batch that fails to
//     commit, breaks or is undone empties the cache (reset).
//
// One case is not a drop but a rebuild: UpdateTicket makes the cached row from the copy the fn
// read plus what it wrote, which is only right when its own UPDATE was the one change to a
// ticket row since that read (ticketWrites counts them); otherwise the row is dropped.
// UpdateTicket's version check stays in place regardless; it catches every change made through
// the store, which always moves the version.
//
// The writer goroutine is the only user in practice; the mutex keeps the cache safe when a
// rare writer-connection job (migrations, bulk loads) runs in another goroutine.
type ticketCache struct {
	mu   sync.Mutex
	max  int
	rows map[string]*ticketRow
	// ticketWrites counts the ticket rows the writer connection changed, whatever the
	// statement: a fn's own UpdateTicket may rebuild the cached row from the copy it read only
	// if its UPDATE was the one change since that read (tickets.go wroteRow).
	ticketWrites uint64
	// gen counts customer and account changes; customers and accounts hold, per id, the gen
	// of its last change. A row read at gen g is stale once its customer or account changed
	// after g.
	gen                 uint64
	customers, accounts map[string]uint64
	// floor is the gen of the last reset: a row read before it is stale, whatever it joined.
	floor uint64
	// staged are the rows the running fn read or wrote, nil for a ticket to drop.
	staged map[string]*ticketRow
	// escs and stagedEscs are the same for escalations' rows (escRow), which join nothing: a
	// message on a ticket with an active escalation reads it for the policy's conditions, and
	// decoding its package was a sixth of the writer's time per message.
	escs, stagedEscs map[string]*escRow
	// dataVersion is PRAGMA data_version as of the last batch; known says it was read.
	dataVersion int64
	known       bool
	// aheadRows and aheadEscs are the rows released since the last commit, to be decoded ahead
	// of their next read once the batch has committed (decodeAhead).
	aheadRows []*ticketRow
	aheadEscs []*escRow
	// ticketFacts and escFacts are the analytics rows (factcache.go), by ticket and by
	// escalation id.
	ticketFacts factRows[store.TicketFact]
	escFacts    factRows[store.EscalationFact]

	hits, misses atomic.Int64
}

// writes returns how many ticket rows the writer has changed so far (0 without a cache).
func (c *ticketCache) writes() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ticketWrites
}

func newTicketCache(max int) *ticketCache {
	return &ticketCache{max: max, rows: map[string]*ticketRow{}, customers: map[string]uint64{},
		accounts: map[string]uint64{}, staged: map[string]*ticketRow{},
		escs: map[string]*escRow{}, stagedEscs: map[string]*escRow{},
		ticketFacts: newFactRows[store.TicketFact](), escFacts: newFactRows[store.EscalationFact]()}
}

// get returns the cached row of ticket id, or nil. The caller decodes it (ticketRow.ticket),
// which builds a new Ticket each time.
func (c *ticketCache) get(id string) *ticketRow {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.validLocked(id)
	if r == nil {
		c.misses.Add(1)
		return nil
	}
	c.hits.Add(1)
	return r
}

// validLocked returns the row of ticket id a read would get now (the running fn's staging
// first), or nil when none is cached or its customer or account changed since it was read.
func (c *ticketCache) validLocked(id string) *ticketRow {
	r, staged := c.staged[id]
	if !staged {
		r = c.rows[id]
	}
	if r != nil && (r.gen < c.floor || c.customers[r.customerID] > r.gen || c.accounts[r.accountID] > r.gen) {
		return nil
	}
	return r
}

// getEsc returns the cached row of escalation id, or nil.
func (c *ticketCache) getEsc(id string) *escRow {
	if c == nil {
		return nil
	}
	r := c.peekEsc(id)
	if r == nil {
		c.misses.Add(1)
		return nil
	}
	c.hits.Add(1)
	return r
}

// peekEsc is getEsc without counting a hit or a miss.
func (c *ticketCache) peekEsc(id string) *escRow {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.escLocked(id)
}

// escLocked is peekEsc for a caller holding c.mu: the running fn's staging first.
func (c *ticketCache) escLocked(id string) *escRow {
	r, staged := c.stagedEscs[id]
	if !staged {
		r = c.escs[id]
	}
	return r
}

// stageEsc records what the running fn read or wrote of escalation id (nil: read it again).
func (c *ticketCache) stageEsc(id string, r *escRow) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.stagedEscs[id] = r
	c.mu.Unlock()
}

// readGen is the generation a row read now is current as of.
func (c *ticketCache) readGen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// stage records what the running fn read or wrote of ticket id (nil: it must be read again).
func (c *ticketCache) stage(id string, r *ticketRow) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.staged[id] = r
	c.mu.Unlock()
}

// release moves what the fn that just succeeded staged into the cache.
func (c *ticketCache) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, r := range c.staged {
		if r == nil {
			delete(c.rows, id)
			continue
		}
		if _, ok := c.rows[id]; !ok && len(c.rows) >= c.max {
			for victim := range c.rows { // map order is random enough for an eviction
				delete(c.rows, victim)
				break
			}
		}
		c.rows[id] = r
		if r.ready != nil {
			c.aheadRows = append(c.aheadRows, r)
		}
	}
	clear(c.staged)
	for id, r := range c.stagedEscs {
		if r == nil {
			delete(c.escs, id)
			continue
		}
		if _, ok := c.escs[id]; !ok && len(c.escs) >= max(c.max/4, 1) { // packages run to kilobytes
			for victim := range c.escs {
				delete(c.escs, victim)
				break
			}
		}
		c.escs[id] = r
		if r.needsDecoding() {
			c.aheadEscs = append(c.aheadEscs, r)
		}
	}
	clear(c.stagedEscs)
	c.ticketFacts.release(c.max)
	c.escFacts.release(c.max)
}

// decodeAhead decodes, in one goroutine off the writer, the rows the batch that just committed
// left in the cache, for their next reads: a message's caller often writes to the same ticket
// again right after its answer. Once per commit rather than once per write, so the writer
// neither starts a goroutine per row nor wakes one for each, and a row that a later write of the
// same batch replaced is not decoded at all.
func (c *ticketCache) decodeAhead() {
	if c == nil {
		return
	}
	c.mu.Lock()
	var rows []*ticketRow
	for _, r := range c.aheadRows {
		if c.rows[r.id] == r {
			rows = append(rows, r)
		}
	}
	var escs []*escRow
	for _, r := range c.aheadEscs {
		if c.escs[r.e.ID] == r {
			escs = append(escs, r)
		}
	}
	c.aheadRows, c.aheadEscs = c.aheadRows[:0], c.aheadEscs[:0]
	c.mu.Unlock()
	if len(rows) == 0 && len(escs) == 0 {
		return
	}
	go func() {
		for _, r := range rows {
			r.prepare()
		}
		for _, r := range escs {
			r.prepareNow()
		}
	}()
}

// rollback forgets what the fn that just failed staged.
func (c *ticketCache) rollback() {
	c.mu.Lock()
	clear(c.staged)
	clear(c.stagedEscs)
	clear(c.ticketFacts.staged)
	clear(c.escFacts.staged)
	c.mu.Unlock()
}

// resetIfOn empties the cache when there is one.
func (c *ticketCache) resetIfOn() {
	if c != nil {
		c.reset()
	}
}

// reset empties the cache.
func (c *ticketCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetLocked()
}

func (c *ticketCache) resetLocked() {
	c.aheadRows, c.aheadEscs = c.aheadRows[:0], c.aheadEscs[:0]
	c.gen++
	c.floor = c.gen
	clear(c.rows)
	clear(c.staged)
	clear(c.escs)
	clear(c.stagedEscs)
	c.ticketFacts.reset()
	c.escFacts.reset()
	clear(c.customers)
	clear(c.accounts)
	c.known = false
}

// checkDataVersion empties the cache when another connection committed to the file since the
// last batch: v is PRAGMA data_version read inside the new batch's transaction, which holds the
// write lock, so nothing else commits until it ends.
func (c *ticketCache) checkDataVersion(v int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known || v != c.dataVersion {
		c.resetLocked()
	}
	c.dataVersion, c.known = v, true
}

// preUpdate is the writer connection's pre-update hook: SQLite calls it before each row
// change, on the goroutine running the statement.
func (c *ticketCache) preUpdate(d sqlite.SQLitePreUpdateData) {
	var dropTicket, dropEsc, dropTicketFact, dropEscFact, customer bool
	switch d.TableName {
	case "tickets":
		dropTicket = true
	case "escalations":
		dropEsc = true
	case "ticket_facts": // keyed by ticket_id, its first column as id is the others'
		dropTicketFact = true
	case "escalation_facts":
		dropEscFact = true
	case "customers":
		customer = true
	case "accounts":
	default:
		return
	}
	ids := make([]string, 0, 2)
	id := make([]any, 1)
	if d.Op != sqlite3.SQLITE_INSERT {
		if err := d.Old(id...); err == nil {
			if s, ok := id[0].(string); ok {
				ids = append(ids, s)
			}
		}
	}
	if d.Op != sqlite3.SQLITE_DELETE {
		if err := d.New(id...); err == nil {
			if s, ok := id[0].(string); ok {
				ids = append(ids, s)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(ids) == 0 {
		c.resetLocked() // the changed row's id could not be read: forget everything
		return
	}
	if dropTicket {
		c.ticketWrites++
		for _, id := range ids {
			delete(c.rows, id)
			c.staged[id] = nil
		}
		return
	}
	if dropEsc {
		for _, id := range ids {
			delete(c.escs, id)
			c.stagedEscs[id] = nil
		}
		return
	}
	if dropTicketFact {
		for _, id := range ids {
			c.ticketFacts.drop(id)
		}
		return
	}
	if dropEscFact {
		for _, id := range ids {
			c.escFacts.drop(id)
		}
		return
	}
	c.gen++
	people := c.accounts
	if customer {
		people = c.customers
	}
	// Changed customers and accounts are remembered for as long as a row might be older; past
	// a bound, starting afresh is cheaper than remembering more.
	if len(people) >= 4*c.max {
		c.resetLocked()
	}
	for _, id := range ids {
		people[id] = c.gen
	}
}

// stats returns the cache's hit and miss counts.
func (c *ticketCache) stats() (hits, misses int64) {
	if c == nil {
		return 0, 0
	}
	return c.hits.Load(), c.misses.Load()
}

// sqlDataVersion is read at the start of every batch (checkDataVersion).
const sqlDataVersion = `PRAGMA data_version`

// checkCache reads PRAGMA data_version inside the batch's transaction. When it cannot, the
// cache starts empty (and the next batch empties it again): reads then go to the database,
// which the batch's transaction sees as it is.
func (db *DB) checkCache(sqlTx *sql.Tx) {
	if db.cache == nil {
		return
	}
	var v int64
	if err := sqlTx.QueryRow(sqlDataVersion).Scan(&v); err != nil {
		db.log.Error("read data_version; the ticket cache starts empty", "err", err)
		db.cache.reset()
		return
	}
	db.cache.checkDataVersion(v)
}
