package main

import (
	"os"

	"github.com/herald-chat/herald/bench"
)

// BenchCmd is "bench": Herald's load generator. Each scenario runs against
// a running server (--url, --admin-key), creates its own identities and
// threads, connects its own clients, stops by itself within its duration
// and limits, and reports what it measured as a markdown table (or JSON
// with -o json), optionally also into files with --out.
//
// The scenarios live in package bench; this is only their place in the
// command tree.
type BenchCmd struct {
	Fanout     bench.FanoutCmd     `cmd:"" help:"Threads of connected participants; messages at a fixed total rate; loss, duplicates and send-to-receive latency."`
	Throughput bench.ThroughputCmd `cmd:"" help:"Send as fast as possible to one thread of connected participants; accepted sends/s and delivered events/s."`
	Idle       bench.IdleCmd       `cmd:"" help:"Hold many idle connections open; server RSS per connection."`
	Resume     bench.ResumeCmd     `cmd:"" help:"Clients drop and reconnect while sends continue (Go SDK); missed and duplicated events after resume, resume time."`
	Gap        bench.GapCmd        `cmd:"" help:"A client misses N messages while away, then resumes (Go SDK); recovered before caughtUp, and the time from open to caughtUp."`
	Report     bench.ReportCmd     `cmd:"" help:"Summarize result files (JSON) as markdown tables."`
	IdleWorker bench.IdleWorkerCmd `cmd:"" name:"idle-worker" hidden:"" help:"One client process of bench idle (reads tokens on stdin)."`
}

// benchEnv is what the bench scenarios get from the command line: the
// global flags, the output streams, and this binary as the idle worker.
func benchEnv(g *Globals) *bench.Env {
	env := &bench.Env{Context: g.ctx, URL: g.URL, AdminKey: g.AdminKey, JSON: g.Output == "json",
		Stdin: os.Stdin, Stdout: g.stdout, Stderr: g.stderr}
	if exe, err := os.Executable(); err == nil {
		env.Worker = []string{exe, "bench", "idle-worker"}
	}
	return env
}
