package doctor

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// ThreadQuery asks about one message for every participant of a thread.
type ThreadQuery struct {
	Thread herald.ThreadID
	// Message is the message in question; empty means the thread's newest
	// (non-system) message.
	Message herald.MessageID
	// Since bounds the evidence read, as in Query.
	Since time.Time
}

// RecentQuery asks for every (user, message) pair not delivered among the
// messages sent since Since.
type RecentQuery struct {
	Since time.Time
}

type (
	// Triage is the answer across users: the status of each (user,
	// message) pair, grouped by status and cause, faults first.
	Triage = wire.DoctorTriage
	// Group is the pairs that share a status, cause and receipt.
	Group = wire.DoctorGroup
	// Pair is one recipient and message, and what the doctor says of it.
	Pair = wire.DoctorPair
)

// Triage limits.
const (
	// MaxGroupRows is how many pairs a group lists (Count has them all).
	MaxGroupRows = 50
	// maxRecentMessages bounds the messages RecentTriage examines.
	maxRecentMessages = 200
	// maxRecentRequests bounds the request-log rows read to find them.
	maxRecentRequests = 10_000
	// maxDeliveryRows bounds the delivery runs read for one message.
	maxDeliveryRows = 10_000
)

// ThreadTriage answers "who got this message, who did not, and why": one
// diagnosis per recipient (every user who was a participant when it was
// sent, and those added later or removed before it), grouped by cause.
func (d *Doctor) ThreadTriage(ctx context.Context, q ThreadQuery) (Triage, error) {
	now := d.clock.Now()
	if q.Thread == "" {
		return Triage{}, herald.Errorf(herald.CodeInvalid, herald.ReasonMissingField, "the triage of a thread needs a thread")
	}
	if q.Since.IsZero() {
		q.Since = now.Add(-DefaultWindow)
	}
	b := newBulk(d.src, now, q.Since)
	out := Triage{Version: ReportVersion, GeneratedAt: now, Since: q.Since, Thread: string(q.Thread), Message: string(q.Message), Status: "ok", Groups: []Group{}}
	te, err := b.thread(ctx, q.Thread)
	if err != nil {
		return Triage{}, fmt.Errorf("doctor: %w", err)
	}
	if !te.found {
		out.Status, out.Summary = StatusUnknownThread, fmt.Sprintf("no thread %s was ever created: check the thread id", q.Thread)
		return out, nil
	}
	m, ok, err := b.message(ctx, q.Thread, q.Message)
	if err != nil {
		return Triage{}, fmt.Errorf("doctor: %w", err)
	}
	if !ok {
		out.Status, out.Summary = "unknown_message", fmt.Sprintf("thread %s has no message %s", q.Thread, q.Message)
		if q.Message == "" {
			out.Status, out.Summary = "no_message", fmt.Sprintf("thread %s has no message", q.Thread)
		}
		return out, nil
	}
	sent := m.CreatedAt
	out.Message, out.Seq, out.Sender, out.SentAt = string(m.ID), int64(m.Seq), string(m.SenderID), &sent
	reports, err := b.recipients(ctx, te, m)
	if err != nil {
		return Triage{}, fmt.Errorf("doctor: %w", err)
	}
	out.Messages, out.Pairs = 1, len(reports)
	out.Groups = group(reports, nil)
	out.Incomplete = b.incomplete()
	out.Summary = fmt.Sprintf("message %s (sequence %d) from %s: %s", m.ID, m.Seq, m.SenderID, tally(out.Groups, len(reports)))
	return out, nil
}

// RecentTriage lists the (recipient, message) pairs not delivered among
// the messages accepted since q.Since, grouped by cause with counts.
func (d *Doctor) RecentTriage(ctx context.Context, q RecentQuery) (Triage, error) {
	now := d.clock.Now()
	if q.Since.IsZero() {
		q.Since = now.Add(-time.Hour)
	}
	b := newBulk(d.src, now, q.Since)
	out := Triage{Version: ReportVersion, GeneratedAt: now, Since: q.Since, Status: "ok", Groups: []Group{}}
	rows, err := d.src.ListRequests(ctx, herald.RequestFilter{Since: q.Since, Limit: maxRecentRequests})
	if err != nil {
		return Triage{}, fmt.Errorf("doctor: recent sends: %w", err)
	}
	if len(rows) == maxRecentRequests {
		b.note(fmt.Sprintf("the request log has more than %d rows since %s: only the newest were read", maxRecentRequests, stamp(q.Since)))
	}
	type key struct {
		t herald.ThreadID
		m herald.MessageID
	}
	seen := map[key]bool{}
	var all []Report
	for _, r := range rows {
		if r.Operation != "SendChatMessage" || r.Status/100 != 2 || r.MessageID == "" || seen[key{r.ThreadID, r.MessageID}] {
			continue
		}
		if out.Messages == maxRecentMessages {
			b.note(fmt.Sprintf("more than %d messages were sent since %s: only the newest %d were examined", maxRecentMessages, stamp(q.Since), maxRecentMessages))
			break
		}
		seen[key{r.ThreadID, r.MessageID}] = true
		te, err := b.thread(ctx, r.ThreadID)
		if err != nil {
			return Triage{}, fmt.Errorf("doctor: %w", err)
		}
		m, ok, err := b.message(ctx, r.ThreadID, r.MessageID)
		if err != nil {
			return Triage{}, fmt.Errorf("doctor: %w", err)
		}
		if !te.found || !ok {
			continue
		}
		out.Messages++
		reports, err := b.recipients(ctx, te, m)
		if err != nil {
			return Triage{}, fmt.Errorf("doctor: %w", err)
		}
		out.Pairs += len(reports)
		all = append(all, reports...)
	}
	out.Groups = group(all, func(r Report) bool { return r.Status != StatusDelivered })
	out.Incomplete = b.incomplete()
	n := 0
	for _, g := range out.Groups {
		n += g.Count
	}
	out.Summary = fmt.Sprintf("%d of %d (recipient, message) pairs of the %d messages sent since %s are not delivered", n, out.Pairs, out.Messages, stamp(q.Since))
	return out, nil
}

// group buckets the reports keep selects (all when nil) by status, cause
// and receipt: faults first in priority order, then pending, unknown and
// delivered.
func group(reports []Report, keep func(Report) bool) []Group {
	type key struct {
		status, received string
		cause            Check
	}
	byKey := map[key]*Group{}
	for _, r := range reports {
		if keep != nil && !keep(r) {
			continue
		}
		k := key{r.Status, r.Received, r.Cause}
		g := byKey[k]
		if g == nil {
			g = &Group{Status: r.Status, Cause: r.Cause, Received: r.Received, Pairs: []Pair{}}
			byKey[k] = g
		}
		g.Count++
		if len(g.Pairs) < MaxGroupRows {
			g.Pairs = append(g.Pairs, Pair{User: r.User, Thread: r.Thread, Message: r.Message, Summary: r.Summary})
		}
	}
	out := make([]Group, 0, len(byKey))
	for _, g := range byKey {
		out = append(out, *g)
	}
	rank := func(g Group) int {
		switch {
		case g.Cause != "":
			return slices.Index(priority, g.Cause)
		case g.Status == StatusPending:
			return len(priority) + 1
		case g.Status == StatusDelivered:
			return len(priority) + 3 + slices.Index([]string{ReceivedPushed, ReceivedFetched, ReceivedAcknowledged, ReceivedRead}, g.Received)
		}
		return len(priority) + 2
	}
	slices.SortFunc(out, func(a, b Group) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Status, b.Status), cmp.Compare(b.Count, a.Count))
	})
	return out
}

// tally says how many recipients are in each group, in group order.
func tally(gs []Group, n int) string {
	if n == 0 {
		return "no recipient"
	}
	s := fmt.Sprintf("%d recipient(s):", n)
	for i, g := range gs {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf(" %d %s", g.Count, groupName(g))
	}
	return s
}

// groupName names a group in words: the status, with the cause or the
// receipt.
func groupName(g Group) string {
	switch {
	case g.Cause != "":
		return fmt.Sprintf("%s (%s)", g.Status, g.Cause)
	case g.Received != "":
		return fmt.Sprintf("%s (%s)", g.Status, g.Received)
	}
	return g.Status
}
