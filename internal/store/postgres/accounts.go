package postgres

import (
	"context"

	"github.com/escalated/escalated"
)

// dialect: $n placeholders (SQLite: ?); EXCLUDED in upper case is the same pseudo-table as
// SQLite's excluded.
const sqlUpsertAccount = `INSERT INTO accounts (id, name, tier, attributes) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, tier = EXCLUDED.tier, attributes = EXCLUDED.attributes`

// UpsertAccount inserts the account or overwrites every field of the stored one: the newest
// data a ticket brought wins.
func (t *tx) UpsertAccount(ctx context.Context, a *escalated.Account) error {
	attrs, err := mapText(a.Attributes)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, sqlUpsertAccount, a.ID, a.Name, a.Tier, attrs)
	return writeErr(err, "upsert account "+a.ID, "", "")
}

const (
	// dialect: $1 placeholder (SQLite: ?).
	sqlGetAccount = `SELECT id, name, tier, attributes FROM accounts WHERE id = $1`
	// dialect: a row lock inside Update (SQLite needs none: it has one writer). Services read an
	// account in order to merge new data into it; the lock makes two nodes merging into the same
	// account take turns instead of the second overwriting the first's merge.
	sqlGetAccountForUpdate = sqlGetAccount + ` FOR NO KEY UPDATE`
)

// GetAccount returns one account; inside Update it locks it until the transaction ends.
func (t *tx) GetAccount(ctx context.Context, id string) (*escalated.Account, error) {
	var (
		a     escalated.Account
		attrs []byte
	)
	q := sqlGetAccount
	if t.write {
		q = sqlGetAccountForUpdate
	}
	err := t.queryRow(ctx, q, id).Scan(&a.ID, &a.Name, &a.Tier, &attrs)
	if err != nil {
		return nil, readErr(err, "account", id)
	}
	if a.Attributes, err = parseMap(attrs); err != nil {
		return nil, err
	}
	return &a, nil
}

// dialect: $n placeholders (SQLite: ?).
const sqlUpsertCustomer = `INSERT INTO customers (id, name, email, account_id) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, account_id = EXCLUDED.account_id`

// UpsertCustomer inserts the customer or overwrites every field of the stored one.
func (t *tx) UpsertCustomer(ctx context.Context, c *escalated.Customer) error {
	_, err := t.exec(ctx, sqlUpsertCustomer, c.ID, c.Name, c.Email, c.AccountID)
	return writeErr(err, "upsert customer "+c.ID, "", "")
}

const (
	// dialect: $1 placeholder (SQLite: ?).
	sqlGetCustomer = `SELECT id, name, email, account_id FROM customers WHERE id = $1`
	// dialect: a row lock inside Update, as for accounts.
	sqlGetCustomerForUpdate = sqlGetCustomer + ` FOR NO KEY UPDATE`
)

// GetCustomer returns one customer; inside Update it locks it until the transaction ends.
func (t *tx) GetCustomer(ctx context.Context, id string) (*escalated.Customer, error) {
	var c escalated.Customer
	q := sqlGetCustomer
	if t.write {
		q = sqlGetCustomerForUpdate
	}
	err := t.queryRow(ctx, q, id).Scan(&c.ID, &c.Name, &c.Email, &c.AccountID)
	if err != nil {
		return nil, readErr(err, "customer", id)
	}
	return &c, nil
}
