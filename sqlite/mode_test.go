package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/herald-chat/herald/sqlite"
)

// TestOpenFilesOwnerOnly pins that the database, -wal and -shm are 0600
// whether or not the data directory and the file existed, and whatever
// the umask (an existing 0644 file is tightened).
func TestOpenFilesOwnerOnly(t *testing.T) {
	for _, existing := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "herald.db")
		if existing {
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatalf("existing=%v: %v", existing, err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("existing=%v: %s has mode %o, want 600", existing, filepath.Base(name), got)
			}
		}
		s.Close()
	}
}
