package service

import (
	"context"
	"sync"

	"github.com/herald-chat/herald"
)

// maxRosters bounds the threads whose members the cache keeps.
const maxRosters = 4096

// rosters caches each thread's current members by the thread's roster
// version (herald.Tx.Roster), so that a send to a thread of 1,000 reads
// one column of one row instead of 1,000 rows inside the transaction that
// holds the thread's lock. The roster is read under that lock and every
// change of membership replaces it, on every node, so a hit is the
// committed membership: exact across nodes without any invalidation
// message. A roster value names one state, committed or not, so filling
// the cache from any transaction is safe, except from one that changed the
// membership itself (its roster, read before its own change, would name
// the state before it): those bypass the cache (batch.rosterChanged).
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
// the roster read in tx (under the thread's lock) matches.
func (s *Service) members(ctx context.Context, tx herald.Tx, b *batch, thread herald.ThreadID) ([]herald.Member, error) {
	if b.rosterChanged {
		return tx.ListMembers(ctx, thread)
	}
	version, err := tx.Roster(ctx, thread)
	if err != nil {
		return nil, err
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
