package doctor

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/herald-chat/herald"
)

// bulk gathers evidence for many diagnoses at once: what is about a user
// (identity, tokens, requests, connections) or a thread (membership
// history, receipts, requests) is read once and shared by every pair.
type bulk struct {
	src   Source
	now   time.Time
	since time.Time

	users   map[herald.UserID]*facts // user evidence only
	threads map[herald.ThreadID]*threadEvidence
	acks    map[ackKey]ackRead
	notes   []string
}

type ackKey struct {
	user   herald.UserID
	thread herald.ThreadID
}

// ackRead is the acks of a user in a thread read from a sequence number on.
type ackRead struct {
	from herald.Seq
	acks []herald.Ack
}

// threadEvidence is what every diagnosis in a thread shares.
type threadEvidence struct {
	thread   herald.Thread
	found    bool
	members  map[herald.UserID]herald.Participant // every membership record, current or past
	history  map[herald.UserID][]change
	capped   bool
	requests []herald.Request
	receipts []herald.ReadReceipt
	seqOf    map[herald.MessageID]herald.Seq // the receipts' messages
}

func newBulk(src Source, now, since time.Time) *bulk {
	return &bulk{src: src, now: now, since: since, users: map[herald.UserID]*facts{}, threads: map[herald.ThreadID]*threadEvidence{}, acks: map[ackKey]ackRead{}}
}

func (b *bulk) note(s string) {
	if !slices.Contains(b.notes, s) {
		b.notes = append(b.notes, s)
	}
}

func (b *bulk) incomplete() []string { return b.notes }

// thread reads a thread's shared evidence, once.
func (b *bulk) thread(ctx context.Context, id herald.ThreadID) (*threadEvidence, error) {
	if te, ok := b.threads[id]; ok {
		return te, nil
	}
	te := &threadEvidence{members: map[herald.UserID]herald.Participant{}, seqOf: map[herald.MessageID]herald.Seq{}}
	b.threads[id] = te
	var err error
	te.thread, err = b.src.GetThread(ctx, id)
	if te.found, err = found(err); err != nil || !te.found {
		return te, err
	}
	if te.history, te.capped, err = readHistory(ctx, b.src, id, te.thread.LastSeq); err != nil {
		return nil, err
	}
	if te.capped {
		b.note(fmt.Sprintf("thread %s has more than %d events: its membership history was read in part, and users removed late in it may be missing", id, maxHistoryEvents))
	}
	ps, err := b.src.ListParticipants(ctx, id, herald.Page{})
	if err != nil {
		return nil, fmt.Errorf("participants: %w", err)
	}
	for _, p := range ps {
		te.members[p.UserID] = p
	}
	for u := range te.history {
		if _, ok := te.members[u]; ok {
			continue
		}
		p, err := b.src.GetParticipant(ctx, id, u)
		if ok, err := found(err); err != nil {
			return nil, fmt.Errorf("participant: %w", err)
		} else if ok {
			te.members[u] = p
		}
	}
	for u, p := range te.members {
		te.history[u] = merge(te.history[u], currentChanges(p, true))
	}
	if te.requests, err = b.src.ListRequests(ctx, herald.RequestFilter{Thread: id, Since: b.since, Limit: maxRequests}); err != nil {
		return nil, fmt.Errorf("thread requests: %w", err)
	}
	if te.receipts, err = b.src.ListReadReceipts(ctx, id, herald.Page{}); err != nil {
		return nil, fmt.Errorf("read receipts: %w", err)
	}
	if te.receipts == nil {
		te.receipts = []herald.ReadReceipt{}
	}
	return te, nil
}

// merge adds the changes of the current record that the history lacks
// (its events were not all read), in sequence order.
func merge(h, current []change) []change {
	for _, c := range current {
		if !slices.ContainsFunc(h, func(o change) bool { return o.Seq == c.Seq }) {
			h = append(h, c)
		}
	}
	slices.SortFunc(h, func(a, b change) int { return int(a.Seq - b.Seq) })
	return h
}

// message reads the message in question: id, or the thread's newest user
// message when id is empty.
func (b *bulk) message(ctx context.Context, thread herald.ThreadID, id herald.MessageID) (herald.Message, bool, error) {
	if id != "" {
		m, err := b.src.GetMessage(ctx, thread, id)
		ok, err := found(err)
		return m, ok, err
	}
	ms, err := b.src.ListMessages(ctx, thread, herald.MessageFilter{Limit: 200})
	if err != nil {
		return herald.Message{}, false, fmt.Errorf("newest message: %w", err)
	}
	for _, m := range ms {
		if !m.Type.System() {
			return m, true, nil
		}
	}
	return herald.Message{}, false, nil
}

// user reads the evidence about one user, once.
func (b *bulk) user(ctx context.Context, u herald.UserID) (*facts, error) {
	if f, ok := b.users[u]; ok {
		return f, nil
	}
	f := &facts{q: Query{User: u, Since: b.since}, now: b.now}
	if err := f.loadUser(ctx, b.src); err != nil {
		return nil, err
	}
	b.users[u] = f
	return f, nil
}

// recipients diagnoses message m for every user who was ever a
// participant of its thread, but its sender.
func (b *bulk) recipients(ctx context.Context, te *threadEvidence, m herald.Message) ([]Report, error) {
	runs, err := b.src.ListDeliveries(ctx, herald.DeliveryFilter{Thread: m.ThreadID, Seq: m.Seq, Limit: maxDeliveryRows})
	if err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	if len(runs) == maxDeliveryRows {
		b.note(fmt.Sprintf("message %s has more than %d delivery runs: only the first were read", m.ID, maxDeliveryRows))
	}
	users := make([]herald.UserID, 0, len(te.history))
	for u := range te.history {
		if u != m.SenderID {
			users = append(users, u)
		}
	}
	slices.Sort(users)
	out := make([]Report, 0, len(users))
	for _, u := range users {
		uf, err := b.user(ctx, u)
		if err != nil {
			return nil, err
		}
		f := &facts{q: Query{User: u, Thread: m.ThreadID, Message: m.ID, Since: b.since}, now: b.now, at: m.CreatedAt,
			identity: uf.identity, identityFound: uf.identityFound, tokens: uf.tokens, requests: uf.requests, conns: uf.conns,
			thread: te.thread, threadFound: true, history: te.history[u], historyCapped: te.capped,
			msg: m, msgFound: true, threadRequests: te.requests}
		f.member, f.memberFound = te.members[u]
		for _, r := range runs {
			if r.UserID == u {
				f.deliveries = append(f.deliveries, r)
			}
		}
		if f.acks, err = b.acksOf(ctx, u, m); err != nil {
			return nil, err
		}
		if err := b.receiptOf(ctx, te, f); err != nil {
			return nil, err
		}
		out = append(out, diagnose(f))
	}
	return out, nil
}

// acksOf reads the user's acks in the thread from the message on; one
// read serves the later messages of the thread too.
func (b *bulk) acksOf(ctx context.Context, u herald.UserID, m herald.Message) ([]herald.Ack, error) {
	k := ackKey{u, m.ThreadID}
	rd, ok := b.acks[k]
	if !ok || rd.from > m.Seq {
		as, err := b.src.ListAcks(ctx, herald.DeliveryFilter{User: u, Thread: m.ThreadID, Seq: m.Seq, Limit: 100})
		if err != nil {
			return nil, fmt.Errorf("acks: %w", err)
		}
		rd = ackRead{from: m.Seq, acks: as}
		b.acks[k] = rd
	}
	var out []herald.Ack
	for _, a := range rd.acks {
		if a.Seq >= m.Seq {
			out = append(out, a)
		}
	}
	return out, nil
}

// receiptOf finds the user's read receipt among the thread's and the
// sequence number of the message it names.
func (b *bulk) receiptOf(ctx context.Context, te *threadEvidence, f *facts) error {
	i := slices.IndexFunc(te.receipts, func(r herald.ReadReceipt) bool { return r.UserID == f.q.User })
	if i < 0 {
		return nil
	}
	f.receipt = te.receipts[i]
	seq, ok := te.seqOf[f.receipt.MessageID]
	if !ok {
		m, err := b.src.GetMessage(ctx, f.q.Thread, f.receipt.MessageID)
		if ok, err := found(err); err != nil {
			return fmt.Errorf("read receipt's message: %w", err)
		} else if ok {
			seq = m.Seq
		}
		te.seqOf[f.receipt.MessageID] = seq
	}
	f.receiptSeq = seq
	return nil
}
