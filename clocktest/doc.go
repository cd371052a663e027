// Package clocktest is a fake herald.Clock for tests: time moves only when
// the test says so, so that expiry, heartbeats, timeouts, backoff and
// retention can be tested on any date without sleeping.
//
// It is not used outside tests. The same *Clock can drive a test server
// (service, hub, httpapi, doctor) and the Go SDK that talks to it, which is
// what keeps both sides agreeing on what time it is.
package clocktest
