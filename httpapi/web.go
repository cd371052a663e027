package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/web"
)

// The browser side: the chat page at /, the doctor page at /doctor, their
// scripts and styles under /web/, all from the bundle embedded by package
// web; and, when Config.DevLogin is set, POST /dev/login.

// pageCSP confines the pages to their own origin: scripts and styles from
// /web/, fetches and real-time connections (ws: and wss: included in
// 'self') to this server, nothing framed.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	name  string
	data  []byte
	etag  string
	ctype string
}

// webRoutes registers the pages, their assets and the dev login.
func (s *Server) webRoutes() {
	assets := map[string]asset{}
	fs.WalkDir(web.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(web.FS(), p)
		if err != nil {
			return err
		}
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		assets[p] = asset{name: p, data: data, etag: etag(data), ctype: ctype}
		return nil
	})
	index := assets["index.html"]
	if s.cfg.DevLogin { // the chat page shows its dev sign-in form
		index.data = bytes.Replace(index.data, []byte(`data-dev-login="off"`), []byte(`data-dev-login="on"`), 1)
		index.etag = etag(index.data)
	}
	s.route("GET /{$}", "WebChatPage", s.page(index))
	s.route("GET /doctor", "WebDoctorPage", s.page(assets["doctor.html"]))
	s.route("GET /web/{file}", "WebAsset", func(w http.ResponseWriter, r *http.Request) error {
		a, ok := assets[r.PathValue("file")]
		if !ok || path.Ext(a.name) == ".html" {
			return herald.Errorf(herald.CodeNotFound, herald.ReasonRouteNotFound, "no file %s", r.URL.Path)
		}
		serveAsset(w, r, a)
		return nil
	})
	if s.cfg.DevLogin {
		s.log.Warn("dev login is enabled: anyone who can reach this server can create identities and chat tokens (POST /dev/login); never enable it in production")
		s.route("POST /dev/login", "DevLogin", s.devLogin)
		s.route("GET /dev/people", "DevDirectory", s.writeDirectory) // who exists, for the sign-in page: development only, like /dev/login
	}
}

// etag names a file's content.
func etag(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// page serves an HTML page, confined by pageCSP.
func (s *Server) page(a asset) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if a.data == nil {
			return herald.Errorf(herald.CodeNotFound, herald.ReasonRouteNotFound, "this build has no %s", r.URL.Path)
		}
		w.Header().Set("Content-Security-Policy", pageCSP)
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("X-Frame-Options", "DENY")
		serveAsset(w, r, a)
		return nil
	}
}

// serveAsset answers with a's bytes; browsers revalidate every time with
// the ETag, so a new binary's files are never mixed with cached old ones.
func serveAsset(w http.ResponseWriter, r *http.Request, a asset) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.data))
}

// devLoginRequest is the body of POST /dev/login.
type devLoginRequest struct {
	Name string `json:"name"`
}

// devLoginResponse answers POST /dev/login.
type devLoginResponse struct {
	ID        string    `json:"id"`
	Token     string    `json:"token"`
	ExpiresOn time.Time `json:"expiresOn"`
}

// devUserID is the identity a name signs in as with the development
// sign-in: the same name (ignoring case and surrounding spaces) is always
// the same user, so signing in again finds the earlier threads. It has the
// shape of every user id (u_ and 26 base32 characters). Development only,
// like the sign-in itself: whoever knows a name signs in as it.
func devUserID(name string) herald.UserID {
	sum := sha256.Sum256([]byte("herald dev login\x00" + strings.ToLower(strings.TrimSpace(name))))
	return herald.UserID(herald.IDOf(herald.PrefixUser, [16]byte(sum[:16])))
}

// devLogin answers POST /dev/login, registered only with Config.DevLogin:
// {"name"} signs in as the name's identity (devUserID; created the first
// time) with a new chat token. With the bearer token
// of a user instead, it issues that user a new token with the same
// scopes: the refresher of the pages' dev sign-in.
func (s *Server) devLogin(w http.ResponseWriter, r *http.Request) error {
	var in devLoginRequest
	if bearer(r) != "" {
		c, err := s.user(r)
		if err != nil {
			return err
		}
		if err := s.decode(w, r, &in, true); err != nil {
			return err
		}
		tok, err := s.svc.IssueToken(r.Context(), c.User, c.Token.Scopes, 0)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, devLoginResponse{ID: string(c.User), Token: tok.Signed, ExpiresOn: tok.Token.ExpiresAt})
		return nil
	}
	if err := s.decode(w, r, &in, false); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(in.Name) == "":
		return herald.Errorf(herald.CodeInvalid, herald.ReasonMissingField, "name is required").WithTarget("name")
	case len(in.Name) > 256:
		return herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField, "name must be at most 256 bytes").WithTarget("name")
	}
	ident, tok, err := s.svc.NamedIdentity(r.Context(), devUserID(in.Name), in.Name, []herald.Scope{herald.ScopeChat}, 0)
	if err != nil {
		return err
	}
	if rec := recordOf(r); rec != nil {
		rec.Caller = ident.ID
	}
	s.log.Info("dev login", "request_id", requestID(r), "user", ident.ID, "name", in.Name)
	writeJSON(w, http.StatusCreated, devLoginResponse{ID: string(ident.ID), Token: tok.Signed, ExpiresOn: tok.Token.ExpiresAt})
	return nil
}
