package sqlite_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/storetest"
)

// open opens a fresh store in the test's temporary directory, closed when
// the test ends.
func open(t *testing.T) herald.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatalf("Open: got error %v, want nil", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: got error %v, want nil", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, open)
}

// TestReopenKeepsData checks that committed data survives closing and
// reopening, and that reopening a migrated database works.
func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "herald.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: got error %v, want nil", err)
	}
	th := herald.Thread{ID: "t_a", Topic: "kept", CreatedBy: "u_a"}
	err = s.Update(ctx, func(tx herald.Tx) error {
		if err := tx.CreateThread(ctx, th, "req", "hash"); err != nil {
			return err
		}
		_, err := tx.NextSeq(ctx, "t_a", th.CreatedAt, true)
		return err
	})
	if err != nil {
		t.Fatalf("Update: got error %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: got error %v, want nil", err)
	}

	s, err = sqlite.Open(ctx, path) // migrations already applied: a no-op
	if err != nil {
		t.Fatalf("Open again: got error %v, want nil", err)
	}
	defer s.Close()
	got, hash, err := s.GetThreadByRequest(ctx, "u_a", "req")
	if err != nil {
		t.Fatalf("GetThreadByRequest after reopening: got error %v, want nil", err)
	}
	if got.Topic != "kept" || got.LastSeq != 1 || hash != "hash" {
		t.Errorf("after reopening: got topic %q, LastSeq %d, hash %q; want kept, 1, hash", got.Topic, got.LastSeq, hash)
	}
}

func TestOpenMissingDirectory(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "missing", "herald.db"))
	if err == nil {
		s.Close()
		t.Fatal("Open in a missing directory: got nil error, want an error")
	}
}

// TestOpenOddPath checks that characters special in a URI name the file
// literally.
func TestOpenOddPath(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "a ?b#c%20d.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(%q): got error %v, want nil", path, err)
	}
	defer s.Close()
	if err := s.Update(ctx, func(tx herald.Tx) error {
		return tx.CreateIdentity(ctx, herald.Identity{ID: "u_a"})
	}); err != nil {
		t.Fatalf("Update: got error %v, want nil", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database file: got %v, want it at %q", err, path)
	}
}

// TestPing: the readiness check answers while the store is open and fails
// once it is closed.
func TestPing(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping while open: got error %v, want nil", err)
	}
	s.Close()
	if err := s.Ping(t.Context()); err == nil {
		t.Errorf("Ping after Close: got nil, want an error (GET /readyz: not ready)")
	}
}
