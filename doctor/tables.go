package doctor

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// Filter selects rows of an evidence table. Tables ignore the filters that
// do not apply to them and say which they need.
type Filter struct {
	User    herald.UserID
	Thread  herald.ThreadID
	Message herald.MessageID
	Since   time.Time
	Until   time.Time
	Reason  herald.Reason
	Limit   int
}

// Table is an evidence table as rows of named columns.
type Table = wire.EvidenceTable

// Tables names the evidence tables, as in docs/evidence.md.
var Tables = []string{"ChatMessageSentEvents", "ChatMessageReceivedEvents", "Acks", "Requests", "Connections", "Membership", "ThreadLifecycle", "Tokens"}

// ReadTable returns the rows of one evidence table.
func ReadTable(ctx context.Context, src Source, name string, f Filter) (Table, error) {
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 1000
	}
	switch name {
	case "ChatMessageSentEvents", "Requests":
		return requestsTable(ctx, src, name, f)
	case "ChatMessageReceivedEvents":
		return receivedTable(ctx, src, f)
	case "Acks":
		return acksTable(ctx, src, f)
	case "Connections":
		return connectionsTable(ctx, src, f)
	case "Membership", "ThreadLifecycle":
		return threadTable(ctx, src, name, f)
	case "Tokens":
		return tokensTable(ctx, src, f)
	}
	return Table{}, herald.Errorf(herald.CodeNotFound, herald.ReasonRouteNotFound, "no evidence table %q; the tables are %v", name, Tables).WithTarget("table")
}

func need(cond bool, what string) error {
	if cond {
		return nil
	}
	return herald.Errorf(herald.CodeInvalid, herald.ReasonMissingField, "this table needs %s", what)
}

// list writes a cell holding several values: comma-separated, as the
// CLI's flags take them ("chat,chat.join"), not Go's "[chat chat.join]".
func list[T ~string](xs []T) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return strings.Join(out, ",")
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return stamp(t)
}

func requestsTable(ctx context.Context, src Source, name string, f Filter) (Table, error) {
	rf := herald.RequestFilter{Caller: f.User, Thread: f.Thread, Since: f.Since, Until: f.Until, Reason: f.Reason, Limit: f.Limit}
	if name == "ChatMessageSentEvents" {
		rf.Operation = "SendChatMessage" // in the query, so that the limit counts sends only
	}
	rows, err := src.ListRequests(ctx, rf)
	if err != nil {
		return Table{}, err
	}
	t := Table{Name: name, Columns: []string{"time", "request", "caller", "operation", "thread", "message", "status", "reason", "duration_ms"}}
	if name == "ChatMessageSentEvents" {
		t.Columns = []string{"time", "request", "sender", "thread", "message", "outcome", "status", "reason"}
	}
	for _, r := range rows {
		if f.Message != "" && r.MessageID != f.Message {
			continue
		}
		if name == "ChatMessageSentEvents" {
			if r.Operation != "SendChatMessage" {
				continue
			}
			outcome := "accepted"
			if r.Status/100 != 2 {
				outcome = "rejected"
			}
			t.Rows = append(t.Rows, []string{ts(r.At), r.RequestID, string(r.Caller), string(r.ThreadID), string(r.MessageID), outcome, strconv.Itoa(r.Status), string(r.Reason)})
			continue
		}
		t.Rows = append(t.Rows, []string{ts(r.At), r.RequestID, string(r.Caller), r.Operation, string(r.ThreadID), string(r.MessageID),
			strconv.Itoa(r.Status), string(r.Reason), strconv.FormatFloat(float64(r.Duration.Microseconds())/1000, 'f', 1, 64)})
	}
	return t, nil
}

// seqOf resolves the message filter to its sequence number.
func seqOf(ctx context.Context, src Source, f Filter) (herald.Seq, error) {
	if f.Message == "" {
		return 0, nil
	}
	if f.Thread == "" {
		return 0, need(false, "--thread with --message")
	}
	m, err := src.GetMessage(ctx, f.Thread, f.Message)
	if err != nil {
		return 0, err
	}
	return m.Seq, nil
}

func receivedTable(ctx context.Context, src Source, f Filter) (Table, error) {
	seq, err := seqOf(ctx, src, f)
	if err != nil {
		return Table{}, err
	}
	ds, err := src.ListDeliveries(ctx, herald.DeliveryFilter{User: f.User, Thread: f.Thread, Seq: seq, Limit: f.Limit})
	if err != nil {
		return Table{}, err
	}
	t := Table{Name: "ChatMessageReceivedEvents", Columns: []string{"recipient", "thread", "from_seq", "to_seq", "connection", "transport", "first_pushed", "last_pushed"}}
	for _, d := range ds {
		if (!f.Since.IsZero() && d.LastAt.Before(f.Since)) || (!f.Until.IsZero() && !d.FirstAt.Before(f.Until)) {
			continue
		}
		t.Rows = append(t.Rows, []string{string(d.UserID), string(d.ThreadID), fmt.Sprint(d.FromSeq), fmt.Sprint(d.ToSeq),
			string(d.ConnectionID), d.Transport, ts(d.FirstAt), ts(d.LastAt)})
	}
	return t, nil
}

func acksTable(ctx context.Context, src Source, f Filter) (Table, error) {
	seq, err := seqOf(ctx, src, f)
	if err != nil {
		return Table{}, err
	}
	as, err := src.ListAcks(ctx, herald.DeliveryFilter{User: f.User, Thread: f.Thread, Seq: seq, Limit: f.Limit})
	if err != nil {
		return Table{}, err
	}
	t := Table{Name: "Acks", Columns: []string{"time", "recipient", "thread", "up_to_seq", "connection"}}
	for _, a := range as {
		if (!f.Since.IsZero() && a.At.Before(f.Since)) || (!f.Until.IsZero() && !a.At.Before(f.Until)) {
			continue
		}
		t.Rows = append(t.Rows, []string{ts(a.At), string(a.UserID), string(a.ThreadID), fmt.Sprint(a.Seq), string(a.ConnectionID)})
	}
	return t, nil
}

func connectionsTable(ctx context.Context, src Source, f Filter) (Table, error) {
	cs, err := src.ListConnections(ctx, herald.ConnectionFilter{User: f.User, Since: f.Since, Until: f.Until, Limit: f.Limit})
	if err != nil {
		return Table{}, err
	}
	t := Table{Name: "Connections", Columns: []string{"opened", "connection", "user", "transport", "refused", "closed", "code", "reason", "closed_by", "handlers", "heartbeat_misses", "origin", "node"}}
	for _, c := range cs {
		if f.Reason != "" && c.Refused != f.Reason && c.CloseReason != f.Reason {
			continue
		}
		code := ""
		if c.CloseCode != 0 {
			code = strconv.Itoa(c.CloseCode)
		}
		hs := make([]string, len(c.Handles))
		for i, h := range c.Handles {
			hs[i] = string(h)
		}
		t.Rows = append(t.Rows, []string{ts(c.OpenedAt), string(c.ID), string(c.UserID), c.Transport, string(c.Refused), ts(c.ClosedAt), code,
			string(c.CloseReason), c.ClosedBy, list(hs), strconv.Itoa(c.HeartbeatMisses), c.Origin, c.Node})
	}
	return t, nil
}

// threadTable reads membership changes or the thread lifecycle from the
// thread's sequenced events.
func threadTable(ctx context.Context, src Source, name string, f Filter) (Table, error) {
	if err := need(f.Thread != "", "--thread"); err != nil {
		return Table{}, err
	}
	t := Table{Name: name, Columns: []string{"time", "seq", "event", "actor", "users"}}
	types := []herald.EventType{herald.EventParticipantsAdded, herald.EventParticipantsRemoved, herald.EventThreadCreated}
	if name == "ThreadLifecycle" {
		types = []herald.EventType{herald.EventThreadCreated, herald.EventThreadPropertiesUpdated, herald.EventThreadDeleted}
	}
	var after herald.Seq
	for len(t.Rows) < f.Limit {
		es, err := src.ListEvents(ctx, f.Thread, after, 1000)
		if err != nil {
			return Table{}, err
		}
		for _, e := range es {
			after = e.Seq
			if !slices.Contains(types, e.Type) || (f.User != "" && e.Actor != f.User && !slices.Contains(e.Users, f.User)) ||
				(!f.Since.IsZero() && e.At.Before(f.Since)) || (!f.Until.IsZero() && !e.At.Before(f.Until)) {
				continue
			}
			t.Rows = append(t.Rows, []string{ts(e.At), fmt.Sprint(e.Seq), string(e.Type), string(e.Actor), list(e.Users)})
		}
		if len(es) < 1000 {
			break
		}
	}
	return t, nil
}

func tokensTable(ctx context.Context, src Source, f Filter) (Table, error) {
	if err := need(f.User != "", "--user"); err != nil {
		return Table{}, err
	}
	toks, err := src.ListTokens(ctx, f.User)
	if err != nil {
		return Table{}, err
	}
	t := Table{Name: "Tokens", Columns: []string{"issued", "token", "user", "scopes", "expires", "revoked"}}
	for _, k := range toks {
		t.Rows = append(t.Rows, []string{ts(k.IssuedAt), string(k.ID), string(k.UserID), list(k.Scopes), ts(k.ExpiresAt), ts(k.RevokedAt)})
	}
	return t, nil
}
