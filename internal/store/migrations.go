package store

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one numbered schema change of a store.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads a store's embedded migrations matching glob, in version order. A file name
// must start with its version number ("0002_add_x.sql"); a duplicate or missing number is a
// build mistake and fails loudly rather than leaving a hole in the schema history.
func Migrations(fsys fs.FS, glob string) ([]Migration, error) {
	entries, err := fs.Glob(fsys, glob)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range entries {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		if !ok {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", base)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must start with a version number from 1", base)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(body)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d (versions must be 1, 2, 3...)", m.Name, i+1)
		}
	}
	return ms, nil
}

// SchemaError is what a read-only open (sqlite.ReadOnly, postgres.ReadOnly) returns for a
// database it cannot read as it is: one at another schema version than this build's, or one
// whose report rollups have not been computed yet. A read-only open changes nothing, so it cannot
// bring the database up to date itself; the caller says how to.
type SchemaError struct {
	// Database names the SQLite file or the PostgreSQL schema.
	Database string
	// Version is the database's schema version; Want is this build's (its newest migration).
	Version, Want int
	// RollupsPending is set when the version is this build's but the one-time computation of the
	// report rollups, which a read-write open runs after migrating past version 11, has not run
	// (or did not finish).
	RollupsPending bool
}

func (e *SchemaError) Error() string {
	switch {
	case e.Version < e.Want:
		return fmt.Sprintf("%s is at schema version %d, older than this build's %d", e.Database, e.Version, e.Want)
	case e.Version > e.Want:
		return fmt.Sprintf("%s is at schema version %d, newer than this build's %d", e.Database, e.Version, e.Want)
	}
	return fmt.Sprintf("%s has no report rollups yet (schema version %d)", e.Database, e.Version)
}
