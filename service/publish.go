package service

import (
	"context"

	"github.com/herald-chat/herald"
)

// batch collects the signals of one transaction; they are published only
// after it commits.
type batch struct{ signals []herald.Signal }

func (b *batch) add(s herald.Signal) { b.signals = append(b.signals, s) }

// update runs fn in one store transaction and publishes its signals after
// the commit. A failed transaction publishes nothing.
func (s *Service) update(ctx context.Context, fn func(tx herald.Tx, b *batch) error) error {
	var b batch
	err := s.store.Update(ctx, func(tx herald.Tx) error {
		b.signals = b.signals[:0] // a retried transaction starts over
		return fn(tx, &b)
	})
	if err != nil {
		return err
	}
	s.publish(ctx, b.signals...)
	return nil
}

// publish hands signals to the broker. The commit is already durable: a
// signal the broker loses is repaired by the receiving side from the Store
// (by Seq, on the next signal of the thread or on resume), so a publish
// error does not fail the request.
func (s *Service) publish(ctx context.Context, signals ...herald.Signal) {
	for _, sig := range signals {
		s.broker.Publish(context.WithoutCancel(ctx), sig)
	}
}

// participantsOf returns the current participants' ids, for unsequenced
// signals.
func (s *Service) participantsOf(ctx context.Context, r herald.Reader, id herald.ThreadID) ([]herald.UserID, error) {
	ps, err := r.ListParticipants(ctx, id, herald.Page{})
	if err != nil {
		return nil, internal("list participants", err)
	}
	out := make([]herald.UserID, len(ps))
	for i, p := range ps {
		out[i] = p.UserID
	}
	return out, nil
}
