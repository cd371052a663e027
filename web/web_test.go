package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"github.com/herald-chat/herald/heraldtest"
	"github.com/herald-chat/herald/web"
	"github.com/herald-chat/herald/wire"
)

func TestDistHasThePages(t *testing.T) {
	for _, name := range []string{"index.html", "doctor.html", "style.css", "chat.js", "doctor.js", "herald.js"} {
		b, err := fs.ReadFile(web.FS(), name)
		if err != nil {
			t.Errorf("dist/%s: %v (run: cd web && npm ci && npm run build)", name, err)
			continue
		}
		if len(b) == 0 {
			t.Errorf("dist/%s: got 0 bytes, want the built file", name)
		}
	}
}

// mustServe runs the HTTP API on a real SQLite store, with or without the
// dev login.
func mustServe(tb testing.TB, devLogin bool) string {
	tb.Helper()
	return heraldtest.Start(tb, heraldtest.Options{DevLogin: devLogin}).URL
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func mustDo(tb testing.TB, method, url, bearer, body string, header ...string) answer {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func (a answer) reason() string {
	var e wire.ErrorResponse
	json.Unmarshal(a.body, &e)
	return e.Error.Reason
}

func TestPagesAndAssets(t *testing.T) {
	url := mustServe(t, false)
	for _, tc := range []struct {
		path, ctype string
		csp         bool
	}{
		{"/", "text/html", true},
		{"/doctor", "text/html", true},
		{"/web/chat.js", "text/javascript", false},
		{"/web/herald.js", "text/javascript", false},
		{"/web/style.css", "text/css", false},
	} {
		a := mustDo(t, "GET", url+tc.path, "", "")
		if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), tc.ctype) {
			t.Errorf("GET %s: got %d %s, want 200 %s", tc.path, a.status, a.header.Get("Content-Type"), tc.ctype)
		}
		if got := a.header.Get("Content-Security-Policy") != ""; got != tc.csp {
			t.Errorf("GET %s: Content-Security-Policy set: got %v, want %v", tc.path, got, tc.csp)
		}
		etag := a.header.Get("ETag")
		if again := mustDo(t, "GET", url+tc.path, "", "", "If-None-Match", etag); etag == "" || again.status != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match %s: got %d, want 304", tc.path, etag, again.status)
		}
	}
	if a := mustDo(t, "GET", url+"/", "", ""); !bytes.Contains(a.body, []byte(`data-dev-login="off"`)) {
		t.Errorf("GET / without dev login: got no data-dev-login=\"off\", want it")
	}
	for _, path := range []string{"/web/nope.js", "/web/index.html", "/index.html", "/chat/threads/"} {
		if a := mustDo(t, "GET", url+path, "", ""); a.status != http.StatusNotFound || a.reason() != "route_not_found" {
			t.Errorf("GET %s: got %d %s, want 404 route_not_found", path, a.status, a.reason())
		}
	}
}

func TestDevLoginDisabled(t *testing.T) {
	url := mustServe(t, false)
	a := mustDo(t, "POST", url+"/dev/login", "", `{"name":"Ann"}`)
	if a.status != http.StatusNotFound || a.reason() != "route_not_found" {
		t.Errorf("POST /dev/login without --dev-login: got %d %s, want 404 route_not_found", a.status, a.reason())
	}
}

func TestDevLogin(t *testing.T) {
	url := mustServe(t, true)
	if a := mustDo(t, "GET", url+"/", "", ""); !bytes.Contains(a.body, []byte(`data-dev-login="on"`)) {
		t.Errorf("GET / with dev login: got no data-dev-login=\"on\", want it")
	}
	a := mustDo(t, "POST", url+"/dev/login", "", `{"name":"Ann"}`)
	var got struct {
		ID, Token, ExpiresOn string
	}
	if err := json.Unmarshal(a.body, &got); a.status != http.StatusCreated || err != nil || !strings.HasPrefix(got.ID, "u_") || got.Token == "" || got.ExpiresOn == "" {
		t.Fatalf("POST /dev/login: got %d %s, want 201 {id, token, expiresOn}", a.status, a.body)
	}
	if a := mustDo(t, "GET", url+"/chat/threads", got.Token, ""); a.status != http.StatusOK {
		t.Errorf("GET /chat/threads with the dev token: got %d %s, want 200", a.status, a.body)
	}

	// Signing in again with the same name (issue 17) is the same user, with
	// a new token: ignoring case and surrounding spaces; another name is
	// another user.
	for _, name := range []string{"Ann", " ann "} {
		var again struct{ ID, Token string }
		a := mustDo(t, "POST", url+"/dev/login", "", `{"name":"`+name+`"}`)
		if err := json.Unmarshal(a.body, &again); a.status != http.StatusCreated || err != nil || again.ID != got.ID || again.Token == got.Token {
			t.Errorf("POST /dev/login %q again: got %d %s, want 201 with a new token for %s", name, a.status, a.body, got.ID)
		}
	}
	var other struct{ ID string }
	json.Unmarshal(mustDo(t, "POST", url+"/dev/login", "", `{"name":"Bea"}`).body, &other)
	if other.ID == "" || other.ID == got.ID {
		t.Errorf("POST /dev/login Bea: got id %q, want a user other than Ann's %s", other.ID, got.ID)
	}

	// A deleted identity stays deleted: its name does not bring it back.
	var bea struct{ ID string }
	json.Unmarshal(mustDo(t, "POST", url+"/dev/login", "", `{"name":"Cid"}`).body, &bea)
	if d := mustDo(t, "DELETE", url+"/identities/"+bea.ID, heraldtest.AdminKey, ""); d.status != http.StatusNoContent {
		t.Fatalf("delete Cid: got %d %s", d.status, d.body)
	}
	if a := mustDo(t, "POST", url+"/dev/login", "", `{"name":"Cid"}`); a.status != http.StatusConflict || a.reason() != "identity_deleted" {
		t.Errorf("POST /dev/login of a deleted identity's name: got %d %s, want 409 identity_deleted", a.status, a.reason())
	}

	// With the user's token instead of a name: a new token for the same user.
	r := mustDo(t, "POST", url+"/dev/login", got.Token, "")
	var renewed struct{ ID, Token string }
	json.Unmarshal(r.body, &renewed)
	if r.status != http.StatusCreated || renewed.ID != got.ID || renewed.Token == "" || renewed.Token == got.Token {
		t.Errorf("POST /dev/login with the token: got %d %s, want 201 with a new token for %s", r.status, r.body, got.ID)
	}

	for _, tc := range []struct {
		bearer, body, reason string
		status               int
	}{
		{"", `{}`, "missing_field", 400},
		{"", `{"name":"  "}`, "missing_field", 400},
		{"", `{"name":"` + strings.Repeat("x", 257) + `"}`, "invalid_field", 400},
		{"", `{"nmae":"Ann"}`, "unknown_field", 400},
		{"", ``, "invalid_json", 400},
		{"not-a-token", ``, "token_invalid", 401},
	} {
		a := mustDo(t, "POST", url+"/dev/login", tc.bearer, tc.body)
		if a.status != tc.status || a.reason() != tc.reason {
			t.Errorf("POST /dev/login %q (bearer %q): got %d %s, want %d %s", tc.body, tc.bearer, a.status, a.reason(), tc.status, tc.reason)
		}
	}
}
