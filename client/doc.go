// Package client is the Go SDK for Herald's REST API. It speaks the bodies
// defined in package wire to a Herald server over HTTP and nothing else: it
// holds no rules of its own, so every decision (validation, authorization,
// limits) is the server's and comes back as an error.
//
// Two types cover the two kinds of caller:
//
//   - Admin (NewAdmin) manages identities and access tokens with the
//     server's admin key.
//   - Client (New) acts as one user with an access token, supplied by a
//     Credential, on threads, participants, messages, read receipts and
//     typing notifications.
//
// Every answer that is not 2xx becomes a *herald.Error rebuilt from the
// error body, so callers branch on the same Code and Reason as the server
// does. Its Err is a *HTTPError carrying the status, Retry-After and the
// request id:
//
//	_, err := c.SendMessage(ctx, threadID, req, "")
//	if herald.ErrorReason(err) == herald.ReasonNotParticipant { ... }
//	var h *client.HTTPError
//	if errors.As(err, &h) && h.RetryAfter > 0 { ... }
//
// Transport failures (connection refused, context cancelled) are returned
// wrapped and are never a *herald.Error.
//
// List methods return one page; the page's NextLink is followed by the
// matching Next method, and the All methods iterate every item of every
// page.
//
// Real-time: Client.Realtime opens one connection (WebSocket, SSE or
// long-polling) that carries every event of every thread of the user, and
// builds in the delivery playbook's mitigations: a TokenCredential that
// refreshes proactively (10 minutes before expiry by default) and in-band
// on the live connection; a state listener (connecting, connected,
// reconnecting, disconnected with the close code and reason); heartbeats;
// reconnect with jittered exponential backoff; resume from a cursor kept
// in a pluggable CursorStore; de-duplication by sequence number;
// acknowledgement only after a registered handler returned, with the
// handled event types declared to the server; and local thread state that
// drops a thread on participantsRemoved (of the user) or chatThreadDeleted,
// after which Realtime.Send fails fast with the reason.
//
// In the message path the client sits in front of httpapi: it is how Go
// programs, the herald CLI and the over-the-wire test suite reach the
// service.
package client
