package memstore

import (
	"testing"
	"time"

	"github.com/escalated/escalated"
)

func TestCloneIsDeep(t *testing.T) {
	now := time.Now()
	tk := &escalated.Ticket{ID: "tkt_1", Tags: []string{"a"}, CustomFields: map[string]any{"l": []any{"x"}, "m": map[string]any{"k": 1.0}},
		Account: &escalated.Account{ID: "acme", Attributes: map[string]any{"plan": "pro"}}, CreatedAt: now}
	c := clone(tk)
	c.Tags[0], c.Account.ID, c.Account.Attributes["plan"] = "b", "other", "free"
	c.CustomFields["l"].([]any)[0] = "y"
	c.CustomFields["m"].(map[string]any)["k"] = 2.0
	if tk.Tags[0] != "a" || tk.Account.ID != "acme" || tk.Account.Attributes["plan"] != "pro" ||
		tk.CustomFields["l"].([]any)[0] != "x" || tk.CustomFields["m"].(map[string]any)["k"] != 1.0 {
		t.Errorf("changing the clone changed the original: %+v", tk)
	}
	if !c.CreatedAt.Equal(now) || c.ID != "tkt_1" {
		t.Errorf("clone lost values: %+v", c)
	}
	var nilTicket *escalated.Ticket
	if clone(nilTicket) != nil {
		t.Error("a nil pointer cloned to non-nil")
	}
}
