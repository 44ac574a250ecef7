package sqlite

import (
	"context"
	"fmt"

	"github.com/escalated/escalated"
)

// RawInsertMessages inserts msgs, each with the message.added event that announces it, in
// transactions of batch rows (batch < 1 means one transaction for all), bypassing group commit,
// the service layer and ticket updates. It is the baseline a benchmark compares the real write
// path against: the fastest this file can absorb messages with the same durability. The
// tickets must exist.
func (db *DB) RawInsertMessages(ctx context.Context, msgs []*escalated.Message, batch int) error {
	if db.isClosed() {
		return errClosed()
	}
	if batch < 1 {
		batch = max(1, len(msgs))
	}
	for start := 0; start < len(msgs); start += batch {
		if err := db.rawInsertChunk(ctx, msgs[start:min(start+batch, len(msgs))]); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) rawInsertChunk(ctx context.Context, msgs []*escalated.Message) error {
	// The writer pool has one connection, so this waits its turn behind the group-commit
	// writer instead of fighting it for SQLite's lock.
	sqlTx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("raw insert messages: begin: %w", err)
	}
	defer sqlTx.Rollback()
	// Prepared once per transaction: the point of a baseline is to show the cost of storage,
	// not of compiling the same statement again for every row.
	msgStmt, err := sqlTx.PrepareContext(ctx, sqlInsertMessage)
	if err != nil {
		return fmt.Errorf("raw insert messages: %w", err)
	}
	defer msgStmt.Close()
	evStmt, err := sqlTx.PrepareContext(ctx, sqlInsertEvent)
	if err != nil {
		return fmt.Errorf("raw insert messages: %w", err)
	}
	defer evStmt.Close()
	for _, m := range msgs {
		args, err := messageArgs(m)
		if err != nil {
			return err
		}
		if _, err := msgStmt.ExecContext(ctx, args...); err != nil {
			return writeErr(err, "raw insert message "+m.ID, "message "+m.ID+" already exists", "ticket "+m.TicketID+" not found")
		}
		data, err := jsonText(map[string]any{"message_id": m.ID, "author_kind": string(m.Author.Kind), "internal": m.Internal})
		if err != nil {
			return err
		}
		if _, err := evStmt.ExecContext(ctx, escalated.NewID(escalated.PrefixEvent, m.CreatedAt), m.TicketID, m.Seq,
			escalated.EventMessageAdded, actorOf(m.Author), data, m.ID, ms(m.CreatedAt), "", ""); err != nil {
			return writeErr(err, "raw insert event for message "+m.ID,
				fmt.Sprintf("seq %d of ticket %s already exists", m.Seq, m.TicketID), "ticket "+m.TicketID+" not found")
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("raw insert messages: commit: %w", err)
	}
	// Synced here, as synchronous=FULL would inside the commit: the baseline has the service's
	// durability and pays for it in line, one sync per transaction.
	return db.syncNow()
}

// actorOf names a message's author the way history records actors ("customer:c_1", "system").
func actorOf(a escalated.Author) string {
	if a.Kind == escalated.AuthorSystem || a.ID == "" {
		return string(a.Kind)
	}
	return string(a.Kind) + ":" + a.ID
}
