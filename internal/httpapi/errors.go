package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/escalated/escalated"
)

// statusOf is the one mapping from error codes to HTTP statuses.
var statusOf = map[string]int{
	escalated.EINVALID:      http.StatusBadRequest,
	escalated.EUNAUTHORIZED: http.StatusUnauthorized,
	escalated.EFORBIDDEN:    http.StatusForbidden,
	escalated.ENOTFOUND:     http.StatusNotFound,
	escalated.ECONFLICT:     http.StatusConflict,
	escalated.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	escalated.ERATELIMITED:  http.StatusTooManyRequests,
	escalated.EUNAVAILABLE:  http.StatusServiceUnavailable,
	escalated.EINTERNAL:     http.StatusInternalServerError,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// error writes err in the documented shape. Internal errors are logged with the request id and
// shown to the client only as "internal error".
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	code := escalated.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	id := requestID(r.Context())
	if code == escalated.EINTERNAL {
		s.log.Error("internal error", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, errorBody{Error: errorDetail{
		Code: code, Message: escalated.ErrorMessage(err), Fields: escalated.ErrorFields(err), RequestID: id,
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
