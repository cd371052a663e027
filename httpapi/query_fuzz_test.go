package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/herald-chat/herald"
)

// FuzzQuery feeds arbitrary query strings to every query-parameter parser
// (paging, times, durations before now). None may panic; each either
// accepts the value or fails with a 400 that names the parameter; the
// values it accepts are in range (no negative skip or page size, no time
// past the Duration range).
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"skip=1&maxPageSize=50", "since=2h", "since=30000000000", "startTime=2026-01-01T00:00:00Z",
		"skip=-1", "maxPageSize=0", "since=-5m", "since=%ff", "skip=1e9", "since=9223372036",
		"api-version=2024-03-07", "api-version=2021-10-01-preview7", "api-version=x&api-version=y", "api-version=2024-13-01"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		vals, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		r := &http.Request{URL: &url.URL{RawQuery: vals.Encode()}}
		q := query{r: r}
		p := q.page()
		_ = q.time("startTime")
		since := q.since("since", now)
		_ = q.apiVersion()
		if q.err != nil {
			var he *herald.Error
			if !errors.As(q.err, &he) || he.Code != herald.CodeInvalid || he.Target == "" {
				t.Fatalf("query %q: got error %v, want invalid with a target", raw, q.err)
			}
			return
		}
		if p.Limit < 0 { // a negative skip is the service's to refuse (service.page)
			t.Fatalf("query %q: accepted page size %d, want none below 1", raw, p.Limit)
		}
		if !since.IsZero() && since.After(now) && vals.Get("since") != "" && !looksAbsolute(vals.Get("since")) {
			t.Fatalf("query %q: a duration before now gave %v, after now", raw, since)
		}
	})
}

// looksAbsolute reports whether v parses as an RFC 3339 time (which may
// be in the future).
func looksAbsolute(v string) bool {
	_, err := time.Parse(time.RFC3339, v)
	return err == nil
}
