package doctor

import (
	"context"
	"fmt"
	"slices"
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
	member      herald.Participant // the current membership record
	memberFound bool
	// history is the user's membership changes, oldest first: every add
	// and removal up to the current record when the message came before
	// the latest add, else the current record's own add (and removal).
	history []change
	// historyCapped is set when the thread's events were not all read.
	historyCapped bool

	msg      herald.Message
	msgFound bool
	// picked says how the message in question was chosen when none was
	// named; empty when one was.
	picked string

	requests       []herald.Request // the user's calls in the window, newest first
	threadRequests []herald.Request // calls on the thread in the window, newest first
	conns          []herald.Connection
	deliveries     []herald.Delivery        // runs covering the message's seq
	acks           []herald.Ack             // acks reaching the message's seq
	hooks          []herald.WebhookDelivery // webhook deliveries of the message's event

	receipt    herald.ReadReceipt // the user's newest read receipt in the thread
	receiptSeq herald.Seq         // the sequence number of the message it names; 0 if none
}

// change is one membership change of the user, from the thread's events.
type change struct {
	Seq   herald.Seq
	At    time.Time
	By    herald.UserID
	Added bool
}

// evidence limits: enough to decide, bounded so a diagnosis stays fast.
const (
	maxRequests = 1000
	maxConns    = 500
	// maxHistoryEvents bounds the thread events read for a membership
	// history (a thread's events are read in order, in pages).
	maxHistoryEvents = 100_000
	// maxPicked bounds the messages read to find the newest one the user
	// did not send.
	maxPicked = 1000
	// maxHookDeliveries bounds the webhook deliveries of one event read
	// (one per subscription).
	maxHookDeliveries = 100
)

func gather(ctx context.Context, src Source, q Query, now time.Time) (*facts, error) {
	f := &facts{q: q, now: now, at: now}
	if err := f.loadUser(ctx, src); err != nil {
		return nil, err
	}
	var err error
	f.thread, err = src.GetThread(ctx, q.Thread)
	if f.threadFound, err = found(err); err != nil {
		return nil, fmt.Errorf("thread: %w", err)
	}
	if !f.identityFound || !f.threadFound {
		return f, nil // an unknown id is its own answer: nothing more to read
	}
	f.member, err = src.GetParticipant(ctx, q.Thread, q.User)
	if f.memberFound, err = found(err); err != nil {
		return nil, fmt.Errorf("participant: %w", err)
	}
	if err := f.subject(ctx, src); err != nil {
		return nil, err
	}
	if f.threadRequests, err = src.ListRequests(ctx, herald.RequestFilter{Thread: q.Thread, Since: q.Since, Limit: maxRequests}); err != nil {
		return nil, fmt.Errorf("thread requests: %w", err)
	}
	if f.needsHistory() {
		hs, capped, err := readHistory(ctx, src, q.Thread, f.member.AddedSeq-1)
		if err != nil {
			return nil, err
		}
		f.historyCapped = capped
		f.history = hs[q.User]
	}
	if f.memberFound {
		f.history = append(f.history, currentChanges(f.member, true)...)
	}
	if err := f.loadReceipt(ctx, src, nil); err != nil {
		return nil, err
	}
	if f.msgFound {
		df := herald.DeliveryFilter{User: q.User, Thread: q.Thread, Seq: f.msg.Seq}
		if f.deliveries, err = src.ListDeliveries(ctx, df); err != nil {
			return nil, fmt.Errorf("deliveries: %w", err)
		}
		if f.acks, err = src.ListAcks(ctx, df); err != nil {
			return nil, fmt.Errorf("acks: %w", err)
		}
		if f.hooks, err = src.ListWebhookDeliveries(ctx, herald.WebhookDeliveryFilter{Thread: q.Thread, Seq: f.msg.Seq, Limit: maxHookDeliveries}); err != nil {
			return nil, fmt.Errorf("webhook deliveries: %w", err)
		}
	}
	return f, nil
}

// loadUser reads the evidence about the user alone: identity, tokens,
// their requests and connections.
func (f *facts) loadUser(ctx context.Context, src Source) error {
	var err error
	f.identity, err = src.GetIdentity(ctx, f.q.User)
	if f.identityFound, err = found(err); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if !f.identityFound {
		return nil
	}
	if f.tokens, err = src.ListTokens(ctx, f.q.User); err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	if f.requests, err = src.ListRequests(ctx, herald.RequestFilter{Caller: f.q.User, Since: f.q.Since, Limit: maxRequests}); err != nil {
		return fmt.Errorf("requests: %w", err)
	}
	if f.conns, err = src.ListConnections(ctx, herald.ConnectionFilter{User: f.q.User, Since: f.connSince(), Limit: maxConns}); err != nil {
		return fmt.Errorf("connections: %w", err)
	}
	return nil
}

// needsHistory reports whether the current membership record is not
// enough: the message came before the user's latest add, so an earlier
// membership (and its removal) may cover it.
func (f *facts) needsHistory() bool {
	return f.memberFound && f.msgFound && f.msg.Seq < f.member.AddedSeq && f.member.AddedSeq > 1
}

// currentChanges is what the current membership record says: its add, and
// its removal.
func currentChanges(p herald.Participant, ok bool) []change {
	if !ok {
		return nil
	}
	out := []change{{Seq: p.AddedSeq, At: p.AddedAt, By: p.AddedBy, Added: true}}
	if p.Removed() {
		out = append(out, change{Seq: p.RemovedSeq, At: p.RemovedAt, By: p.RemovedBy})
	}
	return out
}

// readHistory reads the thread's membership changes up to (and including)
// upTo, per user, oldest first. capped reports that maxHistoryEvents were
// read before reaching upTo.
func readHistory(ctx context.Context, src Source, thread herald.ThreadID, upTo herald.Seq) (map[herald.UserID][]change, bool, error) {
	out := map[herald.UserID][]change{}
	var after herald.Seq
	for read := 0; after < upTo; {
		if read >= maxHistoryEvents {
			return out, true, nil
		}
		es, err := src.ListEvents(ctx, thread, after, 1000)
		if err != nil {
			return nil, false, fmt.Errorf("membership history: %w", err)
		}
		for _, e := range es {
			if e.Seq > upTo {
				return out, false, nil
			}
			after = e.Seq
			added := e.Type == herald.EventThreadCreated || e.Type == herald.EventParticipantsAdded
			if !added && e.Type != herald.EventParticipantsRemoved {
				continue
			}
			for _, u := range e.Users {
				out[u] = append(out[u], change{Seq: e.Seq, At: e.At, By: e.Actor, Added: added})
			}
		}
		read += len(es)
		if len(es) < 1000 {
			break
		}
	}
	return out, false, nil
}

// loadReceipt finds the user's read receipt in the thread and the sequence
// number of the message it names. receipts, if not nil, are the thread's
// receipts already read.
func (f *facts) loadReceipt(ctx context.Context, src Source, receipts []herald.ReadReceipt) error {
	if receipts == nil {
		var err error
		if receipts, err = src.ListReadReceipts(ctx, f.q.Thread, herald.Page{}); err != nil {
			return fmt.Errorf("read receipts: %w", err)
		}
	}
	i := slices.IndexFunc(receipts, func(r herald.ReadReceipt) bool { return r.UserID == f.q.User })
	if i < 0 || !f.msgFound {
		return nil
	}
	f.receipt = receipts[i]
	if f.receipt.MessageID == f.msg.ID {
		f.receiptSeq = f.msg.Seq
		return nil
	}
	m, err := src.GetMessage(ctx, f.q.Thread, f.receipt.MessageID)
	if ok, err := found(err); err != nil {
		return fmt.Errorf("read receipt's message: %w", err)
	} else if ok {
		f.receiptSeq = m.Seq
	}
	return nil
}

// subject loads the message in question: the one asked about, or else the
// newest message of the thread the user did not send.
func (f *facts) subject(ctx context.Context, src Source) error {
	if f.q.Message != "" {
		m, err := src.GetMessage(ctx, f.q.Thread, f.q.Message)
		if f.msgFound, err = found(err); err != nil {
			return fmt.Errorf("message: %w", err)
		}
		f.msg = m
	} else {
		// The newest user message someone else sent: system messages (a
		// removal, a topic change) are not what "no messages arrive" is
		// about, and nor is what the user wrote.
		var before herald.Seq
		for read := 0; read < maxPicked && !f.msgFound; {
			ms, err := src.ListMessages(ctx, f.q.Thread, herald.MessageFilter{Before: before, Limit: 200})
			if err != nil {
				return fmt.Errorf("newest message: %w", err)
			}
			for _, m := range ms {
				if !m.Type.System() && m.SenderID != f.q.User {
					f.msg, f.msgFound = m, true
					break
				}
			}
			if len(ms) < 200 {
				break
			}
			read += len(ms)
			before = ms[len(ms)-1].Seq
		}
		f.picked = fmt.Sprintf("the newest message of the thread that %s did not send", f.q.User)
		if !f.msgFound {
			f.picked = fmt.Sprintf("none: the thread has no message that %s did not send", f.q.User)
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
