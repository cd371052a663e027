// Package sqlite is Herald's single-node storage engine: a herald.Store kept
// in one SQLite file, through the pure-Go driver modernc.org/sqlite.
//
// It sits at the commit step of the message path
//
//	httpapi → service → Store (this package) → broker → hub → connection
//
// and holds no rules: the service authorizes and validates, then writes
// inside one Update. The engine only stores rows, allocates each thread's
// gap-free Seq, and translates driver result codes into herald.ErrNotFound,
// herald.ErrConflict and herald.ErrUnavailable.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so an
// Update that returned nil has been fsynced; a send is acknowledged only
// after that. Writes go through one connection (BEGIN IMMEDIATE), so Updates
// are serialized in the process; reads outside an Update use a separate pool
// of read-only connections that see the last committed state.
//
// The Ledger (connection log, deliveries, acks) is written through the same
// writer connection outside any Update: one autocommit statement per
// connection row, one transaction per RecordDeliveries or RecordAcks batch,
// since each commit is an fsync.
//
// Calling Update, LogRequest or a Ledger write from inside an Update's
// function deadlocks (they all need the one writer connection the
// transaction holds) until the context ends. Reads on the Store from inside
// an Update are fine and do not see the transaction's writes; reads on the
// Tx do.
//
// The schema lives in migrations/ and is applied by goose when Open runs.
// Times are stored as unix milliseconds (so they round-trip at millisecond
// precision, in UTC, and the Unix epoch itself reads back as the zero time),
// lists and maps as JSON text.
package sqlite
