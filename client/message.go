package client

import (
	"context"
	"iter"
	"net/http"

	"github.com/herald-chat/herald/wire"
)

// SendMessage sends a message to a thread and returns its id and sequence
// id. repeatabilityID, if not empty, is sent as the repeatability-request-id
// header; req.ClientMessageID is the same idempotency key in the body.
func (c *Client) SendMessage(ctx context.Context, threadID string, req wire.SendMessageRequest, repeatabilityID string) (*wire.SendMessageResponse, error) {
	r := threadRequest(http.MethodPost, threadID, "/messages")
	r.body, r.repeatability = req, repeatabilityID
	return call[wire.SendMessageResponse](ctx, c.conn, r)
}

// ListMessages returns one page of a thread's messages: newest first, or
// oldest first when opts.Since is set. Follow its NextLink with
// NextMessages.
func (c *Client) ListMessages(ctx context.Context, threadID string, opts ListMessagesOptions) (*wire.MessageList, error) {
	return call[wire.MessageList](ctx, c.conn, listMessages(threadID, opts))
}

// NextMessages returns the page of a message list's nextLink.
func (c *Client) NextMessages(ctx context.Context, nextLink string) (*wire.MessageList, error) {
	return call[wire.MessageList](ctx, c.conn, c.conn.follow(nextLink))
}

// AllMessages iterates a thread's messages in ListMessages order, following
// nextLink.
func (c *Client) AllMessages(ctx context.Context, threadID string, opts ListMessagesOptions) iter.Seq2[wire.ChatMessage, error] {
	return pages(ctx, c.conn, listMessages(threadID, opts),
		func(l *wire.MessageList) ([]wire.ChatMessage, string) { return l.Value, l.NextLink })
}

func listMessages(threadID string, opts ListMessagesOptions) request {
	r := threadRequest(http.MethodGet, threadID, "/messages")
	r.query = opts.values()
	return r
}

// GetMessage returns one message of a thread.
func (c *Client) GetMessage(ctx context.Context, threadID, messageID string) (*wire.ChatMessage, error) {
	return call[wire.ChatMessage](ctx, c.conn, messageRequest(http.MethodGet, threadID, messageID))
}

// UpdateMessage edits a message's content or metadata; nil fields of req
// are left as they are.
func (c *Client) UpdateMessage(ctx context.Context, threadID, messageID string, req wire.UpdateMessageRequest) error {
	r := messageRequest(http.MethodPatch, threadID, messageID)
	r.body = req
	return c.conn.do(ctx, r, nil)
}

// DeleteMessage deletes a message.
func (c *Client) DeleteMessage(ctx context.Context, threadID, messageID string) error {
	return c.conn.do(ctx, messageRequest(http.MethodDelete, threadID, messageID), nil)
}

// SendReadReceipt records that the caller has read the thread up to
// req.ChatMessageID.
func (c *Client) SendReadReceipt(ctx context.Context, threadID string, req wire.SendReadReceiptRequest) error {
	r := threadRequest(http.MethodPost, threadID, "/readReceipts")
	r.body = req
	return c.conn.do(ctx, r, nil)
}

// ListReadReceipts returns one page of a thread's read receipts; follow its
// NextLink with NextReadReceipts.
func (c *Client) ListReadReceipts(ctx context.Context, threadID string, opts ListReadReceiptsOptions) (*wire.ReadReceiptList, error) {
	return call[wire.ReadReceiptList](ctx, c.conn, listReadReceipts(threadID, opts))
}

// NextReadReceipts returns the page of a read receipt list's nextLink.
func (c *Client) NextReadReceipts(ctx context.Context, nextLink string) (*wire.ReadReceiptList, error) {
	return call[wire.ReadReceiptList](ctx, c.conn, c.conn.follow(nextLink))
}

// AllReadReceipts iterates a thread's read receipts, following nextLink.
func (c *Client) AllReadReceipts(ctx context.Context, threadID string, opts ListReadReceiptsOptions) iter.Seq2[wire.ReadReceipt, error] {
	return pages(ctx, c.conn, listReadReceipts(threadID, opts),
		func(l *wire.ReadReceiptList) ([]wire.ReadReceipt, string) { return l.Value, l.NextLink })
}

func listReadReceipts(threadID string, opts ListReadReceiptsOptions) request {
	r := threadRequest(http.MethodGet, threadID, "/readReceipts")
	r.query = opts.values()
	return r
}

// SendTyping tells the thread's other participants that the caller is
// typing. It is an ephemeral signal, not history.
func (c *Client) SendTyping(ctx context.Context, threadID string, req wire.TypingRequest) error {
	r := threadRequest(http.MethodPost, threadID, "/typing")
	r.body = req
	return c.conn.do(ctx, r, nil)
}
