package doctor

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-chat/herald"
)

// Doctor diagnoses deliveries from the recorded evidence.
type Doctor struct {
	src   Source
	clock herald.Clock
}

// New returns a Doctor reading src.
func New(src Source, clock herald.Clock) *Doctor { return &Doctor{src: src, clock: clock} }

// DefaultWindow is how far back the evidence is read when Query.Since is
// zero.
const DefaultWindow = 24 * time.Hour

// Diagnose answers "why did the message (or the thread's newest message)
// not reach the user?" with one finding per check, likeliest cause first.
func (d *Doctor) Diagnose(ctx context.Context, q Query) (Report, error) {
	now := d.clock.Now()
	if q.User == "" || q.Thread == "" {
		return Report{}, herald.Errorf(herald.CodeInvalid, herald.ReasonMissingField, "the doctor needs a user and a thread")
	}
	if q.Since.IsZero() {
		q.Since = now.Add(-DefaultWindow)
	}
	f, err := gather(ctx, d.src, q, now)
	if err != nil {
		return Report{}, fmt.Errorf("doctor: %w", err)
	}
	return diagnose(f), nil
}

// priority orders confirmed causes: the one that explains the others first.
var priority = []Check{
	CheckIdentityDeleted, CheckTokenRevoked, CheckTokenExpired, CheckNotParticipant, CheckThreadDeleted,
	CheckParticipantRemove, CheckHistoryNotShared, CheckSendRejected, CheckMessageDeleted, CheckSlowConsumer,
	CheckNetworkBlocked, CheckAppNotListening, CheckOffline,
}

func diagnose(f *facts) Report {
	r := Report{Version: ReportVersion, GeneratedAt: f.now, User: string(f.q.User), Thread: string(f.q.Thread),
		Message: string(f.q.Message), Since: f.q.Since}
	if f.msgFound {
		r.Message, r.Seq = string(f.msg.ID), int64(f.msg.Seq)
	}
	del := f.delivery()
	delivered := del != nil
	never, removed := membership(f)
	byCheck := map[Check]Finding{}
	for _, fd := range []Finding{
		identityDeleted(f), credential(f, CheckTokenRevoked), credential(f, CheckTokenExpired), never, removed,
		threadDeleted(f), historyNotShared(f), messageDeleted(f), sendRejected(f), slowConsumer(f, delivered),
		networkBlocked(f, delivered), appNotListening(f, del), offline(f, delivered),
	} {
		if fd.Evidence == nil {
			fd.Evidence = []Evidence{} // the JSON shape has an array, never null
		}
		byCheck[fd.Check] = fd
	}
	// "Offline, will arrive on resume" is only true when nothing else stops
	// the message: a confirmed cause before it in priority rules it out.
	if off := byCheck[CheckOffline]; off.Verdict == Confirmed {
		// The causes that no resume can overcome (a resume replays a deleted
		// thread's or message's events, and a new token resumes too).
		for _, c := range []Check{CheckIdentityDeleted, CheckNotParticipant, CheckParticipantRemove, CheckHistoryNotShared, CheckSendRejected} {
			if fd := byCheck[c]; fd.Verdict == Confirmed {
				off.Verdict, off.Summary = RuledOut, fmt.Sprintf("not applicable: %s explains why the message cannot arrive, even on resume", fd.Title)
				off.Evidence, off.Mitigation = []Evidence{}, ""
				byCheck[CheckOffline] = off
				break
			}
		}
	}
	for _, v := range []Verdict{Confirmed, Inconclusive, RuledOut} {
		for _, c := range priority {
			if fd := byCheck[c]; fd.Verdict == v {
				r.Findings = append(r.Findings, fd)
			}
		}
	}
	r.Delivered = del
	first := r.Findings[0]
	acked := delivered && del.AckedAt != nil
	if first.Verdict == Confirmed && !acked {
		// The cause is the first confirmed finding, so that Cause and the
		// head of Findings always agree; an acknowledged delivery has none.
		r.Cause = first.Check
	}
	switch {
	case acked:
		r.Status = "delivered"
		r.Summary = fmt.Sprintf("delivered at %s to connection %s over %s, acknowledged %d ms later", stamp(del.PushedAt), del.ConnectionID, del.Transport, *del.AckMs)
	case delivered:
		r.Status = "delivered"
		r.Summary = fmt.Sprintf("pushed at %s to connection %s over %s, but not acknowledged: %s", stamp(del.PushedAt), del.ConnectionID, del.Transport, byCheck[CheckAppNotListening].Summary)
	case first.Verdict == Confirmed:
		r.Status = "not_delivered"
		if first.Check == CheckOffline {
			r.Status = "pending"
		}
		r.Summary = fmt.Sprintf("%s [%s]: %s", first.Title, first.Tag, first.Summary)
	default:
		r.Status = "unknown"
		r.Summary = "no check confirmed a cause; see the inconclusive findings"
	}
	if delivered && first.Verdict == Confirmed && first.Check != CheckAppNotListening {
		// Delivered, but something is wrong now (e.g. the thread was deleted
		// since): the status stays "delivered"; the finding leads the list.
		r.Summary += fmt.Sprintf("; since then: %s", first.Summary)
	}
	return r
}
