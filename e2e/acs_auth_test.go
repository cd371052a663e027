package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// signACS signs req as the ACS SDKs do with a connection string's access
// key (@azure/communication-common's access-key credential policy).
func signACS(req *http.Request, key []byte, body []byte, at time.Time) {
	sum := sha256.Sum256(body)
	hash := base64.StdEncoding.EncodeToString(sum[:])
	date := at.UTC().Format(http.TimeFormat)
	pq := req.URL.EscapedPath()
	if req.URL.RawQuery != "" {
		pq += "?" + req.URL.RawQuery
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(req.Method + "\n" + pq + "\n" + date + ";" + req.URL.Host + ";" + hash))
	req.Header.Set("x-ms-date", date)
	req.Header.Set("x-ms-content-sha256", hash)
	req.Header.Set("Authorization", "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="+
		base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

// TestAccessKeySignature (issue 14): an identity operation signed with the
// deployment's access key, as the ACS identity SDK signs with a connection
// string, is the admin's; a wrong key, a body changed after signing, a date
// 16 minutes old or a request signed for another host is 401
// signature_invalid.
func TestAccessKeySignature(t *testing.T) {
	e := start(t)
	key := bytes.Repeat([]byte{9}, 32)
	if err := e.Store.Update(t.Context(), func(tx herald.Tx) error {
		return tx.CreateAccessKey(t.Context(), herald.AccessKey{Name: "primary", Secret: key})
	}); err != nil {
		t.Fatal(err)
	}
	type change struct {
		key    []byte
		at     time.Duration
		tamper bool
		host   string
	}
	do := func(c change) (int, []byte) {
		body := []byte(`{"createTokenWithScopes":["chat"]}`)
		req, err := http.NewRequest("POST", e.URL+"/identities?api-version=2023-10-01", nil)
		if err != nil {
			t.Fatal(err)
		}
		k, signed := key, req.URL.Host
		if c.key != nil {
			k = c.key
		}
		if c.host != "" {
			u := *req.URL
			u.Host = c.host
			req.URL = &u
		}
		signACS(req, k, body, e.Clock.Now().Add(c.at))
		if c.host != "" {
			req.URL, _ = url.Parse(e.URL + "/identities?api-version=2023-10-01")
			req.Host = signed
		}
		if c.tamper {
			body = []byte(`{"createTokenWithScopes":["chat","chat.join"]}`)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res.StatusCode, out
	}
	code, out := do(change{})
	var created wire.CreateIdentityResponse
	if code != http.StatusCreated || json.Unmarshal(out, &created) != nil || created.AccessToken == nil {
		t.Fatalf("signed with the access key: got %d %s, want 201 with an identity and a token", code, out)
	}
	if code, _ := do(change{at: 14 * time.Minute}); code != http.StatusCreated {
		t.Errorf("a date 14 minutes ahead (clock skew within 15): got %d, want 201", code)
	}
	for name, c := range map[string]change{
		"another key":                {key: bytes.Repeat([]byte{1}, 32)},
		"body changed after signing": {tamper: true},
		"date 16 minutes old":        {at: -16 * time.Minute},
		"signed for another host":    {host: "evil.example:443"},
	} {
		code, out := do(c)
		var body wire.ErrorResponse
		json.Unmarshal(out, &body)
		if code != http.StatusUnauthorized || body.Error.Reason != string(herald.ReasonSignatureInvalid) {
			t.Errorf("%s: got %d %s, want 401 signature_invalid", name, code, out)
		}
	}
}
