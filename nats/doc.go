// Package nats is Herald's cross-node Broker: it carries herald.Signals
// between the nodes of a deployment over core NATS (github.com/nats-io/nats.go),
// so that a message committed on one node reaches the hubs of all of them.
//
// It sits between the commit and the hubs in the message path
//
//	service (commit) → Broker.Publish (this package) → NATS → Broker.Subscribe on every node → hub → connection
//
// and is the multi-node counterpart of inmem, passing the same suite,
// brokertest. A node publishes and subscribes through one connection; its
// own signals come back to it like everyone else's, so there is one path
// for a message in every deployment.
//
// What it is not: durable. Core NATS delivers at most once, and a node that
// is disconnected, slow, or starting misses what is published meanwhile.
// That is by design: the database is the truth, a signal is a hint, and a
// hub that may have missed signals catches up from the Store by Seq.
// JetStream is not used. The Broker says when a gap may have happened:
// OnDisconnect and OnReconnect report the connection's state, and OnDrop
// reports signals the client discarded (a subscriber too far behind) or
// could not decode.
//
// Subjects: every signal goes on one subject, <prefix>.signals (prefix
// "herald" unless WithPrefix says otherwise), and every node receives
// every signal; each hub keeps those for the users connected to it. To
// shard later, publish a signal once per recipient on
// <prefix>.user.<userID> (a credential signal on its User's subject) and let
// each node subscribe to the subjects of the users it holds connections for,
// and drop that interest when their last connection goes; NATS routes by
// interest, so a node then receives only what concerns its users. The user
// ids Herald makes (u_ and lower-case base32) are valid subject tokens.
//
// Order: signals published through one Broker reach each subscriber in the
// order published (one connection, one subject, and one delivery goroutine
// per subscription). Signals from different nodes interleave in no
// particular order; Seq orders a thread.
//
// Wire format: JSON, with the field names of herald.Signal and of the
// Event, Message and Thread it carries; an Event's Data travels by JSON
// value (encoding/json compacts its white space) and an empty one stays
// nil. Nodes of different versions interoperate as long as those names do.
//
// The connection reconnects forever, a short pause between attempts, and
// pings the server every few seconds so a dead link is noticed. Close
// drains: it delivers what the subscriptions already hold and flushes what
// was published before closing.
package nats
