package service

import (
	"context"
	"sync"

	"github.com/herald-chat/herald"
)

// maxRosters bounds the threads whose members the cache keeps.
const maxRosters = 4096

// rosters caches each thread's current members by the thread's roster
// version (herald.Head.Roster), so that a send to a thread of 1,000 reads
// no participant rows inside the transaction that holds the thread's lock:
// NextSeq returns the roster in the statement that takes that lock. Every
// change of membership replaces the roster, on every node, and no other
// writer of the thread can commit one while the lock is held, so a hit is
// the committed membership: exact across nodes without any invalidation
// message. A roster value names one state, committed or not (a rolled-back
// change's value is never committed), so filling the cache from any
// transaction is safe, except from one that changed the membership itself:
// its NextSeq may have come before its own change and name the state
// before it. Those bypass the cache for reading and filling
// (batch.rosterChanged, set by rosterTx).
type rosters struct {
	mu sync.Mutex // guards m
	m  map[herald.ThreadID]roster
}

type roster struct {
	version int64
	members []herald.Member // never modified once cached
}

// get returns the members cached for thread at version.
func (r *rosters) get(thread herald.ThreadID, version int64) ([]herald.Member, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[thread]
	if !ok || e.version != version {
		return nil, false
	}
	return e.members, true
}

// put caches members as thread's at version, making room by dropping an
// arbitrary thread when full.
func (r *rosters) put(thread herald.ThreadID, version int64, members []herald.Member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[herald.ThreadID]roster{}
	}
	if _, ok := r.m[thread]; !ok && len(r.m) >= maxRosters {
		for t := range r.m {
			delete(r.m, t)
			break
		}
	}
	r.m[thread] = roster{version: version, members: members}
}

// members returns the thread's current participants, from the cache when
// version, the roster that NextSeq returned for thread in tx, matches. The
// slice may be shared with the cache and other transactions: callers must
// not modify it.
func (s *Service) members(ctx context.Context, tx herald.Tx, b *batch, thread herald.ThreadID, version int64) ([]herald.Member, error) {
	if b.rosterChanged {
		return tx.ListMembers(ctx, thread)
	}
	if m, ok := s.rosters.get(thread, version); ok {
		return m, nil
	}
	m, err := tx.ListMembers(ctx, thread)
	if err != nil {
		return nil, err
	}
	s.rosters.put(thread, version, m)
	return m, nil
}

// rosterTx is the Tx the service's update functions get: it notes in the
// batch that the transaction changed a thread's membership.
type rosterTx struct {
	herald.Tx
	b *batch
}

func (t rosterTx) PutParticipant(ctx context.Context, p herald.Participant) error {
	t.b.rosterChanged = true
	return t.Tx.PutParticipant(ctx, p)
}
