package memstore

import (
	"testing"

	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db := New()
		t.Cleanup(func() { db.Close() })
		return db
	})
}
