package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated"
)

// RawInsertMessages inserts msgs, each with the message.added event that announces it, in
// transactions of batch messages (batch < 1 means one transaction for all), bypassing the
// service layer, ticket updates, row locks and notifications. It is the baseline a benchmark
// compares the real write path against: the fastest plain INSERTs of the same rows with the
// same durability. The tickets must exist.
//
// dialect: each transaction is one pgx.Batch (SQLite: statements prepared once per transaction
// and run one by one on the writer): BEGIN, two INSERTs per message (the statements AddMessage
// and a plain event insert use) and COMMIT are pipelined in a single round trip, and the commit
// waits for its WAL flush like any other. COPY FROM of the same rows measured about 1.7 times
// faster here, but it is not how the store writes, so it would not show what the store could
// reach.
func (db *DB) RawInsertMessages(ctx context.Context, msgs []*escalated.Message, batch int) error {
	if db.closed.Load() {
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
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, m := range msgs {
		args, err := messageArgs(m)
		if err != nil {
			return err
		}
		b.Queue(sqlInsertMessage, args...)
		data, err := jsonText(map[string]any{"message_id": m.ID, "author_kind": string(m.Author.Kind), "internal": m.Internal})
		if err != nil {
			return err
		}
		b.Queue(sqlInsertEvent, escalated.NewID(escalated.PrefixEvent, m.CreatedAt), m.TicketID, m.Seq,
			escalated.EventMessageAdded, actorOf(m.Author), data, m.ID, ts(m.CreatedAt), "", "")
	}
	b.Queue("COMMIT")

	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("raw insert messages: %w", err)
	}
	defer conn.Release()
	br := conn.SendBatch(ctx, b)
	// Results come back in order: BEGIN, then a message and its event per message, then COMMIT.
	// The first failure ends the batch; PostgreSQL skips everything after it up to the batch's
	// Sync, and the ROLLBACK below ends the failed transaction.
	err = rawResults(br, msgs)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("raw insert messages: %w", cerr)
	}
	if err != nil {
		conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	return nil
}

func rawResults(br pgx.BatchResults, msgs []*escalated.Message) error {
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("raw insert messages: begin: %w", err)
	}
	for _, m := range msgs {
		if _, err := br.Exec(); err != nil {
			return writeErr(err, "raw insert message "+m.ID, "message "+m.ID+" already exists", "ticket "+m.TicketID+" not found")
		}
		if _, err := br.Exec(); err != nil {
			return writeErr(err, "raw insert event for message "+m.ID,
				fmt.Sprintf("seq %d of ticket %s already exists", m.Seq, m.TicketID), "ticket "+m.TicketID+" not found")
		}
	}
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("raw insert messages: commit: %w", err)
	}
	return nil
}

// actorOf names a message's author the way history records actors ("customer:c_1", "system").
func actorOf(a escalated.Author) string {
	if a.Kind == escalated.AuthorSystem || a.ID == "" {
		return string(a.Kind)
	}
	return string(a.Kind) + ":" + a.ID
}
