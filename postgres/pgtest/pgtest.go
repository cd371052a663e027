// Package pgtest gives tests a PostgreSQL database of their own: the
// server from HERALD_TEST_POSTGRES and a fresh schema per test, dropped
// when the test ends, so runs never see each other's data. Tests that use
// it skip where HERALD_TEST_POSTGRES is unset (CI sets it).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env names the variable that holds the test server's DSN, for example
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const Env = "HERALD_TEST_POSTGRES"

// DSN returns the database the tests may use, or skips the test when Env
// is unset.
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" {
		tb.Skip(Env + " is not set")
	}
	return dsn
}

// Schema returns a fresh schema name (not yet created: postgres.Open with
// WithSchema creates it) and drops that schema, if it was made, when the
// test ends, after the stores opened later are closed.
func Schema(tb testing.TB, dsn string) string {
	tb.Helper()
	var b [8]byte
	rand.Read(b[:])
	name := "h_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		// The test's context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := Exec(ctx, dsn, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: got error %v, want nil", name, err)
		}
	})
	return name
}

// Exec runs one statement on a connection of its own.
func Exec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}
