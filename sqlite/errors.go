package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/herald-chat/herald"
)

// classify wraps err, the failure of the operation the format describes,
// translating the driver's result code (never its message) into Herald's
// store errors:
//
//   - sql.ErrNoRows: herald.ErrNotFound;
//   - a unique or primary key constraint: herald.ErrConflict;
//   - a foreign key constraint (a row naming a thread or identity that does
//     not exist): herald.ErrNotFound;
//   - SQLITE_BUSY or SQLITE_LOCKED after the busy timeout: herald.ErrUnavailable.
//
// Anything else is wrapped as it is: an internal error. The driver error
// stays in the chain for the logs.
func classify(err error, format string, args ...any) error {
	op := fmt.Sprintf(format, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, herald.ErrNotFound)
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("sqlite: %s: %w: %w", op, herald.ErrConflict, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("sqlite: %s: %w: %w", op, herald.ErrNotFound, err)
	}
	// The low byte of an extended result code is its primary code
	// (SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE, ...).
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("sqlite: %s: %w: %w", op, herald.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// notFound is the error of a write that matched no row.
func notFound(format string, args ...any) error {
	return fmt.Errorf("sqlite: %s: %w", fmt.Sprintf(format, args...), herald.ErrNotFound)
}

// mustAffect returns a not-found error when res changed no row, and classifies
// err otherwise.
func mustAffect(res sql.Result, err error, format string, args ...any) error {
	if err != nil {
		return classify(err, format, args...)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return classify(err, format, args...)
	}
	if n == 0 {
		return notFound(format, args...)
	}
	return nil
}
