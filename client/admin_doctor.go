package client

import (
	"context"
	"github.com/herald-chat/herald/wire"
	"net/http"
	"net/url"
	"strconv"
)

// DiagnoseOptions say which delivery the doctor explains: a user (the
// recipient) in a thread and, optionally, one message. Empty fields are not
// sent; the server requires User and Thread.
type DiagnoseOptions struct {
	User   string
	Thread string
	// Message is the message in question; empty means the thread's newest
	// message.
	Message string
	// Since bounds the evidence read: an RFC 3339 time or a duration before
	// now ("2h"). Empty means the server's default, 24 hours.
	Since string
}

func (o DiagnoseOptions) values() url.Values {
	q := url.Values{}
	setString(q, "user", o.User)
	setString(q, "thread", o.Thread)
	setString(q, "message", o.Message)
	setString(q, "since", o.Since)
	return q
}

// Diagnose asks the delivery doctor why a message did or did not reach a
// user (GET /admin/doctor). The report is an answer whatever its verdict;
// an error means the question could not be answered (for example invalid
// with missing_field when User or Thread is empty).
func (a *Admin) Diagnose(ctx context.Context, opts DiagnoseOptions) (*wire.DoctorReport, error) {
	return call[wire.DoctorReport](ctx, a.conn, request{method: http.MethodGet, path: "/admin/doctor", query: opts.values()})
}

// EventsOptions filter the rows of an evidence table. Empty fields are not
// sent; each table ignores the filters that do not apply to it, and says
// which it needs (invalid, missing_field).
type EventsOptions struct {
	User    string
	Thread  string
	Message string
	// Since and Until bound the rows' time: an RFC 3339 time or a
	// duration before now ("2h").
	Since string
	Until string
	// Reason keeps the rows with this reason code (for example
	// slow_consumer).
	Reason string
	// Limit is the most rows returned; 0 leaves it to the server (1000).
	Limit int
}

func (o EventsOptions) values() url.Values {
	q := url.Values{}
	setString(q, "user", o.User)
	setString(q, "thread", o.Thread)
	setString(q, "message", o.Message)
	setString(q, "since", o.Since)
	setString(q, "until", o.Until)
	setString(q, "reason", o.Reason)
	if o.Limit != 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	return q
}

// Events returns the rows of one evidence table (GET /admin/events/{table});
// docs/evidence.md names them. An unknown table is not_found.
func (a *Admin) Events(ctx context.Context, table string, opts EventsOptions) (*wire.EvidenceTable, error) {
	s, err := segment("table", table)
	r := request{method: http.MethodGet, path: "/admin/events/" + s, query: opts.values(), err: err}
	return call[wire.EvidenceTable](ctx, a.conn, r)
}

func setString(q url.Values, key, v string) {
	if v != "" {
		q.Set(key, v)
	}
}
