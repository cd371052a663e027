// Package service holds Herald's rules: validation, authorization, and the
// transactions that commit every change together with its sequenced event.
// It is the only place that decides who may do what; storage engines and
// transports (httpapi, the real-time layer) ask it.
//
// In the message path it sits between the transport, which has decoded and
// authenticated a request, and the Store: validate → authorize → commit
// (one Store.Update, Seq allocated inside it) → publish after commit.
// A rejected request returns a *herald.Error before or inside the
// transaction, so it changes nothing.
package service
