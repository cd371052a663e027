// Package herald is the vocabulary of Herald, a self-hostable chat delivery
// service: identities, access tokens, threads, participants, messages, the
// per-thread event sequence, the evidence records, and the interfaces that
// storage engines implement.
//
// This package says what Herald is; every other package says how. It imports
// only the standard library. The message path is
//
//	httpapi (decode, authenticate) → service (validate, authorize, commit)
//	  → Store (one transaction, per-thread Seq) → broker → hub → connection
//
// and every non-delivery along it carries a Reason defined here.
package herald
