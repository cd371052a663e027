package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchScenarios runs every bench scenario at a tiny scale against a
// real herald serve, as bench/run does, and checks what each reports:
// nothing lost or duplicated, every connection opened, the server found by
// its port. Timings are not checked: they belong to the benchmark.
func TestBenchScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildHerald(t)
	srv := startServer(t, bin, t.TempDir())
	defer func() { srv.cmd.Process.Kill(); srv.cmd.Wait() }()
	out := t.TempDir()

	tests := []struct {
		name string
		args []string
		// check looks at the scenario's own figures.
		check func(t *testing.T, r *benchResult)
	}{
		{"fanout", []string{"fanout", "--threads", "2", "--participants", "3", "--senders", "2", "--rate", "40", "--duration", "1s"},
			func(t *testing.T, r *benchResult) { mustDeliverAll(t, r, 40) }},
		{"fanout-sse", []string{"fanout", "--transport", "sse", "--participants", "3", "--rate", "20", "--duration", "1s"},
			func(t *testing.T, r *benchResult) { mustDeliverAll(t, r, 20) }},
		{"throughput", []string{"throughput", "--participants", "3", "--concurrency", "2", "--duration", "500ms"},
			func(t *testing.T, r *benchResult) {
				mustDeliverAll(t, r, 1)
				if r.Deliveries.PerSec <= 0 {
					t.Errorf("got %v delivered events/s, want > 0", r.Deliveries.PerSec)
				}
			}},
		{"idle", []string{"idle", "--connections", "20", "--users", "5", "--procs", "2", "--hold", "100ms"},
			func(t *testing.T, r *benchResult) {
				if r.Idle == nil || r.Idle.Connections != 20 || r.Idle.Failed != 0 || r.Idle.Procs != 2 {
					t.Errorf("got idle %+v, want 20 connections from 2 processes, none failed", r.Idle)
				}
			}},
		{"resume", []string{"resume", "--participants", "3", "--senders", "1", "--rate", "20", "--duration", "2s", "--drops", "1",
			"--gap-min", "100ms", "--gap-max", "300ms"},
			func(t *testing.T, r *benchResult) {
				x := r.Resume
				if x == nil || x.Missed != 0 || x.Duplicates != 0 || x.Drops != 3 || x.Resumes != 3 || x.Expected != 3*r.Sends.Accepted {
					t.Errorf("got resume %+v, want 3 drops and 3 resumes, 0 missed, 0 duplicates", x)
				}
			}},
	}
	var files []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"bench"}, tt.args...)
			args = append(args, "--url", srv.url, "--admin-key", crashAdminKey, "--name", tt.name, "--out", out,
				"--target", "lost=0", "--timeout", "2m", "-o", "json")
			cmd := exec.Command(bin, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("herald %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			var r benchResult
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("decode result: %v\n%s", err, stdout.String())
			}
			if r.Server == nil || r.Server.PID != srv.cmd.Process.Pid {
				t.Errorf("got server %+v, want pid %d found by its port", r.Server, srv.cmd.Process.Pid)
			}
			if r.Sends != nil && r.Sends.Failed != 0 {
				t.Errorf("got %d failed sends (%v), want 0", r.Sends.Failed, r.Sends.Errors)
			}
			if len(r.Closes) > 0 {
				t.Errorf("got connections ended by the server %v, want none", r.Closes)
			}
			tt.check(t, &r)
			if _, err := os.Stat(filepath.Join(out, tt.name+".md")); err != nil {
				t.Errorf("markdown result: %v", err)
			}
			files = append(files, filepath.Join(out, tt.name+".json"))
		})
	}

	report := exec.Command(bin, append([]string{"bench", "report"}, files...)...)
	summary, err := report.CombinedOutput()
	if err != nil {
		t.Fatalf("bench report: %v\n%s", err, summary)
	}
	for _, want := range []string{"| fanout | lost = 0 | 0 | yes |", "| throughput |", "idle: 20 idle websocket connections", "resume: 3 clients"} {
		if !strings.Contains(string(summary), want) {
			t.Errorf("bench report: got\n%s\nwant a line with %q", summary, want)
		}
	}
}

// mustDeliverAll checks a load result: at least min messages accepted,
// each delivered to every participant once.
func mustDeliverAll(t *testing.T, r *benchResult, min int64) {
	t.Helper()
	d := r.Deliveries
	if r.Sends == nil || d == nil || r.Sends.Accepted < min {
		t.Fatalf("got sends %+v, want at least %d accepted", r.Sends, min)
	}
	if d.Lost != 0 || d.Duplicates != 0 || d.Delivered != d.Expected {
		t.Errorf("got deliveries %+v, want every expected one, once", d)
	}
	if len(r.Targets) != 1 || !r.Targets[0].Met {
		t.Errorf("got targets %+v, want lost=0 met", r.Targets)
	}
}

func TestBenchTargets(t *testing.T) {
	r := &benchResult{Deliveries: &benchDeliveries{Lost: 0, PerSec: 150000}, LatencyMs: &benchLatency{Samples: 10, P99: 7}}
	goals, err := benchParseTargets([]string{"lost=0", "p99<=5", "delivered_per_s >= 100000", "rss_per_conn_kib<=16"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range goals {
		c := g.check(r)
		got = append(got, c.Target+" "+benchMeasured(c)+" "+benchYesNo(c))
	}
	want := []string{"lost = 0 0 yes", "p99 <= 5 7 **no**", "delivered_per_s >= 100000 150000 yes", "rss_per_conn_kib <= 16 not measured ?"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, bad := range []string{"p99", "p99<=fast", "speed>=1"} {
		if _, err := benchParseTargets([]string{bad}); err == nil {
			t.Errorf("benchParseTargets(%q): got no error, want one", bad)
		}
	}
}

func TestBenchParseContent(t *testing.T) {
	f := []byte(`{"type":"event","threadId":"t_1","seq":7,"event":"chatMessageReceived","data":{"message":{"content":{"message":"hb:42:1700000000123456789:xx"}}}}`)
	idx, sent, ok := benchParseContent(f)
	if !ok || idx != 42 || sent != 1700000000123456789 {
		t.Errorf("got %d %d %v, want 42 1700000000123456789 true", idx, sent, ok)
	}
	if got := benchFrameType(f); got != "event" {
		t.Errorf("got frame type %q, want event", got)
	}
	if _, _, ok := benchParseContent([]byte(`{"type":"event","data":{"message":{"content":{"message":"hello"}}}}`)); ok {
		t.Error("parsed a message the bench did not send")
	}
}
