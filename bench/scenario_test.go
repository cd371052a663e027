package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/herald-chat/herald/heraldtest"
)

const adminKey = heraldtest.AdminKey

// commands is the scenarios' place in a command tree, as cmd/herald has it,
// so that the tests fill the flags' defaults the way the CLI does.
type commands struct {
	Fanout     FanoutCmd     `cmd:""`
	Throughput ThroughputCmd `cmd:""`
	Idle       IdleCmd       `cmd:""`
	Resume     ResumeCmd     `cmd:""`
	Gap        GapCmd        `cmd:""`
	Report     ReportCmd     `cmd:""`
}

// runBench parses args as a bench command line and runs it with env; it
// returns what the scenario wrote on stdout.
func runBench(t *testing.T, env Env, args ...string) (string, error) {
	t.Helper()
	var cmds commands
	parser, err := kong.New(&cmds, kong.Exit(func(int) { t.Fatalf("kong exited on %q", args) }))
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	var stdout, stderr bytes.Buffer
	if env.Context == nil {
		env.Context = context.Background()
	}
	env.Stdout, env.Stderr = &stdout, &stderr
	err = kctx.Run(&env)
	if err != nil {
		t.Logf("stderr of %q:\n%s", args, stderr.String())
	}
	return stdout.String(), err
}

// TestScenarios runs every scenario at a tiny scale against a server in
// this process and checks what each reports: nothing lost, missed or
// duplicated, every connection opened; then summarizes the result files
// with report. Timings are not checked: they belong to the benchmark.
func TestScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("runs load against a server")
	}
	url := heraldtest.Start(t, heraldtest.Options{}).URL
	env := Env{URL: url, AdminKey: adminKey, JSON: true}
	out := t.TempDir()
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, r *Result)
	}{
		{"fanout", []string{"fanout", "--threads", "2", "--participants", "3", "--senders", "2", "--rate", "40", "--duration", "1s", "--target", "lost=0"},
			func(t *testing.T, r *Result) { mustDeliverAll(t, r, 40) }},
		{"fanout-sse", []string{"fanout", "--transport", "sse", "--participants", "3", "--rate", "20", "--duration", "1s", "--target", "lost=0"},
			func(t *testing.T, r *Result) { mustDeliverAll(t, r, 20) }},
		{"throughput", []string{"throughput", "--participants", "3", "--concurrency", "2", "--duration", "500ms", "--target", "lost=0"},
			func(t *testing.T, r *Result) {
				mustDeliverAll(t, r, 1)
				if r.Deliveries.PerSec <= 0 {
					t.Errorf("got %v delivered events/s, want > 0", r.Deliveries.PerSec)
				}
			}},
		{"idle", []string{"idle", "--connections", "12", "--users", "4", "--procs", "1", "--hold", "100ms"},
			func(t *testing.T, r *Result) {
				if r.Idle == nil || r.Idle.Connections != 12 || r.Idle.Failed != 0 || r.Idle.Procs != 1 {
					t.Errorf("got idle %+v, want 12 connections held in this process, none failed", r.Idle)
				}
			}},
		{"resume", []string{"resume", "--participants", "3", "--senders", "1", "--rate", "20", "--duration", "2s", "--drops", "1",
			"--gap-min", "100ms", "--gap-max", "300ms"},
			func(t *testing.T, r *Result) {
				x := r.Resume
				if x == nil || x.Missed != 0 || x.Duplicates != 0 || x.Drops != 3 || x.Resumes != 3 || x.Expected != 3*r.Sends.Accepted {
					t.Errorf("got resume %+v, want 3 drops and 3 resumes, 0 missed, 0 duplicates", x)
				}
			}},
		{"gap", []string{"gap", "--missed", "20,50", "--rounds", "2", "--participants", "3", "--senders", "2",
			"--target", "missed=0", "--target", "duplicates=0", "--target", "recovered_pct=100"},
			func(t *testing.T, r *Result) {
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
				if r.Sends == nil || r.Sends.Accepted != 140 {
					t.Errorf("got sends %+v, want 140 accepted", r.Sends)
				}
			}},
	}
	var files []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args, "--name", tt.name, "--out", out, "--timeout", "2m", "--server-pid=-1")
			stdout, err := runBench(t, env, args...)
			if err != nil {
				t.Fatalf("bench %s: %v", strings.Join(args, " "), err)
			}
			var r Result
			if err := json.Unmarshal([]byte(stdout), &r); err != nil {
				t.Fatalf("decode result: %v\n%s", err, stdout)
			}
			if r.Name != tt.name || r.URL != url {
				t.Errorf("got result %q of %s, want %q of %s", r.Name, r.URL, tt.name, url)
			}
			if r.Sends != nil && r.Sends.Failed != 0 {
				t.Errorf("got %d failed sends (%v), want 0", r.Sends.Failed, r.Sends.Errors)
			}
			if len(r.Closes) > 0 {
				t.Errorf("got connections ended by the server %v, want none", r.Closes)
			}
			for _, tg := range r.Targets {
				if !tg.Met {
					t.Errorf("got target %+v, want met", tg)
				}
			}
			tt.check(t, &r)
			if _, err := os.Stat(filepath.Join(out, tt.name+".md")); err != nil {
				t.Errorf("markdown result: %v", err)
			}
			files = append(files, filepath.Join(out, tt.name+".json"))
		})
	}

	summary, err := runBench(t, Env{}, append([]string{"report"}, files...)...)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	for _, want := range []string{"| fanout | lost = 0 | 0 | yes |", "| throughput |", "idle: 12 idle websocket connections",
		"resume: 3 clients", "| gap | missed = 0 | 0 | yes |", "gap: resume after 50 missed events (2 rounds): **100 of 100 recovered"} {
		if !strings.Contains(summary, want) {
			t.Errorf("report: got\n%s\nwant a line with %q", summary, want)
		}
	}
}

// mustDeliverAll checks a load result: at least min messages accepted,
// each delivered to every participant once.
func mustDeliverAll(t *testing.T, r *Result, min int64) {
	t.Helper()
	d := r.Deliveries
	if r.Sends == nil || d == nil || r.Sends.Accepted < min {
		t.Fatalf("got sends %+v, want at least %d accepted", r.Sends, min)
	}
	if d.Lost != 0 || d.Duplicates != 0 || d.Delivered != d.Expected {
		t.Errorf("got deliveries %+v, want every expected one, once", d)
	}
}

// TestRefusals: a scenario refuses what it cannot run before it creates
// anything on the server, and says which flag is wrong.
func TestRefusals(t *testing.T) {
	url := "http://127.0.0.1:1" // nothing may be asked of it
	tests := []struct {
		env  Env
		args []string
		want string
	}{
		{Env{URL: url}, []string{"fanout"}, "no admin key"},
		{Env{URL: "127.0.0.1:8080", AdminKey: adminKey}, []string{"fanout"}, "is not an absolute http or https URL"},
		{Env{URL: url, AdminKey: adminKey}, []string{"fanout", "--rate", "0"}, "--rate must be positive"},
		{Env{URL: url, AdminKey: adminKey}, []string{"fanout", "--target", "speed>=1"}, "speed"},
		{Env{URL: url, AdminKey: adminKey}, []string{"fanout", "--add-batch", "0"}, "--add-batch and --setup-concurrency"},
		{Env{URL: url, AdminKey: adminKey}, []string{"idle", "--connections", "0"}, "--connections must be between"},
		// Worker processes need a program to start (herald bench idle-worker).
		{Env{URL: url, AdminKey: adminKey}, []string{"idle", "--connections", "4", "--procs", "2"}, "bench.Env.Worker is not set"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tt.env.Context = ctx
			_, err := runBench(t, tt.env, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}
