package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/escalated/escalated/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in version order (see store.Migrations).
func migrations() ([]store.Migration, error) {
	return store.Migrations(migrationFiles, "migrations/*.sql")
}

// migrationLockClass is the first key of the advisory lock that serialises migrations; the
// second is derived from the schema (lockKeyOf). Any constant works as long as nothing else in
// the database uses it: this one spells "esc2" in ASCII.
const migrationLockClass int32 = 0x65736332

// Migrate applies every embedded migration the schema has not seen yet, in order, in one
// transaction: either the schema moves to the newest version or it stays where it was. Open
// calls it; it is exported for tools that want to migrate explicitly. Running it again is a
// no-op, and a database migrated by a newer build is refused.
//
// Nodes that start together all call it: the first takes the advisory lock and migrates, the
// others wait for the lock and then find nothing to do.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	// dialect: an advisory lock held until the transaction ends (SQLite: BEGIN IMMEDIATE takes
	// the database's one write lock). Taken before anything else, the CREATEs below included:
	// two concurrent "CREATE ... IF NOT EXISTS" of the same object can both pass the check and
	// one then fails on the catalog's unique index.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, migrationLockClass, lockKeyOf(db.schema)); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	if db.createSchema {
		// dialect: schemas do not exist in SQLite.
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{db.schema}.Sanitize()); err != nil {
			return fmt.Errorf("migrate: create schema %s: %w", db.schema, err)
		}
	}
	// dialect: timestamptz with a default (SQLite: INTEGER unix milliseconds written by the store).
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("migrate: schema %s is at version %d but this build knows only %d: upgrade escalated",
			db.schema, current, len(ms))
	}
	for _, m := range ms[current:] {
		// Exec without arguments uses the simple protocol, which runs a file of several
		// statements (and the $$-quoted function body) as one.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("migrate: apply %s: %w", m.Name, err)
		}
		// dialect: $1 placeholder (SQLite: ?), applied_at from the server's clock.
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.Version); err != nil {
			return fmt.Errorf("migrate: record %s: %w", m.Name, err)
		}
		db.log.Info("applied migration", "schema", db.schema, "version", m.Version, "name", m.Name)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// SchemaVersion returns the newest migration applied to the schema (0 for none).
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := db.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}
