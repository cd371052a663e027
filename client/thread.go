package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"

	"github.com/herald-chat/herald/wire"
)

// CreateThread creates a thread with the caller as its creator.
// repeatabilityID, if not empty, is sent as the repeatability-request-id
// header: a retry with the same id and body returns the same thread.
// Participants the server refuses are listed in InvalidParticipants.
func (c *Client) CreateThread(ctx context.Context, req wire.CreateThreadRequest, repeatabilityID string) (*wire.CreateThreadResponse, error) {
	r := request{method: http.MethodPost, path: "/chat/threads", body: req, repeatability: repeatabilityID}
	return call[wire.CreateThreadResponse](ctx, c.conn, r)
}

// ListThreads returns one page of the caller's threads; follow its NextLink
// with NextThreads.
func (c *Client) ListThreads(ctx context.Context, opts ListThreadsOptions) (*wire.ThreadList, error) {
	return call[wire.ThreadList](ctx, c.conn, listThreads(opts))
}

// NextThreads returns the page of a thread list's nextLink.
func (c *Client) NextThreads(ctx context.Context, nextLink string) (*wire.ThreadList, error) {
	return call[wire.ThreadList](ctx, c.conn, c.conn.follow(nextLink))
}

// AllThreads iterates the caller's threads, following nextLink.
func (c *Client) AllThreads(ctx context.Context, opts ListThreadsOptions) iter.Seq2[wire.ChatThreadItem, error] {
	return pages(ctx, c.conn, listThreads(opts),
		func(l *wire.ThreadList) ([]wire.ChatThreadItem, string) { return l.Value, l.NextLink })
}

func listThreads(opts ListThreadsOptions) request {
	return request{method: http.MethodGet, path: "/chat/threads", query: opts.values()}
}

// GetThread returns the properties of a thread.
func (c *Client) GetThread(ctx context.Context, threadID string) (*wire.ChatThreadProperties, error) {
	return call[wire.ChatThreadProperties](ctx, c.conn, threadRequest(http.MethodGet, threadID, ""))
}

// UpdateThread changes a thread's topic or metadata; nil fields of req are
// left as they are.
func (c *Client) UpdateThread(ctx context.Context, threadID string, req wire.UpdateThreadRequest) error {
	r := threadRequest(http.MethodPatch, threadID, "")
	r.body = req
	return c.conn.do(ctx, r, nil)
}

// DeleteThread deletes a thread.
func (c *Client) DeleteThread(ctx context.Context, threadID string) error {
	return c.conn.do(ctx, threadRequest(http.MethodDelete, threadID, ""), nil)
}

// ListParticipants returns one page of a thread's participants; follow its
// NextLink with NextParticipants.
func (c *Client) ListParticipants(ctx context.Context, threadID string, opts ListParticipantsOptions) (*wire.ParticipantList, error) {
	return call[wire.ParticipantList](ctx, c.conn, listParticipants(threadID, opts))
}

// NextParticipants returns the page of a participant list's nextLink.
func (c *Client) NextParticipants(ctx context.Context, nextLink string) (*wire.ParticipantList, error) {
	return call[wire.ParticipantList](ctx, c.conn, c.conn.follow(nextLink))
}

// AllParticipants iterates a thread's participants, following nextLink.
func (c *Client) AllParticipants(ctx context.Context, threadID string, opts ListParticipantsOptions) iter.Seq2[wire.ChatParticipant, error] {
	return pages(ctx, c.conn, listParticipants(threadID, opts),
		func(l *wire.ParticipantList) ([]wire.ChatParticipant, string) { return l.Value, l.NextLink })
}

func listParticipants(threadID string, opts ListParticipantsOptions) request {
	r := threadRequest(http.MethodGet, threadID, "/participants")
	r.query = opts.values()
	return r
}

// AddParticipants adds participants to a thread. Participants the server
// refuses are listed in InvalidParticipants; the others are added.
func (c *Client) AddParticipants(ctx context.Context, threadID string, req wire.AddParticipantsRequest) (*wire.AddParticipantsResponse, error) {
	r := threadRequest(http.MethodPost, threadID, "/participants/:add")
	r.body = req
	return call[wire.AddParticipantsResponse](ctx, c.conn, r)
}

// RemoveParticipant removes the user userID from a thread.
func (c *Client) RemoveParticipant(ctx context.Context, threadID, userID string) error {
	r := threadRequest(http.MethodPost, threadID, "/participants/:remove")
	r.body = wire.Identifier(userID)
	return c.conn.do(ctx, r, nil)
}

// SearchPeople finds, by the start of a name, the people the caller shares
// or shared a thread with (a Herald addition); max 0 lets the server
// choose (20).
func (c *Client) SearchPeople(ctx context.Context, q string, max int) (*wire.PeopleList, error) {
	v := url.Values{"q": {q}}
	if max > 0 {
		v.Set("maxPageSize", strconv.Itoa(max))
	}
	return call[wire.PeopleList](ctx, c.conn, request{method: http.MethodGet, path: "/chat/people", query: v})
}
