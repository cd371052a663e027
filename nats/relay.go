package nats

import (
	"context"
	"errors"
	"fmt"

	natsgo "github.com/nats-io/nats.go"

	"github.com/herald-chat/herald"
)

var _ herald.Relay = (*Broker)(nil)

// relaySubject is where node's forwarded requests go: a subject of its own
// under the prefix, so a request reaches exactly the node it names, and
// NATS answers "no responders" at once when that node is gone.
func (b *Broker) relaySubject(node string) string { return b.opts.prefix + ".relay." + node }

// ServeRelay answers the requests forwarded to node, one goroutine per
// request (a long-poll waits for frames), until stop.
func (b *Broker) ServeRelay(node string, fn func(ctx context.Context, req []byte) []byte) (func(), error) {
	if b.closing.Load() {
		return nil, errors.New("nats: relay: the broker is closed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := b.conn.Subscribe(b.relaySubject(node), func(m *natsgo.Msg) {
		go func() {
			reply := fn(ctx, m.Data)
			if err := m.Respond(reply); err != nil && !b.closing.Load() {
				b.dropped(fmt.Errorf("relay reply: %w", err))
			}
		}()
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("nats: relay subscribe: %w", err)
	}
	// The server has the subscription once the flush returns: a request
	// from another node right after this would otherwise find no responder.
	if err := b.conn.Flush(); err != nil {
		sub.Unsubscribe()
		cancel()
		return nil, fmt.Errorf("nats: relay subscribe: %w", err)
	}
	return func() { sub.Unsubscribe(); cancel() }, nil
}

// Forward sends req to node and waits for its answer until ctx ends.
func (b *Broker) Forward(ctx context.Context, node string, req []byte) ([]byte, error) {
	m, err := b.conn.RequestWithContext(ctx, b.relaySubject(node), req)
	switch {
	case errors.Is(err, natsgo.ErrNoResponders):
		return nil, fmt.Errorf("nats: relay to %s: no such node: %w", node, herald.ErrNotFound)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return nil, fmt.Errorf("nats: relay to %s: %w", node, err)
	case err != nil:
		return nil, fmt.Errorf("nats: relay to %s: %w: %w", node, herald.ErrUnavailable, err)
	}
	return m.Data, nil
}
