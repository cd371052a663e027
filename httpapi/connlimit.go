package httpapi

import (
	"context"
	"sync"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/hub"
)

// userConns counts each user's open real-time connections on this node,
// so that one user (or one stolen token) cannot hold an unbounded number.
type userConns struct {
	mu sync.Mutex // guards n
	n  map[herald.UserID]int
}

// reserve takes one of user's connection slots before the upgrade, or
// refuses with 429 too_many_connections (logged in the connection log).
// The returned release gives the slot back; call it once, when the
// connection ends or fails to open.
func (s *Server) reserve(ctx context.Context, meta hub.Meta, user herald.UserID) (release func(), err error) {
	limit := s.cfg.MaxConnectionsPerUser
	s.conns.mu.Lock()
	if s.conns.n[user] >= limit {
		s.conns.mu.Unlock()
		s.cfg.Hub.Refuse(ctx, meta, user, herald.ReasonTooManyConnections)
		e := herald.Errorf(herald.CodeRateLimited, herald.ReasonTooManyConnections,
			"this user has %d real-time connections open on this server, the most allowed; close one first", limit)
		e.RetryAfter = time.Second
		return nil, e
	}
	s.conns.n[user]++
	s.conns.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.conns.mu.Lock()
			if s.conns.n[user]--; s.conns.n[user] <= 0 {
				delete(s.conns.n, user)
			}
			s.conns.mu.Unlock()
		})
	}, nil
}
