package sqlite

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/escalated/escalated/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in version order (see store.Migrations).
func migrations() ([]store.Migration, error) {
	return store.Migrations(migrationFiles, "migrations/*.sql")
}

// Migrate applies every embedded migration the database has not seen yet, in order, in one
// transaction: either the schema moves to the newest version or it stays where it was. Open
// calls it; it is exported for tools that want to migrate explicitly. Running it again is a
// no-op.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	// The writer begins IMMEDIATE, so two processes opening the same file migrate one after
	// the other and the second sees what the first applied.
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("migrate: database %s is at schema version %d but this build knows only %d: upgrade escalated", db.path, current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migrate: apply %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
			m.Version, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("migrate: record %s: %w", m.Name, err)
		}
		db.log.Info("applied migration", "path", db.path, "version", m.Version, "name", m.Name)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	if current == len(ms) {
		return nil // nothing written: no sync to wait for at every start
	}
	if err := db.syncNow(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// SchemaVersion returns the newest migration applied to the database (0 for none).
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.readers.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}
