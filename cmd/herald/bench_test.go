package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-chat/herald/bench"
)

// TestBenchCommand runs `herald bench` as bench/run does: the binary
// against a real herald serve. The scenarios themselves are tested in
// package bench; this checks what only the binary does: the flags reach
// the scenarios, -o json and --out write the result, the server is found
// by its port, bench idle starts this binary as its worker processes, and
// bench report reads the files.
func TestBenchCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildHerald(t)
	srv := startServer(t, bin, t.TempDir())
	defer func() { srv.cmd.Process.Kill(); srv.cmd.Wait() }()
	out := t.TempDir()

	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, r *bench.Result)
	}{
		{"fanout", []string{"fanout", "--threads", "2", "--participants", "3", "--senders", "2", "--rate", "40", "--duration", "1s",
			"--target", "lost=0"},
			func(t *testing.T, r *bench.Result) {
				d := r.Deliveries
				if r.Sends == nil || d == nil || r.Sends.Accepted < 40 || d.Lost != 0 || d.Duplicates != 0 || d.Delivered != d.Expected {
					t.Errorf("got sends %+v, deliveries %+v; want 40 accepted, each delivered once", r.Sends, d)
				}
				if len(r.Targets) != 1 || !r.Targets[0].Met {
					t.Errorf("got targets %+v, want lost=0 met", r.Targets)
				}
			}},
		{"idle", []string{"idle", "--connections", "20", "--users", "5", "--procs", "2", "--hold", "100ms"},
			func(t *testing.T, r *bench.Result) {
				if r.Idle == nil || r.Idle.Connections != 20 || r.Idle.Failed != 0 || r.Idle.Procs != 2 {
					t.Errorf("got idle %+v, want 20 connections from 2 processes, none failed", r.Idle)
				}
			}},
	}
	var files []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"bench"}, tt.args...)
			args = append(args, "--url", srv.url, "--admin-key", crashAdminKey, "--name", tt.name, "--out", out, "--timeout", "2m", "-o", "json")
			cmd := exec.Command(bin, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("herald %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			var r bench.Result
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("decode result: %v\n%s", err, stdout.String())
			}
			if r.Server == nil || r.Server.PID != srv.cmd.Process.Pid {
				t.Errorf("got server %+v, want pid %d found by its port", r.Server, srv.cmd.Process.Pid)
			}
			if len(r.Closes) > 0 {
				t.Errorf("got connections ended by the server %v, want none", r.Closes)
			}
			tt.check(t, &r)
			files = append(files, filepath.Join(out, tt.name+".json"))
		})
	}

	summary, err := exec.Command(bin, append([]string{"bench", "report"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("bench report: %v\n%s", err, summary)
	}
	for _, want := range []string{"| fanout | lost = 0 | 0 | yes |", "idle: 20 idle websocket connections"} {
		if !strings.Contains(string(summary), want) {
			t.Errorf("bench report: got\n%s\nwant a line with %q", summary, want)
		}
	}
}
