package httpapi

import (
	"net/http"
	"strconv"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/jsonenc"
	"github.com/escalated/escalated/internal/store"
)

// writeMessage answers with m as writeJSON would (escalated.Message.MarshalJSON, then a
// newline), writing the bytes directly: POST /v1/tickets/{id}/messages answers with the message
// it added, the API's hottest answer, and encoding/json's reflection over the message's nested
// structs was about a tenth of the handler's CPU. What appendMessage cannot write exactly goes
// through writeJSON.
func writeMessage(w http.ResponseWriter, status int, m *escalated.Message) {
	b, ok := appendMessage(make([]byte, 0, 256+len(m.Body)), m)
	if !ok {
		writeJSON(w, status, m)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// appendMessage appends m's JSON as escalated.Message.MarshalJSON writes it, and reports false
// for signals store.AppendSignals does not write (a sentiment with an exponent, or negative
// zero).
// TestAppendMessageAsMarshalJSON holds the two together.
func appendMessage(b []byte, m *escalated.Message) ([]byte, bool) {
	b = append(b, `{"id":`...)
	b = jsonenc.AppendString(b, m.ID)
	b = append(b, `,"ticket_id":`...)
	b = jsonenc.AppendString(b, m.TicketID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, m.Seq, 10)
	b = append(b, `,"author":{"kind":`...)
	b = jsonenc.AppendString(b, string(m.Author.Kind))
	b = append(b, `,"id":`...)
	b = jsonenc.AppendString(b, m.Author.ID)
	b = append(b, `,"name":`...)
	b = jsonenc.AppendString(b, m.Author.Name)
	b = append(b, `},"body":`...)
	b = jsonenc.AppendString(b, m.Body)
	b = append(b, `,"internal":`...)
	b = strconv.AppendBool(b, m.Internal)
	b = append(b, `,"signals":`...)
	var ok bool
	if b, ok = store.AppendSignals(b, m.Signals); !ok {
		return b, false
	}
	b = append(b, `,"created_at":`...)
	b = jsonenc.AppendString(b, escalated.FormatTime(m.CreatedAt))
	return append(b, '}'), true
}
