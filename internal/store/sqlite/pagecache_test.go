package sqlite

import (
	"path/filepath"
	"testing"
)

// TestWriterPageCache: the writer connection gets the page cache WithPageCache asks for
// (DefaultPageCache when nothing is said; SQLite's own with 0); readers keep SQLite's default.
func TestWriterPageCache(t *testing.T) {
	const sqliteDefault = -2000 // SQLite's compiled-in default: 2,000 KiB
	for _, tc := range []struct {
		name         string
		opts         []Option
		writer, read int
	}{
		{"default", nil, -DefaultPageCache * 1024, sqliteDefault},
		{"asked", []Option{WithPageCache(16)}, -16 * 1024, sqliteDefault},
		{"sqlite's own", []Option{WithPageCache(0)}, sqliteDefault, sqliteDefault},
		{"negative ignored", []Option{WithPageCache(-5)}, -DefaultPageCache * 1024, sqliteDefault},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(t.Context(), filepath.Join(t.TempDir(), "c.db"), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var w, r int
			if err := db.writer.QueryRowContext(t.Context(), `PRAGMA cache_size`).Scan(&w); err != nil {
				t.Fatal(err)
			}
			if err := db.readers.QueryRowContext(t.Context(), `PRAGMA cache_size`).Scan(&r); err != nil {
				t.Fatal(err)
			}
			if w != tc.writer || r != tc.read {
				t.Fatalf("cache_size: writer %d, reader %d; want %d and %d", w, r, tc.writer, tc.read)
			}
			mib, err := db.WriterPageCache(t.Context())
			if want := -tc.writer / 1024; err != nil || mib != want {
				t.Fatalf("WriterPageCache %d MiB (%v), want %d", mib, err, want)
			}
		})
	}
}
