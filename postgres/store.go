package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/groupcommit"
)

//go:embed migrations/*.sql
var migrations embed.FS

// rollbackTimeout bounds the rollback of a failed Update, which runs even
// when the Update's context has ended (so the connection goes back to the
// pool clean rather than being closed).
const rollbackTimeout = 5 * time.Second

var _ herald.Store = (*Store)(nil)

// Store is a herald.Store kept in a PostgreSQL database, shared by every node
// that opens it. It is safe for concurrent use.
type Store struct {
	queries // the Reader methods, on the pool
	pool    *pgxpool.Pool
	app     string // application_name of its sessions

	queue   *groupcommit.Queue // Updates for the group writers (group.go)
	writers sync.WaitGroup     // the group writers
}

// Option configures Open.
type Option func(*config)

type config struct {
	schema   string
	maxConns int32
	writers  int
}

// WithSchema keeps Herald's tables in the named schema, created if it does
// not exist: every connection gets search_path set to it alone. Without it,
// the tables go in the first existing schema of the server's search_path
// (usually public). Nodes that share a database must use the same schema.
func WithSchema(name string) Option {
	return func(c *config) { c.schema = name }
}

// WithMaxConns caps the connections the Store opens to n (n > 0); the
// default is pgxpool's (the larger of 4 and the number of CPUs), or the DSN's
// pool_max_conns.
func WithMaxConns(n int32) Option {
	return func(c *config) { c.maxConns = n }
}

// WithWriters sets how many group transactions (see group.go) one node
// runs at once (n > 0; default 2).
func WithWriters(n int) Option {
	return func(c *config) { c.writers = n }
}

// Open connects to the database dsn names (a postgres:// URL or key=value
// string, as pgx reads it), brings the schema up to date and returns the
// Store. Several nodes may Open the same database at once: migrations run
// under a session advisory lock, one node at a time. A database that cannot
// be reached gives an error with code herald.CodeUnavailable. Close the
// Store when done.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	var c config
	for _, opt := range opts {
		opt(&c)
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	if c.schema != "" {
		pc.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{c.schema}.Sanitize()
	}
	if c.maxConns > 0 {
		pc.MaxConns = c.maxConns
	}
	// The application name tells this store's sessions apart in
	// pg_stat_activity (LockWaits, and operators), unless the DSN set one.
	app := pc.ConnConfig.RuntimeParams["application_name"]
	if app == "" {
		app = "herald"
		if c.schema != "" {
			app += "/" + c.schema
		}
		pc.ConnConfig.RuntimeParams["application_name"] = app
	}
	if err := migrate(ctx, pc.ConnConfig, c.schema); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, classify(err, "open pool")
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, classify(err, "connect")
	}
	s := &Store{queries: queries{q: pool}, pool: pool, app: app, queue: groupcommit.New(errClosed)}
	if c.writers <= 0 {
		c.writers = defaultWriters
	}
	for range c.writers {
		s.writers.Add(1)
		go s.groupWriter()
	}
	return s, nil
}

// migrate creates schema if it is named and missing, then applies the
// embedded migrations the database lacks with goose, through a short-lived
// database/sql handle on the pgx driver.
func migrate(ctx context.Context, cc *pgx.ConnConfig, schema string) error {
	db := stdlib.OpenDB(*cc.Copy())
	defer db.Close()
	if schema != "" {
		if err := ensureSchema(ctx, db, schema); err != nil {
			return err
		}
	}
	// The schema goose's table and ours land in, and the lock's key.
	var current sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&current); err != nil {
		return classify(err, "migrate: find the schema")
	}
	if !current.Valid {
		return fmt.Errorf("postgres: migrate: the search_path names no existing schema")
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(migrationLock{id: lockID(current.String)}))
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return classify(err, "migrate schema %s", current.String)
	}
	return nil
}

// ensureSchema creates schema unless it exists. It looks first, so that a
// role without CREATE on the database can use a schema made for it; a node
// that loses a race to create it takes the winner's.
func ensureSchema(ctx context.Context, db *sql.DB, schema string) error {
	var exists bool
	err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists)
	if err != nil {
		return classify(err, "find schema %s", schema)
	}
	if exists {
		return nil
	}
	_, err = db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize())
	var pe *pgconn.PgError
	// Concurrent CREATE SCHEMA IF NOT EXISTS can still collide in the
	// catalog: 23505 unique_violation or 42P06 duplicate_schema.
	if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P06") {
		return nil
	}
	if err != nil {
		return classify(err, "create schema %s", schema)
	}
	return nil
}

// lockID is the advisory lock key of migrating schema: nodes migrating one
// schema wait for each other; different schemas (tests, tenants) do not.
func lockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("herald/postgres migrate " + schema))
	return int64(h.Sum64())
}

// migrationLock is a goose session locker that waits on a session-level
// advisory lock (pg_advisory_lock blocks until granted, or until the context
// ends), rather than polling pg_try_advisory_lock every few seconds as
// goose's own does.
type migrationLock struct{ id int64 }

// SessionLock waits for the lock on conn's session.
func (l migrationLock) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, l.id); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	return nil
}

// SessionUnlock releases the lock; closing the session would too.
func (l migrationLock) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var released bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, l.id).Scan(&released); err != nil {
		return fmt.Errorf("release the migration lock: %w", err)
	}
	if !released {
		return fmt.Errorf("release the migration lock: it was not held")
	}
	return nil
}

// LockWaits returns how many of this store's write transactions are
// waiting for a lock now: sessions with its application name, in its
// database, waiting for a lock such as a thread's row lock held by another
// transaction, plus Updates queued while every group writer is busy.
func (s *Store) LockWaits(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1 AND wait_event_type = 'Lock'`, s.app).Scan(&n)
	if err != nil {
		return 0, classify(err, "lock waits")
	}
	return n + s.queue.Waiting(), nil
}

// Update runs fn in a READ COMMITTED transaction and commits it (durably,
// as synchronous_commit is left as the server has it, on by default)
// before returning nil. If fn returns an error (or panics) nothing fn wrote
// is kept and Update returns fn's error unchanged (or panics with the same
// value). Concurrent Updates share transactions, each in a savepoint of
// its own, and one commit (group.go). Updates of one thread are serialized
// by NextSeq's row lock, across every node. A cancelled ctx stops an
// Update that has not started; one that has runs to its end.
func (s *Store) Update(ctx context.Context, fn func(herald.Tx) error) error {
	return s.queue.Submit(ctx, fn, func(err error) error { return classify(err, "begin") })
}

// transact runs fn in a READ COMMITTED transaction of its own, for the
// Ledger's batches; errors of fn are returned as they are.
func (s *Store) transact(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	pt, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return classify(err, "%s: begin", op)
	}
	if err := fn(pt); err != nil {
		rollback(ctx, pt)
		return err
	}
	if err := pt.Commit(ctx); err != nil {
		return classify(err, "%s: commit", op)
	}
	return nil
}

// rollback ends a failed transaction; its error is dropped because the
// caller's error is what matters, and a rollback that fails (the connection
// broke) leaves nothing committed anyway: pgx then closes the connection.
func rollback(ctx context.Context, pt pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	_ = pt.Rollback(ctx)
}

// LogRequest appends r to the request log in its own autocommit statement.
// r.ID is ignored; the log assigns increasing ids. Duration is stored in
// microseconds.
func (s *Store) LogRequest(ctx context.Context, r herald.Request) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO requests
		(at, request_id, caller, token_id, operation, thread_id, message_id, status, reason, duration_us)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		millis(r.At), r.RequestID, r.Caller, r.TokenID, r.Operation, r.ThreadID, r.MessageID,
		r.Status, r.Reason, r.Duration.Microseconds())
	if err != nil {
		return classify(err, "log request %s", r.RequestID)
	}
	return nil
}

// LogRequests appends rows to the request log in one transaction.
func (s *Store) LogRequests(ctx context.Context, rs []herald.Request) error {
	return writeBatch(ctx, s, "log requests", `INSERT INTO requests
		(at, request_id, caller, token_id, operation, thread_id, message_id, status, reason, duration_us)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, rs, func(r herald.Request) []any {
		return []any{millis(r.At), r.RequestID, r.Caller, r.TokenID, r.Operation, r.ThreadID, r.MessageID,
			r.Status, r.Reason, r.Duration.Microseconds()}
	})
}

// Close closes the pool, waiting for connections in use to be returned.
// Calls after Close fail with herald.ErrUnavailable.
func (s *Store) Close() error {
	s.queue.Close()
	s.writers.Wait()
	s.pool.Close()
	return nil
}

var _ herald.Pinger = (*Store)(nil)

// Ping reports whether the database answers on a pooled connection (GET
// /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}
