package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// mustMatchGolden compares got with testdata/name.golden, or rewrites the
// file with -update.
func mustMatchGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got\n%s\nwant\n%s", path, got, want)
	}
}

// render runs emit with the given output format and returns what it wrote.
func render[T any](t *testing.T, output string, v T, table func(*table, T)) []byte {
	t.Helper()
	var out bytes.Buffer
	g := &Globals{Output: output, stdout: &out}
	if err := emit(g, v, table); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

var (
	t0    = time.Date(2024, 3, 9, 14, 30, 5, 123e6, time.FixedZone("CET", 3600))
	t1    = t0.Add(90 * time.Second)
	alice = wire.Identifier("u_alice")
	bob   = wire.Identifier("u_bob")
)

func sampleMessages() wire.MessageList {
	return wire.MessageList{
		NextLink: "/chat/threads/t_1/messages?before=2",
		Value: []wire.ChatMessage{
			{ID: "m_5", Type: "html", SequenceID: "5", Version: "1", CreatedOn: t1, SenderCommunicationIdentifier: &bob,
				Content: &wire.MessageContent{Message: "<p>A long message that goes on and on, well past the sixty runes a list shows — ünïcödé</p>"}},
			{ID: "m_4", Type: "text", SequenceID: "4", Version: "3", CreatedOn: t1, SenderCommunicationIdentifier: &alice, DeletedOn: &t1},
			{ID: "m_3", Type: "text", SequenceID: "3", Version: "1", CreatedOn: t0, SenderCommunicationIdentifier: &alice,
				Content: &wire.MessageContent{Message: "two\nlines\twith a tab and \x1b[31mescape"}},
			{ID: "m_2", Type: "participantAdded", SequenceID: "2", Version: "1", CreatedOn: t0,
				Content: &wire.MessageContent{Participants: []wire.ChatParticipant{{CommunicationIdentifier: bob}}, InitiatorCommunicationIdentifier: &alice}},
		},
	}
}

func TestTableOutput(t *testing.T) {
	msgs := sampleMessages()
	tests := []struct {
		name string
		got  []byte
	}{
		{"identity-created", render(t, "table", &wire.CreateIdentityResponse{
			Identity:    wire.CommunicationUser{ID: "u_alice"},
			AccessToken: &wire.AccessToken{Token: "eyJ.token", ExpiresOn: t1, ID: "k_1"},
		}, printCreatedIdentity)},
		{"identity", render(t, "table", &wire.Identity{ID: "u_alice", CreatedOn: t0, LastTokenIssuedAt: &t1}, printIdentity)},
		{"tokens", render(t, "table", wire.TokenList{Value: []wire.TokenInfo{
			{ID: "k_1", Scopes: []string{"chat"}, IssuedOn: t0, ExpiresOn: t1},
			{ID: "k_2", Scopes: []string{"chat.join", "chat.join.limited"}, IssuedOn: t0, ExpiresOn: t1, RevokedOn: &t1},
		}}, printTokens)},
		{"thread-created", render(t, "table", &wire.CreateThreadResponse{
			ChatThread: wire.ChatThreadProperties{ID: "t_1", Topic: "Weekend plans", CreatedOn: t0,
				CreatedByCommunicationIdentifier: alice, SequenceID: "1", Metadata: map[string]string{"b": "2", "a": "1"}},
			InvalidParticipants: []wire.InvalidParticipant{{Code: "not_found", Reason: "identity_not_found", Message: "no identity u_x", Target: "u_x"}},
		}, printCreatedThread)},
		{"threads", render(t, "table", wire.ThreadList{Value: []wire.ChatThreadItem{
			{ID: "t_1", Topic: "Weekend plans", LastMessageReceivedOn: &t1},
			{ID: "t_2", Topic: "Gone", DeletedOn: &t0},
		}}, printThreads)},
		{"participants", render(t, "table", wire.ParticipantList{Value: []wire.ChatParticipant{
			{CommunicationIdentifier: alice, DisplayName: "Alice"},
			{CommunicationIdentifier: bob, ShareHistoryTime: &t0},
		}}, printParticipants)},
		{"messages", render(t, "table", msgs, printMessages)},
		{"message", render(t, "table", &msgs.Value[2], printMessage)},
		{"receipts", render(t, "table", wire.ReadReceiptList{Value: []wire.ReadReceipt{
			{SenderCommunicationIdentifier: bob, ChatMessageID: "m_5", ReadOn: t1},
		}}, printReceipts)},
		{"messages-json", render(t, "json", msgs, printMessages)},
		{"done", render(t, "table", done("deleted thread t_1"), nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustMatchGolden(t, tt.name, tt.got) })
	}
}

func TestPrintError(t *testing.T) {
	answered := &herald.Error{Code: herald.CodeNotFound, Reason: herald.ReasonThreadNotFound, Message: "no thread t_9",
		Target: "t_9", Err: &client.HTTPError{Status: 404}}
	tests := []struct {
		err  error
		want string
	}{
		{answered, "error: 404 not_found/thread_not_found: no thread t_9 (target: t_9)\n"},
		{fmt.Errorf("list: %w", answered), "error: 404 not_found/thread_not_found: no thread t_9 (target: t_9)\n"},
		{&herald.Error{Code: herald.CodeInternal, Message: "the server answered 502 Bad Gateway without an error body",
			Err: &client.HTTPError{Status: 502}}, "error: 502 internal: the server answered 502 Bad Gateway without an error body\n"},
		{&herald.Error{Code: herald.CodeInvalid, Reason: herald.ReasonMissingField, Message: "threadId is empty", Target: "threadId"},
			"error: invalid/missing_field: threadId is empty (target: threadId)\n"},
		{errors.New("herald: dial tcp: connection refused"), "error: herald: dial tcp: connection refused\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		printError(&out, tt.err)
		if out.String() != tt.want {
			t.Errorf("got %q, want %q", out.String(), tt.want)
		}
	}
}

func TestRunExitStatus(t *testing.T) {
	t.Setenv("HERALD_TOKEN", "")
	t.Setenv("HERALD_ADMIN_KEY", "")
	// No request must be made: the URL leads nowhere.
	t.Setenv("HERALD_URL", "http://127.0.0.1:1")
	tests := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"thread", "list"}, 1, "HERALD_TOKEN"},
		{[]string{"message", "send", "t_1", "hi"}, 1, "HERALD_TOKEN"},
		{[]string{"identity", "create"}, 1, "HERALD_ADMIN_KEY"},
		{[]string{"token", "revoke", "u_1"}, 1, "HERALD_ADMIN_KEY"},
		{[]string{"--token", "x", "thread", "update", "t_1"}, 1, "--topic"},
		{[]string{"thread", "frobnicate"}, 2, "error:"},
		{[]string{"-o", "xml", "thread", "list"}, 2, "error:"},
		{[]string{"-o", "yaml", "listen"}, 2, "use -o json"},
		{[]string{"token", "issue", "u_1"}, 2, "--scopes"},
		{[]string{"--help"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("got exit status %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.inStderr) {
				t.Errorf("got stderr %q, want it to contain %q", stderr.String(), tt.inStderr)
			}
		})
	}
}

func TestCollect(t *testing.T) {
	// Three pages of two: [1 2] [3 4] [5].
	pages := map[string]struct {
		items []int
		next  string
	}{
		"":   {[]int{1, 2}, "p2"},
		"p2": {[]int{3, 4}, "p3"},
		"p3": {[]int{5}, ""},
	}
	type page struct {
		items []int
		next  string
	}
	get := func(_ context.Context, link string) (*page, error) {
		p := pages[link]
		return &page{p.items, p.next}, nil
	}
	first := func(ctx context.Context) (*page, error) { return get(ctx, "") }
	parts := func(p *page) ([]int, string) { return p.items, p.next }
	for _, tt := range []struct {
		limit int
		want  string
	}{
		{0, "[1 2 3 4 5] \"\""},
		{2, "[1 2] \"p2\""}, // a page boundary: the link continues exactly
		{3, "[1 2 3] \"\""}, // cut inside a page: no link would continue exactly
		{9, "[1 2 3 4 5] \"\""},
	} {
		items, link, err := collect(context.Background(), tt.limit, first, get, parts)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%v %q", items, link); got != tt.want {
			t.Errorf("limit %d: got %s, want %s", tt.limit, got, tt.want)
		}
	}
}
