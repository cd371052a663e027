package herald_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/herald-chat/herald"

// allowed is the package map (docs/architecture.md): what each package may
// import from Herald in its non-test files. The root is the vocabulary;
// engines know only it (and the group-commit queue); the core packages
// know the root and the wire schema; only the HTTP edge combines core
// packages, and only cmd/herald wires engines in. A package not listed may
// import nothing of Herald's.
var allowed = map[string][]string{
	"":            {},
	"wire":        {""},
	"client":      {"", "wire"},
	"sqlite":      {"", "groupcommit"},
	"postgres":    {"", "groupcommit"},
	"nats":        {""},
	"inmem":       {""},
	"groupcommit": {""},
	"service":     {""},
	"token":       {""},
	"metrics":     {""},
	"hub":         {"", "wire"},
	"doctor":      {"", "wire"},
	"webhook":     {"", "wire"},
	"storetest":   {""},
	"brokertest":  {""},
	"clocktest":   {""},
	"httpapi":     {"", "wire", "service", "hub", "doctor", "webhook", "web"},
	"bench":       {"", "wire", "client"},
	"demo":        {"", "wire", "client"},
	"cmd/herald":  nil, // the wiring: anything
	"heraldtest":  nil, // the same wiring, for tests, on the embedded default
}

// TestPackageMap fails when a package imports what the layout says it
// must not (issue 16): for example an engine importing another engine, the
// SDK importing the server, or wiring outside cmd/.
func TestPackageMap(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := rel(fields[0])
		may, listed := allowed[pkg]
		if listed {
			seen++
		}
		if slices.Contains(fields[1:], module+"/heraldtest") {
			t.Errorf("%s imports heraldtest, which only tests may import", name(pkg))
		}
		if listed && may == nil {
			continue
		}
		for _, imp := range fields[1:] {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if dep := rel(imp); !slices.Contains(may, dep) {
				t.Errorf("%s imports %s; the package map allows it %q (docs/architecture.md)", name(pkg), name(dep), may)
			}
		}
	}
	if seen < len(allowed) {
		t.Errorf("go list showed %d of the %d mapped packages: is a package renamed?", seen, len(allowed))
	}
}

func rel(path string) string {
	return strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
}

func name(p string) string {
	if p == "" {
		return "herald (root)"
	}
	return p
}
