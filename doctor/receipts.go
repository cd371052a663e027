package doctor

import (
	"fmt"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
)

// How the user got the message, strongest proof first. Report.Received
// holds the strongest one found.
const (
	ReceivedRead         = wire.ReceivedRead
	ReceivedAcknowledged = wire.ReceivedAcknowledged
	ReceivedFetched      = wire.ReceivedFetched
	ReceivedPushed       = wire.ReceivedPushed
)

// Receipt is one proof that the user got the message, with the evidence
// row it rests on.
type Receipt = wire.DoctorReceipt

// readOps are the REST reads that return messages.
const (
	opGetMessage   = "GetChatMessage"
	opListMessages = "ListChatMessages"
)

// receipts lists every proof that the user got the message, strongest
// first. visible says the message is within the history the user may read
// (no membership finding stands against it): only then does a list of the
// thread, a later read receipt or a later ack prove this message. A get of
// the message by id, a read receipt naming it and a push prove it alone.
func (f *facts) receipts(d *Delivery, visible bool) []Receipt {
	if !f.msgFound {
		return nil
	}
	var out []Receipt
	if f.receiptSeq >= f.msg.Seq && (f.receipt.MessageID == f.msg.ID || visible) {
		out = append(out, Receipt{How: ReceivedRead, Tag: Observed, Evidence: Evidence{At: f.receipt.ReadAt, Source: "readReceipts", ID: string(f.receipt.MessageID),
			Detail: fmt.Sprintf("read receipt up to message %s (sequence %d, at or past %d)", f.receipt.MessageID, f.receiptSeq, f.msg.Seq)}})
	}
	switch {
	case d != nil && d.AckedAt != nil:
		a, _ := f.ackFor(herald.ConnectionID(d.ConnectionID))
		out = append(out, Receipt{How: ReceivedAcknowledged, Tag: Observed, Evidence: ackEvidence(a, f.msg.Seq)})
	case d == nil && visible:
		// An ack is cumulative: the app took every event up to its Seq,
		// whichever connection carried them (the push may be pruned).
		if a, ok := f.ackFor(""); ok {
			out = append(out, Receipt{How: ReceivedAcknowledged, Tag: Observed, Evidence: ackEvidence(a, f.msg.Seq)})
		}
	}
	if r, tag, ok := f.fetch(visible); ok {
		out = append(out, Receipt{How: ReceivedFetched, Tag: tag, Evidence: Evidence{At: r.At, Source: "requests", ID: r.RequestID,
			Detail: fmt.Sprintf("%s answered %d, after the message's commit", r.Operation, r.Status)}})
	}
	if d != nil {
		out = append(out, Receipt{How: ReceivedPushed, Tag: Observed, Evidence: Evidence{At: d.PushedAt, Source: "deliveries", ID: d.ConnectionID,
			Detail: fmt.Sprintf("sequence %d pushed over %s", f.msg.Seq, d.Transport)}})
	}
	return out
}

// fetch finds the first REST read of the user that returned the message
// after its commit (a request that arrived in the commit's millisecond is
// not counted: it may have been answered before it) (and before its deletion): a get of it by id, which the
// request log shows directly, else a list of the thread while the message
// was visible to the user, which co-occurs with it (the log does not keep
// the page a list returned).
func (f *facts) fetch(visible bool) (herald.Request, Tag, bool) {
	var list *herald.Request
	for i := len(f.requests) - 1; i >= 0; i-- { // oldest first
		r := &f.requests[i]
		if r.ThreadID != f.q.Thread || r.Status/100 != 2 || !r.At.After(f.msg.CreatedAt) ||
			(f.msg.Deleted() && !r.At.Before(f.msg.DeletedAt)) {
			continue
		}
		if r.Operation == opGetMessage && r.MessageID == f.msg.ID {
			return *r, Observed, true
		}
		if r.Operation == opListMessages && visible && list == nil {
			list = r
		}
	}
	if list != nil {
		return *list, Correlated, true
	}
	return herald.Request{}, "", false
}

func ackEvidence(a herald.Ack, seq herald.Seq) Evidence {
	return Evidence{At: a.At, Source: "acks", ID: string(a.ConnectionID), Detail: fmt.Sprintf("acknowledged up to sequence %d (≥ %d)", a.Seq, seq)}
}
