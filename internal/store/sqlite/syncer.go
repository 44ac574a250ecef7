package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/escalated/escalated"
)

// Making a commit durable off the writer (docs/adr/0006-syncing-the-log-off-the-writer.md).
//
// The writer connection runs synchronous=NORMAL: its COMMIT appends the batch's frames to the
// write-ahead log without an fsync. SQLite documents FULL as exactly NORMAL plus one sync of the
// log after each commit; the syncer makes that sync, on its own goroutine, and only then answers
// the batch's callers and announces their changes. The writer meanwhile runs the next batch, so
// the disk flush and the next batch's statements overlap instead of taking turns. One batch is
// being synced at a time: the writer commits the next once the syncer is free (commit.go's run),
// so a batch holds everything that arrived during the previous sync, as before.
//
// What a caller is promised does not change: Update returns nil only once its writes are on
// disk, in a log whose earlier frames are on disk too. What does change: between a COMMIT and
// its sync, other connections can read the batch (SQLite makes a commit visible at once). A
// power loss in that window (about a millisecond) undoes writes that a reader may have seen;
// no caller was told they succeeded. A kill -9 of the process loses nothing committed, since
// the operating system still holds the frames.

// syncBatch is one committed batch waiting for the sync that makes it durable.
type syncBatch struct {
	ran []*request
}

// walSyncer syncs the database's write-ahead log. fsync is a property of the file, not of the
// descriptor (POSIX: it transfers "all modified data" of the file), so a descriptor of our own
// flushes the frames SQLite's descriptor wrote.
type walSyncer struct {
	path string // the database file; its log is path + "-wal"

	// sync is the flush itself: (*os.File).Sync, replaced in tests that need a disk that fails
	// or stalls. It is the edge of what this package owns.
	sync func(*os.File) error

	mu   sync.Mutex
	file *os.File    // the log (or, while there is none, the database file) last synced
	info fs.FileInfo // file's identity when opened
}

func newWALSyncer(path string) *walSyncer {
	return &walSyncer{path: path, sync: (*os.File).Sync}
}

// Sync flushes the log to disk. The file is looked up again on every call: SQLite deletes the
// log when the last connection closes and creates a new one (another inode) on the next open,
// and syncing a descriptor of the deleted file would flush nothing that matters. Without a
// log, every commit has been checkpointed into the database file, which is synced instead.
func (s *walSyncer) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.target()
	if err != nil {
		return err
	}
	if err := s.sync(f); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	return nil
}

// target returns an open descriptor of the file to sync, reopening it when the name now points
// at another file than the one held.
func (s *walSyncer) target() (*os.File, error) {
	for _, name := range []string{s.path + "-wal", s.path} {
		info, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("look up %s to sync it: %w", name, err)
		}
		if s.file != nil && s.file.Name() == name && os.SameFile(info, s.info) {
			return s.file, nil
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("open %s to sync it: %w", name, err)
		}
		// The identity of what was opened, not of what was looked up: the name may have moved on
		// in between, and then the next call opens it again.
		if info, err = f.Stat(); err != nil {
			f.Close()
			return nil, fmt.Errorf("look up %s to sync it: %w", name, err)
		}
		s.Close()
		s.file, s.info = f, info
		return f, nil
	}
	return nil, fmt.Errorf("sync: neither %s-wal nor %s exists", s.path, s.path)
}

// Close releases the descriptor held, if any.
func (s *walSyncer) Close() error {
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file, s.info = nil, nil
	return err
}

// runSyncer is the syncer goroutine: it syncs the log for each batch the writer committed,
// answers the batch's callers, and gives the writer its token back (db.syncFree) so that it
// commits the next batch. It exits once the writer has closed db.toSync.
func (db *DB) runSyncer() {
	defer close(db.syncDone)
	for b := range db.toSync {
		err := db.syncErr()
		if err == nil {
			if serr := db.wal.Sync(); serr != nil {
				err = db.failSync(serr)
			} else {
				db.stats.syncs.Add(1)
			}
		}
		db.answerCommitted(b.ran, err)
		db.syncFree <- struct{}{}
	}
	db.wal.mu.Lock()
	defer db.wal.mu.Unlock()
	if err := db.wal.Close(); err != nil {
		db.log.Warn("close the write-ahead log's sync descriptor", "path", db.path, "err", err)
	}
}

// answerCommitted answers a committed batch's callers: nil and their changes announced when
// the sync made the batch durable, the sync's error otherwise (the writes may or may not
// survive a power loss, so neither success nor the changes can be claimed).
func (db *DB) answerCommitted(ran []*request, err error) {
	for _, r := range ran {
		if err == nil {
			db.hub.Publish(r.changes...)
		}
		r.answer(db, err)
	}
}

// failSync records that a sync failed. From then on every write is refused: Linux reports a
// failed writeback once and then marks the pages clean, so a later sync that succeeds proves
// nothing about the frames the failed one held, and the log's checksums chain every later
// frame to them. Only a restart, which recovers the log from what is really on disk, makes
// writing safe again.
func (db *DB) failSync(err error) error {
	var failed error = escalated.Errorf(escalated.EUNAVAILABLE,
		"the database's write-ahead log could not be synced to disk (%v): writes are refused until escalated restarts; writes acknowledged before this are durable", err)
	if db.syncFailed.CompareAndSwap(nil, &failed) {
		db.log.Error("write-ahead log sync failed: refusing every write until restart",
			"path", db.path, "err", err)
	}
	return *db.syncFailed.Load()
}

// syncErr is the error every write gets once a sync has failed, nil before.
func (db *DB) syncErr() error {
	if p := db.syncFailed.Load(); p != nil {
		return *p
	}
	return nil
}

// syncNow makes everything committed so far durable, on the calling goroutine: for the writes
// that bypass group commit on the writer connection (migrations, bulk loads, the raw
// baselines), whose commit must mean what synchronous=FULL would have made it mean.
func (db *DB) syncNow() error {
	if !db.pipelined {
		return nil
	}
	if err := db.syncErr(); err != nil {
		return err
	}
	if err := db.wal.Sync(); err != nil {
		return db.failSync(err)
	}
	db.stats.syncs.Add(1)
	return nil
}
