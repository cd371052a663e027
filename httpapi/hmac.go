package httpapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/herald-chat/herald"
)

// hmacScheme starts the Authorization header of a request signed with an
// access key, as the ACS SDKs sign with a connection string:
//
//	HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<base64>
//
// The signature is HMAC-SHA256, keyed by the access key, of
//
//	METHOD \n path?query \n x-ms-date;host;x-ms-content-sha256
//
// where x-ms-content-sha256 is the base64 SHA-256 of the body.
const hmacScheme = "HMAC-SHA256 "

// signatureSkew is how far x-ms-date may be from the server's clock.
const signatureSkew = 15 * time.Minute

// verifySignature checks an HMAC-signed admin request against the
// deployment's access keys. The body is read (within the body limit) and
// put back for the handler.
func (s *Server) verifySignature(r *http.Request, auth string) error {
	invalid := func(format string, args ...any) error {
		return herald.Errorf(herald.CodeUnauthorized, herald.ReasonSignatureInvalid, "the request signature is not valid: "+format, args...)
	}
	var signedHeaders, signature string
	for part := range strings.SplitSeq(strings.TrimPrefix(auth, hmacScheme), "&") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "SignedHeaders":
			signedHeaders = v
		case "Signature":
			signature = v
		}
	}
	if !strings.EqualFold(signedHeaders, "x-ms-date;host;x-ms-content-sha256") {
		return invalid("SignedHeaders must be x-ms-date;host;x-ms-content-sha256, not %q", signedHeaders)
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || len(sig) != sha256.Size {
		return invalid("the Signature is not a base64 HMAC-SHA256")
	}
	date := r.Header.Get("x-ms-date")
	at, err := http.ParseTime(date)
	if err != nil {
		return invalid("x-ms-date %q is not an HTTP date (RFC 1123, GMT)", date)
	}
	if d := s.clock.Now().Sub(at); d > signatureSkew || d < -signatureSkew {
		return invalid("x-ms-date %s is more than %v from the server's time %s: check the client's clock",
			date, signatureSkew, s.clock.Now().UTC().Format(http.TimeFormat))
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		return herald.Errorf(herald.CodeInvalid, herald.ReasonPayloadTooLarge, "the body could not be read within %d bytes: %v", s.cfg.MaxBodyBytes, err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	contentHash := base64.StdEncoding.EncodeToString(sum[:])
	if r.Header.Get("x-ms-content-sha256") != contentHash {
		return invalid("x-ms-content-sha256 is not the SHA-256 of the body")
	}
	pathAndQuery := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		pathAndQuery += "?" + r.URL.RawQuery
	}
	toSign := r.Method + "\n" + pathAndQuery + "\n" + date + ";" + r.Host + ";" + contentHash
	keys, err := s.store.ListAccessKeys(r.Context())
	if err != nil {
		return err
	}
	for _, k := range keys {
		mac := hmac.New(sha256.New, k.Secret)
		mac.Write([]byte(toSign))
		if hmac.Equal(mac.Sum(nil), sig) {
			return nil
		}
	}
	return invalid("no access key of this deployment made it (connection string from another deployment, or a changed host, path or body)")
}
