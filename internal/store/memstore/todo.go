package memstore

import "github.com/escalated/escalated"

// errTodo is what a method not written yet answers.
func errTodo() error { return escalated.Errorf(escalated.EINTERNAL, "memstore: not implemented") }
