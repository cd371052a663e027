package e2e

import (
	"testing"

	"github.com/herald-chat/herald"
)

// Issue 13, 9: a count of seconds too large for a Duration wrapped around
// and silently matched nothing.
func TestEvidenceSinceOverflow(t *testing.T) {
	e := start(t)
	for _, v := range []string{"30000000000", "9223372036854775807"} {
		b := e.fails(e.do("GET", "/admin/events/Requests?since="+v, adminKey, nil), 400, herald.ReasonInvalidField)
		if b.Target != "since" {
			t.Errorf("since=%s: got target %q, want since", v, b.Target)
		}
	}
	e.fails(e.do("GET", "/admin/events/Requests?until=30000000000", adminKey, nil), 400, herald.ReasonInvalidField)
	e.ok(e.do("GET", "/admin/events/Requests?since=3600", adminKey, nil), 200, nil)
}
