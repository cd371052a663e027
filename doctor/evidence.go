package doctor

import (
	"time"

	"github.com/herald-chat/herald"
)

// validAt returns the tokens usable at t: issued, not expired, not revoked.
func (f *facts) validAt(t time.Time) []herald.Token {
	var out []herald.Token
	for _, tok := range f.tokens {
		if !tok.IssuedAt.After(t) && t.Before(tok.ExpiresAt) && (!tok.Revoked() || tok.RevokedAt.After(t)) {
			out = append(out, tok)
		}
	}
	return out
}

// requestsWith returns the user's calls answered with reason r.
func (f *facts) requestsWith(r herald.Reason) []herald.Request {
	var out []herald.Request
	for _, req := range f.requests {
		if req.Reason == r {
			out = append(out, req)
		}
	}
	return out
}

// closedWith returns the user's connections closed (or refused) with r.
func (f *facts) closedWith(r herald.Reason) []herald.Connection {
	var out []herald.Connection
	for _, c := range f.conns {
		if c.CloseReason == r || c.Refused == r {
			out = append(out, c)
		}
	}
	return out
}

// openAt returns the connections open at t.
func (f *facts) openAt(t time.Time) []herald.Connection {
	var out []herald.Connection
	for _, c := range f.conns {
		if c.Refused == "" && !c.OpenedAt.After(t) && (c.ClosedAt.IsZero() || c.ClosedAt.After(t)) {
			out = append(out, c)
		}
	}
	return out
}

// delivery returns the push of the message that was acknowledged on its
// own connection, else the first push, with the ack, if any.
func (f *facts) delivery() *Delivery {
	if len(f.deliveries) == 0 {
		return nil
	}
	d := f.deliveries[0]
	for _, run := range f.deliveries {
		if a, ok := f.ackFor(run.ConnectionID); ok && a.ConnectionID == run.ConnectionID {
			d = run // the push the app acknowledged on the same connection
			break
		}
	}
	pushed := d.FirstAt
	if f.msg.Seq == d.ToSeq && f.msg.Seq != d.FromSeq {
		pushed = d.LastAt
	}
	out := &Delivery{ConnectionID: string(d.ConnectionID), Transport: d.Transport, PushedAt: pushed,
		LatencyMs: max(pushed.Sub(f.msg.CreatedAt).Milliseconds(), 0)}
	if a, ok := f.ackFor(d.ConnectionID); ok {
		at := a.At
		ms := max(at.Sub(pushed).Milliseconds(), 0)
		out.AckedAt, out.AckMs = &at, &ms
	}
	return out
}

// ackFor returns the first ack reaching the message: one from conn if there
// is one, else one from any connection of the user (the SDK sends the acks
// left over from a lost connection on the next one, and an ack is the app's
// word that it took every event up to its Seq, whichever connection
// carried it).
func (f *facts) ackFor(conn herald.ConnectionID) (herald.Ack, bool) {
	var other *herald.Ack
	for i, a := range f.acks {
		if a.Seq < f.msg.Seq {
			continue
		}
		if a.ConnectionID == conn {
			return a, true
		}
		if other == nil {
			other = &f.acks[i]
		}
	}
	if other != nil {
		return *other, true
	}
	return herald.Ack{}, false
}
