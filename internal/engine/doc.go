// Package engine is the deadline engine: it fires the durable deadlines (SLA warnings and
// breaches, unacknowledged escalations) that the ticket service writes, each exactly once, as
// close to its due time as the clock allows, on any number of nodes.
//
// # Rows, not timers
//
// A deadline is a row in the store (store.Deadline), never a goroutine, a time.Timer or a cron
// entry. A timer lives in one process and dies with it; a row survives restarts, is seen by
// every node, and can be claimed by exactly one of them. The engine keeps only one thing in
// memory: when the earliest pending deadline is due (the store's NextDue, answered from the
// index on due_at). It sleeps until then and never polls on a fixed period.
//
// # Exactly once
//
// Claiming and applying happen in one transaction: FireDue runs store.Update, and inside it
// ClaimDue deletes up to Batch due rows (PostgreSQL: FOR UPDATE SKIP LOCKED, so nodes pass over
// each other's rows instead of waiting or double-claiming) and the Firer applies each one (the
// ticket service records the event, decides, writes escalations, outbox rows and new deadlines)
// in that same transaction. Either all of it commits, and the deadline is gone together with
// its effects, or none of it does, and the deadline is still pending: a process killed between
// claim and commit loses nothing and fires nothing twice, because its transaction never
// committed. Nothing leaves the process before the commit (notifications go through the outbox).
//
// A batch is all-or-nothing, so one deadline whose firing fails would take its whole batch
// down with it. When that happens the engine fires the rest of the batch again, by id
// (ClaimDeadline), without the failing one, repeating until the rest commits; the failing
// deadline stays pending (its transactions rolled back) and the error is logged and returned.
// ClaimDue alone could not do this: it hands out the earliest due rows first, which would be the
// failing one every time. Run then holds the failing deadline back until an exponential backoff
// has passed and meanwhile keeps waking for the others (NextDue leaves the held ones out), so a
// deadline that keeps failing delays no other. When a batch's worth of deadlines fail, or the
// store itself fails, something bigger is broken and Run pauses altogether for the backoff.
//
// A claimed deadline may also turn out stale: its ticket is gone, or its clock no longer has
// that instant pending. The Firer then reports it as not fired; the claim still removes the
// row, and the engine counts it as dropped (Stats.Dropped, escalated_deadlines_dropped_total),
// never as fired or in the lateness figures.
//
// # The loop
//
//	         Subscribe (before the first read, so no announcement can slip through)
//	              |
//	              v
//	+------> FireDue: claim + fire batches due at Clock.Now(), until a claim is short;
//	|             |    deadlines that fail are held back until now + backoff
//	|             v
//	|        NextDue of the deadlines not held back (a View);
//	|             |  wake = the earlier of it and the held ones' retry time, or,
//	|             |  when the store failed, now + backoff (100ms doubling to 30s, jittered)
//	|             v
//	|        sleep until wake (no timer at all when nothing is pending)
//	|             |
//	|    timer fired | announced Due <= now | Lagged  ---> loop
//	|    announced Due < wake, still in the future   ---> wake = Due, keep sleeping
//	+-------------+
//	 ctx done: return nil; subscription closed (store closed): return an error
//
// One case looks like polling and is not: on PostgreSQL, NextDue can name a due deadline that
// the last claim passed over because another node's transaction holds it. That node fires it or
// rolls back, and neither is announced, so the engine looks again after the same short, growing
// pause instead of spinning.
//
// # Wake-ups across nodes
//
// ScheduleDeadline announces every committed deadline through store.Subscribe with
// Type store.ChangeDeadline and its Due: SQLite publishes after its own commit, PostgreSQL sends
// it with NOTIFY on the schema's channel, which every node LISTENs on. A sleeping engine that
// hears of a deadline due before its wake time moves its wake time forward (or fires at once if
// the deadline is already due). A Lagged change means announcements may have been missed, so
// the engine reads NextDue again; it never needs to poll to be correct, and the announcement is
// only ever a hint that makes it prompt.
//
// # Catch-up after downtime
//
// When the engine starts after downtime, everything that came due meanwhile is overdue: FireDue
// fires it at once, Batch at a time, in due order (due_at, then id), so the oldest breach is
// recorded first, and logs a summary when it fired many in one go. With several nodes the
// order holds within each node's batches; batches of different nodes interleave.
//
// # Lateness
//
// For every fired deadline the engine records its lateness: the engine clock's time right after
// the transaction that fired it committed, minus its due time. It is what a user would see as
// "the breach was recorded X after the SLA ran out", and it adds up everything in between: how
// long the engine took to wake (timer slack, a missed announcement), queueing behind other
// batches during a catch-up, the Firer's work and the commit. It is exported as the histogram
// escalated_deadline_lateness_seconds, summed up in Stats, and passed to Config.OnFired.
package engine
