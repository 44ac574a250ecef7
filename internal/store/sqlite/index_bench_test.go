package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkEventIndexes inserts event rows shaped like the events table's (migration 0006)
// over 64 tickets, 100 to a transaction, prepared, into a bare database of their own: with the
// table's indexes as they are (the baseline: the ticket's history order, unique by ticket and
// seq), without the ticket-ordered index, with it on an integer ticket number instead of the
// text id, and without the AUTOINCREMENT of pos. What each index costs an event row says where
// an ingest message's writes go: a ticket's newest entries sit on a leaf page of their own, so
// every message changes a page at a random place of that index, and the commit writes it to
// the log whole.
//
//	go test ./internal/store/sqlite -run '^$' -bench EventIndexes -benchtime 100000x
func BenchmarkEventIndexes(b *testing.B) {
	const columns = `id TEXT NOT NULL UNIQUE, ticket_id TEXT NOT NULL, tn INTEGER NOT NULL, seq INTEGER NOT NULL,
		type TEXT NOT NULL, actor TEXT NOT NULL, data TEXT NOT NULL, message_id TEXT, created_at INTEGER NOT NULL,
		team TEXT NOT NULL, from_team TEXT NOT NULL`
	for _, c := range []struct{ name, table string }{
		{"as-is", `pos INTEGER PRIMARY KEY AUTOINCREMENT, ` + columns + `, UNIQUE (ticket_id, seq)`},
		{"no-ticket-index", `pos INTEGER PRIMARY KEY AUTOINCREMENT, ` + columns},
		{"integer-ticket-index", `pos INTEGER PRIMARY KEY AUTOINCREMENT, ` + columns + `, UNIQUE (tn, seq)`},
		{"no-autoincrement", `pos INTEGER PRIMARY KEY, ` + columns + `, UNIQUE (ticket_id, seq)`},
	} {
		b.Run(c.name, func(b *testing.B) {
			db, err := sql.Open("sqlite", dsn(filepath.Join(b.TempDir(), "events.db"), "OFF"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			if _, err := db.Exec(`CREATE TABLE events (` + c.table + `) STRICT`); err != nil {
				b.Fatal(err)
			}
			tickets := make([]string, 64)
			for i := range tickets {
				tickets[i] = fmt.Sprintf("tkt_01M8MJQSR1T6NKXPV7G5ADE%03d", i)
			}
			const perTx = 100
			var tx *sql.Tx
			var stmt *sql.Stmt
			i := 0
			for b.Loop() {
				if i%perTx == 0 {
					if tx, err = db.Begin(); err != nil {
						b.Fatal(err)
					}
					if stmt, err = tx.Prepare(`INSERT INTO events (id, ticket_id, tn, seq, type, actor, data, message_id, created_at, team, from_team)
						VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := stmt.Exec(fmt.Sprintf("evt_01M8MJQSR1T6NKXPV7G5A%06d", i), tickets[i%64], i%64, i, "rule.fired",
					"system:policy", `{"rule":"possible-fraud","actions":["tag"]}`, nil, i, "billing", ""); err != nil {
					b.Fatal(err)
				}
				i++
				if i%perTx == 0 {
					stmt.Close()
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			}
			if i%perTx != 0 {
				stmt.Close()
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
