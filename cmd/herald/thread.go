package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

// ThreadCmd groups the thread commands (access token).
type ThreadCmd struct {
	Create ThreadCreateCmd `cmd:"" help:"Create a thread."`
	List   ThreadListCmd   `cmd:"" help:"List your threads."`
	Get    ThreadGetCmd    `cmd:"" help:"Show a thread."`
	Update ThreadUpdateCmd `cmd:"" help:"Change a thread's topic."`
	Delete ThreadDeleteCmd `cmd:"" help:"Delete a thread."`
}

// ThreadCreateCmd is "thread create".
type ThreadCreateCmd struct {
	Topic        string   `required:"" help:"Topic of the thread."`
	Participants []string `name:"participant" placeholder:"USER" help:"A user to add besides you; repeat for more."`
	RequestID    string   `name:"request-id" placeholder:"KEY" help:"Idempotency key (repeatability-request-id): a retry with the same key creates no second thread."`
}

// Run creates the thread.
func (c *ThreadCreateCmd) Run(g *Globals) error {
	req := wire.CreateThreadRequest{Topic: c.Topic}
	for _, id := range c.Participants {
		req.Participants = append(req.Participants, wire.ChatParticipant{CommunicationIdentifier: wire.Identifier(id)})
	}
	return asUser(g, func(ctx context.Context, cl *client.Client) (*wire.CreateThreadResponse, error) {
		return cl.CreateThread(ctx, req, c.RequestID)
	}, printCreatedThread)
}

// ThreadListCmd is "thread list".
type ThreadListCmd struct {
	Limit int `default:"100" help:"Show at most this many threads, following further pages; 0 shows all."`
}

// Run lists the threads.
func (c *ThreadListCmd) Run(g *Globals) error {
	return asUser(g, func(ctx context.Context, cl *client.Client) (wire.ThreadList, error) {
		items, link, err := collect(ctx, c.Limit,
			func(ctx context.Context) (*wire.ThreadList, error) {
				return cl.ListThreads(ctx, client.ListThreadsOptions{})
			},
			cl.NextThreads,
			func(l *wire.ThreadList) ([]wire.ChatThreadItem, string) { return l.Value, l.NextLink })
		return wire.ThreadList{Value: items, NextLink: link}, err
	}, printThreads)
}

// ThreadGetCmd is "thread get".
type ThreadGetCmd struct {
	Thread string `arg:"" name:"thread" help:"Thread id."`
}

// Run shows the thread.
func (c *ThreadGetCmd) Run(g *Globals) error {
	return asUser(g, func(ctx context.Context, cl *client.Client) (*wire.ChatThreadProperties, error) {
		return cl.GetThread(ctx, c.Thread)
	}, printThread)
}

// ThreadUpdateCmd is "thread update".
type ThreadUpdateCmd struct {
	Thread string  `arg:"" name:"thread" help:"Thread id."`
	Topic  *string `help:"New topic."`
}

// Run updates the thread.
func (c *ThreadUpdateCmd) Run(g *Globals) error {
	if c.Topic == nil {
		return errors.New("nothing to update: pass --topic")
	}
	req := wire.UpdateThreadRequest{Topic: c.Topic}
	return asUser(g, func(ctx context.Context, cl *client.Client) (done, error) {
		return done("updated thread " + c.Thread), cl.UpdateThread(ctx, c.Thread, req)
	}, nil)
}

// ThreadDeleteCmd is "thread delete".
type ThreadDeleteCmd struct {
	Thread string `arg:"" name:"thread" help:"Thread id."`
}

// Run deletes the thread.
func (c *ThreadDeleteCmd) Run(g *Globals) error {
	return asUser(g, func(ctx context.Context, cl *client.Client) (done, error) {
		return done("deleted thread " + c.Thread), cl.DeleteThread(ctx, c.Thread)
	}, nil)
}

// ParticipantCmd groups the participant commands (access token).
type ParticipantCmd struct {
	Add    ParticipantAddCmd    `cmd:"" help:"Add users to a thread."`
	Remove ParticipantRemoveCmd `cmd:"" help:"Remove a user from a thread."`
	List   ParticipantListCmd   `cmd:"" help:"List a thread's participants."`
}

// ParticipantAddCmd is "participant add".
type ParticipantAddCmd struct {
	Thread           string    `arg:"" name:"thread" help:"Thread id."`
	Users            []string  `arg:"" name:"user" help:"Users to add."`
	DisplayName      string    `name:"display-name" placeholder:"NAME" help:"Display name of the added users."`
	ShareHistoryTime time.Time `name:"share-history-time" placeholder:"RFC3339" help:"Share the thread's history from this time (default: all of it)."`
}

// Run adds the participants.
func (c *ParticipantAddCmd) Run(g *Globals) error {
	var req wire.AddParticipantsRequest
	for _, id := range c.Users {
		p := wire.ChatParticipant{CommunicationIdentifier: wire.Identifier(id), DisplayName: c.DisplayName}
		if !c.ShareHistoryTime.IsZero() {
			p.ShareHistoryTime = &c.ShareHistoryTime
		}
		req.Participants = append(req.Participants, p)
	}
	return asUser(g, func(ctx context.Context, cl *client.Client) (*wire.AddParticipantsResponse, error) {
		return cl.AddParticipants(ctx, c.Thread, req)
	}, func(t *table, r *wire.AddParticipantsResponse) {
		added := len(c.Users) - len(r.InvalidParticipants)
		t.line("added %d of %d users to thread %s", added, len(c.Users), c.Thread)
		printRefused(t, r.InvalidParticipants)
	})
}

// ParticipantRemoveCmd is "participant remove".
type ParticipantRemoveCmd struct {
	Thread string `arg:"" name:"thread" help:"Thread id."`
	User   string `arg:"" name:"user" help:"User to remove."`
}

// Run removes the participant.
func (c *ParticipantRemoveCmd) Run(g *Globals) error {
	return asUser(g, func(ctx context.Context, cl *client.Client) (done, error) {
		return done(fmt.Sprintf("removed %s from thread %s", c.User, c.Thread)), cl.RemoveParticipant(ctx, c.Thread, c.User)
	}, nil)
}

// ParticipantListCmd is "participant list".
type ParticipantListCmd struct {
	Thread string `arg:"" name:"thread" help:"Thread id."`
}

// Run lists every participant of the thread.
func (c *ParticipantListCmd) Run(g *Globals) error {
	return asUser(g, func(ctx context.Context, cl *client.Client) (wire.ParticipantList, error) {
		items, link, err := collect(ctx, 0,
			func(ctx context.Context) (*wire.ParticipantList, error) {
				return cl.ListParticipants(ctx, c.Thread, client.ListParticipantsOptions{})
			},
			cl.NextParticipants,
			func(l *wire.ParticipantList) ([]wire.ChatParticipant, string) { return l.Value, l.NextLink })
		return wire.ParticipantList{Value: items, NextLink: link}, err
	}, printParticipants)
}
