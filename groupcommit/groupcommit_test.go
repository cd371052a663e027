package groupcommit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/groupcommit"
)

var errClosed = errors.New("closed")

func cancelled(err error) error { return errors.Join(errors.New("cancelled"), err) }

// waitWaiting waits until n Submits are queued.
func waitWaiting(t *testing.T, q *groupcommit.Queue, n int) {
	t.Helper()
	for i := 0; q.Waiting() != n; i++ {
		if i > 10_000 {
			t.Fatalf("got %d queued, want %d", q.Waiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Take returns what a writer carried first, then the queued Updates in
// the order they were submitted, at most max; each Submit gets its own
// answer.
func TestTakeOrderAndAnswers(t *testing.T) {
	q := groupcommit.New(errClosed)
	errs := make([]chan error, 3)
	for i := range errs {
		errs[i] = make(chan error, 1)
		want := errors.New(string(rune('a' + i)))
		go func() {
			errs[i] <- q.Submit(context.Background(), func(herald.Tx) error { return want }, cancelled)
		}()
		waitWaiting(t, q, i+1)
	}
	group, ok := q.Take(nil, 2)
	if !ok || len(group) != 2 {
		t.Fatalf("got %d jobs (ok %v), want 2", len(group), ok)
	}
	rest, ok := q.Take(group[1:], 10) // carry the second: it comes first
	if !ok || len(rest) != 2 || rest[0] != group[1] {
		t.Fatalf("got %d jobs, want the carried one then the third", len(rest))
	}
	all := []*groupcommit.Job{group[0], rest[0], rest[1]}
	for i, j := range all {
		j.Answer(groupcommit.Run(j.Fn, nil))
		if got := <-errs[i]; got == nil || got.Error() != string(rune('a'+i)) {
			t.Errorf("submit %d: got %v, want its own function's error", i, got)
		}
	}
	if q.Waiting() != 0 {
		t.Errorf("got %d waiting, want 0", q.Waiting())
	}
}

// A Submit whose context ends before a writer takes it fails with the
// engine's error for it, and its function never runs; after Close, Submit
// fails with the closed error and Take reports the end.
func TestCancelAndClose(t *testing.T) {
	q := groupcommit.New(errClosed)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := q.Submit(ctx, func(herald.Tx) error { ran = true; return nil }, cancelled)
	if !errors.Is(err, context.Canceled) || ran {
		t.Errorf("cancelled submit: got %v (ran %v), want context.Canceled and not run", err, ran)
	}
	q.Close()
	if err := q.Submit(context.Background(), func(herald.Tx) error { return nil }, cancelled); !errors.Is(err, errClosed) {
		t.Errorf("submit after Close: got %v, want the closed error", err)
	}
	if _, ok := q.Take(nil, 1); ok {
		t.Error("Take after Close: got ok, want the end")
	}
	if q.Waiting() != 0 {
		t.Errorf("got %d waiting, want 0", q.Waiting())
	}
}

// A panic in one function becomes its Result; Submit re-panics with it.
func TestPanic(t *testing.T) {
	q := groupcommit.New(errClosed)
	go func() {
		group, _ := q.Take(nil, 1)
		group[0].Answer(groupcommit.Run(group[0].Fn, nil))
	}()
	defer func() {
		if v := recover(); v != "boom" {
			t.Errorf("got panic %v, want boom", v)
		}
	}()
	q.Submit(context.Background(), func(herald.Tx) error { panic("boom") }, cancelled)
	t.Error("Submit returned; want its function's panic")
}
