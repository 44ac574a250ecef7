package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/escalated/escalated"
)

// Backup writes a consistent copy of the database to dest while the store keeps serving reads
// and writes; see BackupFile.
func (db *DB) Backup(ctx context.Context, dest string) error {
	if db.isClosed() {
		return errClosed()
	}
	return BackupFile(ctx, db.path, dest)
}

// BackupFile writes a consistent copy of the database file src to dest while nodes may be
// writing to it. It opens src read-only on a connection of its own, without migrating it or
// creating anything, and copies it with VACUUM INTO: one statement in one read transaction, so
// the copy is the database as of one commit (WAL mode lets writers go on meanwhile). The copy is
// made in a temporary file beside dest, checked (PRAGMA integrity_check, a schema version), set
// to the rollback journal so that it is one self-contained file, synced, and only then given the
// name dest. dest must not exist: a backup never replaces a file, also not one created while it
// ran.
func BackupFile(ctx context.Context, src, dest string) error {
	if err := mustExist(src); err != nil {
		return err
	}
	if err := mustNotExist(dest, "backup file"); err != nil {
		return err
	}
	conn, err := openReadOnly(src)
	if err != nil {
		return fmt.Errorf("backup %s: %w", src, err)
	}
	defer conn.Close()
	if _, err := schemaVersionOf(ctx, conn, src); err != nil {
		return err
	}
	tmp, cleanup, err := tempBeside(dest)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	defer cleanup()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		return fmt.Errorf("backup %s to %s: %w", src, dest, err)
	}
	conn.Close()
	if _, err := finishCopy(ctx, tmp); err != nil {
		return fmt.Errorf("backup %s to %s: the copy fails its check: %w", src, dest, err)
	}
	// A hard link gives the copy its name only if the name is still free; it fails rather than
	// replacing a file that appeared meanwhile.
	if err := os.Link(tmp, dest); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return escalated.Invalid("FILE", fmt.Sprintf("%s already exists (it appeared during the backup); a backup never replaces a file: choose a new name", dest))
		}
		// Some file systems have no hard links: rename, having looked once more.
		if err2 := mustNotExist(dest, "backup file"); err2 != nil {
			return err2
		}
		if err := os.Rename(tmp, dest); err != nil {
			return fmt.Errorf("backup to %s: %w", dest, err)
		}
	}
	return syncDir(filepath.Dir(dest))
}

// CheckBackup opens the backup file at path read-only and checks it as Restore does: it passes
// PRAGMA integrity_check and has a schema version this build knows. It returns the version.
func CheckBackup(ctx context.Context, path string) (int, error) {
	if err := mustExist(path); err != nil {
		return 0, err
	}
	conn, err := openReadOnly(path)
	if err != nil {
		return 0, fmt.Errorf("open backup %s: %w", path, err)
	}
	defer conn.Close()
	if err := integrityCheck(ctx, conn); err != nil {
		return 0, fmt.Errorf("backup %s: %w", path, err)
	}
	return schemaVersionOf(ctx, conn, path)
}

// Restore puts the backup file at backup in place as the database file dest, for a node to
// start on; no node may have dest open. The backup must pass CheckBackup. When dest exists
// Restore refuses unless force is set, and even then only when dest is a SQLite database no
// connection has open (it must be able to switch it out of WAL mode, which SQLite allows only to
// the last connection; that also folds in and removes its -wal file). The backup is copied with
// VACUUM INTO to a temporary file beside dest, checked, synced and renamed to dest, so dest is
// at every moment the old database or the whole new one. It returns the restored schema version.
func Restore(ctx context.Context, backup, dest string, force bool) (int, error) {
	version, err := CheckBackup(ctx, backup)
	if err != nil {
		return 0, err
	}
	if same, _ := sameFile(backup, dest); same {
		return 0, escalated.Invalid("db", "is the backup file itself")
	}
	exists := true
	if _, err := os.Lstat(dest); errors.Is(err, fs.ErrNotExist) {
		exists = false
	} else if err != nil {
		return 0, err
	}
	switch {
	case exists && !force:
		return 0, escalated.Invalid("db", fmt.Sprintf("%s already exists; restore replaces a database only with --force, after every node using it has stopped", dest))
	case exists:
		if err := releaseWAL(ctx, dest); err != nil {
			return 0, err
		}
	}
	for _, side := range []string{dest + "-wal", dest + "-journal"} {
		if _, err := os.Lstat(side); err == nil {
			return 0, escalated.Invalid("db", fmt.Sprintf("%s exists: a node may be running on %s, or it stopped without cleaning up; start and stop it once, or remove the file if the database is to be replaced", side, dest))
		}
	}
	conn, err := openReadOnly(backup)
	if err != nil {
		return 0, fmt.Errorf("open backup %s: %w", backup, err)
	}
	defer conn.Close()
	tmp, cleanup, err := tempBeside(dest)
	if err != nil {
		return 0, fmt.Errorf("restore to %s: %w", dest, err)
	}
	defer cleanup()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		return 0, fmt.Errorf("restore %s to %s: %w", backup, dest, err)
	}
	conn.Close()
	if _, err := finishCopy(ctx, tmp); err != nil {
		return 0, fmt.Errorf("restore %s to %s: the copy fails its check: %w", backup, dest, err)
	}
	if force {
		err = os.Rename(tmp, dest)
	} else if err = os.Link(tmp, dest); errors.Is(err, fs.ErrExist) {
		return 0, escalated.Invalid("db", fmt.Sprintf("%s appeared during the restore; nothing was replaced", dest))
	} else if err != nil {
		err = os.Rename(tmp, dest)
	}
	if err != nil {
		return 0, fmt.Errorf("restore to %s: %w", dest, err)
	}
	// A -shm file of the old database holds only an index of its WAL, which is gone; SQLite
	// rebuilds it, but removing it leaves nothing of the old database beside the new one.
	_ = os.Remove(dest + "-shm")
	return version, syncDir(filepath.Dir(dest))
}

// releaseWAL makes sure no connection has the existing database dest open, by switching it to
// the rollback journal: SQLite allows that only to the one connection left, and checkpoints and
// deletes the -wal file as it does.
func releaseWAL(ctx context.Context, dest string) error {
	conn, err := sql.Open("sqlite", plainDSN(dest, "_pragma=busy_timeout(200)"))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode=DELETE").Scan(&mode); err != nil {
		if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "busy") {
			return escalated.Invalid("db", fmt.Sprintf("%s is in use: stop every node using it, then restore", dest))
		}
		return escalated.Invalid("db", fmt.Sprintf("%s is not a database restore can safely replace (%v); move it away yourself", dest, err))
	}
	if mode != "delete" {
		return escalated.Invalid("db", fmt.Sprintf("%s is in use (it stays in %s mode): stop every node using it, then restore", dest, mode))
	}
	return conn.Close()
}

// finishCopy checks a fresh copy, switches it to the rollback journal (VACUUM INTO keeps the
// source's WAL flag, and a WAL database is more than one file while it is open) and syncs it.
func finishCopy(ctx context.Context, path string) (int, error) {
	conn, err := sql.Open("sqlite", plainDSN(path))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode=DELETE").Scan(&mode); err != nil {
		return 0, err
	}
	if err := integrityCheck(ctx, conn); err != nil {
		return 0, err
	}
	v, err := schemaVersionOf(ctx, conn, path)
	if err != nil {
		return 0, err
	}
	if err := conn.Close(); err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return v, f.Sync()
}

func integrityCheck(ctx context.Context, conn *sql.DB) error {
	rows, err := conn.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check failed: %s", strings.Join(problems, "; "))
	}
	return nil
}

// schemaVersionOf reads the schema version of an escalated database and refuses a file that is
// none, or one migrated by a newer build.
func schemaVersionOf(ctx context.Context, conn *sql.DB, path string) (int, error) {
	var v int
	err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, escalated.Invalid("db", fmt.Sprintf("%s is not an escalated database (%v)", path, err))
	}
	ms, err := migrations()
	if err != nil {
		return 0, err
	}
	if v == 0 {
		return 0, escalated.Invalid("db", fmt.Sprintf("%s is not an escalated database (no migration applied)", path))
	}
	if v > len(ms) {
		return 0, escalated.Invalid("db", fmt.Sprintf("%s is at schema version %d but this build knows only %d: use a newer escalated", path, v, len(ms)))
	}
	return v, nil
}

// openReadOnly opens a database file for reading only: nothing is created or migrated.
func openReadOnly(path string) (*sql.DB, error) {
	conn, err := sql.Open("sqlite", plainDSN(path, "mode=ro", "_pragma=busy_timeout(5000)"))
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	return conn, nil
}

// plainDSN is dsn without the store's pragmas (no WAL switch, no foreign keys).
func plainDSN(path string, params ...string) string {
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	if len(params) == 0 {
		return "file:" + escaped
	}
	return "file:" + escaped + "?" + strings.Join(params, "&")
}

func mustExist(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return escalated.Errorf(escalated.ENOTFOUND, "no database at %s: %v (give the --db a node runs with)", path, err)
	}
	if !fi.Mode().IsRegular() {
		return escalated.Invalid("db", fmt.Sprintf("%s is not a database file", path))
	}
	return nil
}

func mustNotExist(path, what string) error {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return escalated.Invalid("FILE", fmt.Sprintf("%s already exists; a backup never replaces a file: choose a new name", path))
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	return nil
}

// tempBeside creates an empty temporary file in path's directory (VACUUM INTO accepts an empty
// file), so that the final rename stays on one file system. cleanup removes what is left.
func tempBeside(path string) (string, func(), error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", nil, err
	}
	name := f.Name()
	f.Close()
	return name, func() {
		for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
			os.Remove(name + suffix)
		}
	}, nil
}

func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

// syncDir makes a new name in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
