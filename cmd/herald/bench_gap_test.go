package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchGap runs bench gap at a tiny scale against a real herald serve
// and checks that every message sent while the receiver was away came back
// before caughtUp, once, in every round; and that the report says so.
func TestBenchGap(t *testing.T) {
	bin, url := startBenchServer(t)
	out := t.TempDir()
	cmd := exec.Command(bin, "bench", "gap", "--missed", "20,50", "--rounds", "2", "--participants", "3", "--senders", "2",
		"--url", url, "--admin-key", crashAdminKey, "--out", out, "--timeout", "2m", "-o", "json",
		"--target", "missed=0", "--target", "duplicates=0", "--target", "recovered_pct=100")
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("herald bench gap: %v\n%s", err, stderrOf(err))
	}
	var r benchResult
	if err := json.Unmarshal(stdout, &r); err != nil {
		t.Fatalf("decode result: %v\n%s", err, stdout)
	}
	if r.Gap == nil || len(r.Gap.Runs) != 2 {
		t.Fatalf("got gap %+v, want two runs", r.Gap)
	}
	for i, want := range []int{20, 50} {
		run := r.Gap.Runs[i]
		if run.Gap != want || run.Rounds != 2 || run.Expected != int64(2*want) || run.Recovered != run.Expected ||
			run.Missed != 0 || run.Duplicates != 0 || run.AfterCaughtUp != 0 || run.ResumeMs.Samples != 2 {
			t.Errorf("got run %+v, want %d recovered before caughtUp in 2 rounds, nothing missed or repeated", run, 2*want)
		}
	}
	if r.Sends == nil || r.Sends.Accepted != 140 || r.Sends.Failed != 0 {
		t.Errorf("got sends %+v, want 140 accepted", r.Sends)
	}
	for _, tg := range r.Targets {
		if !tg.Met {
			t.Errorf("got target %+v, want met", tg)
		}
	}

	summary, err := exec.Command(bin, "bench", "report", filepath.Join(out, "gap.json")).CombinedOutput()
	if err != nil {
		t.Fatalf("bench report: %v\n%s", err, summary)
	}
	for _, want := range []string{"| gap | missed = 0 | 0 | yes |", "gap: resume after 50 missed events (2 rounds): **100 of 100 recovered"} {
		if !strings.Contains(string(summary), want) {
			t.Errorf("bench report: got\n%s\nwant a line with %q", summary, want)
		}
	}
}

// startBenchServer builds herald and starts herald serve for the test, or
// skips the test in -short mode; the server stops with the test.
func startBenchServer(t *testing.T) (bin, url string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin = buildHerald(t)
	srv := startServer(t, bin, t.TempDir())
	t.Cleanup(func() { srv.cmd.Process.Kill(); srv.cmd.Wait() })
	return bin, srv.url
}

// stderrOf returns what a failed command wrote on stderr.
func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
