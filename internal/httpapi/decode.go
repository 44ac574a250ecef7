package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/escalated/escalated"
)

// decode reads a JSON body strictly into v: at most MaxBody bytes (else too_large), no unknown
// fields, right types, exactly one value. Errors name the field.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return escalated.Invalid("Content-Type", fmt.Sprintf("must be application/json (got %q)", ct))
		}
	}
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err2 := dec.Token(); err2 != io.EOF {
			var mbe *http.MaxBytesError
			if errors.As(err2, &mbe) {
				return tooLarge()
			}
			return escalated.Errorf(escalated.EINVALID, "request body must hold exactly one JSON object")
		}
		return nil
	}
	var (
		mbe *http.MaxBytesError
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge()
	case errors.Is(err, io.EOF):
		return escalated.Errorf(escalated.EINVALID, "request body is empty; send a JSON object")
	case errors.As(err, &syn):
		return escalated.Errorf(escalated.EINVALID, "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return escalated.Invalid(field, fmt.Sprintf("must be %s (got %s)", jsonKind(typ.Type.Kind().String()), typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for unknown fields; this prefix is its documented text.
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return escalated.Invalid(name, "unknown field")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return escalated.Errorf(escalated.EINVALID, "malformed JSON: unexpected end of body")
	}
	var ae *escalated.Error
	if errors.As(err, &ae) {
		return ae
	}
	return escalated.Errorf(escalated.EINVALID, "malformed request body: %v", err)
}

func tooLarge() error {
	return escalated.Errorf(escalated.ETOOLARGE, "request body is larger than %d bytes", MaxBody)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64", "int32", "float64", "float32", "uint", "uint64":
		return "a number"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "a " + goKind
}
