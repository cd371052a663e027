package client

import (
	"context"
	"maps"
	"sync"
)

// CursorStore keeps, per thread, the highest seq the app's handlers have
// taken: the cursor the real-time client sends in hello to resume after a
// reconnect or a restart. Keep it next to the app's own state (the same
// database) so that the two cannot disagree. Implementations must be safe
// for concurrent use.
type CursorStore interface {
	// Load returns every thread's cursor. It is called once, by Start.
	Load(ctx context.Context) (map[string]int64, error)
	// Save records that the app has taken every event of threadID up to
	// seq. It is called after the handlers of that event returned nil, and
	// seq only grows per thread (except after Drop).
	Save(ctx context.Context, threadID string, seq int64) error
	// Drop forgets threadID: the thread was deleted, the user was removed
	// from it, or the server does not know it.
	Drop(ctx context.Context, threadID string) error
}

// MemoryCursors is a CursorStore in memory: a process that restarts
// starts live at each thread's head (and should load history over REST).
type MemoryCursors struct {
	mu      sync.Mutex // guards cursors
	cursors map[string]int64
}

var _ CursorStore = (*MemoryCursors)(nil)

// NewMemoryCursors returns an empty MemoryCursors.
func NewMemoryCursors() *MemoryCursors {
	return &MemoryCursors{cursors: map[string]int64{}}
}

// Load returns a copy of the cursors.
func (m *MemoryCursors) Load(context.Context) (map[string]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.cursors), nil
}

// Save sets threadID's cursor to seq.
func (m *MemoryCursors) Save(_ context.Context, threadID string, seq int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cursors[threadID] = seq
	return nil
}

// Drop forgets threadID's cursor.
func (m *MemoryCursors) Drop(_ context.Context, threadID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.cursors, threadID)
	return nil
}
