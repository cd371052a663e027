// Package cluster holds Herald's multi-node tests; it has no code of its
// own. Each test starts real `herald serve` processes (the binary is
// built once per run from this module, without -race) on loopback ports,
// sharing one PostgreSQL schema and one NATS subject prefix of the test's
// own, and drives them over the wire with the Go SDK (package client): Go
// programs sending messages on every node, and real-time receivers spread
// across the nodes.
//
// What it checks is the whole message path of a scaled-out deployment,
//
//	client → httpapi (any node) → service → PostgreSQL commit → NATS →
//	hub (every node) → connection → client
//
// under faults: every recipient gets every event once, in order, with
// gap-free sequence numbers, while nodes are killed with SIGKILL and
// restarted, while NATS is restarted or a node's link to it is cut, and
// while PostgreSQL is restarted; no acknowledged send is lost. It also
// measures what docs/scaling.md builds its sizing model on (commit rate,
// deliveries per second, memory per connection) and logs the figures.
//
// It is not a benchmark suite: figures are logged, never asserted.
//
// The tests run when HERALD_TEST_POSTGRES (a postgres:// URL) and
// HERALD_TEST_NATS (a nats:// URL) are set and skip otherwise. The
// PostgreSQL restart test makes a throwaway database cluster with initdb and
// pg_ctl, which needs root (to run them as the postgres user); the NATS
// restart test runs its own nats-server. Neither touches the shared servers.
package cluster
