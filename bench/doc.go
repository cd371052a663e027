// Package bench is Herald's load generator, the scenarios behind
// `herald bench`: fan-out, throughput, idle connections, resume and gap.
// Each scenario runs against a running server over its public API only (an
// admin key to create identities and threads, then real clients over
// WebSocket or SSE), stops by itself within its duration and limits, and
// reports what it measured as a Result (JSON) and a markdown table.
//
// The scenario types carry their parameters as struct fields whose tags
// kong reads (cmd/herald puts them in its command tree); the package does
// not import kong, and a test or another program can fill the fields and
// call Run with an Env of its own.
package bench

import (
	"context"
	"io"
)

// Env is what a scenario needs from its caller.
type Env struct {
	// Context ends the scenario early when it is cancelled.
	Context context.Context
	// URL is the server's base URL; AdminKey its admin key.
	URL      string
	AdminKey string
	// JSON writes the result as JSON instead of a markdown table.
	JSON bool
	// Stdin is read by IdleWorkerCmd (the tokens it holds connections for).
	Stdin io.Reader
	// Stdout receives the result; Stderr progress and setup steps.
	Stdout io.Writer
	Stderr io.Writer
	// Worker is the command line that runs IdleWorkerCmd in a process of
	// its own (for `herald bench idle`: the herald binary, "bench",
	// "idle-worker"); IdleCmd appends its flags. Without it, IdleCmd holds
	// every connection in this process.
	Worker []string
}
