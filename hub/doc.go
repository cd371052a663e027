// Package hub holds one node's real-time connections: it receives the
// signals of committed changes from the broker, fans each out to the
// connections of its recipients through bounded per-connection queues, and
// runs each connection's single writer, which keeps a per-thread cursor so
// that every thread's events reach the client in Seq order with no gap and
// no duplicate — filling gaps and resuming from the Store through the
// service's rules, never from a cache.
//
// It is transport-agnostic: httpapi accepts WebSocket, SSE and
// long-polling requests, authenticates them, and hands the hub a Transport
// to write frames to and the client frames it reads. In the message path it
// is the last hop: broker → hub → connection.
//
// Every connection is logged, every write of a sequenced event is recorded
// in the delivery ledger as runs of Seq, every acknowledgement too, and
// every close carries a reason: nothing is dropped silently.
package hub
