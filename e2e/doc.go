// Package e2e holds Herald's end-to-end suite: it wires a real server
// (SQLite in a temporary directory, the service, the HTTP edge) on
// 127.0.0.1:0 and drives it over HTTP, with raw requests for bad input and
// the client SDK for the rest. Time is an injected clock, so token expiry
// is tested without sleeping.
package e2e
