package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/herald-chat/herald"
)

// createConnections logs cs in order, each in its own call.
func createConnections(tb testing.TB, s herald.Store, cs ...herald.Connection) {
	tb.Helper()
	for _, c := range cs {
		if err := s.CreateConnection(tb.Context(), c); err != nil {
			tb.Fatalf("CreateConnection(%s): got error %v, want nil", c.ID, err)
		}
	}
}

// getConnection returns the logged connection id and fails the test if
// there is none.
func getConnection(tb testing.TB, s herald.Store, id herald.ConnectionID) herald.Connection {
	tb.Helper()
	c, err := s.GetConnection(tb.Context(), id)
	if err != nil {
		tb.Fatalf("GetConnection(%s): got error %v, want nil", id, err)
	}
	return c
}

// recordDeliveries records ds as one batch and fails the test on error.
func recordDeliveries(tb testing.TB, s herald.Store, ds ...herald.Delivery) {
	tb.Helper()
	if err := s.RecordDeliveries(tb.Context(), ds); err != nil {
		tb.Fatalf("RecordDeliveries(%d runs): got error %v, want nil", len(ds), err)
	}
}

// recordAcks records the acks as one batch and fails the test on error.
func recordAcks(tb testing.TB, s herald.Store, as ...herald.Ack) {
	tb.Helper()
	if err := s.RecordAcks(tb.Context(), as); err != nil {
		tb.Fatalf("RecordAcks(%d acks): got error %v, want nil", len(as), err)
	}
}

// run returns a delivery run of thread to conn for user, over [from, to],
// first pushed at ms and last pushed at ms + 10*(to-from).
func run(user herald.UserID, thread herald.ThreadID, conn herald.ConnectionID, from, to herald.Seq, ms int) herald.Delivery {
	return herald.Delivery{
		UserID: user, ThreadID: thread, ConnectionID: conn, Transport: "websocket",
		FromSeq: from, ToSeq: to, FirstAt: at(ms), LastAt: at(ms + 10*int(to-from)),
	}
}

func connectionID(c herald.Connection) herald.ConnectionID { return c.ID }

// runKey names a delivery run by its key: connection/thread/from.
func runKey(d herald.Delivery) string {
	return fmt.Sprintf("%s/%s/%d", d.ConnectionID, d.ThreadID, d.FromSeq)
}

// testConnection: connection-log rows round-trip every field, opened or
// refused (a refused attempt may have no user), and an id is logged once.
func testConnection(t *testing.T, s herald.Store) {
	ctx := t.Context()
	closed := herald.Connection{
		ID: "c_closed", UserID: "u_a", TokenID: "k_a", Transport: "websocket",
		Remote: "192.0.2.1:51234", Origin: "https://app.example", UserAgent: "Mozilla/5.0 (héllo ✓)",
		OpenedAt: at(1000), ClosedAt: at(61000), CloseCode: 4001, CloseReason: herald.ReasonTokenRevoked,
		ClosedBy: "server",
		Handles: []herald.EventType{herald.EventTypingIndicatorReceived, herald.EventMessageReceived,
			herald.EventReadReceiptReceived},
		HeartbeatMisses: 2, Node: "node-1",
	}
	open := herald.Connection{
		ID: "c_open", UserID: "u_a", TokenID: "k_b", Transport: "sse", Remote: "[2001:db8::1]:443",
		OpenedAt: at(2000), Node: "node-2",
	}
	refused := herald.Connection{
		ID: "c_refused", Transport: "websocket", Remote: "198.51.100.7:40000",
		Origin: "https://elsewhere.example", UserAgent: "curl/8.0", Refused: herald.ReasonTokenInvalid,
		OpenedAt: at(3000), Node: "node-1",
	}
	// A second refusal without a user: an empty user is not a key.
	anonymous := herald.Connection{
		ID: "c_anonymous", Transport: "sse", Refused: herald.ReasonTokenMissing, OpenedAt: at(3000),
	}
	expired := herald.Connection{
		ID: "c_expired", UserID: "u_b", TokenID: "k_c", Transport: "websocket",
		Refused: herald.ReasonTokenExpired, OpenedAt: at(4000),
	}
	all := []herald.Connection{closed, open, refused, anonymous, expired}
	createConnections(t, s, all...)
	for _, want := range all {
		wantDiff(t, "GetConnection("+string(want.ID)+")", want, getConnection(t, s, want.ID))
	}

	dup := open
	dup.UserID, dup.Transport, dup.OpenedAt = "u_other", "websocket", at(9000)
	err := s.CreateConnection(ctx, dup)
	wantErr(t, "CreateConnection of a logged id", err, herald.ErrConflict)
	wantDiff(t, "connection after a conflicting CreateConnection", open, getConnection(t, s, open.ID))

	_, err = s.GetConnection(ctx, "c_missing")
	wantErr(t, "GetConnection of a missing id", err, herald.ErrNotFound)
}

// testUpdateConnection: UpdateConnection stores the close fields, handles and
// heartbeat misses, replaces them wholly, ignores every other field, and is
// not_found for an id never logged (which it does not create).
func testUpdateConnection(t *testing.T, s herald.Store) {
	ctx := t.Context()
	opened := herald.Connection{
		ID: "c_a", UserID: "u_a", TokenID: "k_a", Transport: "websocket", Remote: "192.0.2.1:1",
		Origin: "https://app.example", UserAgent: "agent", OpenedAt: at(1000),
		Handles: []herald.EventType{herald.EventMessageReceived}, Node: "node-1",
	}
	other := herald.Connection{ID: "c_b", UserID: "u_a", Transport: "sse", OpenedAt: at(1500)}
	createConnections(t, s, opened, other)

	// The hub learns the handles and counts misses while the connection is open.
	update := herald.Connection{
		ID: "c_a", Handles: []herald.EventType{herald.EventMessageEdited, herald.EventMessageDeleted},
		HeartbeatMisses: 1,
	}
	if err := s.UpdateConnection(ctx, update); err != nil {
		t.Fatalf("UpdateConnection while open: got error %v, want nil", err)
	}
	want := opened
	want.Handles, want.HeartbeatMisses = update.Handles, 1
	wantDiff(t, "connection updated while open", want, getConnection(t, s, "c_a"))

	// Closing: every other field of the argument differs and must be ignored.
	closing := herald.Connection{
		ID: "c_a", UserID: "u_other", TokenID: "k_other", Transport: "sse", Remote: "203.0.113.9:2",
		Origin: "https://other.example", UserAgent: "other agent", Refused: herald.ReasonTokenInvalid,
		OpenedAt: at(9000), ClosedAt: at(5000), CloseCode: 1000, CloseReason: herald.ReasonIdentityDeleted,
		ClosedBy: "client", Handles: nil, HeartbeatMisses: 3, Node: "node-9",
	}
	if err := s.UpdateConnection(ctx, closing); err != nil {
		t.Fatalf("UpdateConnection to close: got error %v, want nil", err)
	}
	want = opened
	want.ClosedAt, want.CloseCode, want.CloseReason, want.ClosedBy = at(5000), 1000, herald.ReasonIdentityDeleted, "client"
	want.Handles, want.HeartbeatMisses = nil, 3
	wantDiff(t, "connection after closing", want, getConnection(t, s, "c_a"))

	// Storing the same values again matches the row: not a not_found.
	if err := s.UpdateConnection(ctx, closing); err != nil {
		t.Errorf("UpdateConnection with unchanged values: got error %v, want nil", err)
	}
	wantDiff(t, "connection after an unchanged update", want, getConnection(t, s, "c_a"))
	wantDiff(t, "the connection not updated", other, getConnection(t, s, "c_b"))

	err := s.UpdateConnection(ctx, herald.Connection{ID: "c_missing", ClosedAt: at(1), CloseCode: 1000})
	wantErr(t, "UpdateConnection of a missing id", err, herald.ErrNotFound)
	_, err = s.GetConnection(ctx, "c_missing")
	wantErr(t, "GetConnection after updating a missing id", err, herald.ErrNotFound)
}

// testListConnections: the connection log lists newest opened first (ties
// by id, descending, whatever the logging order) and filters by user, time
// window on OpenedAt (Since inclusive, Until exclusive) and limit.
func testListConnections(t *testing.T, s herald.Store) {
	ctx := t.Context()
	c := func(id herald.ConnectionID, user herald.UserID, ms int) herald.Connection {
		conn := herald.Connection{ID: id, UserID: user, TokenID: "k_" + herald.TokenID(user),
			Transport: "websocket", OpenedAt: at(ms), Node: "node-1"}
		if user == "" {
			conn.TokenID, conn.Refused = "", herald.ReasonTokenMissing
		}
		return conn
	}
	closed := c("c_6", "u_a", 6000)
	closed.ClosedAt, closed.CloseCode, closed.ClosedBy = at(7000), 1000, "client"
	closed.Handles = []herald.EventType{herald.EventMessageReceived}
	// Logged out of order, and c_5b before c_5a, which opened at the same time.
	logged := []herald.Connection{
		c("c_4", "u_a", 4000), c("c_1", "u_a", 1000), c("c_5b", "u_b", 5000), closed,
		c("c_3", "", 3000), c("c_5a", "u_a", 5000), c("c_2", "u_b", 2000),
	}
	createConnections(t, s, logged...)
	byID := map[herald.ConnectionID]herald.Connection{}
	for _, conn := range logged {
		byID[conn.ID] = conn
	}

	all, err := s.ListConnections(ctx, herald.ConnectionFilter{})
	if err != nil {
		t.Fatalf("ListConnections: got error %v, want nil", err)
	}
	order := []herald.ConnectionID{"c_6", "c_5b", "c_5a", "c_4", "c_3", "c_2", "c_1"}
	var want []herald.Connection
	for _, id := range order {
		want = append(want, byID[id])
	}
	wantDiff(t, "ListConnections", want, all)

	tests := []struct {
		name string
		f    herald.ConnectionFilter
		want []herald.ConnectionID
	}{
		{"user", herald.ConnectionFilter{User: "u_a"}, []herald.ConnectionID{"c_6", "c_5a", "c_4", "c_1"}},
		{"since", herald.ConnectionFilter{Since: at(4000)}, []herald.ConnectionID{"c_6", "c_5b", "c_5a", "c_4"}},
		{"until", herald.ConnectionFilter{Until: at(4000)}, []herald.ConnectionID{"c_3", "c_2", "c_1"}},
		{"window", herald.ConnectionFilter{Since: at(2000), Until: at(5001)},
			[]herald.ConnectionID{"c_5b", "c_5a", "c_4", "c_3", "c_2"}},
		{"empty window", herald.ConnectionFilter{Since: at(5000), Until: at(5000)}, nil},
		{"user and window", herald.ConnectionFilter{User: "u_a", Since: at(1000), Until: at(5000)},
			[]herald.ConnectionID{"c_4", "c_1"}},
		{"limit", herald.ConnectionFilter{Limit: 2}, []herald.ConnectionID{"c_6", "c_5b"}},
		{"user and limit", herald.ConnectionFilter{User: "u_b", Limit: 1}, []herald.ConnectionID{"c_5b"}},
		{"nothing", herald.ConnectionFilter{User: "u_nobody"}, nil},
	}
	for _, tc := range tests {
		got, err := s.ListConnections(ctx, tc.f)
		if err != nil {
			t.Errorf("ListConnections %s: got error %v, want nil", tc.name, err)
			continue
		}
		wantDiff(t, "ListConnections "+tc.name, tc.want, ids(got, connectionID))
	}
}

// testDeliveries: delivery runs round-trip every field and are keyed by
// (ConnectionID, ThreadID, FromSeq): recording a stored key, in a later batch
// or the same one, replaces its ToSeq and LastAt and keeps the rest.
func testDeliveries(t *testing.T, s herald.Store) {
	ctx := t.Context()
	first := run("u_a", "t_a", "c_1", 1, 3, 1000)
	// Same thread and FromSeq on another connection, same connection and
	// FromSeq in another thread: three keys.
	otherConn := run("u_a", "t_a", "c_2", 1, 2, 1100)
	otherConn.Transport = "sse"
	otherThread := run("u_a", "t_b", "c_1", 1, 1, 1300)
	recordDeliveries(t, s, first, otherConn, otherThread)

	list := func(f herald.DeliveryFilter) []herald.Delivery {
		t.Helper()
		got, err := s.ListDeliveries(ctx, f)
		if err != nil {
			t.Fatalf("ListDeliveries(%+v): got error %v, want nil", f, err)
		}
		return got
	}
	wantDiff(t, "ListDeliveries", []herald.Delivery{first, otherConn, otherThread}, list(herald.DeliveryFilter{}))

	// The run grows: every field but ToSeq and LastAt differs and is ignored.
	grown := herald.Delivery{UserID: "u_other", ThreadID: "t_a", ConnectionID: "c_1", Transport: "sse",
		FromSeq: 1, ToSeq: 7, FirstAt: at(4000), LastAt: at(5000)}
	// After a gap, a new run starts on the same connection and thread.
	next := run("u_a", "t_a", "c_1", 10, 10, 6000)
	recordDeliveries(t, s, grown, next)
	extended := first
	extended.ToSeq, extended.LastAt = 7, at(5000)
	wantDiff(t, "ListDeliveries after extending a run", []herald.Delivery{extended, otherConn, next},
		list(herald.DeliveryFilter{User: "u_a", Thread: "t_a"}))

	// Within one batch, the later of two runs with one key wins.
	recordDeliveries(t, s, run("u_b", "t_c", "c_3", 4, 4, 100), run("u_b", "t_c", "c_3", 4, 6, 100))
	wantDiff(t, "ListDeliveries of a key recorded twice in a batch",
		[]herald.Delivery{run("u_b", "t_c", "c_3", 4, 6, 100)}, list(herald.DeliveryFilter{User: "u_b"}))

	// Replacing is what is documented, not keeping the larger: the engine
	// stores what the hub recorded last.
	recordDeliveries(t, s, run("u_b", "t_c", "c_3", 4, 5, 100))
	wantDiff(t, "ListDeliveries after recording a shorter run",
		[]herald.Delivery{run("u_b", "t_c", "c_3", 4, 5, 100)}, list(herald.DeliveryFilter{User: "u_b"}))
}

// testListDeliveries: deliveries list oldest first (FirstAt, then FromSeq),
// filter by user and thread (empty matches any), with Seq > 0 keep only the
// runs with FromSeq <= Seq <= ToSeq, and honour the limit.
func testListDeliveries(t *testing.T, s herald.Store) {
	ctx := t.Context()
	// u_a in t_a: runs over [3,7] and [8,8] on c_1, [5,9] on c_2.
	a := run("u_a", "t_a", "c_1", 3, 7, 100)
	b := run("u_a", "t_a", "c_1", 8, 8, 200)
	c := run("u_a", "t_a", "c_2", 5, 9, 150)
	// u_a in t_b: same FirstAt, recorded with the larger FromSeq first.
	d := run("u_a", "t_b", "c_3", 5, 6, 500)
	e := run("u_a", "t_b", "c_3", 2, 3, 500)
	// u_b in t_a.
	f := run("u_b", "t_a", "c_4", 1, 9, 50)
	recordDeliveries(t, s, b, a, d)
	recordDeliveries(t, s, c, e, f)

	tests := []struct {
		name   string
		filter herald.DeliveryFilter
		want   []herald.Delivery
	}{
		{"all", herald.DeliveryFilter{}, []herald.Delivery{f, a, c, b, e, d}},
		{"user and thread", herald.DeliveryFilter{User: "u_a", Thread: "t_a"}, []herald.Delivery{a, c, b}},
		{"user", herald.DeliveryFilter{User: "u_a"}, []herald.Delivery{a, c, b, e, d}},
		{"thread", herald.DeliveryFilter{Thread: "t_a"}, []herald.Delivery{f, a, c, b}},
		{"FirstAt tie by FromSeq", herald.DeliveryFilter{Thread: "t_b"}, []herald.Delivery{e, d}},
		{"before every run", herald.DeliveryFilter{User: "u_a", Thread: "t_a", Seq: 2}, nil},
		{"from of a run", herald.DeliveryFilter{User: "u_a", Thread: "t_a", Seq: 3}, []herald.Delivery{a}},
		{"inside two runs", herald.DeliveryFilter{User: "u_a", Thread: "t_a", Seq: 5}, []herald.Delivery{a, c}},
		{"to of a run", herald.DeliveryFilter{User: "u_a", Thread: "t_a", Seq: 7}, []herald.Delivery{a, c}},
		{"one-event run", herald.DeliveryFilter{User: "u_a", Thread: "t_a", Seq: 8}, []herald.Delivery{c, b}},
		{"to of the last run", herald.DeliveryFilter{User: "u_a", Thread: "t_a", Seq: 9}, []herald.Delivery{c}},
		{"after every run", herald.DeliveryFilter{User: "u_a", Thread: "t_a", Seq: 10}, nil},
		{"seq, any user", herald.DeliveryFilter{Thread: "t_a", Seq: 9}, []herald.Delivery{f, c}},
		{"limit", herald.DeliveryFilter{Limit: 2}, []herald.Delivery{f, a}},
		{"filter and limit", herald.DeliveryFilter{User: "u_a", Seq: 5, Limit: 2}, []herald.Delivery{a, c}},
		{"other user", herald.DeliveryFilter{User: "u_b", Thread: "t_b"}, nil},
		{"nothing", herald.DeliveryFilter{User: "u_nobody"}, nil},
	}
	for _, tc := range tests {
		got, err := s.ListDeliveries(ctx, tc.filter)
		if err != nil {
			t.Errorf("ListDeliveries %s: got error %v, want nil", tc.name, err)
			continue
		}
		wantDiff(t, "ListDeliveries "+tc.name, ids(tc.want, runKey), ids(got, runKey))
		if len(got) == len(tc.want) {
			wantDiff(t, "ListDeliveries "+tc.name+" rows", tc.want, got)
		}
	}
}

// testAcks: acks round-trip, are appended (a repeated ack is a second row),
// list oldest first (equal times in recording order, within and across
// batches), filter by user and thread (empty matches any), with Seq > 0 keep
// those with a Seq >= it, and honour the limit.
func testAcks(t *testing.T, s herald.Store) {
	ctx := t.Context()
	ack := func(user herald.UserID, thread herald.ThreadID, conn herald.ConnectionID, seq herald.Seq, ms int) herald.Ack {
		return herald.Ack{UserID: user, ThreadID: thread, ConnectionID: conn, Seq: seq, At: at(ms)}
	}
	a1 := ack("u_a", "t_a", "c_1", 3, 1000)
	a2 := ack("u_a", "t_a", "c_2", 5, 2000)
	a3 := ack("u_a", "t_b", "c_1", 1, 1500)
	a4 := ack("u_b", "t_a", "c_3", 5, 1500) // same time as a3, recorded after it
	a5 := a1                                // the same ack again: a second row
	a6 := ack("u_a", "t_a", "c_1", 9, 500)  // recorded late, but the oldest
	a7 := ack("u_a", "t_a", "c_1", 7, 2000) // same time as a2, in a later batch
	recordAcks(t, s, a1, a2, a3, a4, a5, a6)
	recordAcks(t, s, a7)

	tests := []struct {
		name   string
		filter herald.DeliveryFilter
		want   []herald.Ack
	}{
		{"all", herald.DeliveryFilter{}, []herald.Ack{a6, a1, a5, a3, a4, a2, a7}},
		{"user and thread", herald.DeliveryFilter{User: "u_a", Thread: "t_a"}, []herald.Ack{a6, a1, a5, a2, a7}},
		{"user", herald.DeliveryFilter{User: "u_b"}, []herald.Ack{a4}},
		{"thread", herald.DeliveryFilter{Thread: "t_a"}, []herald.Ack{a6, a1, a5, a4, a2, a7}},
		{"seq below all", herald.DeliveryFilter{User: "u_a", Thread: "t_a", Seq: 1}, []herald.Ack{a6, a1, a5, a2, a7}},
		{"seq equal", herald.DeliveryFilter{User: "u_a", Thread: "t_a", Seq: 3}, []herald.Ack{a6, a1, a5, a2, a7}},
		{"seq between", herald.DeliveryFilter{User: "u_a", Thread: "t_a", Seq: 4}, []herald.Ack{a6, a2, a7}},
		{"seq equal, upper", herald.DeliveryFilter{User: "u_a", Thread: "t_a", Seq: 5}, []herald.Ack{a6, a2, a7}},
		{"seq of the highest", herald.DeliveryFilter{User: "u_a", Thread: "t_a", Seq: 9}, []herald.Ack{a6}},
		{"seq above all", herald.DeliveryFilter{User: "u_a", Thread: "t_a", Seq: 10}, nil},
		{"seq, any user", herald.DeliveryFilter{Thread: "t_a", Seq: 5}, []herald.Ack{a6, a4, a2, a7}},
		{"limit", herald.DeliveryFilter{Limit: 2}, []herald.Ack{a6, a1}},
		{"filter and limit", herald.DeliveryFilter{User: "u_a", Seq: 4, Limit: 2}, []herald.Ack{a6, a2}},
		{"nothing", herald.DeliveryFilter{User: "u_nobody"}, nil},
	}
	for _, tc := range tests {
		got, err := s.ListAcks(ctx, tc.filter)
		if err != nil {
			t.Errorf("ListAcks %s: got error %v, want nil", tc.name, err)
			continue
		}
		wantDiff(t, "ListAcks "+tc.name, tc.want, got)
	}
}

// testLedgerEmpty: an empty ledger lists nothing, and an empty or nil batch
// is a no-op that leaves the store writable.
func testLedgerEmpty(t *testing.T, s herald.Store) {
	ctx := t.Context()
	batches := []struct {
		name string
		err  error
	}{
		{"RecordDeliveries(nil)", s.RecordDeliveries(ctx, nil)},
		{"RecordDeliveries(empty)", s.RecordDeliveries(ctx, []herald.Delivery{})},
		{"RecordAcks(nil)", s.RecordAcks(ctx, nil)},
		{"RecordAcks(empty)", s.RecordAcks(ctx, []herald.Ack{})},
	}
	for _, b := range batches {
		if b.err != nil {
			t.Errorf("%s: got error %v, want nil", b.name, b.err)
		}
	}
	cs, err := s.ListConnections(ctx, herald.ConnectionFilter{})
	if len(cs) != 0 || err != nil {
		t.Errorf("ListConnections of an empty log: got %d rows and error %v, want 0 and nil", len(cs), err)
	}
	ds, err := s.ListDeliveries(ctx, herald.DeliveryFilter{})
	if len(ds) != 0 || err != nil {
		t.Errorf("ListDeliveries after empty batches: got %d rows and error %v, want 0 and nil", len(ds), err)
	}
	as, err := s.ListAcks(ctx, herald.DeliveryFilter{})
	if len(as) != 0 || err != nil {
		t.Errorf("ListAcks after empty batches: got %d rows and error %v, want 0 and nil", len(as), err)
	}

	// The store still takes writes of every kind.
	d := run("u_a", "t_a", "c_a", 1, 1, 0)
	a := herald.Ack{UserID: "u_a", ThreadID: "t_a", ConnectionID: "c_a", Seq: 1, At: at(1)}
	recordDeliveries(t, s, d)
	recordAcks(t, s, a)
	createConnections(t, s, herald.Connection{ID: "c_a", UserID: "u_a", OpenedAt: at(0)})
	createIdentities(t, s, "u_a")
	ds, _ = s.ListDeliveries(ctx, herald.DeliveryFilter{})
	wantDiff(t, "ListDeliveries after a batch", []herald.Delivery{d}, ds)
	as, _ = s.ListAcks(ctx, herald.DeliveryFilter{})
	wantDiff(t, "ListAcks after a batch", []herald.Ack{a}, as)
}

// testLedgerDefaultLimits: a filter without a limit returns the newest 100
// connections, and the oldest 1000 deliveries and acks.
func testLedgerDefaultLimits(t *testing.T, s herald.Store) {
	ctx := t.Context()
	for i := range 101 {
		createConnections(t, s, herald.Connection{ID: herald.ConnectionID(fmt.Sprintf("c_%03d", i)),
			UserID: "u_a", OpenedAt: at(i)})
	}
	cs, err := s.ListConnections(ctx, herald.ConnectionFilter{})
	if err != nil {
		t.Fatalf("ListConnections: got error %v, want nil", err)
	}
	if len(cs) != 100 || cs[0].ID != "c_100" || cs[99].ID != "c_001" {
		t.Errorf("ListConnections without a limit: got %d rows, want the newest 100 (c_100 to c_001)", len(cs))
	}

	const n = 1001
	ds := make([]herald.Delivery, n)
	as := make([]herald.Ack, n)
	for i := range n {
		ds[i] = run("u_a", "t_a", "c_a", herald.Seq(i+1), herald.Seq(i+1), i)
		as[i] = herald.Ack{UserID: "u_a", ThreadID: "t_a", ConnectionID: "c_a", Seq: herald.Seq(i + 1), At: at(i)}
	}
	recordDeliveries(t, s, ds...)
	recordAcks(t, s, as...)
	gotDs, err := s.ListDeliveries(ctx, herald.DeliveryFilter{User: "u_a", Thread: "t_a"})
	if err != nil {
		t.Fatalf("ListDeliveries: got error %v, want nil", err)
	}
	if len(gotDs) != 1000 || gotDs[0].FromSeq != 1 || gotDs[999].FromSeq != 1000 {
		t.Errorf("ListDeliveries without a limit: got %d rows, want the oldest 1000 (from 1 to 1000)", len(gotDs))
	}
	gotAs, err := s.ListAcks(ctx, herald.DeliveryFilter{User: "u_a", Thread: "t_a"})
	if err != nil {
		t.Fatalf("ListAcks: got error %v, want nil", err)
	}
	if len(gotAs) != 1000 || gotAs[0].Seq != 1 || gotAs[999].Seq != 1000 {
		t.Errorf("ListAcks without a limit: got %d rows, want the oldest 1000 (seq 1 to 1000)", len(gotAs))
	}
}

// testLedgerConcurrent: ledger batches from concurrent callers (every
// connection of a node records its own) all land, whole.
func testLedgerConcurrent(t *testing.T, s herald.Store) {
	const writers, batches, size = 4, 5, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches*2)
	for w := range writers {
		wg.Go(func() {
			conn := herald.ConnectionID(fmt.Sprintf("c_%d", w))
			for b := range batches {
				var ds []herald.Delivery
				var as []herald.Ack
				for i := range size {
					seq := herald.Seq(b*size + i + 1)
					ds = append(ds, run("u_a", "t_a", conn, seq, seq, int(seq)))
					as = append(as, herald.Ack{UserID: "u_a", ThreadID: "t_a", ConnectionID: conn, Seq: seq, At: at(int(seq))})
				}
				errs <- s.RecordDeliveries(t.Context(), ds)
				errs <- s.RecordAcks(t.Context(), as)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a concurrent batch: got error %v, want nil", err)
		}
	}
	ds, err := s.ListDeliveries(t.Context(), herald.DeliveryFilter{})
	if err != nil || len(ds) != writers*batches*size {
		t.Errorf("ListDeliveries after concurrent batches: got %d rows and error %v, want %d and nil", len(ds), err, writers*batches*size)
	}
	as, err := s.ListAcks(t.Context(), herald.DeliveryFilter{})
	if err != nil || len(as) != writers*batches*size {
		t.Errorf("ListAcks after concurrent batches: got %d rows and error %v, want %d and nil", len(as), err, writers*batches*size)
	}
}
