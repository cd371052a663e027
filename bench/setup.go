package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-chat/herald/wire"
)

// user is an identity the load generator created, with a chat token.
type user struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

// thread is a thread the load generator created and its participants,
// the creator first.
type thread struct {
	ID      string
	Members []user
}

// parallel runs fn(0..n-1), at most conc at a time, and returns the first
// error; after an error or the end of ctx no new call starts.
func parallel(ctx context.Context, n, conc int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && err != context.Canceled {
		return err
	}
	return ctx.Err()
}

// createUsers creates n identities, each with a chat token.
func (r *runner) createUsers(n int) ([]user, error) {
	users := make([]user, n)
	var made atomic.Int64
	stop := r.progress(func(time.Duration) string { return fmt.Sprintf("setup: %d/%d identities", made.Load(), n) })
	defer stop()
	err := parallel(r.ctx, n, r.o.SetupConcurrency, func(ctx context.Context, i int) error {
		resp, err := r.admin.CreateIdentity(ctx, wire.CreateIdentityRequest{CreateTokenWithScopes: []string{"chat"}})
		if err != nil {
			return fmt.Errorf("create identity: %w", err)
		}
		if resp.AccessToken == nil {
			return fmt.Errorf("create identity %s: no token in the answer", resp.Identity.ID)
		}
		users[i] = user{ID: resp.Identity.ID, Token: resp.AccessToken.Token}
		made.Add(1)
		return nil
	})
	r.res.Setup.Identities += int(made.Load())
	return users, err
}

// createThreads makes one thread per group of members, created by the
// first member, the others added in batches of --add-batch.
func (r *runner) createThreads(groups [][]user) ([]thread, error) {
	threads := make([]thread, len(groups))
	err := parallel(r.ctx, len(groups), r.o.SetupConcurrency, func(ctx context.Context, i int) error {
		members := groups[i]
		creator := r.user(members[0].Token)
		rest := members[1:]
		first := rest[:min(len(rest), r.o.AddBatch)]
		resp, err := creator.CreateThread(ctx, wire.CreateThreadRequest{Topic: fmt.Sprintf("bench %s %d", r.res.Name, i),
			Participants: participants(first)}, "")
		if err != nil {
			return fmt.Errorf("create thread: %w", err)
		}
		if n := len(resp.InvalidParticipants); n > 0 {
			p := resp.InvalidParticipants[0]
			return fmt.Errorf("create thread: %d participants refused, first %s: %s %s", n, p.Target, p.Reason, p.Message)
		}
		for rest = rest[len(first):]; len(rest) > 0; {
			batch := rest[:min(len(rest), r.o.AddBatch)]
			rest = rest[len(batch):]
			add, err := creator.AddParticipants(ctx, resp.ChatThread.ID, wire.AddParticipantsRequest{Participants: participants(batch)})
			if err != nil {
				return fmt.Errorf("add participants: %w (a thread of %d needs a server started with --max-participants %d or more)",
					err, len(members), len(members))
			}
			if n := len(add.InvalidParticipants); n > 0 {
				p := add.InvalidParticipants[0]
				return fmt.Errorf("add participants: %d refused, first %s: %s %s (a thread of %d needs --max-participants %d or more on the server)",
					n, p.Target, p.Reason, p.Message, len(members), len(members))
			}
		}
		threads[i] = thread{ID: resp.ChatThread.ID, Members: members}
		return nil
	})
	r.res.Setup.Threads += len(groups)
	return threads, err
}

func participants(us []user) []wire.ChatParticipant {
	ps := make([]wire.ChatParticipant, len(us))
	for i, u := range us {
		ps[i] = wire.ChatParticipant{CommunicationIdentifier: wire.Identifier(u.ID)}
	}
	return ps
}

// openStream dials a stream and reads until caughtUp, answering pings: the
// connection is then live.
func (r *runner) openStream(ctx context.Context, token string) (stream, error) {
	return openStream(ctx, r.o.Transport, r.base, r.hc, token)
}

func openStream(ctx context.Context, transport string, base *url.URL, hc *http.Client, token string) (stream, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := dialStream(dctx, transport, base, hc, token)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(dctx, s.close) // bounds the wait for caughtUp
	defer stop()
	for {
		f, err := s.next()
		if err != nil {
			s.close()
			if dctx.Err() != nil {
				return nil, fmt.Errorf("no caughtUp within 30s: %w", err)
			}
			return nil, err
		}
		switch frameType(f) {
		case wire.FrameCaughtUp:
			return s, nil
		case wire.FramePing:
			s.pong()
		case wire.FrameError:
			s.close()
			return nil, fmt.Errorf("error frame before caughtUp: %s", f)
		}
	}
}
