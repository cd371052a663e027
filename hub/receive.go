package hub

import (
	"context"
	"fmt"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// Receive handles a frame from the client (read by the transport after
// hello). It returns an error only for a frame that breaks the protocol;
// the transport then closes with CloseProtocolError.
func (c *Conn) Receive(ctx context.Context, f wire.ClientFrame) error {
	c.Heard()
	switch f.Type {
	case wire.FramePing:
		c.fromClient(func() { c.send(frame(wire.ServerFrame{Type: wire.FramePong})) })
	case wire.FramePong:
		c.misses.Store(0)
	case wire.FrameAck:
		acks := f.Acks
		c.fromClient(func() { c.ack(acks) })
	case wire.FrameRefresh:
		c.refresh(ctx, f.Token)
	default:
		return fmt.Errorf("unexpected %q frame", f.Type)
	}
	return nil
}

// ack records acknowledgements the writer can vouch for: a thread this
// connection has seen, up to what it has written.
func (c *Conn) ack(acks []wire.Ack) {
	now := c.hub.clock.Now()
	for _, a := range acks {
		t := herald.ThreadID(a.ThreadID)
		cur, known := c.cursor[t]
		if !known || a.Seq < 1 || herald.Seq(a.Seq) > cur {
			c.send(frame(wire.ServerFrame{Type: wire.FrameError, Error: &wire.ErrorBody{Code: string(herald.CodeInvalid),
				Reason: string(herald.ReasonInvalidAck), Target: a.ThreadID,
				Message: fmt.Sprintf("ack of %s up to %d: this connection has written that thread only up to %d", a.ThreadID, a.Seq, cur)}}))
			continue
		}
		c.hub.rec.ack(herald.Ack{UserID: c.user, ThreadID: t, ConnectionID: c.id, Seq: herald.Seq(a.Seq), At: now})
		c.hub.obs.Acked(1)
	}
}

// refresh swaps the connection's token for a new one of the same user.
func (c *Conn) refresh(ctx context.Context, bearer string) {
	tok, err := c.hub.rules.Verify(ctx, bearer)
	if err == nil && tok.UserID != c.user {
		err = herald.Errorf(herald.CodeForbidden, herald.ReasonTokenInvalid, "the new token belongs to another user")
	}
	if err != nil {
		e := &wire.ErrorBody{Code: string(herald.ErrorCode(err)), Reason: string(herald.ErrorReason(err)), Message: err.Error()}
		c.fromClient(func() { c.send(frame(wire.ServerFrame{Type: wire.FrameError, Error: e})) })
		return
	}
	c.mu.Lock()
	c.tok = tok
	c.mu.Unlock()
	c.fromClient(func() {
		c.warned = false
		exp := tok.ExpiresAt
		c.row.TokenID = tok.ID
		c.send(frame(wire.ServerFrame{Type: wire.FrameRefreshed, ExpiresOn: &exp}))
	})
}
