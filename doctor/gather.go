package doctor

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-chat/herald"
)

// Source is what the doctor reads: the store's reads and its ledger.
type Source interface {
	herald.Reader
	herald.Ledger
}

// facts is all the evidence of one diagnosis, gathered once; the checks
// are pure functions of it.
type facts struct {
	q   Query
	now time.Time
	at  time.Time // the moment in question: the message's commit, or now

	identity      herald.Identity
	identityFound bool
	tokens        []herald.Token

	thread      herald.Thread
	threadFound bool
	member      herald.Participant
	memberFound bool

	msg      herald.Message
	msgFound bool

	requests       []herald.Request // the user's calls in the window, newest first
	threadRequests []herald.Request // calls on the thread in the window, newest first
	conns          []herald.Connection
	deliveries     []herald.Delivery // runs covering the message's seq
	acks           []herald.Ack      // acks reaching the message's seq
}

// evidence limits: enough to decide, bounded so a diagnosis stays fast.
const (
	maxRequests = 1000
	maxConns    = 500
)

func gather(ctx context.Context, src Source, q Query, now time.Time) (*facts, error) {
	f := &facts{q: q, now: now, at: now}
	var err error
	f.identity, err = src.GetIdentity(ctx, q.User)
	if f.identityFound, err = found(err); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if f.tokens, err = src.ListTokens(ctx, q.User); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	f.thread, err = src.GetThread(ctx, q.Thread)
	if f.threadFound, err = found(err); err != nil {
		return nil, fmt.Errorf("thread: %w", err)
	}
	f.member, err = src.GetParticipant(ctx, q.Thread, q.User)
	if f.memberFound, err = found(err); err != nil {
		return nil, fmt.Errorf("participant: %w", err)
	}
	if err := f.subject(ctx, src); err != nil {
		return nil, err
	}
	if f.requests, err = src.ListRequests(ctx, herald.RequestFilter{Caller: q.User, Since: q.Since, Limit: maxRequests}); err != nil {
		return nil, fmt.Errorf("requests: %w", err)
	}
	if f.threadRequests, err = src.ListRequests(ctx, herald.RequestFilter{Thread: q.Thread, Since: q.Since, Limit: maxRequests}); err != nil {
		return nil, fmt.Errorf("thread requests: %w", err)
	}
	if f.conns, err = src.ListConnections(ctx, herald.ConnectionFilter{User: q.User, Since: f.connSince(), Limit: maxConns}); err != nil {
		return nil, fmt.Errorf("connections: %w", err)
	}
	if f.msgFound {
		df := herald.DeliveryFilter{User: q.User, Thread: q.Thread, Seq: f.msg.Seq}
		if f.deliveries, err = src.ListDeliveries(ctx, df); err != nil {
			return nil, fmt.Errorf("deliveries: %w", err)
		}
		if f.acks, err = src.ListAcks(ctx, df); err != nil {
			return nil, fmt.Errorf("acks: %w", err)
		}
	}
	return f, nil
}

// subject loads the message in question: the one asked about, or else the
// thread's newest message.
func (f *facts) subject(ctx context.Context, src Source) error {
	if f.q.Message != "" {
		m, err := src.GetMessage(ctx, f.q.Thread, f.q.Message)
		if f.msgFound, err = found(err); err != nil {
			return fmt.Errorf("message: %w", err)
		}
		f.msg = m
	} else if f.threadFound {
		// The newest user message: system messages (a removal, a topic
		// change) are not what "no messages arrive" is about.
		ms, err := src.ListMessages(ctx, f.q.Thread, herald.MessageFilter{Limit: 50})
		if err != nil {
			return fmt.Errorf("newest message: %w", err)
		}
		for _, m := range ms {
			if !m.Type.System() {
				f.msg, f.msgFound = m, true
				break
			}
		}
	}
	if f.msgFound {
		f.at = f.msg.CreatedAt
	}
	return nil
}

// connSince is where the connection log is read from: a day before the
// window, so that a connection opened before it and still open is seen.
func (f *facts) connSince() time.Time { return f.q.Since.Add(-24 * time.Hour) }

func found(err error) (bool, error) {
	if herald.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

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
