package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// done is the result of a command whose answer has no body: a sentence for
// the table output. The JSON output prints nothing for it.
type done string

// emit writes v to the command's output: as indented JSON with -o json,
// as the same document in YAML with -o yaml, as shell assignments with
// -o env, else through render as an aligned table.
func emit[T any](g *Globals, v T, render func(*table, T)) error {
	if d, ok := any(v).(done); ok {
		switch g.Output {
		case "json", "yaml":
			_, err := fmt.Fprintln(g.stdout, "{}") // the API's answer has no body
			return err
		case "env":
			return nil
		}
		_, err := fmt.Fprintln(g.stdout, clean(string(d)))
		return err
	}
	switch g.Output {
	case "env":
		return writeEnv(g.stdout, g.EnvPrefix, v)
	case "json":
		enc := json.NewEncoder(g.stdout)
		enc.SetEscapeHTML(false) // html messages stay readable
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		return writeYAML(g.stdout, v)
	}
	t := newTable(g.stdout)
	render(t, v)
	return t.flush()
}

// writeYAML writes v as YAML with the JSON field names, so that -o yaml
// is the REST API's document in another notation (the same keys, the same
// nesting, times as the same RFC 3339 strings).
func writeYAML(w io.Writer, v any) error {
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	y, err := yaml.JSONToYAML(j)
	if err != nil {
		return err
	}
	_, err = w.Write(y)
	return err
}

// structured reports whether the output is a document (JSON or YAML)
// rather than text for a person.
func (g *Globals) structured() bool { return g.Output == "json" || g.Output == "yaml" }

// table writes aligned columns. Every cell is cleaned of control
// characters, so that content from other users can neither break the
// alignment nor reach the terminal as an escape sequence.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer) *table {
	return &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
}

// row writes one row of cells.
func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = clean(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

// field writes one "name value" line of a record.
func (t *table) field(name, value string) { t.row(name, orDash(value)) }

// line writes a line that is not part of the columns.
func (t *table) line(format string, args ...any) {
	fmt.Fprintln(t.tw, clean(fmt.Sprintf(format, args...)))
}

func (t *table) flush() error { return t.tw.Flush() }

// clean replaces control characters (tabs and newlines included) with
// spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
}

// truncate shortens s to at most n runes, marking a cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ts formats a time as RFC 3339 in UTC; the zero time is "-".
func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// tsp formats an optional time; nil is "-".
func tsp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return ts(*t)
}

// metadata formats a map as "k=v, k=v" in key order.
func metadata(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ", ")
}

func userOf(id *wire.CommunicationIdentifier) string {
	if id == nil {
		return ""
	}
	return id.UserID()
}

// collect gathers up to limit items (0: all) from the first page and the
// pages its nextLink leads to. The nextLink returned continues after the
// last item: it is "" when the list is exhausted or the limit cut a page
// short.
func collect[L, T any](ctx context.Context, limit int,
	first func(context.Context) (*L, error),
	next func(context.Context, string) (*L, error),
	parts func(*L) ([]T, string),
) ([]T, string, error) {
	all := []T{} // an empty list is [] in -o json, as the API answers, never null
	followed := ""
	page, err := first(ctx)
	for {
		if err != nil {
			return nil, "", err
		}
		items, link := parts(page)
		if link != "" && link == followed {
			return nil, "", fmt.Errorf("the server answered nextLink %q twice", link)
		}
		if limit > 0 && len(all)+len(items) >= limit {
			if len(all)+len(items) > limit {
				link = ""
			}
			return append(all, items[:limit-len(all)]...), link, nil
		}
		all = append(all, items...)
		if link == "" {
			return all, "", nil
		}
		page, err = next(ctx, link)
		followed = link
	}
}

// --- Identities and tokens ---

func printCreatedIdentity(t *table, r *wire.CreateIdentityResponse) {
	t.field("ID", r.Identity.ID)
	if r.AccessToken != nil {
		printAccessToken(t, r.AccessToken)
	}
}

func printAccessToken(t *table, a *wire.AccessToken) {
	t.field("Token", a.Token)
	t.field("Expires", ts(a.ExpiresOn))
	t.field("Token ID", a.ID)
}

func printIdentity(t *table, i *wire.Identity) {
	t.field("ID", i.ID)
	t.field("Created", ts(i.CreatedOn))
	t.field("Deleted", tsp(i.DeletedOn))
	t.field("Last token issued", tsp(i.LastTokenIssuedAt))
}

func printTokens(t *table, l wire.TokenList) {
	t.row("ID", "SCOPES", "ISSUED", "EXPIRES", "REVOKED")
	for _, tk := range l.Value {
		t.row(tk.ID, strings.Join(tk.Scopes, ","), ts(tk.IssuedOn), ts(tk.ExpiresOn), tsp(tk.RevokedOn))
	}
}

// --- Threads and participants ---

func printThread(t *table, p *wire.ChatThreadProperties) {
	t.field("ID", p.ID)
	t.field("Topic", p.Topic)
	t.field("Created", ts(p.CreatedOn))
	t.field("Created by", p.CreatedByCommunicationIdentifier.UserID())
	t.field("Deleted", tsp(p.DeletedOn))
	t.field("Sequence", p.SequenceID)
	t.field("Metadata", metadata(p.Metadata))
}

func printCreatedThread(t *table, r *wire.CreateThreadResponse) {
	printThread(t, &r.ChatThread)
	printRefused(t, r.InvalidParticipants)
}

// printRefused lists the participants the server refused, if any.
func printRefused(t *table, refused []wire.InvalidParticipant) {
	if len(refused) == 0 {
		return
	}
	t.line("")
	t.line("Refused participants:")
	t.row("TARGET", "CODE", "REASON", "MESSAGE")
	for _, p := range refused {
		t.row(orDash(p.Target), p.Code, orDash(p.Reason), p.Message)
	}
}

func printThreads(t *table, l wire.ThreadList) {
	t.row("ID", "TOPIC", "LAST MESSAGE", "DELETED")
	for _, th := range l.Value {
		t.row(th.ID, truncate(th.Topic, contentWidth), tsp(th.LastMessageReceivedOn), tsp(th.DeletedOn))
	}
}

func printParticipants(t *table, l wire.ParticipantList) {
	t.row("USER", "DISPLAY NAME", "SHARE HISTORY FROM")
	for _, p := range l.Value {
		t.row(p.CommunicationIdentifier.UserID(), orDash(p.DisplayName), tsp(p.ShareHistoryTime))
	}
}

// --- Messages, receipts ---

// contentWidth is how many runes of content a list shows.
const contentWidth = 60

func printSent(t *table, r *wire.SendMessageResponse) {
	t.field("ID", r.ID)
	t.field("Sequence", r.SequenceID)
}

func printMessages(t *table, l wire.MessageList) {
	t.row("SEQ", "ID", "TYPE", "SENDER", "CREATED", "CONTENT")
	for _, m := range l.Value {
		t.row(m.SequenceID, m.ID, m.Type, orDash(sender(m)), ts(m.CreatedOn),
			truncate(clean(summary(m)), contentWidth))
	}
}

func printMessage(t *table, m *wire.ChatMessage) {
	t.field("ID", m.ID)
	t.field("Type", m.Type)
	t.field("Sequence", m.SequenceID)
	t.field("Version", m.Version)
	t.field("Sender", sender(*m))
	t.field("Display name", m.SenderDisplayName)
	t.field("Created", ts(m.CreatedOn))
	t.field("Edited", tsp(m.EditedOn))
	t.field("Deleted", tsp(m.DeletedOn))
	t.field("Metadata", metadata(m.Metadata))
	t.field("Content", summary(*m))
}

// sender is who sent a message, or who caused a system message.
func sender(m wire.ChatMessage) string {
	if id := userOf(m.SenderCommunicationIdentifier); id != "" {
		return id
	}
	if m.Content != nil {
		return userOf(m.Content.InitiatorCommunicationIdentifier)
	}
	return ""
}

// summary is a message's content as one line of text; system messages say
// what happened.
func summary(m wire.ChatMessage) string {
	if m.DeletedOn != nil {
		return "(deleted)"
	}
	c := m.Content
	if c == nil {
		return ""
	}
	switch herald.MessageType(m.Type) {
	case herald.MessageTopicUpdated:
		return "topic: " + c.Topic
	case herald.MessageParticipantAdded:
		return "added " + users(c.Participants)
	case herald.MessageParticipantRemoved:
		return "removed " + users(c.Participants)
	}
	return c.Message
}

func users(ps []wire.ChatParticipant) string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.CommunicationIdentifier.UserID()
	}
	return strings.Join(ids, ", ")
}

func printReceipts(t *table, l wire.ReadReceiptList) {
	t.row("USER", "MESSAGE", "READ")
	for _, r := range l.Value {
		t.row(r.SenderCommunicationIdentifier.UserID(), r.ChatMessageID, ts(r.ReadOn))
	}
}
