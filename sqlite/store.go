package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync/atomic"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/herald-chat/herald"
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
	queries              // the Reader methods, on the read-only pool
	writer  *sql.DB      // one connection: Updates and LogRequest, serialized
	readers *sql.DB      // read-only connections for reads outside an Update
	waiting atomic.Int64 // Updates waiting for the writer connection
}

// Open opens the database at path, creating the file if it does not exist
// (its directory must), and brings the schema up to date. Close the Store
// when done.
func Open(ctx context.Context, path string) (*Store, error) {
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
	return &Store{queries: queries{q: readers}, writer: writer, readers: readers}, nil
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

// Update runs fn in one BEGIN IMMEDIATE transaction on the writer connection
// and commits it durably before returning nil. If fn returns an error (or
// panics) the transaction is rolled back and Update returns fn's error
// unchanged. Updates are serialized: while one runs, others wait for the
// writer connection, which also makes NextSeq's lock trivially true.
func (s *Store) Update(ctx context.Context, fn func(herald.Tx) error) error {
	s.waiting.Add(1)
	sqlTx, err := s.writer.BeginTx(ctx, nil)
	s.waiting.Add(-1)
	if err != nil {
		return classify(err, "begin")
	}
	done := false
	defer func() {
		if !done {
			// fn failed or panicked; its error is what the caller needs,
			// and a rollback that fails leaves nothing committed anyway.
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(&tx{queries{q: sqlTx}}); err != nil {
		return err
	}
	done = true
	if err := sqlTx.Commit(); err != nil {
		return classify(err, "commit")
	}
	return nil
}

// LockWaits returns how many Updates are waiting for another's write lock
// now. SQLite has one writer, so an Update waits for the whole transaction
// before it, at its start.
func (s *Store) LockWaits(context.Context) (int, error) { return int(s.waiting.Load()), nil }

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

// Close closes both connection pools. Updates still running fail.
func (s *Store) Close() error {
	return errors.Join(s.readers.Close(), s.writer.Close())
}
