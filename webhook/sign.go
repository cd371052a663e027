package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// secretPrefix starts every signing secret, as in the Standard Webhooks
// specification (https://www.standardwebhooks.com): the rest is the key,
// base64-encoded.
const secretPrefix = "whsec_"

// NewSecret returns a fresh signing secret.
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return secretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// secretKey returns the HMAC key of secret.
func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("a signing secret is %s followed by at least 16 bytes in base64", secretPrefix)
	}
	return key, nil
}

// Sign returns the webhook-signature header value for a delivery: v1, then
// the base64 HMAC-SHA256 of "<id>.<unix seconds>.<body>" keyed by the
// secret.
func Sign(secret, id string, at time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(at.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Verify checks a delivery's signature headers as a receiver would:
// signature may list several space-separated signatures (one per secret
// during a rotation); any valid one is enough. It does not check the
// timestamp's age: a receiver should refuse old ones (5 minutes is usual).
func Verify(secret, id, timestamp, signature string, body []byte) error {
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q is not unix seconds", timestamp)
	}
	want, err := Sign(secret, id, time.Unix(secs, 0), body)
	if err != nil {
		return err
	}
	for _, got := range strings.Fields(signature) {
		if hmac.Equal([]byte(got), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("no valid signature in %q", signature)
}
