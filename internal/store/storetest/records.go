package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/store"
)

var accountTests = []test{
	{"AccountRoundTripAndUpsert", testAccountUpsert},
	{"CustomerRoundTripAndUpsert", testCustomerUpsert},
	{"NotFound", testAccountNotFound},
}

func testAccountUpsert(t *testing.T, f *fx) {
	a := f.account()
	bare := f.account(func(a *escalated.Account) { a.Name, a.Tier, a.Attributes = "", "", nil })
	f.update(func(tx store.Tx) error {
		if err := tx.UpsertAccount(f.ctx, a); err != nil {
			return err
		}
		return tx.UpsertAccount(f.ctx, bare)
	})
	get := func(id string) *escalated.Account {
		var got *escalated.Account
		f.view(func(tx store.Tx) error {
			var err error
			got, err = tx.GetAccount(f.ctx, id)
			return err
		})
		return got
	}
	equal(t, "account", get(a.ID), wantAccount(a))
	equal(t, "account with nil attributes", get(bare.ID), wantAccount(bare))

	// The newest data a ticket brought wins, field by field.
	newer := &escalated.Account{ID: a.ID, Name: "Globex Corporation", Tier: "pro", Attributes: map[string]any{"plan": "pro"}}
	f.update(func(tx store.Tx) error { return tx.UpsertAccount(f.ctx, newer) })
	equal(t, "upserted account", get(a.ID), wantAccount(newer))
}

func testCustomerUpsert(t *testing.T, f *fx) {
	c := f.customer("acc_1")
	bare := f.customer("", func(c *escalated.Customer) { c.Name, c.Email = "", "" })
	f.update(func(tx store.Tx) error {
		if err := tx.UpsertCustomer(f.ctx, c); err != nil {
			return err
		}
		return tx.UpsertCustomer(f.ctx, bare)
	})
	get := func(id string) *escalated.Customer {
		var got *escalated.Customer
		f.view(func(tx store.Tx) error {
			var err error
			got, err = tx.GetCustomer(f.ctx, id)
			return err
		})
		return got
	}
	equal(t, "customer", get(c.ID), c)
	equal(t, "bare customer", get(bare.ID), bare)

	newer := &escalated.Customer{ID: c.ID, Name: "Hank", Email: "h@globex.example", AccountID: "acc_2"}
	f.update(func(tx store.Tx) error { return tx.UpsertCustomer(f.ctx, newer) })
	equal(t, "upserted customer", get(c.ID), newer)
}

func testAccountNotFound(t *testing.T, f *fx) {
	err := f.s.View(f.ctx, func(tx store.Tx) error { _, err := tx.GetAccount(f.ctx, "acc_missing"); return err })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, "account", "acc_missing")
	err = f.s.View(f.ctx, func(tx store.Tx) error { _, err := tx.GetCustomer(f.ctx, "cus_missing"); return err })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, "customer", "cus_missing")
}

var auditTests = []test{
	{"RoundTripNewestFirst", testAuditRoundTrip},
	{"DuplicateIsConflict", testAuditDuplicate},
	{"ListFilters", testAuditFilters},
	{"ListPaging", testAuditPaging},
}

func (f *fx) appendAudit(as ...*escalated.AuditRecord) {
	f.t.Helper()
	f.update(func(tx store.Tx) error {
		for _, a := range as {
			if err := tx.AppendAudit(f.ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
}

func testAuditRoundTrip(t *testing.T, f *fx) {
	a := f.audit()
	b := f.audit(func(a *escalated.AuditRecord) { a.Details = nil; a.Action = escalated.AuditPolicyLoaded })
	c := f.audit()
	f.appendAudit(a, b, c)
	f.view(func(tx store.Tx) error {
		got, cursor, err := tx.ListAudit(f.ctx, store.AuditFilter{})
		if err != nil {
			return err
		}
		equal(t, "audit trail", got, []*escalated.AuditRecord{wantAudit(c), wantAudit(b), wantAudit(a)})
		if cursor != "" {
			t.Errorf("cursor %q on a complete page", cursor)
		}
		return nil
	})
}

func testAuditDuplicate(t *testing.T, f *fx) {
	a := f.audit()
	f.appendAudit(a)
	again := *a
	again.Action = "rewritten"
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.AppendAudit(f.ctx, &again) })
	wantCode(t, err, escalated.ECONFLICT)
	f.view(func(tx store.Tx) error {
		got, _, err := tx.ListAudit(f.ctx, store.AuditFilter{})
		if err != nil {
			return err
		}
		equal(t, "audit trail after a duplicate", got, []*escalated.AuditRecord{wantAudit(a)})
		return nil
	})
}

func testAuditFilters(t *testing.T, f *fx) {
	mk := func(kind, id, action string) *escalated.AuditRecord {
		return f.audit(func(a *escalated.AuditRecord) { a.ObjectKind, a.ObjectID, a.Action = kind, id, action })
	}
	a := mk("escalation", "esc_1", escalated.AuditEscalationCreated)
	b := mk("escalation", "esc_2", escalated.AuditEscalationCreated)
	c := mk("escalation", "esc_1", escalated.AuditEscalationAcknowledged)
	d := mk("policy", "3", escalated.AuditPolicyLoaded)
	e := mk("token", "tok_1", escalated.AuditTokenCreated)
	f.appendAudit(a, b, c, d, e)
	cases := []struct {
		name   string
		filter store.AuditFilter
		want   []*escalated.AuditRecord
	}{
		{"none", store.AuditFilter{}, []*escalated.AuditRecord{a, b, c, d, e}},
		{"object kind", store.AuditFilter{ObjectKind: "escalation"}, []*escalated.AuditRecord{a, b, c}},
		{"object", store.AuditFilter{ObjectKind: "escalation", ObjectID: "esc_1"}, []*escalated.AuditRecord{a, c}},
		{"object id alone", store.AuditFilter{ObjectID: "esc_1"}, []*escalated.AuditRecord{a, c}},
		{"action", store.AuditFilter{Action: escalated.AuditEscalationCreated}, []*escalated.AuditRecord{a, b}},
		{"object and action", store.AuditFilter{ObjectID: "esc_1", Action: escalated.AuditEscalationAcknowledged}, []*escalated.AuditRecord{c}},
		{"no match", store.AuditFilter{ObjectKind: "ticket"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := f.in(t)
			f.view(func(tx store.Tx) error {
				got, _, err := tx.ListAudit(f.ctx, tc.filter)
				if err != nil {
					return err
				}
				equalIDs(t, "audit", ids(got, auditID), newestFirst(ids(tc.want, auditID)...))
				return nil
			})
		})
	}
}

func testAuditPaging(t *testing.T, f *fx) {
	var all []*escalated.AuditRecord
	for i := range 11 {
		all = append(all, f.audit(func(a *escalated.AuditRecord) { a.ObjectID = fmt.Sprint("esc_", i%2) }))
	}
	f.appendAudit(all...)
	for _, limit := range []int{1, 3, 11} {
		got := pageAll(t, limit, func(cursor string, limit int) (out []string, next string, err error) {
			err = f.s.View(f.ctx, func(tx store.Tx) error {
				items, c, err := tx.ListAudit(f.ctx, store.AuditFilter{Cursor: cursor, Limit: limit})
				out, next = ids(items, auditID), c
				return err
			})
			return out, next, err
		})
		equalIDs(t, fmt.Sprintf("limit %d", limit), got, newestFirst(ids(all, auditID)...))
	}
}

var tokenTests = []test{
	{"RoundTripByHash", testTokenRoundTrip},
	{"ByHashNotFound", testTokenNotFound},
	{"DuplicateIsConflict", testTokenDuplicate},
	{"Touch", testTokenTouch},
	{"ListNewestFirst", testTokenList},
	{"Revoke", testTokenRevoke},
}

func testTokenRevoke(t *testing.T, f *fx) {
	exp := f.tick().Add(90 * 24 * time.Hour)
	tok := f.token(func(tk *escalated.Token) { tk.ExpiresAt = &exp })
	f.update(func(tx store.Tx) error { return tx.CreateToken(f.ctx, tok) })
	at := f.tick().Add(1500 * time.Microsecond)
	var got *escalated.Token
	f.update(func(tx store.Tx) error {
		var err error
		got, err = tx.RevokeToken(f.ctx, tok.ID, at)
		return err
	})
	want := *tok
	want.RevokedAt = &at
	equal(t, "revoked token as answered", got, wantToken(&want))
	f.view(func(tx store.Tx) error {
		stored, err := tx.TokenByHash(f.ctx, tok.Hash)
		if err != nil {
			return err
		}
		equal(t, "revoked token as stored (with its expiry)", stored, wantToken(&want))
		return nil
	})
	err := f.s.Update(f.ctx, func(tx store.Tx) error { _, err := tx.RevokeToken(f.ctx, tok.ID, at); return err })
	wantCode(t, err, escalated.ECONFLICT)
	wantMessageNames(t, err, tok.ID, "revoked")
	err = f.s.Update(f.ctx, func(tx store.Tx) error { _, err := tx.RevokeToken(f.ctx, "tok_missing", at); return err })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, "tok_missing")
}

func testTokenRoundTrip(t *testing.T, f *fx) {
	tok := f.token()
	fresh := f.token(func(tk *escalated.Token) { tk.LastUsedAt = nil })
	revoked := f.token(func(tk *escalated.Token) { r := tk.CreatedAt.Add(time.Hour); tk.RevokedAt = &r })
	ana := f.token(func(tk *escalated.Token) { tk.Role, tk.Agent = escalated.RoleAgent, "ana" })
	f.update(func(tx store.Tx) error {
		for _, tk := range []*escalated.Token{tok, fresh, revoked, ana} {
			if err := tx.CreateToken(f.ctx, tk); err != nil {
				return err
			}
		}
		return nil
	})
	f.view(func(tx store.Tx) error {
		for _, tk := range []*escalated.Token{tok, fresh, revoked, ana} {
			// Revoked tokens are found too: the caller decides, and can say "revoked".
			got, err := tx.TokenByHash(f.ctx, tk.Hash)
			if err != nil {
				return err
			}
			equal(t, "token "+tk.ID, got, wantToken(tk))
		}
		return nil
	})
}

func testTokenNotFound(t *testing.T, f *fx) {
	f.update(func(tx store.Tx) error { return tx.CreateToken(f.ctx, f.token()) })
	err := f.s.View(f.ctx, func(tx store.Tx) error { _, err := tx.TokenByHash(f.ctx, "sha256:unknown"); return err })
	wantCode(t, err, escalated.ENOTFOUND)
}

func testTokenDuplicate(t *testing.T, f *fx) {
	tok := f.token()
	f.update(func(tx store.Tx) error { return tx.CreateToken(f.ctx, tok) })
	sameID := f.token(func(tk *escalated.Token) { tk.ID = tok.ID })
	sameHash := f.token(func(tk *escalated.Token) { tk.Hash = tok.Hash })
	for name, tk := range map[string]*escalated.Token{"id": sameID, "hash": sameHash} {
		err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.CreateToken(f.ctx, tk) })
		if escalated.ErrorCode(err) != escalated.ECONFLICT {
			t.Errorf("duplicate %s: got %v, want a conflict", name, err)
		}
	}
}

func testTokenTouch(t *testing.T, f *fx) {
	tok := f.token(func(tk *escalated.Token) { tk.LastUsedAt = nil })
	f.update(func(tx store.Tx) error { return tx.CreateToken(f.ctx, tok) })
	used := f.tick().Add(123456 * time.Nanosecond)
	f.update(func(tx store.Tx) error { return tx.TouchToken(f.ctx, tok.ID, used) })
	f.view(func(tx store.Tx) error {
		got, err := tx.TokenByHash(f.ctx, tok.Hash)
		if err != nil {
			return err
		}
		want := *tok
		want.LastUsedAt = &used
		equal(t, "touched token", got, wantToken(&want))
		return nil
	})
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.TouchToken(f.ctx, "tok_missing", used) })
	wantCode(t, err, escalated.ENOTFOUND)
	wantMessageNames(t, err, "tok_missing")
}

func testTokenList(t *testing.T, f *fx) {
	f.view(func(tx store.Tx) error {
		got, err := tx.ListTokens(f.ctx)
		if err != nil {
			return err
		}
		if len(got) != 0 {
			t.Errorf("empty store lists %d tokens", len(got))
		}
		return nil
	})
	a, b, c := f.token(), f.token(), f.token()
	f.update(func(tx store.Tx) error {
		for _, tk := range []*escalated.Token{b, a, c} {
			if err := tx.CreateToken(f.ctx, tk); err != nil {
				return err
			}
		}
		return nil
	})
	f.view(func(tx store.Tx) error {
		got, err := tx.ListTokens(f.ctx)
		if err != nil {
			return err
		}
		equal(t, "tokens", got, []*escalated.Token{wantToken(c), wantToken(b), wantToken(a)})
		return nil
	})
}

var policyTests = []test{
	{"NumberedFromOne", testPolicyVersions},
	{"EmptyStoreHasNoLatest", testPolicyEmpty},
	{"SameTextKeepsVersion", testPolicySameHash},
}

// testPolicySameHash: saving the text the newest version already has stores nothing, so nodes
// that start together with one file agree on one version.
func testPolicySameHash(t *testing.T, f *fx) {
	a := &escalated.PolicyVersion{Hash: "sha256:a", Source: "version: 1\n", Actor: "node-1", CreatedAt: f.tick()}
	f.update(func(tx store.Tx) error { return tx.SavePolicy(f.ctx, a) })
	again := &escalated.PolicyVersion{Hash: "sha256:a", Source: "version: 1\n", Actor: "node-2", CreatedAt: f.tick()}
	f.update(func(tx store.Tx) error { return tx.SavePolicy(f.ctx, again) })
	if again.Version != a.Version {
		t.Fatalf("same text saved as version %d, newest is %d", again.Version, a.Version)
	}
	b := &escalated.PolicyVersion{Hash: "sha256:b", Source: "version: 1\n# b\n", Actor: "node-1", CreatedAt: f.tick()}
	f.update(func(tx store.Tx) error { return tx.SavePolicy(f.ctx, b) })
	back := &escalated.PolicyVersion{Hash: "sha256:a", Source: "version: 1\n", Actor: "node-1", CreatedAt: f.tick()}
	f.update(func(tx store.Tx) error { return tx.SavePolicy(f.ctx, back) })
	if b.Version != a.Version+1 || back.Version != b.Version+1 {
		t.Fatalf("versions a=%d b=%d back-to-a=%d: going back to earlier text is a new version", a.Version, b.Version, back.Version)
	}
}

func testPolicyVersions(t *testing.T, f *fx) {
	var saved []*escalated.PolicyVersion
	for i := range 3 {
		p := &escalated.PolicyVersion{Hash: fmt.Sprintf("sha256:%d", i), Source: fmt.Sprintf("version: 1\n# revision %d\n", i),
			Actor: "token:admin", CreatedAt: f.tick()}
		// One per Update: numbering must hold across transactions, not only within one.
		f.update(func(tx store.Tx) error { return tx.SavePolicy(f.ctx, p) })
		if p.Version != int64(i+1) {
			t.Fatalf("save %d set Version %d, want %d", i+1, p.Version, i+1)
		}
		saved = append(saved, p)
	}
	f.view(func(tx store.Tx) error {
		latest, err := tx.LatestPolicy(f.ctx)
		if err != nil {
			return err
		}
		equal(t, "latest policy", latest, wantPolicy(saved[2]))
		for _, p := range saved {
			got, err := tx.GetPolicy(f.ctx, p.Version)
			if err != nil {
				return err
			}
			equal(t, fmt.Sprint("policy ", p.Version), got, wantPolicy(p))
		}
		_, err = tx.GetPolicy(f.ctx, 4)
		wantCode(t, err, escalated.ENOTFOUND)
		wantMessageNames(t, err, "4")
		all, err := tx.ListPolicies(f.ctx)
		if err != nil {
			return err
		}
		equalIDs(t, "policy versions newest first", ids(all, policyVer), []string{"3", "2", "1"})
		return nil
	})
}

func testPolicyEmpty(t *testing.T, f *fx) {
	err := f.s.View(f.ctx, func(tx store.Tx) error { _, err := tx.LatestPolicy(f.ctx); return err })
	wantCode(t, err, escalated.ENOTFOUND)
	f.view(func(tx store.Tx) error {
		all, err := tx.ListPolicies(f.ctx)
		if err != nil {
			return err
		}
		if len(all) != 0 {
			t.Errorf("empty store lists %d policies", len(all))
		}
		return nil
	})
}
