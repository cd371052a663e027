package service

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/herald-chat/herald"
)

// batch collects the signals of one transaction; they are published only
// after it commits.
type batch struct {
	signals       []herald.Signal
	rosterChanged bool // the transaction called PutParticipant (see rosters)
	send          bool // a send: its commit latency is observed (Observer.SendCommitted)
	enqueued      bool // the outbox wrote webhook deliveries: wake it after the commit
}

func (b *batch) add(s herald.Signal) { b.signals = append(b.signals, s) }

// update runs fn in one store transaction and publishes its signals after
// the commit, in commit order (see commitOrder). A failed transaction
// publishes nothing.
func (s *Service) update(ctx context.Context, fn func(tx herald.Tx, b *batch) error) (err error) {
	var b batch
	var ticket uint64
	taken, passed := false, false
	defer func() {
		if taken && !passed { // fn or the publish panicked: let the next ones go
			s.order.pass(ticket)
		}
	}()
	start := s.clock.Now()
	commitCtx, span := s.startSpan(ctx, "herald.commit")
	err = s.store.Update(commitCtx, func(tx herald.Tx) error {
		b.signals, b.rosterChanged = b.signals[:0], false // a retried transaction starts over
		b.enqueued = false
		if err := fn(rosterTx{tx, &b}, &b); err != nil {
			return err
		}
		if s.outbox != nil && len(b.signals) > 0 {
			n, err := s.outbox.Enqueue(commitCtx, tx, b.signals)
			if err != nil {
				return internal("write webhook deliveries", err)
			}
			b.enqueued = n > 0
		}
		if !taken && len(b.signals) > 0 {
			ticket, taken = s.order.take(), true
		}
		return nil
	})
	endSpan(span, err)
	if err == nil && b.enqueued {
		s.outbox.Wake()
	}
	if err == nil {
		committed := s.clock.Now()
		if b.send {
			s.obs.SendCommitted(committed.Sub(start))
		}
		for i := range b.signals {
			b.signals[i].Committed = committed // the start of the fan-out latency
		}
	}
	if taken {
		s.order.wait(ticket)
		if err == nil {
			pubCtx, span := s.startSpan(ctx, "herald.publish")
			if span.IsRecording() {
				span.SetAttributes(attribute.Int("herald.signals", len(b.signals)))
			}
			if tp := traceParent(pubCtx); tp != "" {
				for i := range b.signals {
					b.signals[i].TraceParent = tp
				}
			}
			s.publish(pubCtx, b.signals...)
			span.End()
		}
		passed = true
		s.order.pass(ticket)
	}
	return err
}

// startSpan starts a span under ctx's, or, with tracing off, returns ctx
// and a span that records nothing, without allocating.
func (s *Service) startSpan(ctx context.Context, name string) (context.Context, trace.Span) {
	if s.tracer == nil {
		return ctx, noSpan
	}
	return s.tracer.Start(ctx, name)
}

// noSpan records nothing.
var noSpan = trace.SpanFromContext(context.Background())

// endSpan ends a span. A refusal by the rules (not a participant, a
// conflict) is recorded as the span's error event; only a failure (an
// internal error: the store, a bug) marks the span failed.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		if herald.ErrorCode(err) == herald.CodeInternal {
			span.SetStatus(codes.Error, err.Error())
		}
	}
	span.End()
}

// traceParent returns the W3C traceparent of ctx's span when it is
// sampled, else "" (tracing off, or this trace not kept).
func traceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsSampled() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c.Get("traceparent")
}

// commitOrder makes transactions publish in the order they committed. A
// transaction takes a ticket as its last step inside the store's
// transaction, and after the commit waits for its turn to publish. On the
// embedded default (SQLite, one writer) ticket order is commit order, so
// each thread's signals reach the hub in Seq order; published out of
// order, a later Seq makes every connection of the thread take the earlier
// one for lost and read it from the store, a storm of reads that a thread
// of 1,000 connected participants turns into seconds of delay. On an
// engine with concurrent writers the order is the order of the ends of the
// transactions' work, and a wait lasts at most a commit.
type commitOrder struct {
	mu     sync.Mutex
	cond   sync.Cond // on mu: next moved
	issued uint64    // tickets handed out
	next   uint64    // the ticket whose turn it is
}

// take hands out the next ticket.
func (o *commitOrder) take() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cond.L = &o.mu
	t := o.issued
	o.issued++
	return t
}

// wait blocks until it is ticket t's turn.
func (o *commitOrder) wait(t uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.next != t {
		o.cond.Wait()
	}
}

// pass ends ticket t's turn.
func (o *commitOrder) pass(t uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.next != t { // after a panic the turn may not have come yet
		o.cond.Wait()
	}
	o.next++
	o.cond.Broadcast()
}

// publish hands signals to the broker. The commit is already durable: a
// signal the broker loses is repaired by the receiving side from the Store
// (by Seq, on the next signal of the thread, on resume, or by the hub's
// periodic resync), so a publish error does not fail the request; it is
// counted (PublishFailures) and logged.
func (s *Service) publish(ctx context.Context, signals ...herald.Signal) {
	for _, sig := range signals {
		if err := s.broker.Publish(context.WithoutCancel(ctx), sig); err != nil {
			s.publishFailures.Add(1)
			s.log.Warn("publish failed: the receivers will read it from the store", "kind", sig.Kind,
				"thread", sig.ThreadID, "seq", sig.Seq, "err", err)
		}
	}
}

// participantsOf returns the current participants' ids, for unsequenced
// signals.
func (s *Service) participantsOf(ctx context.Context, r herald.Reader, id herald.ThreadID) ([]herald.UserID, error) {
	ps, err := r.ListMembers(ctx, id)
	if err != nil {
		return nil, internal("list participants", err)
	}
	out := make([]herald.UserID, len(ps))
	for i, p := range ps {
		out[i] = p.UserID
	}
	return out, nil
}
