// Package httpapi is Herald's HTTP edge: the ACS-shaped REST API, strict
// decoding of bodies into wire types, authentication of the caller, the one
// table from herald.Code to HTTP status, and the request log (every call
// with its status and reason, the evidence behind a browser console's
// 401/403/404).
//
// It holds no rules: it decodes, asks the service, and encodes the answer.
package httpapi
