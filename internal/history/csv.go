package history

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/escalated/escalated"
)

// CSV columns of a help desk's ticket export (docs/simulate.md). A row is one ticket; its
// times become the events of the history.
const (
	colID               = "id"
	colCreatedAt        = "created_at"
	colSubject          = "subject"
	colBody             = "body"
	colChannel          = "channel"
	colPriority         = "priority"
	colIssueType        = "issue_type"
	colLanguage         = "language"
	colTags             = "tags"
	colTeam             = "team"
	colCustomerID       = "customer_id"
	colCustomerName     = "customer_name"
	colCustomerEmail    = "customer_email"
	colAccountID        = "account_id"
	colAccountName      = "account_name"
	colAccountTier      = "account_tier"
	colAssignee         = "assignee"
	colFirstResponseAt  = "first_response_at"
	colSolvedAt         = "solved_at"
	colClosedAt         = "closed_at"
	colEscalatedAt      = "escalated_at"
	colEscalatedTo      = "escalated_to"
	colEscalationReason = "escalation_reason"
	colEscalatedBy      = "escalated_by"
	colEscalationNote   = "escalation_note"
	colAcknowledgedAt   = "acknowledged_at"

	// customFieldPrefix marks a column as a custom field of the ticket, named without it.
	customFieldPrefix = "cf_"
)

// csvRequired are the columns every export must have, each cell filled.
var csvRequired = []string{colID, colCreatedAt, colSubject, colBody}

// csvColumns are all the columns FromCSV knows, required ones first; besides them, a column
// named cf_<name> is the custom field <name>.
var csvColumns = append(slices.Clone(csvRequired),
	colChannel, colPriority, colIssueType, colLanguage, colTags, colTeam,
	colCustomerID, colCustomerName, colCustomerEmail, colAccountID, colAccountName, colAccountTier,
	colAssignee, colFirstResponseAt, colSolvedAt, colClosedAt,
	colEscalatedAt, colEscalatedTo, colEscalationReason, colEscalatedBy, colEscalationNote, colAcknowledgedAt)

// Texts FromCSV writes where the export has none. The note is long enough for policies that set
// escalation.note_min_length, so that replaying an imported escalation is not refused for it.
const (
	importedFirstReply = "(first reply, imported)"
	importedNote       = "Imported from the help desk's CSV export; the original note was not recorded."
)

// csvTimeLayouts are the time formats a cell may use after RFC 3339; they have no zone, and
// are taken as UTC because that is what help desks export when they leave the zone out.
var csvTimeLayouts = []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

const csvTimesAllowed = "RFC 3339 like 2026-10-01T09:30:00Z, or 2026-10-01 09:30:00, 2026-10-01 09:30 or 2026-10-01 taken as UTC"

// FromCSV reads a help desk's ticket export, one ticket a row under a header row, and returns
// the history it records, sorted by time (Sort) so that a Writer writes what Read accepts.
// Errors name the CSV line, the column and the value, and say what is allowed.
func FromCSV(r io.Reader) ([]Event, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 0 // every row as wide as the header
	cr.LazyQuotes = false  // a stray quote is an error, not text that swallows the next cells
	h, err := readHeader(cr)
	if err != nil {
		return nil, err
	}
	var (
		out  []Event
		seen = map[string]int{} // ticket id -> its CSV line
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvParseError(err, len(h.names))
		}
		row := csvRow{h: h, rec: rec, cr: cr}
		if err := row.checkID(seen); err != nil {
			return nil, err
		}
		events, err := row.events()
		if err != nil {
			return nil, err
		}
		out = append(out, events...)
	}
	Sort(out)
	return out, nil
}

// csvParseError adds to encoding/csv's error (which names the line) what the file should be.
func csvParseError(err error, width int) error {
	if errors.Is(err, csv.ErrFieldCount) {
		return fmt.Errorf("ticket CSV: %w (every row needs the header's %d columns)", err, width)
	}
	return fmt.Errorf("ticket CSV: %w (quote cells that hold commas, quotes or line breaks, and double the quotes inside them)", err)
}

// csvHeader says which cell of a row holds which column.
type csvHeader struct {
	names  []string       // as written, for the width in errors
	index  map[string]int // known column -> cell
	custom map[string]int // custom field name -> cell
}

func readHeader(cr *csv.Reader) (*csvHeader, error) {
	names, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("ticket CSV is empty: it needs a header row naming its columns (required: %s)", strings.Join(csvRequired, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("ticket CSV header: %w", err)
	}
	h := &csvHeader{names: names, index: map[string]int{}, custom: map[string]int{}}
	var unknown []string
	for i, name := range names {
		if i == 0 {
			// Spreadsheets save UTF-8 with a byte order mark, which would stick to the first name.
			name = strings.TrimPrefix(name, "\ufeff")
		}
		key := strings.ToLower(strings.TrimSpace(name))
		if err := h.add(key, i, &unknown); err != nil {
			return nil, err
		}
	}
	if len(unknown) > 0 {
		what := "column"
		if len(unknown) > 1 {
			what = "columns"
		}
		return nil, fmt.Errorf("ticket CSV line 1: unknown %s %s (allowed: %s, and %s<name> for a custom field)",
			what, strings.Join(unknown, ", "), strings.Join(csvColumns, ", "), customFieldPrefix)
	}
	for _, name := range csvRequired {
		if _, ok := h.index[name]; !ok {
			return nil, fmt.Errorf("ticket CSV line 1: missing column %q (required: %s)", name, strings.Join(csvRequired, ", "))
		}
	}
	return h, nil
}

// add places column key at cell i, noting it among unknown when it is neither a known column
// nor a custom field.
func (h *csvHeader) add(key string, i int, unknown *[]string) error {
	if field, ok := strings.CutPrefix(key, customFieldPrefix); ok {
		if field == "" {
			return fmt.Errorf("ticket CSV line 1, column %d: %q names no custom field (write %s<name>)", i+1, key, customFieldPrefix)
		}
		if _, dup := h.custom[field]; dup {
			return fmt.Errorf("ticket CSV line 1: column %q appears twice (names are case-insensitive)", key)
		}
		h.custom[field] = i
		return nil
	}
	if !slices.Contains(csvColumns, key) {
		*unknown = append(*unknown, fmt.Sprintf("%q", key))
		return nil
	}
	if _, dup := h.index[key]; dup {
		return fmt.Errorf("ticket CSV line 1: column %q appears twice (names are case-insensitive)", key)
	}
	h.index[key] = i
	return nil
}

// csvRow is one ticket's row, read last by cr (whose FieldPos names the lines of its cells).
type csvRow struct {
	h   *csvHeader
	rec []string
	cr  *csv.Reader
}

// get returns the trimmed cell of a column, "" when the column is absent or the cell empty.
func (row csvRow) get(col string) string {
	i, ok := row.h.index[col]
	if !ok {
		return ""
	}
	return strings.TrimSpace(row.rec[i])
}

// errorf says what is wrong with a column's cell, on the line the cell starts (a quoted body
// may span lines, so the row's first line would point elsewhere).
func (row csvRow) errorf(col, format string, a ...any) error {
	line := row.line()
	if i, ok := row.h.index[col]; ok {
		line, _ = row.cr.FieldPos(i)
	}
	return fmt.Errorf("ticket CSV line %d, column %s: %s", line, col, fmt.Sprintf(format, a...))
}

func (row csvRow) line() int {
	line, _ := row.cr.FieldPos(0)
	return line
}

// checkID requires the ticket's id and refuses one an earlier row used: the history's events
// name tickets by it.
func (row csvRow) checkID(seen map[string]int) error {
	id := row.get(colID)
	if id == "" {
		return row.errorf(colID, "is empty: every ticket needs its id")
	}
	if first, dup := seen[id]; dup {
		return row.errorf(colID, "ticket %q again (first on line %d): ids must be unique", id, first)
	}
	seen[id], _ = row.cr.FieldPos(row.h.index[colID])
	return nil
}

// required returns a required column's cell, refusing an empty one.
func (row csvRow) required(col string) (string, error) {
	v := row.get(col)
	if v == "" {
		return "", row.errorf(col, "is empty; every row needs %s (required: %s)", col, strings.Join(csvRequired, ", "))
	}
	return v, nil
}

// events turns the row into its ticket's events, in the order they happen when times tie.
func (row csvRow) events() ([]Event, error) {
	id := row.get(colID)
	times, err := row.times()
	if err != nil {
		return nil, err
	}
	created, err := row.created(id, times.created)
	if err != nil {
		return nil, err
	}
	out := []Event{created}
	out = append(out, row.work(id, times)...)
	esc, err := row.escalation(id, times)
	if err != nil {
		return nil, err
	}
	out = append(out, esc...)
	out = append(out, row.statuses(id, times)...)
	for i := range out {
		if err := out[i].Check(); err != nil {
			// FromCSV builds only events that pass; this would be a bug here, not in the file.
			return nil, fmt.Errorf("ticket CSV line %d: %s event of ticket %s: %w", row.line(), out[i].Type, id, err)
		}
	}
	return out, nil
}

// rowTimes are a row's times; the zero time means the cell was empty.
type rowTimes struct {
	created, firstResponse, solved, closed, escalated, acknowledged time.Time
}

// times reads the row's times and refuses an order no ticket can have.
func (row csvRow) times() (rowTimes, error) {
	var t rowTimes
	if _, err := row.required(colCreatedAt); err != nil {
		return t, err
	}
	for _, f := range []struct {
		col string
		to  *time.Time
	}{
		{colCreatedAt, &t.created}, {colFirstResponseAt, &t.firstResponse}, {colSolvedAt, &t.solved},
		{colClosedAt, &t.closed}, {colEscalatedAt, &t.escalated}, {colAcknowledgedAt, &t.acknowledged},
	} {
		v, err := row.time(f.col)
		if err != nil {
			return t, err
		}
		*f.to = v
	}
	for _, col := range []string{colFirstResponseAt, colSolvedAt, colClosedAt, colEscalatedAt, colAcknowledgedAt} {
		if err := row.notBefore(col, colCreatedAt, "a ticket's later times cannot precede its creation"); err != nil {
			return t, err
		}
	}
	if err := row.notBefore(colAcknowledgedAt, colEscalatedAt, "an escalation is acknowledged after it is made"); err != nil {
		return t, err
	}
	if err := row.notBefore(colClosedAt, colSolvedAt, "a ticket is closed after it is solved"); err != nil {
		return t, err
	}
	return t, nil
}

// time parses a column's cell, the zero time when it is empty.
func (row csvRow) time(col string) (time.Time, error) {
	v := row.get(col)
	if v == "" {
		return time.Time{}, nil
	}
	t, ok := parseCSVTime(v)
	if !ok {
		return time.Time{}, row.errorf(col, "%q is not a time (allowed: %s)", v, csvTimesAllowed)
	}
	return t, nil
}

// notBefore refuses col's time when it is before earlier's; either empty passes.
func (row csvRow) notBefore(col, earlier, why string) error {
	v, e := row.get(col), row.get(earlier)
	if v == "" || e == "" {
		return nil
	}
	t, _ := parseCSVTime(v)
	te, _ := parseCSVTime(e)
	if t.Before(te) {
		return row.errorf(col, "%q is before %s %q: %s", v, earlier, e, why)
	}
	return nil
}

func parseCSVTime(v string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return escalated.Truncate(t), true
	}
	for _, layout := range csvTimeLayouts {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return escalated.Truncate(t), true
		}
	}
	return time.Time{}, false
}

// created is the ticket.created event: the ticket's fields and the customer's first message.
func (row csvRow) created(id string, at time.Time) (Event, error) {
	subject, err := row.required(colSubject)
	if err != nil {
		return Event{}, err
	}
	body, err := row.required(colBody)
	if err != nil {
		return Event{}, err
	}
	nt, err := row.newTicket(subject)
	if err != nil {
		return Event{}, err
	}
	author := escalated.Author{Kind: escalated.AuthorCustomer}
	if nt.Customer != nil {
		author.ID, author.Name = nt.Customer.ID, nt.Customer.Name
	}
	return Event{Type: TicketCreated, At: at, Ticket: id, New: nt, Message: &Message{Author: author, Body: body}}, nil
}

// newTicket reads the ticket's fields. Priority, channel and reason are checked here, where the
// error can name the CSV line, rather than when a replay refuses the ticket.
func (row csvRow) newTicket(subject string) (*NewTicket, error) {
	nt := &NewTicket{
		Subject:   subject,
		IssueType: strings.ToLower(row.get(colIssueType)),
		Language:  row.get(colLanguage),
		Tags:      splitTags(row.get(colTags)),
		Team:      row.get(colTeam),
	}
	var err error
	if nt.Priority, err = oneOfColumn(row, colPriority, escalated.Priorities); err != nil {
		return nil, err
	}
	if nt.Channel, err = oneOfColumn(row, colChannel, escalated.Channels); err != nil {
		return nil, err
	}
	if nt.Customer, err = row.customer(); err != nil {
		return nil, err
	}
	if nt.Account, err = row.account(); err != nil {
		return nil, err
	}
	if nt.Customer != nil && nt.Account != nil {
		nt.Customer.AccountID = nt.Account.ID
	}
	nt.CustomFields = row.customFields()
	return nt, nil
}

// oneOfColumn reads a column whose values are a fixed list, in any case; "" when empty.
func oneOfColumn[T ~string](row csvRow, col string, allowed []T) (string, error) {
	v := strings.ToLower(row.get(col))
	if v == "" || slices.Contains(allowed, T(v)) {
		return v, nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return "", row.errorf(col, "%q is not allowed (allowed: %s)", row.get(col), strings.Join(names, ", "))
}

// splitTags splits a tags cell on ; or | (help desks use either; commas would need quoting),
// lowercasing and dropping empty and repeated tags as the ticket service does.
func splitTags(v string) []string {
	var out []string
	for _, tag := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '|' }) {
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag != "" && !slices.Contains(out, tag) {
			out = append(out, tag)
		}
	}
	return out
}

// customer is the ticket's customer, nil when the row names none. Without customer_id the email
// is the id, as in the API.
func (row csvRow) customer() (*escalated.Customer, error) {
	c := escalated.Customer{ID: row.get(colCustomerID), Name: row.get(colCustomerName), Email: row.get(colCustomerEmail)}
	if c == (escalated.Customer{}) {
		return nil, nil
	}
	if c.ID == "" {
		c.ID = c.Email
	}
	if c.ID == "" {
		return nil, row.errorf(colCustomerName, "%q names a customer without customer_id or customer_email: give one of them", c.Name)
	}
	return &c, nil
}

// account is the customer's account, nil when the row names none.
func (row csvRow) account() (*escalated.Account, error) {
	a := escalated.Account{ID: row.get(colAccountID), Name: row.get(colAccountName), Tier: strings.ToLower(row.get(colAccountTier))}
	if a.ID == "" && a.Name == "" && a.Tier == "" {
		return nil, nil
	}
	if a.ID == "" {
		col := colAccountName
		if a.Name == "" {
			col = colAccountTier
		}
		return nil, row.errorf(col, "%q describes an account without account_id: give the account's id too", row.get(col))
	}
	return &a, nil
}

// customFields reads the cf_ columns as strings (an export does not say which are numbers),
// nil when all are empty.
func (row csvRow) customFields() map[string]any {
	var out map[string]any
	for name, i := range row.h.custom {
		v := strings.TrimSpace(row.rec[i])
		if v == "" {
			continue
		}
		if out == nil {
			out = map[string]any{}
		}
		out[name] = v
	}
	return out
}

// work is the assignee's part: the assignment, then the first public reply when the export has
// its time.
func (row csvRow) work(id string, t rowTimes) []Event {
	assignee := row.get(colAssignee)
	var out []Event
	if assignee != "" {
		out = append(out, Event{Type: TicketUpdated, At: assignedAt(t), Ticket: id, Update: &Update{Assignee: &assignee}})
	}
	if !t.firstResponse.IsZero() {
		out = append(out, Event{Type: MessageAdded, At: t.firstResponse, Ticket: id, Message: &Message{
			Author: escalated.Author{Kind: escalated.AuthorAgent, ID: assignee}, Body: importedFirstReply,
		}})
	}
	return out
}

// assignedAt guesses when the assignee took the ticket, which exports do not record: by the
// first reply, or else by the time it was solved or closed, at the latest; a ticket with none of
// those is assigned when created, the only time known.
func assignedAt(t rowTimes) time.Time {
	for _, at := range []time.Time{t.firstResponse, t.solved, t.closed} {
		if !at.IsZero() {
			return at
		}
	}
	return t.created
}

// escalation is the ticket's manual escalation and its acknowledgement, if any.
func (row csvRow) escalation(id string, t rowTimes) ([]Event, error) {
	to := row.get(colEscalatedTo)
	switch {
	case to != "" && t.escalated.IsZero():
		return nil, row.errorf(colEscalatedTo, "%q needs escalated_at: when the ticket was escalated", to)
	case to == "" && !t.escalated.IsZero():
		return nil, row.errorf(colEscalatedAt, "%q needs escalated_to: the team it was escalated to", row.get(colEscalatedAt))
	}
	if t.escalated.IsZero() {
		return nil, row.noEscalation()
	}
	reason, err := oneOfColumn(row, colEscalationReason, escalated.Reasons)
	if err != nil {
		return nil, err
	}
	if reason == "" {
		// A manual escalation needs a reason code; the export did not keep one.
		reason = string(escalated.ReasonOther)
	}
	note := row.get(colEscalationNote)
	if note == "" {
		note = importedNote
	}
	out := []Event{{Type: EscalationCreated, At: t.escalated, Ticket: id, Escalation: 1, To: to, Reason: reason,
		Note: note, Trigger: string(escalated.TriggerManual), By: row.get(colEscalatedBy)}}
	if !t.acknowledged.IsZero() {
		out = append(out, Event{Type: EscalationAcknowledged, At: t.acknowledged, Ticket: id, Escalation: 1})
	}
	return out, nil
}

// noEscalation refuses the columns that describe an escalation on a row that has none, rather
// than dropping what they say.
func (row csvRow) noEscalation() error {
	if v := row.get(colAcknowledgedAt); v != "" {
		return row.errorf(colAcknowledgedAt, "%q needs escalated_at and escalated_to: only an escalation is acknowledged", v)
	}
	for _, col := range []string{colEscalationReason, colEscalatedBy, colEscalationNote} {
		if v := row.get(col); v != "" {
			return row.errorf(col, "%q describes an escalation, but the row has no escalated_at and escalated_to", v)
		}
	}
	return nil
}

// statuses are the ticket's solving and closing.
func (row csvRow) statuses(id string, t rowTimes) []Event {
	var out []Event
	for _, s := range []struct {
		at     time.Time
		status escalated.Status
	}{{t.solved, escalated.StatusSolved}, {t.closed, escalated.StatusClosed}} {
		if !s.at.IsZero() {
			out = append(out, Event{Type: TicketUpdated, At: s.at, Ticket: id, Update: &Update{Status: string(s.status)}})
		}
	}
	return out
}
