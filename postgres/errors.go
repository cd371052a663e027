package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/herald-chat/herald"
)

// classify wraps err, the failure of the operation the format describes,
// translating the driver's error values and SQLSTATE codes (never their
// messages) into Herald's store errors:
//
//   - pgx.ErrNoRows: herald.ErrNotFound;
//   - 23505 unique_violation: herald.ErrConflict;
//   - 23503 foreign_key_violation (a row naming a thread or identity that
//     does not exist): herald.ErrNotFound;
//   - a database that cannot be reached or is going away, a deadline, or
//     lock contention the server gave up on: herald.ErrUnavailable (see
//     unavailable).
//
// Anything else is wrapped as it is: an internal error. The driver error
// stays in the chain for the logs.
func classify(err error, format string, args ...any) error {
	op := fmt.Sprintf(format, args...)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, herald.ErrNotFound)
	}
	if unavailable(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, herald.ErrUnavailable, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("postgres: %s: %w: %w", op, herald.ErrConflict, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("postgres: %s: %w: %w", op, herald.ErrNotFound, err)
		}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// unavailable reports whether err means the database could not do the work
// now but may later, so the caller should answer "retry" and acknowledge
// nothing:
//
//   - no connection: a failed connection attempt, a closed pool (the Store
//     was closed), a connection that broke or was closed under the query,
//     any error pgconn marks safe to retry (nothing was sent);
//   - time: a deadline that expired while acquiring a connection or waiting
//     for the server;
//   - SQLSTATE class 08 (connection exception), 57P01 admin_shutdown, 57P02
//     crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections;
//   - contention the server broke off, the counterpart of SQLITE_BUSY:
//     40P01 deadlock_detected, 55P03 lock_not_available, 40001
//     serialization_failure.
func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce),
		errors.Is(err, puddle.ErrClosedPool),
		errors.Is(err, pgconn.ErrConnClosed),
		pgconn.SafeToRetry(err),
		pgconn.Timeout(err),
		errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed):
		return true
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "57P01", "57P02", "57P03", "53300", "40P01", "55P03", "40001":
		return true
	}
	return len(pe.Code) == 5 && pe.Code[:2] == "08"
}

// notFound is the error of a write that matched no row.
func notFound(format string, args ...any) error {
	return fmt.Errorf("postgres: %s: %w", fmt.Sprintf(format, args...), herald.ErrNotFound)
}

// conflict is the error of an insert that a unique key turned away.
func conflict(format string, args ...any) error {
	return fmt.Errorf("postgres: %s: %w", fmt.Sprintf(format, args...), herald.ErrConflict)
}

// mustAffect returns a not-found error when the statement changed no row,
// and classifies err otherwise.
func mustAffect(tag pgconn.CommandTag, err error, format string, args ...any) error {
	if err != nil {
		return classify(err, format, args...)
	}
	if tag.RowsAffected() == 0 {
		return notFound(format, args...)
	}
	return nil
}

// mustInsert returns a conflict error when an INSERT ... ON CONFLICT DO
// NOTHING inserted no row, and classifies err otherwise.
func mustInsert(tag pgconn.CommandTag, err error, format string, args ...any) error {
	if err != nil {
		return classify(err, format, args...)
	}
	if tag.RowsAffected() == 0 {
		return conflict(format, args...)
	}
	return nil
}
