package main

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/alecthomas/kong"
)

// needsSubcommand returns the parse context when err only says that a
// command group was given without one of its commands (bare `herald`,
// `herald identity`): the caller prints that group's help instead.
func needsSubcommand(err error) *kong.Context {
	var pe *kong.ParseError
	if !errors.As(err, &pe) || pe.Context == nil || !strings.HasPrefix(pe.Error(), "expected one of") {
		return nil
	}
	return pe.Context
}

// examples are the Examples section of each command's help, by command
// path (kong's ctx.Command() without its arguments); a command without
// its own shows its group's.
var examples = map[string]string{
	"":                "herald serve\nherald identity create --scopes chat -o env\nherald --help",
	"serve":           "herald serve                                    # SQLite in ./herald-data, http://127.0.0.1:8080\nherald serve --data /tmp/scratch --dev-login    # a scratch server with the chat page's sign-in\nherald serve --tls-self-signed                  # HTTPS for SDKs that refuse tokens over HTTP\nherald serve --store postgres://… --broker nats://…   # one node of several",
	"identity":        "herald identity create --scopes chat\neval \"$(herald identity create --scopes chat -o env --env-prefix ALICE_)\"",
	"identity create": "herald identity create --scopes chat\neval \"$(herald identity create --scopes chat -o env --env-prefix ALICE_)\"   # sets ALICE_ID, ALICE_TOKEN",
	"identity get":    "herald identity get u_…",
	"identity delete": "herald identity delete u_…",
	"identity tokens": "herald identity tokens u_… -o json",
	"token":           "herald token issue u_… --scopes chat\nherald token revoke u_…",
	"key":             "herald key list\nherald key rotate",
	"key list":        "herald key list -o json",
	"key rotate":      "herald key rotate",
	"webhook":         "herald webhook create https://example.com/hook --event-type Microsoft.Communication.ChatMessageReceived\nherald webhook list\nherald webhook deliveries w_… --state dead\nherald webhook retry w_… 42",
	"thread":          "herald thread create --topic Launch --participant \"$BOB_ID\"\nherald thread list",
	"message":         "herald message send \"$THREAD\" \"hello\"\nherald message list \"$THREAD\" -o json",
	"receipt":         "herald receipt send \"$THREAD\" m_…\nherald receipt list \"$THREAD\"",
	"participant":     "herald participant add \"$THREAD\" u_…\nherald participant list \"$THREAD\"",
	"doctor":          "herald doctor --user u_… --thread t_…\nherald doctor --thread t_… --message m_…   # every recipient\nherald doctor --recent 1h",
	"events":          "herald events Requests --user u_… --since 1h\nherald events ChatMessageReceivedEvents --thread t_… -o csv",
	"listen":          "herald listen            # as HERALD_TOKEN's user, every thread",
	"bench":           "herald bench fanout\nherald bench --help",
	"demo":            "herald demo              # against its own scratch server\nherald demo --url http://127.0.0.1:8080 --yes",
	"version":         "herald version\nherald --version",
	"completion":      "source <(herald completion bash)\nherald completion zsh > \"${fpath[1]}/_herald\"\nherald completion fish | source",
	"typing":          "herald typing \"$THREAD\"",
	"thread create":   "herald thread create --topic Launch --participant \"$BOB_ID\" -o env --env-prefix THREAD_",
	"message send":    "herald message send \"$THREAD\" \"hello bob\"",
}

// helpWithExamples is kong's help with an Examples section when the
// command has one (its group's otherwise).
func helpWithExamples(options kong.HelpOptions, ctx *kong.Context) error {
	if err := kong.DefaultHelpPrinter(options, ctx); err != nil {
		return err
	}
	var words []string
	for _, w := range strings.Fields(ctx.Command()) {
		if !strings.HasPrefix(w, "<") { // an argument, not a command
			words = append(words, w)
		}
	}
	ex, ok := examples[strings.Join(words, " ")]
	if !ok && len(words) > 0 {
		ex, ok = examples[words[0]]
	}
	if !ok {
		return nil
	}
	w := ctx.Stdout
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Examples:")
	for _, line := range strings.Split(ex, "\n") {
		fmt.Fprintln(w, "  "+line)
	}
	return nil
}

// version is this binary's version: the module version it was built at
// (or "devel"), the VCS revision and whether the tree was modified, and
// the Go version.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "herald (unknown build)"
	}
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+modified"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	out := "herald " + v
	if rev != "" {
		out += " (" + rev + modified + ")"
	}
	return out + " " + info.GoVersion
}

// VersionCmd is "version".
type VersionCmd struct{}

// Run prints the version.
func (VersionCmd) Run(g *Globals) error {
	_, err := fmt.Fprintln(g.stdout, version())
	return err
}
