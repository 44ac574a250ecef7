package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

// deliveryOut is a delivery as the API shows it: its state, every attempt, and the payload as
// sent.
type deliveryOut struct {
	ID            string          `json:"id"`
	TicketID      string          `json:"ticket_id"`
	Seq           int64           `json:"seq"`
	Channel       string          `json:"channel"`
	EventType     string          `json:"event_type"`
	EventID       string          `json:"event_id"`
	State         string          `json:"state"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt *string         `json:"next_attempt_at"`
	LastStatus    int             `json:"last_status"`
	LastError     string          `json:"last_error"`
	CreatedAt     string          `json:"created_at"`
	DeliveredAt   *string         `json:"delivered_at"`
	Log           []attemptOut    `json:"log"`
	Payload       json.RawMessage `json:"payload"`
}

type attemptOut struct {
	At     string `json:"at"`
	Status int    `json:"status"`
	Error  string `json:"error"`
}

func deliveryJSON(d *store.Delivery) deliveryOut {
	out := deliveryOut{
		ID: d.ID, TicketID: d.TicketID, Seq: d.Seq, Channel: d.Channel, EventType: d.EventType, EventID: d.EventID,
		State: string(d.State), Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError,
		CreatedAt: escalated.FormatTime(d.CreatedAt), Log: make([]attemptOut, len(d.Log)), Payload: d.Payload,
	}
	if d.State == store.DeliveryPending {
		t := escalated.FormatTime(d.NextAttemptAt)
		out.NextAttemptAt = &t
	}
	if d.DeliveredAt != nil {
		t := escalated.FormatTime(*d.DeliveredAt)
		out.DeliveredAt = &t
	}
	for i, a := range d.Log {
		out.Log[i] = attemptOut{At: escalated.FormatTime(a.At), Status: a.Status, Error: a.Error}
	}
	if !json.Valid(out.Payload) {
		out.Payload = json.RawMessage("null")
	}
	return out
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Deliveries == nil {
		s.error(w, r, escalated.Errorf(escalated.ENOTFOUND, "notifications are not enabled on this node"))
		return
	}
	q := r.URL.Query()
	f := store.DeliveryFilter{State: store.DeliveryState(q.Get("state")), TicketID: q.Get("ticket"),
		Channel: q.Get("channel"), Cursor: q.Get("cursor")}
	fe := escalated.FieldErrors{}
	if f.State != "" && !f.State.Valid() {
		fe.Add("state", "must be one of pending, delivered, failed, dead")
	}
	f.Limit = parseLimit(fe, q.Get("limit"))
	if err := fe.Err(); err != nil {
		s.error(w, r, err)
		return
	}
	items, next, err := s.cfg.Deliveries.ListDeliveries(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]deliveryOut, len(items))
	for i, d := range items {
		out[i] = deliveryJSON(d)
	}
	writeJSON(w, http.StatusOK, list[deliveryOut]{Items: out, NextCursor: next})
}

func (s *Server) retryDelivery(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Deliveries == nil {
		s.error(w, r, escalated.Errorf(escalated.ENOTFOUND, "notifications are not enabled on this node"))
		return
	}
	d, err := s.cfg.Deliveries.RetryDelivery(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deliveryJSON(d))
}
