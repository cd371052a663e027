// Package groupcommit is the queue between Store.Update and a store
// engine's group writers: the part of group commit that is the same on
// every engine. Callers of Update wait in Submit; a writer takes every
// Update queued when it begins a transaction (Take), runs each in a
// savepoint (Run turns a panic into a Result), commits once, and answers
// each (Job.Answer). How a group's transaction, savepoints and commit are
// made is the engine's (sqlite/group.go, postgres/group.go).
//
// It is not a store and knows no SQL: it imports only the root package.
package groupcommit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/herald-chat/herald"
)

// Job is one Update waiting for, or run by, a group writer.
type Job struct {
	Ctx  context.Context
	Fn   func(herald.Tx) error
	done chan Result // buffered 1; answered once
}

// Result is how a Job ended: Fn's error, the commit's, or Fn's panic.
type Result struct {
	Err      error
	Panicked bool
	PanicVal any
}

// Answer ends the job's wait in Submit.
func (j *Job) Answer(r Result) { j.done <- r }

// Fail answers every job with err; a job already answered keeps its
// answer.
func Fail(jobs []*Job, err error) {
	for _, j := range jobs {
		select {
		case j.done <- Result{Err: err}:
		default:
		}
	}
}

// Queue hands Updates to group writers. The zero value is not usable: use
// New.
type Queue struct {
	jobs      chan *Job     // unbuffered: queued Updates are the senders waiting on it
	stop      chan struct{} // closed by Close
	closeOnce sync.Once
	waiting   atomic.Int64 // Updates submitted and not yet taken by a writer
	closed    error        // what Submit returns after Close
}

// New returns a Queue whose Submit fails with closed once Close was called.
func New(closed error) *Queue {
	return &Queue{jobs: make(chan *Job), stop: make(chan struct{}), closed: closed}
}

// Submit queues fn and waits for a writer to run it and answer. It
// returns fn's error unchanged, or the commit's, and panics with fn's
// panic value. If ctx ends before a writer takes fn, Submit returns
// cancelled(ctx.Err()) and fn never runs; once taken, fn runs to its end.
func (q *Queue) Submit(ctx context.Context, fn func(herald.Tx) error, cancelled func(error) error) error {
	j := &Job{Ctx: ctx, Fn: fn, done: make(chan Result, 1)}
	q.waiting.Add(1)
	select {
	case q.jobs <- j:
	case <-ctx.Done():
		q.waiting.Add(-1)
		return cancelled(ctx.Err())
	case <-q.stop:
		q.waiting.Add(-1)
		return q.closed
	}
	r := <-j.done
	if r.Panicked {
		panic(r.PanicVal)
	}
	return r.Err
}

// Take returns the next group: carried (Updates a writer runs again) and
// then every Update queued now, up to max in all. With nothing carried it
// first waits for one Update. ok is false once the Queue is closed.
func (q *Queue) Take(carried []*Job, max int) (group []*Job, ok bool) {
	group = carried
	if len(group) == 0 {
		select {
		case j := <-q.jobs:
			q.waiting.Add(-1)
			group = append(group, j)
		case <-q.stop:
			return nil, false
		}
	}
	for len(group) < max {
		select {
		case j := <-q.jobs:
			q.waiting.Add(-1)
			group = append(group, j)
		default:
			return group, true
		}
	}
	return group, true
}

// Waiting returns how many Updates are queued, not yet taken by a writer:
// the Updates waiting while every writer runs a group.
func (q *Queue) Waiting() int { return int(q.waiting.Load()) }

// Close makes writers' Take return false once idle, and Submits not yet
// taken fail.
func (q *Queue) Close() { q.closeOnce.Do(func() { close(q.stop) }) }

// errPanicked is a Result's Err when Fn panicked.
var errPanicked = errors.New("groupcommit: update panicked")

// Run calls fn on tx, turning a panic into a Result, so that one Update's
// panic does not take its group down with it.
func Run(fn func(herald.Tx) error, tx herald.Tx) (r Result) {
	defer func() {
		if v := recover(); v != nil {
			r = Result{Panicked: true, PanicVal: v, Err: errPanicked}
		}
	}()
	return Result{Err: fn(tx)}
}
