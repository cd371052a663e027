// Package inmem is the in-process Broker of a single node: a signal
// published after a commit is handed to every subscriber on this node,
// synchronously and in publish order. Subscribers must not block (the hub
// only enqueues). It is what `herald serve` uses on its embedded default.
package inmem

import (
	"context"
	"errors"
	"sync"

	"github.com/herald-chat/herald"
)

// Broker loops signals back to this node's subscribers.
type Broker struct {
	mu     sync.RWMutex // guards subs and closed
	subs   map[int]func(herald.Signal)
	next   int
	closed bool
}

var _ herald.Broker = (*Broker)(nil)

// ErrClosed is returned by Publish and Subscribe after Close.
var ErrClosed = errors.New("inmem: broker closed")

// New returns an open Broker.
func New() *Broker { return &Broker{subs: map[int]func(herald.Signal){}} }

// Publish hands s to every subscriber.
func (b *Broker) Publish(_ context.Context, s herald.Signal) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	for _, fn := range b.subs {
		fn(s)
	}
	return nil
}

// Subscribe registers fn until the returned function is called.
func (b *Broker) Subscribe(fn func(herald.Signal)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	id := b.next
	b.next++
	b.subs[id] = fn
	return func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}, nil
}

// Close drops every subscriber; later calls fail with ErrClosed.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.subs = nil
	return nil
}
