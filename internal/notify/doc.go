// Package notify delivers the outbox: every notification is a store.Delivery written in the
// same transaction as the change that causes it (internal/ticket/outbox.go), and the
// Dispatcher here sends it once that transaction has committed, through the channel's Sender
// (notify/webhook, notify/slack, notify/email).
//
// A delivery's life:
//
//	            claim (lease)          2xx / sent
//	pending ──────────────▶ sending ─────────────────────▶ delivered
//	   ▲                      │ 5xx, 429, timeout,
//	   │   backoff with       │ connection error
//	   └──── full jitter ◀────┤
//	   │                      │ attempts or age used up
//	   │                      ├──────────────────────────▶ dead
//	   │                      │ other 4xx, bad channel
//	   │                      └──────────────────────────▶ failed
//	   └──────────── RetryDelivery (API) ◀──── failed, dead
//
// At least once: a claim only leases a delivery (its due time moves to the end of the lease), so
// a process killed while sending leaves it pending and it is sent again, with the same
// Escalated-Delivery id, when the lease ends. Receivers deduplicate on that id.
//
// In order per ticket and channel: only the first pending delivery of a ticket and channel can
// be claimed, so the next one waits until it is delivered, failed or dead. Other tickets and
// other channels do not wait.
//
// The dispatcher never polls on a fixed period: it sleeps until the earliest due delivery and
// wakes early when a delivery is queued (store.ChangeDelivery, from any node), for a retry
// requested through the API on this node, and when one of its sends finishes. With a store
// that does not announce queued deliveries (memstore) it wakes for every committed history
// event instead, since any of them may have queued one; a store that does announce them shows
// it with its first announcement, after which history events alone wake nothing (each claim
// is a write through the store's single writer).
package notify
