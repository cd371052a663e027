package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/token"
)

// TestServeRefusesShortAdminKey pins issue 13, 3 and 10: serve refuses
// an admin key shorter than MinAdminKeyLength, from the flag, the
// environment or the key file, and warns when the key is on the command
// line, where the process list shows it.
func TestServeRefusesShortAdminKey(t *testing.T) {
	t.Setenv("HERALD_ADMIN_KEY", "")
	for _, c := range []struct {
		name string
		args []string
		env  string
		file string
		warn bool
	}{
		{name: "flag", args: []string{"--admin-key", "a"}, warn: true},
		{name: "flag=", args: []string{"--admin-key=hak_short"}, warn: true},
		{name: "env", env: "a"},
		{name: "file", file: "a\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := t.TempDir()
			if c.file != "" {
				if err := os.WriteFile(filepath.Join(data, "admin.key"), []byte(c.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("HERALD_ADMIN_KEY", c.env)
			var stdout, stderr bytes.Buffer
			args := append(c.args, "serve", "--addr", "127.0.0.1:0", "--data", data)
			done := make(chan int, 1)
			go func() { done <- run(context.Background(), args, &stdout, &stderr) }()
			var code int
			select {
			case code = <-done:
			case <-time.After(30 * time.Second): // a bound for a regression, not a timing: the refusal comes before serving
				t.Fatalf("serve is still running with a short admin key, want it refused")
			}
			if code != 1 || !strings.Contains(stderr.String(), "at least 24") {
				t.Errorf("got exit %d, stderr %q; want 1 and the minimum named", code, stderr.String())
			}
			if got := strings.Contains(stderr.String(), "visible to every user"); got != c.warn {
				t.Errorf("got process-list warning %v, want %v (stderr %q)", got, c.warn, stderr.String())
			}
		})
	}
}

// TestGeneratedAdminKeyIsLongEnough: the key serve writes on first start
// passes its own minimum, is stored (as its hash) and is read back.
func TestGeneratedAdminKeyIsLongEnough(t *testing.T) {
	dir := t.TempDir()
	store := openTestStore(t, dir)
	var k deploymentKeys
	if err := k.setupAdmin(t.Context(), store, dir, "", false, time.Now()); err != nil || !k.adminCreated {
		t.Fatalf("first start: created=%v err=%v, want a new key", k.adminCreated, err)
	}
	key, _, err := localAdminKey(dir, "")
	if err != nil || len(key) < MinAdminKeyLength || herald.HashAdminKey(key) != k.adminHash {
		t.Fatalf("got %q (%v), want a key of at least %d characters whose hash the store holds", key, err, MinAdminKeyLength)
	}
	var again deploymentKeys
	if err := again.setupAdmin(t.Context(), store, dir, "", false, time.Now()); err != nil || again.adminCreated || again.adminHash != k.adminHash {
		t.Fatalf("second start: got created=%v hash=%s err=%v, want the same key", again.adminCreated, again.adminHash, err)
	}
}

func openTestStore(t *testing.T, dir string) herald.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(dir, "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Issue 12: a second node with a data directory of its own, on the same
// store, accepts the admin key the first node made, with no file copied; a
// node given another key refuses to start unless told to replace it.
func TestAdminKeySharedThroughTheStore(t *testing.T) {
	ctx := t.Context()
	store := openTestStore(t, t.TempDir())
	first, second := t.TempDir(), t.TempDir()
	var n1 deploymentKeys
	if err := n1.setupAdmin(ctx, store, first, "", false, time.Now()); err != nil || !n1.adminCreated {
		t.Fatalf("first node: created=%v err=%v", n1.adminCreated, err)
	}
	var n2 deploymentKeys
	if err := n2.setupAdmin(ctx, store, second, "", false, time.Now()); err != nil || n2.adminCreated || !n2.adminElsewhere || n2.adminHash != n1.adminHash {
		t.Fatalf("second node: got %+v, %v; want the first node's key, from the store", n2, err)
	}
	if _, err := os.Stat(filepath.Join(second, "admin.key")); !os.IsNotExist(err) {
		t.Errorf("second node wrote an admin key file (%v), want none: the deployment has its key", err)
	}

	other := "hak_another-key-that-is-long-enough-000"
	var n3 deploymentKeys
	err := n3.setupAdmin(ctx, store, t.TempDir(), other, false, time.Now())
	if err == nil || !strings.Contains(err.Error(), "not this deployment's admin key") || !strings.Contains(err.Error(), "--replace-admin-key") {
		t.Fatalf("node given another key: got %v, want a refusal that names --replace-admin-key", err)
	}
	if err := n3.setupAdmin(ctx, store, t.TempDir(), other, true, time.Now()); err != nil || n3.adminHash != herald.HashAdminKey(other) {
		t.Fatalf("--replace-admin-key: got %v, hash %s; want the new key's", err, n3.adminHash)
	}
	if got, _ := store.GetAdminKey(ctx); got.Hash != herald.HashAdminKey(other) {
		t.Errorf("stored hash after the replacement: got %s, want the new key's", got.Hash)
	}
}

// A deployment from before the keys were shared: its key files are moved
// into the store on the first start, so earlier tokens stay valid and its
// admin key keeps working.
func TestKeyFilesImported(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	_, local, _ := ed25519.GenerateKey(rand.Reader)
	if err := token.WriteKey(filepath.Join(dir, "signing-key.pem"), local); err != nil {
		t.Fatal(err)
	}
	adminKey := "hak_an-admin-key-from-an-older-version"
	if err := os.WriteFile(filepath.Join(dir, "admin.key"), []byte(adminKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store := openTestStore(t, dir)
	c := &ServeCmd{Data: dir}
	k, err := c.setupKeys(ctx, store, "", herald.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	if k.signing != token.KeyImported || k.adminCreated || k.adminHash != herald.HashAdminKey(adminKey) {
		t.Errorf("got signing=%v adminCreated=%v, want the signing key imported and the admin key file's hash stored", k.signing, k.adminCreated)
	}
	ks, _ := store.ListSigningKeys(ctx)
	if len(ks) != 1 || ks[0].ID != token.KeyID(local) {
		t.Errorf("stored keys: got %v, want the file's key %s", ks, token.KeyID(local))
	}

	// A node whose key file is another deployment's refuses to start.
	other := t.TempDir()
	_, foreign, _ := ed25519.GenerateKey(rand.Reader)
	if err := token.WriteKey(filepath.Join(other, "signing-key.pem"), foreign); err != nil {
		t.Fatal(err)
	}
	_, err = (&ServeCmd{Data: other}).setupKeys(ctx, store, "", herald.SystemClock{})
	if err == nil || !strings.Contains(err.Error(), token.KeyID(foreign)) {
		t.Errorf("node with a foreign signing key file: got %v, want a refusal naming its kid", err)
	}
}
