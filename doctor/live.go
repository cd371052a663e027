package doctor

import (
	"fmt"
	"time"

	"github.com/herald-chat/herald"
)

// unacked is how long a push may wait for its ack before the doctor calls
// the app deaf.
const unacked = 30 * time.Second

// realtimeOps are the request-log operations of the real-time transports
// themselves: they are not evidence that REST gets through while real time
// does not (long-poll polls and SSE frame posts answer 200).
var realtimeOps = map[string]bool{"ConnectWebSocket": true, "ConnectSSE": true, "ConnectLongPoll": true, "LongPoll": true, "SendRealtimeFrame": true}

// networkBlocked correlates the user's REST activity with their real-time
// connections: a client that can call the API but never holds a live
// connection is being blocked on the way (proxy, firewall).
func networkBlocked(f *facts, delivered bool) Finding {
	out := Finding{Check: CheckNetworkBlocked, Title: "Network blocks the WebSocket", Tag: Correlated,
		Mitigation: "Let the WebSocket through the proxy or firewall (GET /realtime/ws upgrade), or use the SDKs' fallback to Server-Sent Events or long-polling; the SDKs reconnect with backoff and resume without loss."}
	var ok []herald.Request
	for _, r := range f.requests {
		if r.Status/100 == 2 && !realtimeOps[r.Operation] {
			ok = append(ok, r)
		}
	}
	var opened, lost []herald.Connection
	for _, c := range f.conns {
		switch {
		case c.Refused != "":
		case c.CloseReason == herald.ReasonConnectionLost || c.CloseReason == herald.ReasonHeartbeatTimeout:
			lost = append(lost, c)
			opened = append(opened, c)
		default:
			opened = append(opened, c)
		}
	}
	openNow := f.openAt(f.at)
	switch {
	case delivered:
		out.Verdict, out.Summary = RuledOut, "the message reached a live connection"
	case len(openNow) > 0:
		out.Verdict = RuledOut
		out.Summary = fmt.Sprintf("connection %s (%s) was open at %s", openNow[0].ID, openNow[0].Transport, stamp(f.at))
		out.Evidence = connEvidence(openNow[:1])
	case len(ok) > 0 && len(opened) == 0:
		out.Verdict = Confirmed
		out.Summary = fmt.Sprintf("the client made %d successful API call(s) but opened no real-time connection in the window", len(ok))
		out.Evidence = append(requestEvidence(ok[:min(len(ok), 3)]), connEvidence(f.conns)...)
	case len(ok) > 0 && len(lost) > 0 && len(lost) == len(opened):
		out.Verdict = Confirmed
		out.Summary = fmt.Sprintf("the client's API calls succeed, but all %d of its connections were cut (connection lost or heartbeat timeout)", len(lost))
		out.Evidence = append(requestEvidence(ok[:min(len(ok), 3)]), connEvidence(lost)...)
	case len(ok) == 0 && len(opened) == 0:
		out.Verdict, out.Summary = Inconclusive, "no API calls and no connections from the user in the window: the client seems not to run at all"
	default:
		out.Verdict, out.Summary = RuledOut, fmt.Sprintf("the user opened %d connection(s) in the window; not all were cut", len(opened))
		out.Evidence = connEvidence(opened)
	}
	return out
}

// appNotListening looks for a push that was never acknowledged: the event
// reached the client, but no handler took it.
func appNotListening(f *facts, d *Delivery) Finding {
	out := Finding{Check: CheckAppNotListening, Title: "App not listening for notifications", Tag: Inferred,
		Mitigation: "Register a handler for chatMessageReceived before starting the real-time connection (the SDKs declare registered handlers and acknowledge after the handler returns)."}
	if d == nil {
		out.Verdict, out.Summary = RuledOut, "not applicable: the message was not pushed to any connection"
		return out
	}
	if d.AckedAt != nil {
		out.Verdict = RuledOut
		out.Summary = fmt.Sprintf("the app acknowledged it %d ms after the push", *d.AckMs)
		a, _ := f.ackFor(herald.ConnectionID(d.ConnectionID))
		out.Evidence = []Evidence{{At: *d.AckedAt, Source: "acks", ID: string(a.ConnectionID), Detail: fmt.Sprintf("acknowledged up to sequence %d (≥ %d)", a.Seq, f.msg.Seq)}}
		return out
	}
	var conn *herald.Connection
	for i := range f.conns {
		if string(f.conns[i].ID) == d.ConnectionID {
			conn = &f.conns[i]
		}
	}
	push := Evidence{At: d.PushedAt, Source: "deliveries", ID: d.ConnectionID, Detail: fmt.Sprintf("sequence %d pushed over %s", f.msg.Seq, d.Transport)}
	switch {
	case conn != nil && !handles(*conn, herald.EventMessageReceived):
		out.Verdict = Confirmed
		out.Summary = fmt.Sprintf("pushed to connection %s at %s but never acknowledged; the client declared no handler for chatMessageReceived (it declared %v)", d.ConnectionID, stamp(d.PushedAt), conn.Handles)
		out.Evidence = []Evidence{push, {At: conn.OpenedAt, Source: "connections", ID: string(conn.ID), Detail: fmt.Sprintf("declared handlers %v", conn.Handles)}}
	case f.now.Sub(d.PushedAt) > unacked || (conn != nil && !conn.ClosedAt.IsZero()):
		out.Verdict = Confirmed
		out.Summary = fmt.Sprintf("pushed to connection %s at %s but never acknowledged, although the client declared a chatMessageReceived handler", d.ConnectionID, stamp(d.PushedAt))
		out.Evidence = []Evidence{push}
		out.Mitigation = "The handler did not return (or the app acknowledges nothing): make handlers return promptly; the SDK acknowledges after a handler returns."
	default:
		out.Verdict, out.Summary = Inconclusive, fmt.Sprintf("pushed at %s, not acknowledged yet", stamp(d.PushedAt))
		out.Evidence = []Evidence{push}
	}
	return out
}

// offline: no connection was open; the message waits for the next resume.
func offline(f *facts, delivered bool) Finding {
	out := Finding{Check: CheckOffline, Title: "Recipient offline (not a fault)", Tag: Inferred,
		Mitigation: "Nothing to fix: the message is stored and arrives when the client reconnects and resumes from its cursor."}
	open := f.openAt(f.now)
	switch {
	case delivered:
		out.Verdict, out.Summary = RuledOut, "the message was delivered"
	case !f.msgFound:
		out.Verdict, out.Summary = RuledOut, "not applicable: no message"
	case len(open) == 0:
		out.Verdict = Confirmed
		last := "never connected in the window"
		// The verdict rests on the stored message and on the connection
		// log: its newest row, or the absence of any.
		ev := []Evidence{{At: f.msg.CreatedAt, Source: "messages", ID: string(f.msg.ID), Detail: fmt.Sprintf("committed at sequence %d", f.msg.Seq)}}
		if len(f.conns) > 0 {
			c := f.conns[0]
			last = "last connection " + connDetail(c)
			ev = append(ev, connEvidence(f.conns[:1])...)
		} else {
			ev = append(ev, Evidence{At: f.now, Source: "connections", Detail: "no connection of the user logged since " + stamp(f.connSince())})
		}
		out.Summary = fmt.Sprintf("no connection of the user is open (%s); the message will arrive on resume", last)
		out.Evidence = ev
	default:
		out.Verdict, out.Summary = RuledOut, fmt.Sprintf("connection %s is open", open[0].ID)
	}
	return out
}
