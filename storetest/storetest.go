package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/herald-chat/herald"
)

// Run runs the conformance suite against the engine open opens. Every
// subtest calls open once with its own *testing.T and must get a fresh,
// empty store, which open arranges to close (for example with t.Cleanup).
// Subtests run in parallel, so open may be called concurrently.
func Run(t *testing.T, open func(t *testing.T) herald.Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s herald.Store)
	}{
		{"GetMissing", testGetMissing},
		{"Identity", testIdentity},
		{"DeleteIdentity", testDeleteIdentity},
		{"Token", testToken},
		{"RevokeTokens", testRevokeTokens},
		{"UpdateError", testUpdateError},
		{"UpdateErrorFromStore", testUpdateErrorFromStore},
		{"UpdatePanic", testUpdatePanic},
		{"UpdatesIsolated", testUpdatesIsolated},
		{"ReadYourWrites", testReadYourWrites},
		{"Thread", testThread},
		{"ThreadByRequest", testThreadByRequest},
		{"UpdateThread", testUpdateThread},
		{"NextSeq", testNextSeq},
		{"NextSeqRollback", testNextSeqRollback},
		{"NextSeqConcurrent", testNextSeqConcurrent},
		{"LockThread", testLockThread},
		{"ListThreads", testListThreads},
		{"Memberships", testMemberships},
		{"Participants", testParticipants},
		{"Roster", testRoster},
		{"ReadReceipts", testReadReceipts},
		{"MissingThread", testMissingThread},
		{"Message", testMessage},
		{"MessageConflicts", testMessageConflicts},
		{"UpdateMessage", testUpdateMessage},
		{"ListMessages", testListMessages},
		{"Events", testEvents},
		{"LimitRequired", testLimitRequired},
		{"Requests", testRequests},
		{"RequestsDefaultLimit", testRequestsDefaultLimit},
		{"Connection", testConnection},
		{"UpdateConnection", testUpdateConnection},
		{"ListConnections", testListConnections},
		{"Deliveries", testDeliveries},
		{"ListDeliveries", testListDeliveries},
		{"Acks", testAcks},
		{"LedgerEmpty", testLedgerEmpty},
		{"LedgerDefaultLimits", testLedgerDefaultLimits},
		{"LedgerConcurrent", testLedgerConcurrent},
		{"PruneEvidence", testPrune},
		{"LogRequests", testLogRequests},
		{"SigningKeys", testSigningKeys},
		{"SigningKeyRace", testSigningKeyRace},
		{"AdminKey", testAdminKey},
		{"Tickets", testTickets},
		{"AccessKeys", testAccessKeys},
		{"SearchPeople", testSearchPeople},
		{"Webhooks", testWebhooks},
		{"WebhookDeliveries", testWebhookDeliveries},
		{"WebhookClaimConcurrent", testWebhookClaimConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, open(t))
		})
	}
}

// epoch is the suite's time origin; every time the suite writes is a whole
// number of milliseconds after it, in UTC, which every engine round-trips.
var epoch = time.Date(2025, time.March, 1, 12, 0, 0, 0, time.UTC)

// at returns the time ms milliseconds after the epoch.
func at(ms int) time.Time { return epoch.Add(time.Duration(ms) * time.Millisecond) }

// update runs fn in an Update and fails the test if it returns an error.
func update(tb testing.TB, s herald.Store, fn func(herald.Tx) error) {
	tb.Helper()
	if err := s.Update(tb.Context(), fn); err != nil {
		tb.Fatalf("Update: got error %v, want nil", err)
	}
}

// wantErr fails the test unless err is (or wraps) the store error want and
// carries its code.
func wantErr(tb testing.TB, op string, err error, want *herald.Error) {
	tb.Helper()
	if !errors.Is(err, want) || herald.ErrorCode(err) != want.Code {
		tb.Errorf("%s: got error %v (code %q), want %s", op, err, herald.ErrorCode(err), want.Code)
	}
}

// equal is how the suite compares values. Nil and empty slices and maps
// are equal, and JSON compares by value, not text: the suite does not pin
// which an engine returns (PostgreSQL's jsonb reorders keys, for example).
var equal = []cmp.Option{
	cmpopts.EquateEmpty(),
	cmp.FilterValues(func(x, y json.RawMessage) bool { return len(x) > 0 || len(y) > 0 },
		cmp.Transformer("JSON", func(raw json.RawMessage) any {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return string(raw) // not JSON: compare the text
			}
			return v
		})),
}

// wantDiff fails the test if got differs from want.
func wantDiff(tb testing.TB, op string, want, got any) {
	tb.Helper()
	if diff := cmp.Diff(want, got, equal...); diff != "" {
		tb.Errorf("%s mismatch (-want +got):\n%s", op, diff)
	}
}

// createIdentities stores identities with the given ids, created at the epoch.
func createIdentities(tb testing.TB, s herald.Store, ids ...herald.UserID) {
	tb.Helper()
	update(tb, s, func(tx herald.Tx) error {
		for _, id := range ids {
			if err := tx.CreateIdentity(tb.Context(), herald.Identity{ID: id, CreatedAt: epoch}); err != nil {
				return err
			}
		}
		return nil
	})
}

// newThread returns a thread as the service would create it at ms.
func newThread(id herald.ThreadID, creator herald.UserID, ms int) herald.Thread {
	return herald.Thread{
		ID:        id,
		Topic:     "topic of " + string(id),
		Metadata:  map[string]string{"kind": "test"},
		CreatedBy: creator,
		CreatedAt: at(ms),
		UpdatedAt: at(ms),
	}
}

// createThreads stores threads with no repeatability id.
func createThreads(tb testing.TB, s herald.Store, ths ...herald.Thread) {
	tb.Helper()
	update(tb, s, func(tx herald.Tx) error {
		for _, th := range ths {
			if err := tx.CreateThread(tb.Context(), th, "", ""); err != nil {
				return err
			}
		}
		return nil
	})
}

// member returns a current participant of thread added by event seq.
func member(thread herald.ThreadID, user herald.UserID, seq herald.Seq) herald.Participant {
	return herald.Participant{
		ThreadID:    thread,
		UserID:      user,
		DisplayName: "name of " + string(user),
		AddedAt:     at(int(seq) * 1000),
		AddedBy:     "u_creator",
		AddedSeq:    seq,
	}
}

// putParticipants stores ps in one Update.
func putParticipants(tb testing.TB, s herald.Store, ps ...herald.Participant) {
	tb.Helper()
	update(tb, s, func(tx herald.Tx) error {
		for _, p := range ps {
			if err := tx.PutParticipant(tb.Context(), p); err != nil {
				return err
			}
		}
		return nil
	})
}

// sendMessages sends n text messages from sender to thread in one Update,
// the i-th (from 0) created at ms + i*1000, each with its Seq from NextSeq
// and its event. It returns them in Seq order.
func sendMessages(tb testing.TB, s herald.Store, thread herald.ThreadID, sender herald.UserID, n, ms int) []herald.Message {
	tb.Helper()
	var sent []herald.Message
	update(tb, s, func(tx herald.Tx) error {
		sent = sent[:0]
		for i := range n {
			created := at(ms + i*1000)
			h, err := tx.NextSeq(tb.Context(), thread, created, true)
			if err != nil {
				return err
			}
			seq := h.Seq
			m := herald.Message{
				ID:                herald.MessageID(fmt.Sprintf("m_%s_%d", thread, seq)),
				ThreadID:          thread,
				Seq:               seq,
				Type:              herald.MessageText,
				SenderID:          sender,
				SenderDisplayName: "name of " + string(sender),
				Content:           fmt.Sprintf("message %d", seq),
				CreatedAt:         created,
				Version:           1,
			}
			if err := tx.CreateMessage(tb.Context(), m); err != nil {
				return err
			}
			e := herald.Event{ThreadID: thread, Seq: seq, Type: herald.EventMessageReceived,
				MessageID: m.ID, Actor: sender, At: created}
			if err := tx.AppendEvent(tb.Context(), e); err != nil {
				return err
			}
			sent = append(sent, m)
		}
		return nil
	})
	return sent
}

// ids returns the key of each element of vs, to compare orders and subsets.
func ids[T, K any](vs []T, key func(T) K) []K {
	out := make([]K, 0, len(vs))
	for _, v := range vs {
		out = append(out, key(v))
	}
	return out
}

func messageSeq(m herald.Message) herald.Seq             { return m.Seq }
func eventSeq(e herald.Event) herald.Seq                 { return e.Seq }
func threadID(t herald.Thread) herald.ThreadID           { return t.ID }
func participantUser(p herald.Participant) herald.UserID { return p.UserID }
func receiptUser(r herald.ReadReceipt) herald.UserID     { return r.UserID }
func requestID(r herald.Request) string                  { return r.RequestID }
