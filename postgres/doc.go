// Package postgres is Herald's scale-out storage engine: a herald.Store kept
// in a PostgreSQL database that every node of a deployment shares, through
// pgx/v5 (pgxpool).
//
// It sits at the commit step of the message path
//
//	httpapi → service → Store (this package) → broker → hub → connection
//
// and, like the sqlite engine, holds no rules: the service authorizes and
// validates, then writes inside one Update. The engine stores rows,
// allocates each thread's gap-free Seq, and translates driver errors (by
// SQLSTATE code and error value, never by message) into herald.ErrNotFound,
// herald.ErrConflict and herald.ErrUnavailable. Both engines pass the one
// conformance suite, storetest, and behave the same through the interfaces.
//
// Sequencing across nodes: NextSeq is
//
//	UPDATE threads SET last_seq = last_seq + 1, ... WHERE id = $1 RETURNING last_seq
//
// inside the Update's READ COMMITTED transaction. The row lock it takes holds
// every other writer of that thread, on any node, until the transaction
// commits or rolls back, so each Seq is handed out once and a rolled-back
// one is handed out again: no gaps, no database sequence. Updates of
// different threads run concurrently, each on its own pooled connection. An
// Update that allocates Seqs of two threads locks them in call order; two
// such Updates taking them in opposite orders deadlock, and the server
// breaks that off (40P01), which reaches the caller as ErrUnavailable.
//
// Durability: Update returns nil only after COMMIT returned, with
// synchronous_commit as the server has it (on by default: the commit is
// flushed to the write-ahead log, and to synchronous standbys if any are
// configured). A send is acknowledged only after that.
//
// Errors: no rows, and a foreign key naming a missing thread or identity,
// are ErrNotFound; a unique key is ErrConflict; a database that cannot be
// reached or is going away (connection errors, SQLSTATE class 08, 57P01-03,
// 53300), a closed Store, a deadline, and lock contention the server broke
// off (40P01, 55P03, 40001) are ErrUnavailable, which the API answers with
// 503 store_unavailable and nothing acknowledged. When a connection breaks
// during COMMIT the outcome is unknown; the retry the 503 invites is safe
// for requests that carry an idempotency key (a client message id, a
// repeatability-request-id).
//
// Where PostgreSQL differs from SQLite inside an Update: a statement that
// fails aborts the whole transaction. Inserts that a unique key may turn
// away are therefore written as INSERT ... ON CONFLICT DO NOTHING and report
// ErrConflict without failing, so a caller may go on after a conflict as it
// can on SQLite; but after any other failed write (ErrNotFound from a
// foreign key, or an internal error) every later statement of that Update
// fails, and the Update can only be abandoned. No savepoints are used: a
// subtransaction per statement would cost a round trip each and overflow
// PostgreSQL's per-backend subtransaction cache on large Updates. Also
// unlike SQLite's single writer, calling Store methods (reads, LogRequest,
// Ledger writes) from inside an Update works, on another pooled connection,
// as long as the pool has one free.
//
// Text: PostgreSQL stores only valid UTF-8 without U+0000, in TEXT and in
// JSONB alike; SQLite stores any bytes. A write or a lookup with such a
// string (a NUL in a message, an id from a URL path like /threads/%FF)
// fails here with SQLSTATE 22021 or 22P05, an internal error, where the
// sqlite engine stores it or answers not_found. Refusing such input is the
// service's and httpapi's rule to make, once, for both engines.
//
// The Ledger (connection log, deliveries, acks) is written outside any
// Update: one autocommit statement per connection row, one transaction per
// RecordDeliveries or RecordAcks batch, its statements pipelined as one
// pgx.Batch.
//
// The schema lives in migrations/ (the same tables, columns and keys as the
// sqlite engine's) and is applied by goose when Open runs, through the pgx
// database/sql driver, under a session advisory lock keyed by the schema
// name, so nodes starting together migrate one at a time. WithSchema keeps
// the tables in a schema of their own (created if missing). Times are
// BIGINT unix milliseconds (0 is the zero time, so they round-trip at
// millisecond precision in UTC, exactly as in the sqlite engine), maps and
// lists are JSONB, an event's Data is TEXT kept byte for byte, and
// identifier columns collate as bytes ("C"), so orders and tie-breaks match
// SQLite's whatever the database's default collation.
package postgres
