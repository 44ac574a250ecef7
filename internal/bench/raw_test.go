package bench

import "testing"

// The recorded catch-up replays what it wrote raw on a copy of the loaded database; the
// replay itself refuses any statement that changes other rows than it did when recorded.
func TestCatchUpRecordsAndReplaysItsRows(t *testing.T) {
	c := RunCatchUp(t, DeadlineOptions{Store: "sqlite", DB: SQLiteDB(t, "catchup.db"), Overdue: 300, Record: true}, true)
	// Each escalating breach writes its events, the escalation, its deadlines, facts and the
	// ticket: well over ten statements.
	if c.Raw <= 0 || c.RawStatements < 10*c.Overdue {
		t.Fatalf("raw replay of the catch-up: %s for %d statements (%d breaches); want a measured replay of at least 10 statements a breach",
			c.Raw, c.RawStatements, c.Overdue)
	}
}

// The ingest baseline replays at least the message, its event, the ticket's update and the
// decision per message.
func TestRawReplayOfIngest(t *testing.T) {
	rate, per := RawReplay(t, DemoPolicyFile(t, t.TempDir()), 300, 4, 100)
	if rate <= 0 || per < 4 {
		t.Fatalf("raw replay of ingest: %.0f messages/s, %.1f statements a message; want a rate and at least 4 statements", rate, per)
	}
}
