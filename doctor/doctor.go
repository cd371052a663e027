package doctor

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/wire"
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

// inFlight is how long after its commit a message not yet pushed to an
// open connection is still on its way (the broker, the hub's queue and
// another node's ledger flush), rather than unexplained.
const inFlight = 10 * time.Second

// Diagnose answers "why did the message (or the newest message the user
// did not send) not reach the user?" with one finding per check, the
// leading cause first.
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

// Causes returns every check that can be a report's Cause, the one that
// explains the others first (for a metric's label values, for example).
func Causes() []Check {
	var out []Check
	for _, c := range priority {
		if c.Fault() {
			out = append(out, c)
		}
	}
	return out
}

// membershipChecks are one question (where did the user stand when the
// message was sent?) with three exclusive answers, in priority order.
var membershipChecks = []Check{CheckNotParticipant, CheckParticipantRemove, CheckHistoryNotShared}

func diagnose(f *facts) Report {
	r := Report{Version: ReportVersion, GeneratedAt: f.now, User: string(f.q.User), Thread: string(f.q.Thread),
		Message: string(f.q.Message), Since: f.q.Since, Picked: f.picked}
	if !f.identityFound || !f.threadFound {
		return unknownIDs(f, r)
	}
	if f.msgFound {
		sent := f.msg.CreatedAt
		r.Message, r.Seq, r.Sender, r.SentAt = string(f.msg.ID), int64(f.msg.Seq), string(f.msg.SenderID), &sent
	}
	if len(f.history) == 0 {
		f.history = currentChanges(f.member, f.memberFound)
	}
	del := f.delivery()
	pushed := del != nil
	never, removed := membership(f)
	byCheck := map[Check]Finding{}
	for _, fd := range []Finding{
		identityDeleted(f), credential(f, CheckTokenRevoked), credential(f, CheckTokenExpired), never, removed,
		threadDeleted(f), historyNotShared(f), messageDeleted(f), sendRejected(f), slowConsumer(f, pushed),
		networkBlocked(f, pushed), appNotListening(f, del), offline(f, pushed),
	} {
		if fd.Evidence == nil {
			fd.Evidence = []Evidence{} // the JSON shape has an array, never null
		}
		byCheck[fd.Check] = fd
	}
	visible := f.memberFound && !slices.ContainsFunc(membershipChecks, func(c Check) bool { return byCheck[c].Verdict == Confirmed })
	r.Receipts = f.receipts(del, visible)
	if len(r.Receipts) > 0 {
		r.Received = r.Receipts[0].How
	}
	got := r.Received != "" && r.Received != ReceivedPushed
	var since []string // what changed after the user got the message
	if got {
		// The user got the message: no fault explains a non-delivery that
		// did not happen. What changed since is said in the summary.
		proof := r.Receipts[0]
		for _, c := range priority {
			if fd := byCheck[c]; fd.Verdict == Confirmed {
				if c == CheckThreadDeleted || c == CheckParticipantRemove || c == CheckMessageDeleted {
					since = append(since, fd.Summary)
				}
				byCheck[c] = overruled(fd, fmt.Sprintf("the user got the message (%s, %s)", proof.How, proof.Evidence.Detail))
			}
		}
	}
	// One question, one answer: the first confirmed membership check
	// rules out the others.
	for i, c := range membershipChecks {
		if byCheck[c].Verdict != Confirmed {
			continue
		}
		for _, o := range membershipChecks[i+1:] {
			if byCheck[o].Verdict == Confirmed {
				byCheck[o] = overruled(byCheck[o], fmt.Sprintf("%s answers where the user stood", byCheck[c].Title))
			}
		}
		break
	}
	lead := ""
	for _, c := range priority {
		if fd := byCheck[c]; fd.Verdict == Confirmed && c.Fault() {
			r.Cause, lead = c, fd.Title
			break
		}
	}
	if off := byCheck[CheckOffline]; off.Verdict == Confirmed && r.Cause != "" {
		// "Nothing to fix, it arrives on resume" is not true while a fault
		// stands in the way.
		byCheck[CheckOffline] = overruled(off, fmt.Sprintf("%s must be fixed first; a resume alone does not bring the message", lead))
	}
	for _, v := range []Verdict{Confirmed, Inconclusive, RuledOut} {
		for _, c := range priority {
			if fd := byCheck[c]; fd.Verdict == v {
				fd.Fault = fd.Verdict == Confirmed && c.Fault()
				r.Findings = append(r.Findings, fd)
			}
		}
	}
	r.Delivered = del
	r.Webhooks = webhooks(f)
	first := r.Findings[0]
	switch {
	case got:
		r.Status = StatusDelivered
		p := r.Receipts[0]
		r.Summary = fmt.Sprintf("received (%s) [%s]: %s at %s", p.How, p.Tag, p.Evidence.Detail, stamp(p.Evidence.At))
		if pushed && p.How != ReceivedAcknowledged {
			r.Summary += fmt.Sprintf("; pushed at %s to connection %s over %s", stamp(del.PushedAt), del.ConnectionID, del.Transport)
		}
		if p.How == ReceivedAcknowledged && del != nil && del.AckMs != nil {
			r.Summary = fmt.Sprintf("received (%s) [%s]: delivered at %s to connection %s over %s, acknowledged %d ms later",
				p.How, p.Tag, stamp(del.PushedAt), del.ConnectionID, del.Transport, *del.AckMs)
		}
	case pushed:
		r.Status = StatusDelivered
		r.Summary = fmt.Sprintf("pushed at %s to connection %s over %s, but not acknowledged: %s", stamp(del.PushedAt), del.ConnectionID, del.Transport, byCheck[CheckAppNotListening].Summary)
		if r.Cause != "" && r.Cause != CheckAppNotListening {
			// Pushed, but something is wrong now (e.g. the thread was
			// deleted since): the finding leads the list.
			since = append(since, first.Summary)
		}
	case r.Cause != "":
		r.Status = StatusNotDelivered
		r.Summary = fmt.Sprintf("%s [%s]: %s", first.Title, first.Tag, first.Summary)
	case first.Verdict == Confirmed: // recipient_offline alone
		r.Status = StatusPending
		r.Summary = fmt.Sprintf("%s [%s]: %s", first.Title, first.Tag, first.Summary)
	case f.msgFound && f.now.Sub(f.msg.CreatedAt) < inFlight && len(f.openAt(f.now)) > 0:
		r.Status = StatusPending
		r.Summary = fmt.Sprintf("delivery in flight: the message was committed %d ms ago and connection %s is open; the push is not recorded yet, ask again in a few seconds",
			f.now.Sub(f.msg.CreatedAt).Milliseconds(), f.openAt(f.now)[0].ID)
	default:
		r.Status = StatusUnknown
		r.Summary = "nothing shows the message reached the user, and no check confirmed why"
		if first.Verdict == Inconclusive {
			r.Summary += "; see the inconclusive findings"
		}
	}
	for _, s := range since {
		r.Summary += "; since then: " + s
	}
	if w := webhookNote(r.Webhooks); w != "" && r.Status != StatusDelivered {
		r.Summary += "; " + w
	}
	return r
}

// webhooks reports the webhook deliveries of the message's event.
func webhooks(f *facts) []wire.DoctorWebhook {
	var out []wire.DoctorWebhook
	for _, d := range f.hooks {
		w := wire.DoctorWebhook{WebhookID: string(d.Webhook), DeliveryID: d.ID, State: string(d.State), Attempts: d.Attempts,
			LastStatus: d.LastStatus, LastError: d.LastError, ForUser: slices.Contains(d.Recipients, f.q.User),
			DeliveredAt: wire.Opt(d.DeliveredAt)}
		if d.State == herald.DeliveryPending {
			w.NextAt = wire.Opt(d.NextAt)
		}
		out = append(out, w)
	}
	return out
}

// webhookNote says, for a message the user's devices did not get, what
// the webhooks got: a different path, which support confuses with the
// device's.
func webhookNote(ws []wire.DoctorWebhook) string {
	for _, w := range ws {
		switch {
		case w.ForUser && w.State == string(herald.DeliveryDelivered):
			when := ""
			if w.DeliveredAt != nil {
				when = ", " + stamp(*w.DeliveredAt)
			}
			return fmt.Sprintf("the webhook %s did get this user's event (delivery %d%s): a server-side path, not the user's device",
				w.WebhookID, w.DeliveryID, when)
		case w.ForUser && w.State == string(herald.DeliveryDead):
			return fmt.Sprintf("the webhook %s never got this user's event either: delivery %d is a dead letter after %d attempts (last: %s)",
				w.WebhookID, w.DeliveryID, w.Attempts, w.LastError)
		}
	}
	return ""
}

// overruled rules a confirmed finding out because another answer holds,
// keeping its evidence so the reader sees what was set aside and why.
func overruled(fd Finding, why string) Finding {
	fd.Verdict = RuledOut
	fd.Summary = fmt.Sprintf("not the answer: %s (it found: %s)", why, fd.Summary)
	return fd
}

// unknownIDs is the answer when the user or the thread was never created:
// there is no delivery to diagnose, and no finding.
func unknownIDs(f *facts, r Report) Report {
	r.Findings = []Finding{}
	switch {
	case !f.identityFound && !f.threadFound:
		r.Status = StatusUnknownUser
		r.Summary = fmt.Sprintf("no identity %s and no thread %s was ever created: check both ids", f.q.User, f.q.Thread)
	case !f.identityFound:
		r.Status = StatusUnknownUser
		r.Summary = fmt.Sprintf("no identity %s was ever created: check the user id the app uses", f.q.User)
	default:
		r.Status = StatusUnknownThread
		r.Summary = fmt.Sprintf("no thread %s was ever created: check the thread id", f.q.Thread)
	}
	r.Picked = ""
	return r
}
