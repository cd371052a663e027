package hub

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
)

// brokenLedger refuses every ledger write.
type brokenLedger struct{ benchLedger }

func (brokenLedger) RecordDeliveries(context.Context, []herald.Delivery) error {
	return errors.New("disk full")
}
func (brokenLedger) RecordAcks(context.Context, []herald.Ack) error { return errors.New("disk full") }

// Ledger rows the store refuses are evidence lost: counted with the time
// of the first loss, for the doctor's reports to say so (nothing dropped
// silently).
func TestLostLedgerRowsCounted(t *testing.T) {
	clock := clocktest.New(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC))
	r := newRecorder(brokenLedger{}, clock, time.Hour, slog.New(slog.DiscardHandler), herald.NoObserver{})
	defer r.close()
	h := &Hub{rec: r}
	if n, _ := h.LostLedgerRows(); n != 0 {
		t.Fatalf("before any write: %d lost", n)
	}
	r.deliveries(herald.Delivery{UserID: "u", ThreadID: "t", ConnectionID: "c", FromSeq: 1, ToSeq: 2})
	r.ack(herald.Ack{UserID: "u", ThreadID: "t", ConnectionID: "c", Seq: 2})
	r.ack(herald.Ack{UserID: "u", ThreadID: "t", ConnectionID: "c", Seq: 3})
	r.sync()
	clock.Advance(time.Minute)
	r.deliveries(herald.Delivery{UserID: "u", ThreadID: "t", ConnectionID: "c", FromSeq: 4, ToSeq: 4})
	r.sync()
	n, since := h.LostLedgerRows()
	if n != 4 || !since.Equal(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("LostLedgerRows: %d since %v, want 4 since the first loss at 09:00", n, since)
	}
}
