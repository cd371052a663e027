package main

import (
	"context"
	"fmt"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

// MessageCmd groups the message commands (access token).
type MessageCmd struct {
	Send   MessageSendCmd   `cmd:"" help:"Send a message."`
	List   MessageListCmd   `cmd:"" help:"List a thread's messages: newest first, or oldest first after --since."`
	Get    MessageGetCmd    `cmd:"" help:"Show a message."`
	Edit   MessageEditCmd   `cmd:"" help:"Replace a message's text."`
	Delete MessageDeleteCmd `cmd:"" help:"Delete a message."`
}

// MessageSendCmd is "message send".
type MessageSendCmd struct {
	Thread      string `arg:"" name:"thread" help:"Thread id."`
	Text        string `arg:"" name:"text" help:"Content of the message."`
	Type        string `enum:"text,html" default:"text" help:"Message type: ${enum}."`
	DisplayName string `name:"display-name" placeholder:"NAME" help:"Sender display name shown with the message."`
	ClientID    string `name:"client-id" placeholder:"KEY" help:"Idempotency key (clientMessageId): a retry with the same key sends no second message."`
}

// Run sends the message.
func (c *MessageSendCmd) Run(g *Globals) error {
	req := wire.SendMessageRequest{Content: c.Text, Type: c.Type, SenderDisplayName: c.DisplayName, ClientMessageID: c.ClientID}
	return asUser(g, func(ctx context.Context, cl *client.Client) (*wire.SendMessageResponse, error) {
		return cl.SendMessage(ctx, c.Thread, req, "")
	}, printSent)
}

// MessageListCmd is "message list".
type MessageListCmd struct {
	Thread string `arg:"" name:"thread" help:"Thread id."`
	Since  *int64 `placeholder:"SEQ" help:"List the messages after this sequence id, oldest first (0: from the start)."`
	Limit  int    `default:"50" help:"Show at most this many messages, following further pages; 0 shows all."`
}

// Run lists the messages.
func (c *MessageListCmd) Run(g *Globals) error {
	var opts client.ListMessagesOptions
	if c.Since != nil {
		since := herald.Seq(*c.Since)
		opts.Since = &since
	}
	return asUser(g, func(ctx context.Context, cl *client.Client) (wire.MessageList, error) {
		items, link, err := collect(ctx, c.Limit,
			func(ctx context.Context) (*wire.MessageList, error) { return cl.ListMessages(ctx, c.Thread, opts) },
			cl.NextMessages,
			func(l *wire.MessageList) ([]wire.ChatMessage, string) { return l.Value, l.NextLink })
		return wire.MessageList{Value: items, NextLink: link}, err
	}, printMessages)
}

// MessageGetCmd is "message get".
type MessageGetCmd struct {
	Thread  string `arg:"" name:"thread" help:"Thread id."`
	Message string `arg:"" name:"message" help:"Message id."`
}

// Run shows the message.
func (c *MessageGetCmd) Run(g *Globals) error {
	return asUser(g, func(ctx context.Context, cl *client.Client) (*wire.ChatMessage, error) {
		return cl.GetMessage(ctx, c.Thread, c.Message)
	}, printMessage)
}

// MessageEditCmd is "message edit".
type MessageEditCmd struct {
	Thread  string `arg:"" name:"thread" help:"Thread id."`
	Message string `arg:"" name:"message" help:"Message id."`
	Text    string `arg:"" name:"text" help:"New content."`
}

// Run edits the message.
func (c *MessageEditCmd) Run(g *Globals) error {
	req := wire.UpdateMessageRequest{Content: &c.Text}
	return asUser(g, func(ctx context.Context, cl *client.Client) (done, error) {
		return done("edited message " + c.Message), cl.UpdateMessage(ctx, c.Thread, c.Message, req)
	}, nil)
}

// MessageDeleteCmd is "message delete".
type MessageDeleteCmd struct {
	Thread  string `arg:"" name:"thread" help:"Thread id."`
	Message string `arg:"" name:"message" help:"Message id."`
}

// Run deletes the message.
func (c *MessageDeleteCmd) Run(g *Globals) error {
	return asUser(g, func(ctx context.Context, cl *client.Client) (done, error) {
		return done("deleted message " + c.Message), cl.DeleteMessage(ctx, c.Thread, c.Message)
	}, nil)
}

// ReceiptCmd groups the read receipt commands (access token).
type ReceiptCmd struct {
	Send ReceiptSendCmd `cmd:"" help:"Mark a thread read up to a message."`
	List ReceiptListCmd `cmd:"" help:"List a thread's read receipts."`
}

// ReceiptSendCmd is "receipt send".
type ReceiptSendCmd struct {
	Thread  string `arg:"" name:"thread" help:"Thread id."`
	Message string `arg:"" name:"message" help:"Id of the newest message read."`
}

// Run sends the read receipt.
func (c *ReceiptSendCmd) Run(g *Globals) error {
	req := wire.SendReadReceiptRequest{ChatMessageID: c.Message}
	return asUser(g, func(ctx context.Context, cl *client.Client) (done, error) {
		return done(fmt.Sprintf("marked thread %s read up to message %s", c.Thread, c.Message)), cl.SendReadReceipt(ctx, c.Thread, req)
	}, nil)
}

// ReceiptListCmd is "receipt list".
type ReceiptListCmd struct {
	Thread string `arg:"" name:"thread" help:"Thread id."`
}

// Run lists every read receipt of the thread.
func (c *ReceiptListCmd) Run(g *Globals) error {
	return asUser(g, func(ctx context.Context, cl *client.Client) (wire.ReadReceiptList, error) {
		items, link, err := collect(ctx, 0,
			func(ctx context.Context) (*wire.ReadReceiptList, error) {
				return cl.ListReadReceipts(ctx, c.Thread, client.ListReadReceiptsOptions{})
			},
			cl.NextReadReceipts,
			func(l *wire.ReadReceiptList) ([]wire.ReadReceipt, string) { return l.Value, l.NextLink })
		return wire.ReadReceiptList{Value: items, NextLink: link}, err
	}, printReceipts)
}

// TypingCmd is "typing".
type TypingCmd struct {
	Thread      string `arg:"" name:"thread" help:"Thread id."`
	DisplayName string `name:"display-name" placeholder:"NAME" help:"Display name shown with the notification."`
}

// Run sends the typing notification.
func (c *TypingCmd) Run(g *Globals) error {
	req := wire.TypingRequest{SenderDisplayName: c.DisplayName}
	return asUser(g, func(ctx context.Context, cl *client.Client) (done, error) {
		return done("told thread " + c.Thread + " you are typing"), cl.SendTyping(ctx, c.Thread, req)
	}, nil)
}
