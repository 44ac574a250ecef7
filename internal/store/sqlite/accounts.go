package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/escalated/escalated"
)

const sqlUpsertAccount = `INSERT INTO accounts (id, name, tier, attributes) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, tier = excluded.tier, attributes = excluded.attributes`

// UpsertAccount inserts the account or overwrites every field of the stored one: the newest
// data a ticket brought wins.
func (t *tx) UpsertAccount(ctx context.Context, a *escalated.Account) error {
	attrs, err := mapText(a.Attributes)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, sqlUpsertAccount,
		a.ID, a.Name, a.Tier, attrs)
	if err == nil {
		return nil // the messages below are built only for an error
	}
	return writeErr(err, "upsert account "+a.ID, "", "")
}

// GetAccount returns one account.
func (t *tx) GetAccount(ctx context.Context, id string) (*escalated.Account, error) {
	var (
		a     escalated.Account
		attrs string
	)
	err := t.queryRow(ctx, `SELECT id, name, tier, attributes FROM accounts WHERE id = ?`, id).
		Scan(&a.ID, &a.Name, &a.Tier, &attrs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("account", id)
	} else if err != nil {
		return nil, fmt.Errorf("get account %s: %w", id, err)
	}
	if a.Attributes, err = parseMap(attrs); err != nil {
		return nil, err
	}
	return &a, nil
}

const sqlUpsertCustomer = `INSERT INTO customers (id, name, email, account_id) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, account_id = excluded.account_id`

// UpsertCustomer inserts the customer or overwrites every field of the stored one.
func (t *tx) UpsertCustomer(ctx context.Context, c *escalated.Customer) error {
	_, err := t.exec(ctx, sqlUpsertCustomer,
		c.ID, c.Name, c.Email, c.AccountID)
	if err == nil {
		return nil // the messages below are built only for an error
	}
	return writeErr(err, "upsert customer "+c.ID, "", "")
}

// GetCustomer returns one customer.
func (t *tx) GetCustomer(ctx context.Context, id string) (*escalated.Customer, error) {
	var c escalated.Customer
	err := t.queryRow(ctx, `SELECT id, name, email, account_id FROM customers WHERE id = ?`, id).
		Scan(&c.ID, &c.Name, &c.Email, &c.AccountID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("customer", id)
	} else if err != nil {
		return nil, fmt.Errorf("get customer %s: %w", id, err)
	}
	return &c, nil
}
