package memstore

import (
	"context"
	"errors"
	"testing"

	"github.com/escalated/escalated/internal/store"
)

// TestInPlaceUpdate checks the in-place writes against what a reader must see: a View opened
// while an Update writes in place reads the state from before it (values replaced and
// deleted, a table and a sequence the Update made or moved), the commit then shows, and a
// failed Update leaves nothing behind.
func TestInPlaceUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := New()
	defer db.Close()
	update := func(fn func(x *tx) error) error {
		return db.Update(ctx, func(stx store.Tx) error { return fn(stx.(*tx)) })
	}
	type seen struct {
		a, b   string
		hasB   bool
		newLen int
		seq    int64
	}
	read := func() seen {
		var s seen
		db.View(ctx, func(stx store.Tx) error {
			x := stx.(*tx)
			s.a, _ = get[string](x, "t", "a")
			s.b, s.hasB = get[string](x, "t", "b")
			s.newLen = size[string](x, "new")
			s.seq = x.s.counters["seq"]
			return nil
		})
		return s
	}
	if err := update(func(x *tx) error {
		put(x, "t", "a", "1")
		put(x, "t", "b", "2")
		x.next("seq")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	committed := seen{a: "1", b: "2", hasB: true, seq: 1}

	written, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- update(func(x *tx) error {
			if !x.inPlace {
				t.Error("an Update with no View open did not write in place")
			}
			put(x, "t", "a", "10")
			del[string](x, "t", "b")
			put(x, "new", "k", "v")
			x.next("seq")
			close(written)
			<-release
			put(x, "t", "a", "11") // after the View opened: must not reach it either
			return nil
		})
	}()
	<-written
	err := db.View(ctx, func(stx store.Tx) error {
		if got := read(); got != committed {
			t.Errorf("a View opened during an in-place Update read %+v, want the committed %+v", got, committed)
		}
		close(release)
		if err := <-done; err != nil {
			t.Error(err)
		}
		x := stx.(*tx)
		if a, _ := get[string](x, "t", "a"); a != "1" {
			t.Errorf("a View open across the commit read a = %q, want its snapshot's 1", a)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	committed = seen{a: "11", newLen: 1, seq: 2}
	if got := read(); got != committed {
		t.Errorf("after the commit: %+v, want %+v", got, committed)
	}

	boom := errors.New("boom")
	err = update(func(x *tx) error {
		// Each row and sequence written more than once: the undo must restore the first value.
		put(x, "t", "a", "12")
		put(x, "t", "a", "13")
		put(x, "t", "b", "3")
		del[string](x, "t", "b")
		put(x, "t", "b", "4")
		del[string](x, "new", "k")
		put(x, "new", "k", "w")
		put(x, "other", "k", "v")
		put(x, "other", "k2", "v")
		x.next("seq")
		x.next("seq")
		x.next("seq2")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failed Update returned %v", err)
	}
	if got := read(); got != committed {
		t.Errorf("after a failed Update: %+v, want %+v", got, committed)
	}
	db.View(ctx, func(stx store.Tx) error {
		x := stx.(*tx)
		if _, ok := x.s.trees["other"]; ok {
			t.Error("a table made by a failed Update is still there")
		}
		if _, ok := x.s.counters["seq2"]; ok {
			t.Error("a sequence started by a failed Update is still there")
		}
		return nil
	})
}
