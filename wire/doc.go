// Package wire defines the JSON that crosses the network: REST request and
// response bodies (ACS shapes), real-time frames and the doctor's reports. httpapi and the
// client SDK both speak it, so a field is named once.
//
// Decode is the only way a body becomes a value: it is strict where Go's
// encoding/json is lenient (invalid UTF-8 and lone surrogates, duplicate
// keys, field names that differ only in case, unknown fields, trailing
// data, deep nesting) and returns a *herald.Error with the reason.
package wire
