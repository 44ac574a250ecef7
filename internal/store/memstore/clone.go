package memstore

import (
	"reflect"
	"sync"
	"time"

	"github.com/escalated/escalated"
)

// clone returns a deep copy of v: pointers, slices, maps and interface values are copied all
// the way down, so that neither the caller's later changes reach the store nor the store's
// reach a caller. Unexported fields are copied as values (time.Time's location is shared, as
// locations never change).
//
// The types a replay copies most (tickets, events, messages, escalations, customers,
// accounts, decisions) are copied by typed functions (copy.go), which do the same and are
// several times faster; TestTypedCopies holds them to cloneReflect on randomised values.
func clone[T any](v T) T {
	switch p := any(v).(type) {
	case *escalated.Ticket:
		return any(copyTicket(p)).(T)
	case *escalated.Event:
		return any(copyEvent(p)).(T)
	case *escalated.Message:
		return any(copyMessage(p)).(T)
	case *escalated.Escalation:
		return any(copyEscalation(p)).(T)
	case *escalated.Customer:
		return any(copyCustomer(p)).(T)
	case *escalated.Account:
		return any(copyAccount(p)).(T)
	case *escalated.Decision:
		return any(copyDecision(p)).(T)
	}
	return cloneReflect(v)
}

// cloneReflect is clone for any type, by reflection.
func cloneReflect[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	out := reflect.New(rv.Type()).Elem()
	deepCopy(out, rv)
	return out.Interface().(T)
}

var timeType = reflect.TypeFor[time.Time]()

// refs caches, per type, whether a value of it can reach shared memory (a pointer, slice, map,
// interface, or a struct or array holding one): a value that cannot is copied by assignment.
var refs sync.Map // reflect.Type -> bool

func hasRefs(t reflect.Type) bool {
	if v, ok := refs.Load(t); ok {
		return v.(bool)
	}
	r := false
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		r = true
	case reflect.Struct:
		if t != timeType {
			for i := range t.NumField() {
				if hasRefs(t.Field(i).Type) {
					r = true
					break
				}
			}
		}
	case reflect.Array:
		r = hasRefs(t.Elem())
	}
	refs.Store(t, r)
	return r
}

func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		deepCopy(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		if !hasRefs(src.Type().Elem()) {
			reflect.Copy(s, src)
		} else {
			for i := range src.Len() {
				deepCopy(s.Index(i), src.Index(i))
			}
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		plain := !hasRefs(src.Type().Elem())
		it := src.MapRange()
		for it.Next() {
			if plain {
				m.SetMapIndex(it.Key(), it.Value())
				continue
			}
			v := reflect.New(src.Type().Elem()).Elem()
			deepCopy(v, it.Value())
			m.SetMapIndex(it.Key(), v)
		}
		dst.Set(m)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		v := reflect.New(src.Elem().Type()).Elem()
		deepCopy(v, src.Elem())
		dst.Set(v)
	case reflect.Struct:
		dst.Set(src) // every field, unexported ones too, by value
		if !hasRefs(src.Type()) {
			return
		}
		for i := range src.NumField() {
			if f := dst.Field(i); f.CanSet() && hasRefs(f.Type()) {
				deepCopy(f, src.Field(i))
			}
		}
	case reflect.Array:
		for i := range src.Len() {
			deepCopy(dst.Index(i), src.Index(i))
		}
	default:
		dst.Set(src)
	}
}
