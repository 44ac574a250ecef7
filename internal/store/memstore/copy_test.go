package memstore

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/escalated/escalated"
)

// TestTypedCopies holds the typed copies (copy.go) to the reflective clone: on randomised
// values of every type clone copies by type (every field set, each reference nil, empty or
// filled), the copy equals the original and shares no memory with it. A field added to one of
// these types that reaches shared memory and is not copied fails here.
func TestTypedCopies(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, typ := range []reflect.Type{
		reflect.TypeFor[*escalated.Ticket](), reflect.TypeFor[*escalated.Event](),
		reflect.TypeFor[*escalated.Message](), reflect.TypeFor[*escalated.Escalation](),
		reflect.TypeFor[*escalated.Customer](), reflect.TypeFor[*escalated.Account](),
		reflect.TypeFor[*escalated.Decision](),
	} {
		for i := range 300 {
			v := reflect.New(typ).Elem()
			fill(r, v, 0)
			want := cloneReflect(v.Interface())
			got := clone(v.Interface()) // clone's type switch sees the dynamic type
			if !reflect.DeepEqual(got, v.Interface()) || !reflect.DeepEqual(got, want) {
				t.Fatalf("%v #%d: the copy differs:\n got %#v\nwant %#v", typ, i, got, want)
			}
			if where := shared(reflect.ValueOf(got), v, "v"); where != "" {
				t.Fatalf("%v #%d: the copy shares %s with the original", typ, i, where)
			}
		}
	}
}

// fill sets v to a random value: every scalar non-zero, every pointer, slice, map and
// interface nil, empty or filled at random (JSON values in interfaces).
func fill(r *rand.Rand, v reflect.Value, depth int) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.UnixMilli(r.Int64N(1 << 42)).UTC()))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if r.IntN(4) > 0 {
			p := reflect.New(v.Type().Elem())
			fill(r, p.Elem(), depth+1)
			v.Set(p)
		}
	case reflect.Slice:
		switch r.IntN(3) {
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		case 2:
			n := 1 + r.IntN(3)
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				fill(r, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Map:
		switch r.IntN(3) {
		case 1:
			v.Set(reflect.MakeMap(v.Type()))
		case 2:
			m := reflect.MakeMap(v.Type())
			for range 1 + r.IntN(3) {
				k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
				fill(r, k, depth+1)
				fill(r, e, depth+1)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		}
	case reflect.Interface:
		if j := randomJSON(r, depth); j != nil {
			v.Set(reflect.ValueOf(j))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				fill(r, f, depth+1)
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			fill(r, v.Index(i), depth+1)
		}
	case reflect.String:
		v.SetString(fmt.Sprint("s", r.IntN(1000)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1 + r.Int64N(100))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1 + r.Uint64N(100))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(r.Float64() + 0.5)
	default:
		panic("fill: no random " + v.Type().String())
	}
}

func randomJSON(r *rand.Rand, depth int) any {
	n := 6
	if depth > 8 {
		n = 4
	}
	switch r.IntN(n) {
	case 0:
		return nil
	case 1:
		return fmt.Sprint("v", r.IntN(100))
	case 2:
		return r.Float64()
	case 3:
		return true
	case 4:
		m := map[string]any{}
		for i := range r.IntN(3) {
			m[fmt.Sprint("k", i)] = randomJSON(r, depth+1)
		}
		return m
	default:
		l := []any{}
		for range r.IntN(3) {
			l = append(l, randomJSON(r, depth+1))
		}
		return l
	}
}

// shared names where a and b (equal values of one type) share memory: the same pointer,
// map, or slice array; "" when they share none.
func shared(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return path
		}
		return shared(a.Elem(), b.Elem(), "(*"+path+")")
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return ""
		}
		return shared(a.Elem(), b.Elem(), path)
	case reflect.Slice:
		if a.Cap() > 0 && b.Cap() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
		for i := range min(a.Len(), b.Len()) {
			if w := shared(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); w != "" {
				return w
			}
		}
	case reflect.Map:
		if a.IsNil() || b.IsNil() {
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return path
		}
		for _, k := range a.MapKeys() {
			if w := shared(a.MapIndex(k), b.MapIndex(k), fmt.Sprintf("%s[%v]", path, k)); w != "" {
				return w
			}
		}
	case reflect.Struct:
		if a.Type() == reflect.TypeFor[time.Time]() {
			return ""
		}
		for i := range a.NumField() {
			if w := shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); w != "" {
				return w
			}
		}
	case reflect.Array:
		for i := range a.Len() {
			if w := shared(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); w != "" {
				return w
			}
		}
	}
	return ""
}
