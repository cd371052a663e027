package httpapi_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The API reference must keep up with the code: every route registered in
// routes.go and every Reason declared in errors.go has to appear in it.

const apiDoc = "../docs/api.md"

// routeLine matches s.route("METHOD PATH", "Operation", handler).
var routeLine = regexp.MustCompile(`s\.route\("([A-Z]+) ([^"]+)",\s*"(\w+)"`)

// reasonLine matches ReasonName Reason = "value" in a const block.
var reasonLine = regexp.MustCompile(`(?m)^\s*(Reason\w+)\s+Reason\s*=\s*"([^"]*)"`)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

func TestDocsCoverRoutes(t *testing.T) {
	doc := readFile(t, apiDoc)
	routes := routeLine.FindAllStringSubmatch(readFile(t, "routes.go")+readFile(t, "realtime.go")+readFile(t, "admin.go")+readFile(t, "keys.go")+readFile(t, "webhooks.go"), -1)
	if len(routes) == 0 {
		t.Fatalf("routes.go: got 0 s.route(...) lines, want at least one (has the registration format changed?)")
	}
	for _, m := range routes {
		method, path, op := m[1], m[2], m[3]
		route := method + " " + path
		if !strings.Contains(doc, route) {
			t.Errorf("docs/api.md does not document %s (%s)", route, op)
		}
		if !strings.Contains(doc, "`"+op+"`") {
			t.Errorf("docs/api.md does not name the operation of %s: got no `%s`, want it", route, op)
		}
	}
}

func TestDocsCoverReasons(t *testing.T) {
	doc := readFile(t, apiDoc)
	reasons := reasonLine.FindAllStringSubmatch(readFile(t, "../errors.go"), -1)
	if len(reasons) == 0 {
		t.Fatalf("errors.go: got 0 Reason constants, want at least one (has the declaration format changed?)")
	}
	for _, m := range reasons {
		name, value := m[1], m[2]
		if value == "" {
			continue // ReasonNone: no reason, nothing to document
		}
		if !strings.Contains(doc, "`"+value+"`") {
			t.Errorf("docs/api.md does not mention reason `%s` (%s)", value, name)
		}
	}
}
