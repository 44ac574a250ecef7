package httpapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/escalated/escalated"
)

// decode reads a JSON body strictly into v, whatever Content-Type says (curl -d sends a form
// type by default, and the body is the contract): at most MaxBody bytes (else too_large), no unknown
// fields, right types, exactly one value. Errors name the field.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return bodyTooLarge(r, "request body", MaxBody)
	} else if err != nil {
		return escalated.Errorf(escalated.EINVALID, "reading request body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] != '{' {
		return escalated.Errorf(escalated.EINVALID, "request body must be a JSON object")
	}
	err = dec.Decode(v)
	if err == nil {
		if _, err2 := dec.Token(); err2 != io.EOF {
			return escalated.Errorf(escalated.EINVALID, "request body must hold exactly one JSON object")
		}
		// encoding/json matches keys without regard to case; the API's names are exact. One
		// streaming pass says whether every key is; only a body with one that is not is parsed
		// again to name it (a second parse of every body was 40% of decoding a message's).
		if exactKeys(raw, reflect.TypeOf(v)) {
			return nil
		}
		if path := unknownPath(raw, reflect.TypeOf(v), ""); path != "" {
			return escalated.Invalid(path, "unknown field (names are case-sensitive)")
		}
		return nil
	}
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
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
		// Its message names only the key, so find where the key sits to name the full path.
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if path := unknownPath(raw, reflect.TypeOf(v), ""); path != "" {
			name = path
		}
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

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64", "int32", "int16", "int8", "uint", "uint64", "uint32", "uint16", "uint8":
		// JSON has one number type: "1e3" or "2.5" is a number, but not a whole one in range.
		return "a whole number in range"
	case "float64", "float32":
		return "a number"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "a " + goKind
}

// fieldsByType caches jsonFields: every request body of a kind has the same answer.
var fieldsByType sync.Map // reflect.Type -> map[string]reflect.Type

// jsonFields returns the JSON names a struct type declares, with their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldsByType.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	fields := map[string]reflect.Type{}
	// VisibleFields includes the fields an embedded struct promotes, as encoding/json does.
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	fieldsByType.Store(t, fields)
	return fields
}

// exactKeys reports whether every key of raw's objects that unknownPath checks (those of
// structs, through nested structs, slices and arrays) is a name t declares, exactly: true means
// unknownPath would find nothing. It reads raw once as tokens; false also when the tokenizer
// refuses what encoding/json took (a duplicate name, invalid UTF-8), for unknownPath to decide.
func exactKeys(raw []byte, t reflect.Type) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(raw))
	return exactValue(dec, t) == nil
}

// errInexact stops exactValue at the first key unknownPath would look at again.
var errInexact = errors.New("a key not declared exactly")

func exactValue(dec *jsontext.Decoder, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch k := dec.PeekKind(); {
	case k == '{' && t.Kind() == reflect.Struct:
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		fields := jsonFields(t)
		for dec.PeekKind() != '}' {
			name, err := dec.ReadToken()
			if err != nil {
				return err
			}
			ft, ok := fields[name.String()]
			if !ok {
				return errInexact
			}
			if err := exactValue(dec, ft); err != nil {
				return err
			}
		}
		_, err := dec.ReadToken()
		return err
	case k == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		for dec.PeekKind() != ']' {
			if err := exactValue(dec, t.Elem()); err != nil {
				return err
			}
		}
		_, err := dec.ReadToken()
		return err
	case k == 0:
		_, err := dec.ReadToken() // the tokenizer's error
		return cmp.Or(err, errInexact)
	}
	// A map, an interface, a scalar, or a value of another shape than t (null): unknownPath
	// does not look inside.
	return dec.SkipValue()
}

// unknownPath returns the dotted path of the first key in raw that the type t does not declare,
// or "" when there is none. It follows nested objects and arrays of objects.
func unknownPath(raw []byte, t reflect.Type, prefix string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return ""
		}
		for i, e := range elems {
			if p := unknownPath(e, t.Elem(), fmt.Sprintf("%s[%d]", prefix, i)); p != "" {
				return p
			}
		}
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return ""
		}
		fields := jsonFields(t)
		// Object keys in JSON order are lost in a map; sort them so the answer is stable.
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			path := k
			if prefix != "" {
				path = prefix + "." + k
			}
			if !ok {
				return path
			}
			if p := unknownPath(obj[k], ft, path); p != "" {
				return p
			}
		}
	}
	return ""
}
