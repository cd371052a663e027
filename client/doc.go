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
// In the message path the client sits in front of httpapi: it is how Go
// programs, the herald CLI and the over-the-wire test suite reach the
// service.
package client
