package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// The docs must not promise what the code lacks (issue 16): every flag the
// docs name is a flag of some command, every reason in api.md's reason
// table is a Reason, every close code in realtime.md's table is one the
// server uses with that reason. (httpapi's docs tests check the other
// direction: every route and reason is documented.)

func docs(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(b)
	}
	return out
}

// flagRef is a --flag in prose or code; the systemd example's
// `systemctl enable --now` is not Herald's.
var flagRef = regexp.MustCompile("(?:^|[\\s`(/])--([a-z][a-z0-9-]+)")

func TestDocumentedFlagsExist(t *testing.T) {
	parser, err := kong.New(&CLI{})
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{"help": true}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			flags[f.Name] = true
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(parser.Model.Node)
	foreign := map[string]bool{"now": true} // systemctl enable --now
	for name, text := range docs(t) {
		for _, m := range flagRef.FindAllStringSubmatch(text, -1) {
			if f := m[1]; !flags[f] && !foreign[f] {
				t.Errorf("%s names --%s, which no herald command has", name, f)
			}
		}
	}
}

// reasonRow is a row of api.md's reason table: | `reason` | status |.
var reasonRow = regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (?:[0-9-]|—)")

func TestDocumentedReasonsExist(t *testing.T) {
	known := map[string]bool{}
	src, err := os.ReadFile("../../errors.go")
	if err != nil {
		t.Fatal(err)
	}
	// api.md's code table has the reason table's shape: codes count too.
	for _, m := range regexp.MustCompile(`(?:Reason|Code) += "([a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		known[m[1]] = true
	}
	rows := reasonRow.FindAllStringSubmatch(docs(t)["api.md"], -1)
	if len(rows) < 20 {
		t.Fatalf("api.md: found %d reason rows, want the whole table (has its format changed?)", len(rows))
	}
	for _, m := range rows {
		if !known[m[1]] {
			t.Errorf("api.md documents reason %q, which errors.go does not declare", m[1])
		}
	}
}

// closeRow is a row of realtime.md's close-code table.
var closeRow = regexp.MustCompile("(?m)^\\| (\\d{4}) \\| ([a-z_ ]+) \\|")

func TestDocumentedCloseCodesExist(t *testing.T) {
	rows := closeRow.FindAllStringSubmatch(docs(t)["realtime.md"], -1)
	if len(rows) < 10 {
		t.Fatalf("realtime.md: found %d close-code rows, want the whole table", len(rows))
	}
	for _, m := range rows {
		code, _ := strconv.Atoi(m[1])
		reason := herald.Reason(strings.ReplaceAll(m[2], " ", "_"))
		if code >= 4000 && wire.CloseCodeOf(reason) != code {
			t.Errorf("realtime.md: %d %s, but the server closes %s with %d", code, m[2], reason, wire.CloseCodeOf(reason))
		}
	}
}
