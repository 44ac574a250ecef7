package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

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

// syncBatch is one committed batch waiting for the sync that makes it durable: the callers
// whose fns succeeded, and those whose fns failed in the same transaction, answered with their
// own errors once the log is synced (their errors may rest on what earlier fns wrote).
type syncBatch struct {
	ran    []*request
	failed []failedRequest
}

// failedRequest is a request whose fn failed, its writes undone (commit.go).
type failedRequest struct {
	r   *request
	err error
}

// walSyncer syncs the database's write-ahead log. fsync flushes the file, not only what one
// descriptor wrote (POSIX: "all modified data" of the file), so a descriptor of our own flushes
// the frames SQLite's descriptor wrote.
type walSyncer struct {
	// sync is the flush itself: (*os.File).Sync, replaced in tests that need a disk that fails
	// or stalls. It is the edge of what this package owns.
	sync func(*os.File) error

	mu     sync.Mutex
	path   string      // the log, as SQLite names it (setPath); "" until known
	file   *os.File    // the log as last synced
	info   fs.FileInfo // file's identity when opened
	closed bool
}

func newWALSyncer() *walSyncer {
	return &walSyncer{sync: (*os.File).Sync}
}

// setPath sets the log's name: the database file's name as SQLite resolved it (through symbolic
// links and the working directory at Open) with -wal appended, which is where SQLite keeps it.
func (s *walSyncer) setPath(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.path = path
}

// Sync flushes the log to disk. The log is looked up again on every call, and opened again if
// it is another file than the one held: SQLite deletes it when the last connection closes and
// creates a new one on the next open, after a checkpoint that synced every frame of the old one
// into the database file. A log that is missing is an error, never a reason to sync something
// else: the database file is not opened here at all, since closing any descriptor of it would
// drop SQLite's POSIX locks on it.
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

// target returns an open descriptor of the log, reopening it when its name now points at
// another file than the one held.
func (s *walSyncer) target() (*os.File, error) {
	if s.closed {
		return nil, errClosed()
	}
	if s.path == "" {
		return nil, escalated.Errorf(escalated.EINTERNAL, "sync: the write-ahead log's name is not known yet")
	}
	info, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the write-ahead log %s is missing", s.path)
	}
	if err != nil {
		return nil, fmt.Errorf("look up the write-ahead log %s: %w", s.path, err)
	}
	if s.file != nil && os.SameFile(info, s.info) {
		return s.file, nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("open the write-ahead log %s to sync it: %w", s.path, err)
	}
	// The identity of what was opened, not of what was looked up: the name may have moved on
	// in between, and then the next call opens it again.
	if info, err = f.Stat(); err != nil {
		f.Close()
		return nil, fmt.Errorf("look up the write-ahead log %s: %w", s.path, err)
	}
	s.release()
	s.file, s.info = f, info
	return f, nil
}

// Close releases the descriptor held, if any; later syncs fail.
func (s *walSyncer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.release()
}

func (s *walSyncer) release() error {
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
			err = db.syncLog()
		}
		db.finishBatch(b.ran, b.failed, err)
	}
	if err := db.wal.Close(); err != nil {
		db.log.Warn("close the write-ahead log's sync descriptor", "path", db.path, "err", err)
	}
}

// finishBatch answers a batch's callers and gives the writer the syncer's token back. The
// callers whose fns succeeded get nil and their changes announced when err is nil (the batch
// is durable), err otherwise (a failed commit or sync: the writes may or may not survive a
// power loss, so neither success nor the changes can be claimed); those whose fns failed get
// their own errors.
func (db *DB) finishBatch(ran []*request, failed []failedRequest, err error) {
	for _, r := range ran {
		if err == nil {
			db.hub.Publish(r.changes...)
		}
		r.answer(db, err)
	}
	for _, f := range failed {
		f.r.answer(db, f.err)
	}
	db.syncFree <- struct{}{}
}

// failSync records that a sync failed. From then on every write is refused: Linux reports a
// failed writeback once and then marks the pages clean, so a later sync that succeeds proves
// nothing about the frames the failed one held, and the log's checksums chain every later
// frame to them. Nothing in this process can tell what reached the disk; an operator restarts
// the node (after a reboot, SQLite recovers the log from what the disk really holds).
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
	return db.syncLog()
}

// syncLog syncs the log once, recording how long it took; a failure refuses every later write
// (failSync).
func (db *DB) syncLog() error {
	start := time.Now()
	if err := db.wal.Sync(); err != nil {
		return db.failSync(err)
	}
	db.syncTimes.add(start, time.Since(start))
	return nil
}
