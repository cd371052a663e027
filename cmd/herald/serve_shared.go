package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/token"
)

// MinAdminKeyLength is the shortest admin key serve accepts. A generated
// key (hak_ and 43 base64url characters, 256 random bits) is longer.
const MinAdminKeyLength = 24

// deploymentKeys is what serve learned of the deployment's keys.
type deploymentKeys struct {
	signer *token.Signer
	// signing says what happened to the signing keys on this start.
	signing token.Bootstrapped
	// adminHash is the hash every admin request is checked against.
	adminHash string
	// adminPath is the file holding the admin key on this node ("" when it
	// came from the flag or environment, or this node never saw it).
	adminPath string
	// adminCreated: this start made the deployment's admin key.
	adminCreated bool
	// adminElsewhere: the key came from the store only; another node (or
	// an earlier start) made it.
	adminElsewhere bool
	// accessKey is the primary access key (ACS connection strings);
	// accessCreated: this start made it.
	accessKey     []byte
	accessCreated bool
}

// setupKeys makes sure the store holds the deployment's signing keys and
// admin key, so every node that shares the store agrees on them and nothing
// is copied between nodes: the first node to start creates them (or
// imports the key files of a deployment from before they were shared), the
// others read them. A node whose own key material disagrees with the store
// refuses to start.
func (c *ServeCmd) setupKeys(ctx context.Context, store herald.Store, givenAdmin string, clock herald.Clock) (deploymentKeys, error) {
	var k deploymentKeys
	local, err := token.LoadKey(filepath.Join(c.Data, "signing-key.pem"))
	if err != nil {
		return k, err
	}
	if k.signing, err = token.Bootstrap(ctx, store, local, clock.Now()); err != nil {
		return k, err
	}
	if k.signer, err = token.Open(ctx, store, c.Issuer, c.Audience, clock, token.WithRetireAfter(service.MaxTokenLifetime+10*time.Minute)); err != nil {
		return k, err
	}
	if err := k.setupAdmin(ctx, store, c.Data, givenAdmin, c.ReplaceAdminKey, clock.Now()); err != nil {
		return k, err
	}
	if k.accessKey, k.accessCreated, err = setupAccessKey(ctx, store, clock.Now()); err != nil {
		return k, err
	}
	return k, nil
}

// setupAccessKey returns the deployment's primary access key (for ACS
// connection strings), made by the first node to start.
func setupAccessKey(ctx context.Context, store herald.Store, now time.Time) (key []byte, created bool, err error) {
	for attempt := 0; ; attempt++ {
		ks, err := store.ListAccessKeys(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("read the access keys: %w", err)
		}
		for _, k := range ks {
			if k.Name == "primary" {
				return k.Secret, false, nil
			}
		}
		secret := make([]byte, 32)
		rand.Read(secret)
		err = store.Update(ctx, func(tx herald.Tx) error {
			return tx.CreateAccessKey(ctx, herald.AccessKey{Name: "primary", Secret: secret, CreatedAt: now})
		})
		if herald.IsConflict(err) && attempt < 3 {
			continue // another node made it first: read theirs
		}
		if err != nil {
			return nil, false, fmt.Errorf("store the access key: %w", err)
		}
		return secret, true, nil
	}
}

// connectionString is what the ACS SDKs take: the endpoint and the access
// key.
func connectionString(endpoint string, key []byte) string {
	return "endpoint=" + endpoint + ";accesskey=" + base64.StdEncoding.EncodeToString(key)
}

// setupAdmin finds the admin key: given (flag or environment), else the
// file in dir; compares it with the store's, stores it when the store has
// none, and generates one (written to dir) when neither exists.
func (k *deploymentKeys) setupAdmin(ctx context.Context, store herald.Store, dir, given string, replace bool, now time.Time) error {
	key, path, err := localAdminKey(dir, given)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		stored, err := store.GetAdminKey(ctx)
		switch {
		case herald.IsNotFound(err):
			if key == "" {
				if key, path, err = newAdminKey(dir); err != nil {
					return err
				}
				k.adminCreated = true
			}
			err = store.Update(ctx, func(tx herald.Tx) error {
				return tx.CreateAdminKey(ctx, herald.AdminKey{Hash: herald.HashAdminKey(key), CreatedAt: now})
			})
			if herald.IsConflict(err) && attempt < 3 && !k.adminCreated {
				continue // another node stored one first: compare with theirs
			}
			if herald.IsConflict(err) {
				os.Remove(path) // another node's key won; this one is nobody's
				k.adminCreated, key, path = false, "", ""
				continue
			}
			if err != nil {
				return fmt.Errorf("store the admin key: %w", err)
			}
			k.adminHash, k.adminPath = herald.HashAdminKey(key), path
			return nil
		case err != nil:
			return fmt.Errorf("read the admin key: %w", err)
		case key == "":
			k.adminHash, k.adminElsewhere = stored.Hash, true
			return nil
		case subtle.ConstantTimeCompare([]byte(herald.HashAdminKey(key)), []byte(stored.Hash)) == 1:
			k.adminHash, k.adminPath = stored.Hash, path
			return nil
		case replace:
			h := herald.HashAdminKey(key)
			if err := store.Update(ctx, func(tx herald.Tx) error {
				return tx.ReplaceAdminKey(ctx, herald.AdminKey{Hash: h, CreatedAt: now})
			}); err != nil {
				return fmt.Errorf("replace the admin key: %w", err)
			}
			k.adminHash, k.adminPath = h, path
			return nil
		default:
			from := "HERALD_ADMIN_KEY/--admin-key"
			if path != "" {
				from = path
			}
			return fmt.Errorf("the admin key from %s is not this deployment's admin key (the one stored on %s by the node that started first): "+
				"every node must use the same key. Use that key, leave HERALD_ADMIN_KEY unset on a node that has no key file, "+
				"or start one node with --replace-admin-key to make this key the deployment's", from, stored.CreatedAt.Format(time.RFC3339))
		}
	}
}

// localAdminKey returns the admin key given on the flag or environment, or
// else the one in dir's key file; "" when neither exists. A key shorter
// than MinAdminKeyLength is refused: the server does not start with a
// guessable key.
func localAdminKey(dir, given string) (key, path string, err error) {
	if given != "" {
		if len(given) < MinAdminKeyLength {
			return "", "", fmt.Errorf("the admin key from HERALD_ADMIN_KEY/--admin-key is %d characters; at least %d are required. "+
				"Use a random one (openssl rand -base64 32), or unset it and Herald generates one in %s", len(given), MinAdminKeyLength, filepath.Join(dir, "admin.key"))
		}
		return given, "", nil
	}
	path = filepath.Join(dir, "admin.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("admin key: %w", err)
	}
	key = strings.TrimSpace(string(b))
	if len(key) < MinAdminKeyLength {
		return "", "", fmt.Errorf("the admin key in %s is %d characters; at least %d are required. Delete the file and Herald generates a new one",
			path, len(key), MinAdminKeyLength)
	}
	return key, path, nil
}

// newAdminKey generates an admin key and writes it to dir (mode 0600).
func newAdminKey(dir string) (key, path string, err error) {
	var raw [32]byte
	rand.Read(raw[:])
	key = "hak_" + base64.RawURLEncoding.EncodeToString(raw[:])
	path = filepath.Join(dir, "admin.key")
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("write admin key: %w", err)
	}
	return key, path, nil
}

// report tells the operator where the keys are, once, at start. A new
// access key's connection string is written to data (0600) and, in text
// mode, printed. With JSON logs it is one log line of file paths and
// flags, never a key.
func (k deploymentKeys) report(w io.Writer, log *slog.Logger, asJSON bool, data, endpoint string) {
	csPath := ""
	if k.accessCreated {
		csPath = filepath.Join(data, "connection-string")
		if err := os.WriteFile(csPath, []byte(connectionString(endpoint, k.accessKey)+"\n"), 0o600); err != nil {
			log.Error("could not write the connection string", "path", csPath, "err", err)
			csPath = ""
		}
	}
	if asJSON {
		log.Info("herald keys", "signing_key", "store", "signing_key_created", k.signing == token.KeyCreated,
			"signing_key_imported", k.signing == token.KeyImported, "admin_key_file", k.adminPath,
			"admin_key_created", k.adminCreated, "admin_key_from_store_only", k.adminElsewhere, "connection_string_file", csPath)
		return
	}
	if csPath != "" {
		fmt.Fprintf(w, "ACS connection string (for the Azure Communication Services SDKs; keep it secret), also in %s:\n  %s\n",
			csPath, connectionString(endpoint, k.accessKey))
	}
	switch {
	case k.adminCreated:
		fmt.Fprintf(w, `Herald created this deployment's admin key in %s (keep it secret; every node that shares the store accepts it).
Use it for identity commands, for example:
  export HERALD_URL=%s HERALD_ADMIN_KEY=$(cat %s)
  herald identity create --scopes chat
`, k.adminPath, strings.TrimSuffix(endpoint, "/"), k.adminPath)
	case k.adminPath != "":
		fmt.Fprintf(w, "admin key: %s (export HERALD_ADMIN_KEY=$(cat %s))\n", k.adminPath, k.adminPath)
	case k.adminElsewhere:
		fmt.Fprintf(w, "admin key: the deployment's, stored by the node that started first (its %s/admin.key); this node has no copy\n", data)
	}
	switch k.signing {
	case token.KeyCreated:
		fmt.Fprintln(w, "Herald created the deployment's token signing key in the store (herald key list; herald key rotate)")
	case token.KeyImported:
		fmt.Fprintf(w, "Herald moved the token signing key %s into the store: every node now signs with it; the file is no longer needed\n",
			filepath.Join(data, "signing-key.pem"))
	}
}

// rateLimiter is the write rate limit's bucket store: the shared store
// when it can hold one for the whole deployment (PostgreSQL), else none
// (the service keeps the buckets in memory: one node).
func rateLimiter(store herald.Store) herald.RateLimiter {
	if rl, ok := store.(herald.RateLimiter); ok {
		return rl
	}
	return nil
}

// relayOf returns the broker's relay, when it spans nodes, and this
// process's route: random, so a restarted node's old connection ids name a
// route nobody serves (404 at once) rather than a namesake's.
func relayOf(b herald.Broker) (herald.Relay, string) {
	r, ok := b.(herald.Relay)
	if !ok {
		return nil, ""
	}
	var raw [5]byte
	rand.Read(raw[:])
	return r, hex.EncodeToString(raw[:])
}
