package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEWalkthrough (issue 15) runs the README's walkthrough and its
// first doctor block with bash, literally, against a fresh server in a
// scratch directory: the commands a new user copies must work as printed.
func TestREADMEWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	script := walkthrough(t, string(readme))

	dir := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "herald"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := exec.Command("./herald", "serve", "--addr", "127.0.0.1:0", "--data", "herald-data")
	srv.Dir, srv.Env = dir, cleanEnv()
	url := "http://" + startListening(t, srv, nil)
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })

	script = strings.ReplaceAll(script, "http://127.0.0.1:8080", url)
	run := exec.Command("bash", "-c", script)
	run.Dir, run.Env = dir, cleanEnv()
	out, _ := run.CombinedOutput()
	text := string(out)
	t.Logf("the walkthrough printed:\n%s", text)
	for _, want := range []string{
		"Alice is u_", // eval of -o env
		"hello bob",   // Bob lists Alice's message
		`"sequenceId":"3"`,
		`"reason":"token_invalid"`,
		"thread_not_found",
		"DELIVERED", // the doctor on Bob: he fetched it
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the walkthrough's output lacks %q", want)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "error:") && !strings.Contains(line, "thread_not_found") {
			t.Errorf("an unexpected error: %s", line)
		}
	}
}

// walkthrough returns the sh blocks of the README's walkthrough and the
// first of "Why didn't my message arrive?", without the go build line (the
// test built the binary).
func walkthrough(t *testing.T, readme string) string {
	t.Helper()
	start := strings.Index(readme, "## Five-minute walkthrough")
	end := strings.Index(readme, "## Documentation")
	if start < 0 || end < start {
		t.Fatal("README: the walkthrough section is missing")
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(readme[start:end], -1)
	var b strings.Builder
	doctor := false
	for _, m := range blocks {
		block := m[1]
		if strings.Contains(block, "herald doctor") {
			if doctor {
				continue
			}
			doctor = true
		}
		if strings.Contains(block, "herald demo") {
			continue // the scratch-server example names a made-up directory
		}
		for _, line := range strings.Split(block, "\n") {
			if !strings.HasPrefix(line, "go build") {
				b.WriteString(line + "\n")
			}
		}
	}
	if !doctor || b.Len() == 0 {
		t.Fatal("README: no walkthrough or doctor commands found")
	}
	return b.String()
}

// cleanEnv is the environment without HERALD_ variables, as on a new
// user's machine.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HERALD_") {
			env = append(env, kv)
		}
	}
	return env
}
