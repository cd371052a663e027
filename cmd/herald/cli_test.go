package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"sigs.k8s.io/yaml"

	"github.com/herald-chat/herald/wire"
)

// runCLI runs the binary's entry point in-process.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestHelpGolden (issue 15): bare commands print their help and exit 0,
// every help ends with Examples, global flags come after the command's
// own under their own heading.
func TestHelpGolden(t *testing.T) {
	t.Setenv("HERALD_URL", "")
	t.Setenv("HERALD_ADMIN_KEY", "")
	t.Setenv("HERALD_TOKEN", "")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"help-bare", nil},
		{"help-identity", []string{"identity"}},
		{"help-identity-create", []string{"identity", "create", "--help"}},
		{"help-key", []string{"key"}},
		{"help-serve", []string{"serve", "--help"}},
		{"help-completion", []string{"completion", "--help"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, c.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("herald %v: exit %d, stderr %q; want the help and 0", c.args, code, errOut)
			}
			if !strings.Contains(out, "\nExamples:\n") {
				t.Errorf("herald %v: no Examples section", c.args)
			}
			if flags, global := strings.Index(out, "\nFlags:"), strings.Index(out, "Global flags"); flags < 0 || global < flags {
				t.Errorf("herald %v: global flags (at %d) are not after the command's flags (at %d)", c.args, global, flags)
			}
			if strings.Contains(out, ",...,...") {
				t.Errorf("herald %v: a garbled placeholder (,...,...)", c.args)
			}
			mustMatchGolden(t, c.name, []byte(out))
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := runCLI(t, args...)
		if code != 0 || !strings.HasPrefix(out, "herald ") || !strings.Contains(out, "go1.") {
			t.Errorf("herald %v: exit %d, %q; want \"herald <version> ... go1.x\"", args, code, out)
		}
	}
}

// TestEnvOutput: -o env prints assignments a shell evaluates back to the
// exact values, whatever they hold.
func TestEnvOutput(t *testing.T) {
	exp := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	v := &wire.CreateIdentityResponse{Identity: wire.CommunicationUser{ID: "u_1"},
		AccessToken: &wire.AccessToken{Token: "eyJ.it's $(rm -rf /)`x`", ExpiresOn: exp}}
	var out bytes.Buffer
	if err := writeEnv(&out, "ALICE_", v); err != nil {
		t.Fatal(err)
	}
	want := "ALICE_EXPIRES_ON='2026-12-06T08:00:00Z'\nALICE_ID='u_1'\nALICE_TOKEN='eyJ.it'\\''s $(rm -rf /)`x`'\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	if sh, err := exec.LookPath("sh"); err == nil {
		got, err := exec.Command(sh, "-c", out.String()+`printf %s "$ALICE_TOKEN"`).Output()
		if err != nil || string(got) != v.AccessToken.Token {
			t.Errorf("sh evaluated ALICE_TOKEN to %q (%v), want %q", got, err, v.AccessToken.Token)
		}
	}
	if err := writeEnv(&out, "1BAD;", v); err == nil {
		t.Errorf("--env-prefix 1BAD;: accepted, want refused (not a variable name)")
	}
	out.Reset()
	if err := writeEnv(&out, "", &wire.ChatThreadProperties{ID: "t_1", Topic: "x"}); err != nil || !strings.Contains(out.String(), "ID='t_1'\n") {
		t.Errorf("a flattened record: got %q, %v; want ID='t_1'", out.String(), err)
	}
}

// TestJSONGaps: an answer without a body is {} with -o json (was nothing),
// and an empty list is [] (was null).
func TestJSONGaps(t *testing.T) {
	if got := string(render(t, "json", done("marked read"), nil)); got != "{}\n" {
		t.Errorf("done with -o json: got %q, want {}", got)
	}
	items, _, err := collect(context.Background(), 0,
		func(context.Context) (*wire.ReadReceiptList, error) { return &wire.ReadReceiptList{}, nil },
		func(context.Context, string) (*wire.ReadReceiptList, error) { return nil, nil },
		func(l *wire.ReadReceiptList) ([]wire.ReadReceipt, string) { return l.Value, l.NextLink })
	got := string(render(t, "json", wire.ReadReceiptList{Value: items}, printReceipts))
	if err != nil || !strings.Contains(got, `"value": []`) {
		t.Errorf("an empty receipt list with -o json: got %s (%v), want \"value\": []", got, err)
	}
}

// TestYAMLOutput (issue 15): -o yaml is the document -o json prints, in
// YAML: the same keys and values once read back, {} for an answer without
// a body.
func TestYAMLOutput(t *testing.T) {
	msgs := sampleMessages()
	for _, c := range []struct {
		name     string
		json, ya []byte
	}{
		{"messages", render(t, "json", msgs, printMessages), render(t, "yaml", msgs, printMessages)},
		{"receipts", render(t, "json", wire.ReadReceiptList{Value: []wire.ReadReceipt{}}, printReceipts),
			render(t, "yaml", wire.ReadReceiptList{Value: []wire.ReadReceipt{}}, printReceipts)},
		{"done", render(t, "json", done("deleted thread t_1"), nil), render(t, "yaml", done("deleted thread t_1"), nil)},
	} {
		t.Run(c.name, func(t *testing.T) {
			back, err := yaml.YAMLToJSON(c.ya)
			if err != nil {
				t.Fatalf("-o yaml printed what does not parse as YAML: %v\n%s", err, c.ya)
			}
			var want, got any
			if err := json.Unmarshal(c.json, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(back, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("-o yaml read back:\n%s\nwant the -o json document:\n%s", back, c.json)
			}
			if bytes.HasPrefix(bytes.TrimSpace(c.ya), []byte("{")) && c.name != "done" {
				t.Errorf("-o yaml printed JSON, not YAML:\n%s", c.ya)
			}
		})
	}
	mustMatchGolden(t, "messages-yaml", render(t, "yaml", msgs, printMessages))
}

// TestFriendlyErrors: what a new user meets first says what to do.
func TestFriendlyErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	code, _, errOut := runCLI(t, "--url", "http://"+addr, "--token", "x", "thread", "list")
	if code != 1 || !strings.Contains(errOut, "is `herald serve` running there?") {
		t.Errorf("connection refused: exit %d, %q; want a hint about herald serve and --url", code, errOut)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	t.Setenv("HERALD_ADMIN_KEY", "")
	code, _, errOut = runCLI(t, "serve", "--addr", busy.Addr().String(), "--data", t.TempDir())
	if code != 1 || !strings.Contains(errOut, "--addr") {
		t.Errorf("a busy port: exit %d, %q; want the --addr hint", code, errOut)
	}
}

// TestCompletion: the scripts' helper offers the commands and flags that
// fit what is typed.
func TestCompletion(t *testing.T) {
	parser, err := kong.New(&CLI{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		words []string
		cur   string
		want  string
	}{
		{nil, "ide", "identity"},
		{[]string{"identity"}, "cr", "create"},
		{[]string{"identity", "create"}, "--sc", "--scopes"},
		{[]string{"key"}, "", "list rotate"},
		{nil, "__", ""}, // hidden
	} {
		got := strings.Join(complete(parser.Model.Node, c.words, c.cur), " ")
		if got != c.want {
			t.Errorf("complete(%v, %q): got %q, want %q", c.words, c.cur, got, c.want)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, _ := runCLI(t, "completion", shell)
		if code != 0 || !strings.Contains(out, "herald __complete") {
			t.Errorf("completion %s: exit %d, %q", shell, code, out)
		}
	}
}
