package client_test

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

// TestImportsNoServerPackage (issue 16): the SDK speaks wire to a server
// and imports none of the server's packages (the doctor's report types
// are in wire), so that an app embedding it does not link the server.
func TestImportsNoServerPackage(t *testing.T) {
	pkg, err := build.Import("github.com/herald-chat/herald/client", ".", 0)
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{"github.com/herald-chat/herald", "github.com/herald-chat/herald/wire"}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/herald-chat/herald") && !slices.Contains(allowed, imp) {
			t.Errorf("client imports %s; want only %v of Herald's packages", imp, allowed)
		}
	}
}
