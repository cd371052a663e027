package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/groupcommit"
)

// readerConns is the size of the read-only pool. WAL readers do not block
// the writer or each other.
const readerConns = 4

// busyTimeoutMillis is how long a statement waits for a lock held by another
// process before it fails with SQLITE_BUSY (reported as ErrUnavailable).
const busyTimeoutMillis = 10000

//go:embed migrations/*.sql
var migrations embed.FS

var _ herald.Store = (*Store)(nil)

// Store is a herald.Store kept in one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	queries             // the Reader methods, on the read-only pool
	writer  *sql.DB     // one connection: Updates and LogRequest, serialized
	readers *sql.DB     // read-only connections for reads outside an Update
	read    *preparedDB // the Reader methods' statements on readers, prepared once

	queue      *groupcommit.Queue // Updates for the group writer (group.go)
	writerDone chan struct{}      // closed when the group writer has stopped
}

// Open opens the database at path, creating the file if it does not exist
// (its directory must), and brings the schema up to date. Close the Store
// when done.
func Open(ctx context.Context, path string) (*Store, error) {
	// The database holds tokens' log and every message: owner-only, like
	// the keys, whatever the umask and whether or not the file existed.
	// SQLite gives -wal and -shm the mode of the database file.
	if err := private(path); err != nil {
		return nil, err
	}
	writer, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, classify(err, "open %s", path)
	}
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}

	for _, side := range []string{path + "-wal", path + "-shm"} {
		if err := os.Chmod(side, fileMode); err != nil && !errors.Is(err, os.ErrNotExist) {
			writer.Close()
			return nil, fmt.Errorf("sqlite: restrict %s: %w", side, err)
		}
	}

	readers, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
	}
	readers.SetMaxOpenConns(readerConns)
	readers.SetMaxIdleConns(readerConns)
	if err := readers.PingContext(ctx); err != nil {
		readers.Close()
		writer.Close()
		return nil, classify(err, "open %s for reading", path)
	}
	read := newPreparedDB(readers)
	s := &Store{queries: queries{q: read}, writer: writer, readers: readers, read: read,
		queue: groupcommit.New(errClosed), writerDone: make(chan struct{})}
	go s.groupWriter()
	return s, nil
}

// fileMode is the mode of the database file and its -wal and -shm.
const fileMode = 0o600

// private creates the database file owner-only if it is missing, and makes
// an existing one owner-only.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	f.Close()
	if err := os.Chmod(path, fileMode); err != nil {
		return fmt.Errorf("sqlite: restrict %s: %w", path, err)
	}
	return nil
}

// dsn returns the driver's data source name for the file at path. Every
// connection gets WAL, synchronous=FULL (a commit is on disk before Update
// returns: a product guarantee), a busy timeout and foreign keys. The writer
// begins its transactions with BEGIN IMMEDIATE, taking the write lock up
// front so a transaction never fails to upgrade a read lock; readers are
// query-only.
func dsn(path string, writer bool) string {
	// The name is a URI: escape what would end its path part.
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	pragmas := []string{
		fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis),
		"journal_mode(WAL)",
		"synchronous(FULL)",
		"foreign_keys(1)",
	}
	if !writer {
		pragmas = append(pragmas, "query_only(1)")
	}
	var b strings.Builder
	b.WriteString("file:" + escaped + "?")
	for i, p := range pragmas {
		if i > 0 {
			b.WriteString("&")
		}
		b.WriteString("_pragma=" + p)
	}
	if writer {
		b.WriteString("&_txlock=immediate")
	}
	return b.String()
}

// migrate applies the embedded migrations that db lacks.
func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Update runs fn in a savepoint of a BEGIN IMMEDIATE transaction on the
// writer connection, which it may share with other Updates queued at the
// same time (group commit, see groupWriter), and returns nil only once that
// transaction is committed durably. If fn returns an error (or panics) its
// writes are rolled back and Update returns fn's error unchanged (or
// panics with the same value); the other Updates of the group are not
// affected. Updates are serialized: each sees the ones before it, which
// also makes NextSeq's lock trivially true. fn runs on the writer's
// goroutine; a ctx cancelled before fn starts fails the Update, after that
// it no longer interrupts it.
func (s *Store) Update(ctx context.Context, fn func(herald.Tx) error) error {
	return s.queue.Submit(ctx, fn, func(err error) error { return classify(err, "begin") })
}

// LockWaits returns how many Updates are waiting for another's write lock
// now: queued for the group writer while a group runs. SQLite has one
// writer, so an Update waits for the whole transaction before it, at its
// start.
func (s *Store) LockWaits(context.Context) (int, error) { return s.queue.Waiting(), nil }

// LogRequest appends r to the request log in its own autocommit statement.
// r.ID is ignored; the log assigns increasing ids. Duration is stored in
// microseconds.
func (s *Store) LogRequest(ctx context.Context, r herald.Request) error {
	_, err := s.writer.ExecContext(ctx, `INSERT INTO requests
		(at, request_id, caller, token_id, operation, thread_id, message_id, status, reason, duration_us)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		millis(r.At), r.RequestID, r.Caller, r.TokenID, r.Operation, r.ThreadID, r.MessageID,
		r.Status, r.Reason, r.Duration.Microseconds())
	if err != nil {
		return classify(err, "log request %s", r.RequestID)
	}
	return nil
}

// LogRequests appends rows to the request log in one transaction.
func (s *Store) LogRequests(ctx context.Context, rs []herald.Request) error {
	return writeBatch(ctx, s.writer, "log requests", `INSERT INTO requests
		(at, request_id, caller, token_id, operation, thread_id, message_id, status, reason, duration_us)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, rs, func(r herald.Request) []any {
		return []any{millis(r.At), r.RequestID, r.Caller, r.TokenID, r.Operation, r.ThreadID, r.MessageID,
			r.Status, r.Reason, r.Duration.Microseconds()}
	})
}

// Close stops the group writer after the group it is running, then closes
// both connection pools. Updates not yet taken fail with an unavailable
// error.
func (s *Store) Close() error {
	s.queue.Close()
	<-s.writerDone
	return errors.Join(s.read.close(), s.readers.Close(), s.writer.Close())
}

var _ herald.Pinger = (*Store)(nil)

// Ping reports whether the database answers a query on the read pool (GET
// /readyz).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.readers.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}
