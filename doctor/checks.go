package doctor

import (
	"fmt"
	"slices"
	"time"

	"github.com/herald-chat/herald"
)

// stamp formats times in reports: UTC, milliseconds.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func identityDeleted(f *facts) Finding {
	out := Finding{Check: CheckIdentityDeleted, Title: "Identity deleted", Tag: Observed, Reason: string(herald.ReasonIdentityDeleted)}
	switch {
	case !f.identityFound:
		out.Verdict, out.Summary = Confirmed, fmt.Sprintf("there is no identity %s", f.q.User)
		out.Evidence = []Evidence{{At: f.now, Source: "identities", ID: string(f.q.User), Detail: "no identity record with this id"}}
		out.Mitigation = "Check the user id the app uses; create the identity with POST /identities."
	case f.identity.Deleted():
		out.Verdict = Confirmed
		out.Summary = fmt.Sprintf("the identity was deleted at %s; it can no longer receive or send", stamp(f.identity.DeletedAt))
		out.Evidence = append(out.Evidence, Evidence{At: f.identity.DeletedAt, Source: "identities", ID: string(f.identity.ID), Detail: "deleted"})
		out.Evidence = append(out.Evidence, requestEvidence(f.requestsWith(herald.ReasonIdentityDeleted))...)
		out.Mitigation = "A deleted identity cannot be restored; create a new identity and add it to the thread."
	default:
		out.Verdict, out.Summary = RuledOut, "the identity exists"
		out.Evidence = []Evidence{{At: f.identity.CreatedAt, Source: "identities", ID: string(f.identity.ID), Detail: "created, not deleted"}}
	}
	return out
}

// credential checks revocation or expiry of the user's tokens at the
// moment in question.
func credential(f *facts, check Check) Finding {
	revoked := check == CheckTokenRevoked
	out := Finding{Check: check, Tag: Observed}
	reason, closeReason := herald.ReasonTokenExpired, herald.ReasonTokenExpired
	out.Title, out.Mitigation = "Token expired", "Refresh the access token before it expires: the Go and browser SDKs' token credential refreshes 10 minutes ahead, and on a live connection answers tokenExpiring with an in-band refresh."
	if revoked {
		reason, closeReason = herald.ReasonTokenRevoked, herald.ReasonTokenRevoked
		out.Title, out.Mitigation = "Token revoked", "The tokens were revoked (sign-out or an admin action): issue a new token and have the client use it."
	}
	out.Reason = string(reason)
	if !f.identityFound || f.identity.Deleted() {
		out.Verdict, out.Summary = RuledOut, "not applicable: the identity itself is gone"
		return out
	}
	valid := f.validAt(f.at)
	var bad []herald.Token
	for _, t := range f.tokens {
		if t.IssuedAt.After(f.at) {
			continue
		}
		if revoked && t.Revoked() && !t.RevokedAt.After(f.at) && f.at.Before(t.ExpiresAt) {
			bad = append(bad, t)
		}
		if !revoked && !f.at.Before(t.ExpiresAt) && (!t.Revoked() || t.RevokedAt.After(t.ExpiresAt)) {
			bad = append(bad, t)
		}
	}
	used := f.requestsWith(reason)
	closed := f.closedWith(closeReason)
	switch {
	case len(valid) == 0 && len(bad) > 0:
		out.Verdict = Confirmed
		out.Summary = fmt.Sprintf("at %s the user had no valid token: %s", stamp(f.at), plural(len(bad), "token was", "tokens were")+map[bool]string{true: " revoked", false: " expired"}[revoked])
	case len(used) > 0 || len(closed) > 0:
		out.Verdict = Confirmed
		out.Summary = fmt.Sprintf("the client used a %s token: %d request(s) refused, %d connection(s) closed for it", map[bool]string{true: "revoked", false: "expired"}[revoked], len(used), len(closed))
	case len(valid) == 0 && len(issuedBy(f.tokens, f.at)) == 0:
		out.Verdict, out.Summary = Inconclusive, fmt.Sprintf("no token was valid at %s, and none was issued before it", stamp(f.at))
	case len(valid) == 0:
		// Tokens were issued but none was valid, for the other reason
		// (expired rather than revoked, or the reverse): that check says so.
		issued := issuedBy(f.tokens, f.at)
		out.Verdict = RuledOut
		out.Summary = fmt.Sprintf("no token was valid at %s, but none was %s then", stamp(f.at), map[bool]string{true: "revoked while unexpired", false: "expired without being revoked first"}[revoked])
		out.Evidence = tokenEvidence(issued[:1], false)
		out.Mitigation = ""
		return out
	default:
		out.Verdict = RuledOut
		out.Summary = fmt.Sprintf("token %s was valid at %s (expires %s)", valid[0].ID, stamp(f.at), stamp(valid[0].ExpiresAt))
		out.Evidence = tokenEvidence(valid[:1], false)
		out.Mitigation = ""
		return out
	}
	out.Evidence = append(tokenEvidence(bad, revoked), requestEvidence(used)...)
	out.Evidence = append(out.Evidence, connEvidence(closed)...)
	return out
}

func membership(f *facts) (Finding, Finding) {
	never := Finding{Check: CheckNotParticipant, Title: "Never a participant", Tag: Measured, Reason: string(herald.ReasonThreadNotFound)}
	removed := Finding{Check: CheckParticipantRemove, Title: "Participant removed", Tag: Measured, Reason: string(herald.ReasonNotParticipant),
		Mitigation: "The user no longer receives this thread. Add them again (POST …/participants/:add) if they should; apps should handle participantsRemoved and drop the thread (the SDKs do)."}
	switch {
	case !f.threadFound:
		never.Verdict, never.Summary = Inconclusive, fmt.Sprintf("there is no thread %s", f.q.Thread)
		removed.Verdict, removed.Summary = RuledOut, "not applicable: no such thread"
		return never, removed
	case !f.memberFound:
		never.Verdict, never.Summary = Confirmed, "the user was never a participant of the thread, so it is invisible to them (404 thread_not_found)"
		never.Mitigation = "Add the user to the thread (POST /chat/threads/{id}/participants/:add)."
		never.Evidence = append([]Evidence{{At: f.now, Source: "participants", ID: string(f.q.User),
			Detail: fmt.Sprintf("no membership record, current or past, in thread %s", f.q.Thread)}}, requestEvidence(f.requestsWith(herald.ReasonThreadNotFound))...)
		removed.Verdict, removed.Summary = RuledOut, "not applicable: never a participant"
		return never, removed
	}
	first := f.history[0]
	never.Verdict = RuledOut
	never.Summary = fmt.Sprintf("added at %s by %s (sequence %d)", stamp(first.At), first.By, first.Seq)
	never.Evidence = []Evidence{changeEvidence(f.q.User, first)}
	p := f.member
	if !f.msgFound {
		// No message in question: the current record answers.
		if !p.Removed() {
			removed.Verdict, removed.Summary = RuledOut, "the user is a current participant"
			return never, removed
		}
		removed.Verdict = Confirmed
		removed.Summary = fmt.Sprintf("removed from the thread at %s by %s (sequence %d); nothing after that reaches them", stamp(p.RemovedAt), p.RemovedBy, p.RemovedSeq)
		removed.Evidence = append([]Evidence{changeEvidence(f.q.User, change{Seq: p.RemovedSeq, At: p.RemovedAt, By: p.RemovedBy})},
			requestEvidence(f.requestsWith(herald.ReasonNotParticipant))...)
		return never, removed
	}
	s := f.msg.Seq
	last, next := f.standing(s)
	switch {
	case last == nil && f.historyCapped:
		removed.Verdict = Inconclusive
		removed.Summary = fmt.Sprintf("the user's latest add (sequence %d) came after the message (sequence %d), and the thread's history before it is longer than %d events, so an earlier membership was not read",
			p.AddedSeq, s, maxHistoryEvents)
	case last == nil:
		removed.Verdict = RuledOut
		removed.Summary = fmt.Sprintf("the user first joined at sequence %d, after the message (sequence %d); they were never removed before it", first.Seq, s)
	case last.Added && next != nil && !next.Added:
		removed.Verdict = RuledOut
		removed.Summary = fmt.Sprintf("a participant when the message was sent (added at sequence %d); removed later, at sequence %d, and keeps the history up to the removal", last.Seq, next.Seq)
		removed.Evidence = []Evidence{changeEvidence(f.q.User, *last), changeEvidence(f.q.User, *next)}
	case last.Added:
		removed.Verdict = RuledOut
		removed.Summary = fmt.Sprintf("a participant when the message was sent (added at sequence %d by %s)", last.Seq, last.By)
		removed.Evidence = []Evidence{changeEvidence(f.q.User, *last)}
	default:
		removed.Verdict = Confirmed
		removed.Summary = fmt.Sprintf("removed from the thread at %s by %s (sequence %d), before the message (sequence %d); nothing sent while they were out reaches them",
			stamp(last.At), last.By, last.Seq, s)
		removed.Evidence = []Evidence{changeEvidence(f.q.User, *last)}
		if next != nil {
			removed.Summary += fmt.Sprintf(", and adding them again at sequence %d does not bring it back", next.Seq)
			removed.Evidence = append(removed.Evidence, changeEvidence(f.q.User, *next))
			removed.Mitigation = "The user is a participant again, but what was sent while they were out is not part of their history: send it again if they need it."
		}
		removed.Evidence = append(removed.Evidence, requestEvidence(f.requestsWith(herald.ReasonNotParticipant))...)
	}
	return never, removed
}

// standing returns the user's membership change in force at sequence s
// (nil before their first add) and the change after it (nil if none). An
// add takes effect at its own sequence; a removal after it (the removal's
// own sequence is still within the user's history).
func (f *facts) standing(s herald.Seq) (last, next *change) {
	for i := range f.history {
		c := &f.history[i]
		if c.Seq < s || (c.Seq == s && c.Added) {
			last = c
			continue
		}
		return last, c
	}
	return last, nil
}

func changeEvidence(u herald.UserID, c change) Evidence {
	if c.Added {
		return Evidence{At: c.At, Source: "participants", ID: string(u), Detail: fmt.Sprintf("added by %s at sequence %d", c.By, c.Seq)}
	}
	return Evidence{At: c.At, Source: "participants", ID: string(u), Detail: fmt.Sprintf("removed by %s at sequence %d", c.By, c.Seq)}
}

func threadDeleted(f *facts) Finding {
	out := Finding{Check: CheckThreadDeleted, Title: "Thread deleted", Tag: Observed, Reason: string(herald.ReasonThreadDeleted),
		Mitigation: "A deleted thread cannot be restored. Apps should handle chatThreadDeleted and drop the thread (the SDKs do, and refuse sends to it)."}
	switch {
	case !f.threadFound:
		out.Verdict, out.Summary = Inconclusive, fmt.Sprintf("there is no thread %s", f.q.Thread)
	case f.thread.Deleted():
		out.Verdict = Confirmed
		out.Summary = fmt.Sprintf("the thread was deleted at %s by %s", stamp(f.thread.DeletedAt), f.thread.DeletedBy)
		out.Evidence = append([]Evidence{{At: f.thread.DeletedAt, Source: "threads", ID: string(f.thread.ID), Detail: "deleted by " + string(f.thread.DeletedBy)}},
			requestEvidence(f.requestsWith(herald.ReasonThreadDeleted))...)
	default:
		out.Verdict, out.Summary = RuledOut, "the thread exists"
	}
	return out
}

func historyNotShared(f *facts) Finding {
	out := Finding{Check: CheckHistoryNotShared, Title: "Joined after the message, history not shared", Tag: Observed, Reason: string(herald.ReasonMessageNotFound),
		Mitigation: "Add participants with a shareHistoryTime at or before the messages they should see (or none, to share the whole history)."}
	if !f.msgFound || !f.memberFound {
		out.Verdict, out.Summary = RuledOut, "not applicable"
		return out
	}
	p := f.member
	switch {
	case !p.ShareHistoryTime.IsZero() && f.msg.CreatedAt.Before(p.ShareHistoryTime):
		out.Verdict = Confirmed
		out.Summary = fmt.Sprintf("the message was sent at %s, before the history shared with the user (from %s)", stamp(f.msg.CreatedAt), stamp(p.ShareHistoryTime))
		out.Evidence = []Evidence{{At: p.AddedAt, Source: "participants", ID: string(p.UserID), Detail: "shareHistoryTime " + stamp(p.ShareHistoryTime)},
			{At: f.msg.CreatedAt, Source: "messages", ID: string(f.msg.ID), Detail: fmt.Sprintf("sequence %d", f.msg.Seq)}}
	case f.msg.Seq < f.history[0].Seq:
		out.Verdict = RuledOut
		out.Summary = fmt.Sprintf("the user joined at sequence %d, after the message (sequence %d); it was not pushed live, but the history is shared and lists it", f.history[0].Seq, f.msg.Seq)
	default:
		out.Verdict, out.Summary = RuledOut, "the message is within the history shared with the user"
	}
	return out
}

func messageDeleted(f *facts) Finding {
	out := Finding{Check: CheckMessageDeleted, Title: "Message deleted", Tag: Observed, Reason: string(herald.ReasonMessageDeleted)}
	switch {
	case !f.msgFound:
		out.Verdict, out.Summary = RuledOut, "not applicable"
	case f.msg.Deleted():
		out.Verdict = Confirmed
		out.Summary = fmt.Sprintf("the sender deleted the message at %s; clients got chatMessageDeleted and show it as deleted", stamp(f.msg.DeletedAt))
		out.Evidence = []Evidence{{At: f.msg.DeletedAt, Source: "messages", ID: string(f.msg.ID), Detail: "deleted by " + string(f.msg.SenderID)}}
		out.Mitigation = "Nothing to fix: the deletion was intended by the sender."
	default:
		out.Verdict, out.Summary = RuledOut, "the message is not deleted"
	}
	return out
}

func sendRejected(f *facts) Finding {
	out := Finding{Check: CheckSendRejected, Title: "Send rejected or rate limited", Tag: Observed}
	if f.msgFound {
		out.Verdict = RuledOut
		out.Summary = fmt.Sprintf("the send was accepted and committed at %s as sequence %d", stamp(f.msg.CreatedAt), f.msg.Seq)
		out.Evidence = []Evidence{{At: f.msg.CreatedAt, Source: "messages", ID: string(f.msg.ID), Detail: fmt.Sprintf("sent by %s, sequence %d", f.msg.SenderID, f.msg.Seq)}}
		return out
	}
	var rejected []herald.Request
	for _, r := range f.threadRequests {
		if r.Operation == "SendChatMessage" && r.Status >= 400 {
			rejected = append(rejected, r)
		}
	}
	if len(rejected) == 0 {
		out.Verdict = Inconclusive
		out.Summary = "no such message was stored, and no send to the thread was rejected in the window"
		if f.q.Message == "" {
			out.Summary = "the thread has no messages, and no send to it was rejected in the window"
		}
		return out
	}
	out.Verdict, out.Reason = Confirmed, string(rejected[0].Reason)
	out.Summary = fmt.Sprintf("%d send(s) to the thread were rejected; the latest at %s with %d %s", len(rejected), stamp(rejected[0].At), rejected[0].Status, rejected[0].Reason)
	out.Evidence = requestEvidence(rejected)
	out.Mitigation = map[herald.Reason]string{
		herald.ReasonRateLimited:     "The sender exceeded the write rate: retry after the Retry-After delay, or raise --write-rate.",
		herald.ReasonMessageTooLarge: "Keep message content under the limit (28 KiB by default).",
		herald.ReasonNotParticipant:  "The sender is no longer a participant of the thread.",
	}[rejected[0].Reason]
	if out.Mitigation == "" {
		out.Mitigation = "Fix the request the error names; the message was never stored, so no recipient can receive it."
	}
	return out
}

func slowConsumer(f *facts, delivered bool) Finding {
	out := Finding{Check: CheckSlowConsumer, Title: "Slow consumer dropped", Tag: Observed, Reason: string(herald.ReasonSlowConsumer),
		Mitigation: "The client did not read fast enough and was disconnected; it recovers every missed event by resuming (the SDKs do so automatically). Make the app's handlers return quickly."}
	closed := f.closedWith(herald.ReasonSlowConsumer)
	switch {
	case len(closed) == 0:
		out.Verdict, out.Summary = RuledOut, "no connection of the user was closed for being slow"
	case delivered:
		out.Verdict, out.Summary = RuledOut, fmt.Sprintf("%d connection(s) were closed for being slow, but the message was delivered", len(closed))
		out.Evidence = connEvidence(closed)
	default:
		out.Verdict = Confirmed
		out.Summary = fmt.Sprintf("%d connection(s) of the user were closed as slow consumers (code 4002); the latest at %s", len(closed), stamp(closed[0].ClosedAt))
		out.Evidence = connEvidence(closed)
	}
	return out
}

// issuedBy returns the tokens issued at or before t.
func issuedBy(ts []herald.Token, t time.Time) []herald.Token {
	var out []herald.Token
	for _, tok := range ts {
		if !tok.IssuedAt.After(t) {
			out = append(out, tok)
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func tokenEvidence(ts []herald.Token, revoked bool) []Evidence {
	var out []Evidence
	for _, t := range ts {
		e := Evidence{At: t.ExpiresAt, Source: "tokens", ID: string(t.ID), Detail: fmt.Sprintf("issued %s, expires %s", stamp(t.IssuedAt), stamp(t.ExpiresAt))}
		if revoked || t.Revoked() {
			e.At, e.Detail = t.RevokedAt, e.Detail+", revoked "+stamp(t.RevokedAt)
		}
		out = append(out, e)
	}
	return out
}

func requestEvidence(rs []herald.Request) []Evidence {
	var out []Evidence
	for i, r := range rs {
		if i == 5 {
			out = append(out, Evidence{At: rs[len(rs)-1].At, Source: "requests", Detail: fmt.Sprintf("and %d more like these", len(rs)-5)})
			break
		}
		detail := fmt.Sprintf("%s answered %d", r.Operation, r.Status)
		if r.Reason != "" {
			detail += " " + string(r.Reason)
		}
		out = append(out, Evidence{At: r.At, Source: "requests", ID: r.RequestID, Detail: detail})
	}
	return out
}

func connEvidence(cs []herald.Connection) []Evidence {
	var out []Evidence
	for i, c := range cs {
		if i == 5 {
			out = append(out, Evidence{Source: "connections", Detail: fmt.Sprintf("and %d more like these", len(cs)-5), At: cs[len(cs)-1].OpenedAt})
			break
		}
		out = append(out, Evidence{At: connTime(c), Source: "connections", ID: string(c.ID), Detail: connDetail(c)})
	}
	return out
}

func connTime(c herald.Connection) time.Time {
	if !c.ClosedAt.IsZero() {
		return c.ClosedAt
	}
	return c.OpenedAt
}

func connDetail(c herald.Connection) string {
	switch {
	case c.Refused != "":
		return fmt.Sprintf("%s attempt refused: %s", c.Transport, c.Refused)
	case c.ClosedAt.IsZero():
		return fmt.Sprintf("%s opened %s, still open", c.Transport, stamp(c.OpenedAt))
	}
	return fmt.Sprintf("%s opened %s, closed by %s with %d %s", c.Transport, stamp(c.OpenedAt), c.ClosedBy, c.CloseCode, c.CloseReason)
}

func handles(c herald.Connection, e herald.EventType) bool { return slices.Contains(c.Handles, e) }
