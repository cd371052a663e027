package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/herald-chat/herald"
)

// logRequests logs rs in order.
func logRequests(tb testing.TB, s herald.Store, rs ...herald.Request) {
	tb.Helper()
	for _, r := range rs {
		if err := s.LogRequest(tb.Context(), r); err != nil {
			tb.Fatalf("LogRequest(%s): got error %v, want nil", r.RequestID, err)
		}
	}
}

// testRequests: the request log round-trips, lists newest first and filters
// by caller, thread, time window (Since inclusive, Until exclusive), reason
// and limit.
func testRequests(t *testing.T, s herald.Store) {
	ctx := t.Context()
	rs := []herald.Request{
		{At: at(1000), RequestID: "r_1", Caller: "u_a", TokenID: "k_a", Operation: "SendMessage",
			ThreadID: "t_a", MessageID: "m_1", Status: 201, Duration: 1500 * time.Microsecond},
		{At: at(2000), RequestID: "r_2", Caller: "u_b", TokenID: "k_b", Operation: "SendMessage",
			ThreadID: "t_a", Status: 403, Reason: herald.ReasonNotParticipant, Duration: 2 * time.Millisecond},
		{At: at(3000), RequestID: "r_3", Operation: "CreateIdentity", Status: 401,
			Reason: herald.ReasonAdminKeyInvalid, Duration: 3 * time.Second},
		{At: at(4000), RequestID: "r_4", Caller: "u_a", TokenID: "k_a", Operation: "GetThread",
			ThreadID: "t_b", Status: 404, Reason: herald.ReasonThreadNotFound, Duration: 40 * time.Microsecond},
		{At: at(5000), RequestID: "r_5", Caller: "u_a", TokenID: "k_a", Operation: "SendMessage",
			ThreadID: "t_a", Status: 403, Reason: herald.ReasonNotParticipant, Duration: time.Millisecond},
	}
	logRequests(t, s, rs...)

	all, err := s.ListRequests(ctx, herald.RequestFilter{})
	if err != nil {
		t.Fatalf("ListRequests: got error %v, want nil", err)
	}
	wantDiff(t, "ListRequests", []string{"r_5", "r_4", "r_3", "r_2", "r_1"}, ids(all, requestID))
	seen := map[int64]bool{}
	for i, got := range all {
		if got.ID <= 0 || seen[got.ID] || i > 0 && got.ID >= all[i-1].ID {
			t.Errorf("request %s: got id %d, want a positive id, unique and smaller than the newer request's", got.RequestID, got.ID)
		}
		seen[got.ID] = true
		want := rs[len(rs)-1-i]
		want.ID = got.ID
		wantDiff(t, "request "+want.RequestID, want, got)
	}

	tests := []struct {
		name string
		f    herald.RequestFilter
		want []string
	}{
		{"caller", herald.RequestFilter{Caller: "u_a"}, []string{"r_5", "r_4", "r_1"}},
		{"thread", herald.RequestFilter{Thread: "t_a"}, []string{"r_5", "r_2", "r_1"}},
		{"since", herald.RequestFilter{Since: at(3000)}, []string{"r_5", "r_4", "r_3"}},
		{"until", herald.RequestFilter{Until: at(3000)}, []string{"r_2", "r_1"}},
		{"window", herald.RequestFilter{Since: at(2000), Until: at(4001)}, []string{"r_4", "r_3", "r_2"}},
		{"reason", herald.RequestFilter{Reason: herald.ReasonNotParticipant}, []string{"r_5", "r_2"}},
		{"caller and reason", herald.RequestFilter{Caller: "u_a", Reason: herald.ReasonNotParticipant}, []string{"r_5"}},
		{"caller and thread", herald.RequestFilter{Caller: "u_a", Thread: "t_b"}, []string{"r_4"}},
		{"limit", herald.RequestFilter{Limit: 2}, []string{"r_5", "r_4"}},
		{"caller, limit", herald.RequestFilter{Caller: "u_a", Limit: 2}, []string{"r_5", "r_4"}},
		{"operation", herald.RequestFilter{Operation: "SendMessage"}, []string{"r_5", "r_2", "r_1"}},
		{"operation, limit", herald.RequestFilter{Operation: "SendMessage", Limit: 1}, []string{"r_5"}},
		{"operation after others, limit", herald.RequestFilter{Operation: "CreateIdentity", Limit: 1}, []string{"r_3"}},
		{"nothing", herald.RequestFilter{Caller: "u_nobody"}, nil},
	}
	for _, tc := range tests {
		got, err := s.ListRequests(ctx, tc.f)
		if err != nil {
			t.Errorf("ListRequests %s: got error %v, want nil", tc.name, err)
			continue
		}
		wantDiff(t, "ListRequests "+tc.name, tc.want, ids(got, requestID))
	}
}

// testRequestsDefaultLimit: a filter without a limit returns the newest 100.
func testRequestsDefaultLimit(t *testing.T, s herald.Store) {
	const n = 101
	for i := range n {
		logRequests(t, s, herald.Request{At: at(i), RequestID: fmt.Sprintf("r_%03d", i), Status: 200})
	}
	got, err := s.ListRequests(t.Context(), herald.RequestFilter{})
	if err != nil {
		t.Fatalf("ListRequests: got error %v, want nil", err)
	}
	if len(got) != 100 || got[0].RequestID != "r_100" || got[99].RequestID != "r_001" {
		t.Errorf("ListRequests without a limit: got %d rows, want the newest 100 (r_100 to r_001)", len(got))
	}
}
