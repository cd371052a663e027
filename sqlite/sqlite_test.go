package sqlite

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/herald-chat/herald"
)

// mustOpen opens a store in a fresh temporary directory.
func mustOpen(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(tb.Context(), filepath.Join(tb.TempDir(), "herald.db"))
	if err != nil {
		tb.Fatalf("Open: got error %v, want nil", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// pragma returns the value of PRAGMA name on db.
func pragma(tb testing.TB, db *sql.DB, name string) string {
	tb.Helper()
	var v string
	if err := db.QueryRowContext(tb.Context(), "PRAGMA "+name).Scan(&v); err != nil {
		tb.Fatalf("PRAGMA %s: got error %v, want nil", name, err)
	}
	return v
}

func TestPragmas(t *testing.T) {
	s := mustOpen(t)
	for _, tc := range []struct {
		pool string
		db   *sql.DB
		name string
		want string
	}{
		{"writer", s.writer, "synchronous", "2"}, // FULL: a commit is on disk
		{"writer", s.writer, "journal_mode", "wal"},
		{"writer", s.writer, "foreign_keys", "1"},
		{"writer", s.writer, "busy_timeout", "10000"},
		{"writer", s.writer, "query_only", "0"},
		{"readers", s.readers, "synchronous", "2"},
		{"readers", s.readers, "journal_mode", "wal"},
		{"readers", s.readers, "foreign_keys", "1"},
		{"readers", s.readers, "query_only", "1"},
	} {
		if got := pragma(t, tc.db, tc.name); got != tc.want {
			t.Errorf("%s PRAGMA %s: got %s, want %s", tc.pool, tc.name, got, tc.want)
		}
	}
}

func TestReadersCannotWrite(t *testing.T) {
	s := mustOpen(t)
	if _, err := s.readers.ExecContext(t.Context(), "INSERT INTO identities (id) VALUES ('u_a')"); err == nil {
		t.Error("insert through the read pool: got nil error, want an error")
	}
}

// TestBusyIsUnavailable holds the write lock from a second connection, as
// another process would, and checks that the driver's SQLITE_BUSY becomes
// herald.ErrUnavailable.
func TestBusyIsUnavailable(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "herald.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: got error %v, want nil", err)
	}
	defer s.Close()

	holder, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("BEGIN IMMEDIATE: got error %v, want nil", err)
	}
	defer conn.ExecContext(ctx, "ROLLBACK")

	// The store waits busy_timeout; a connection without one fails at once
	// with the same code, which classify must translate.
	impatient, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer impatient.Close()
	_, err = impatient.ExecContext(ctx, "INSERT INTO identities (id) VALUES ('u_a')")
	if err == nil {
		t.Fatal("insert while another connection holds the write lock: got nil error, want SQLITE_BUSY")
	}
	got := classify(err, "insert")
	if !errors.Is(got, herald.ErrUnavailable) || herald.ErrorCode(got) != herald.CodeUnavailable {
		t.Errorf("classify(%v): got %v, want %s", err, got, herald.CodeUnavailable)
	}
}

func TestClassify(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	if _, err := s.writer.ExecContext(ctx, "INSERT INTO identities (id) VALUES ('u_a')"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		query string
		want  *herald.Error
	}{
		{"primary key", "INSERT INTO identities (id) VALUES ('u_a')", herald.ErrConflict},
		{"foreign key", "INSERT INTO events (thread_id, seq, type) VALUES ('t_missing', 1, 'x')", herald.ErrNotFound},
	} {
		_, err := s.writer.ExecContext(ctx, tc.query)
		got := classify(err, "%s", tc.name)
		if !errors.Is(got, tc.want) {
			t.Errorf("%s: got %v, want %s", tc.name, got, tc.want.Code)
		}
	}
	_, err := s.writer.ExecContext(ctx, "INSERT INTO no_such_table VALUES (1)")
	if got := herald.ErrorCode(classify(err, "syntax")); got != herald.CodeInternal {
		t.Errorf("a missing table: got code %s, want %s", got, herald.CodeInternal)
	}
	if got := classify(sql.ErrNoRows, "get"); !herald.IsNotFound(got) {
		t.Errorf("sql.ErrNoRows: got %v, want not_found", got)
	}
}
