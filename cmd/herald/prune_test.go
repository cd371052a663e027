package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/herald-chat/herald/clocktest"
)

// cutoffs records the cutoffs PruneEvidence is called with.
type cutoffs chan time.Time

func (c cutoffs) PruneEvidence(_ context.Context, before time.Time) (int64, error) {
	c <- before
	return 0, nil
}

// TestPruneFollowsTheClock: evidence is pruned at start and then every hour
// of the injected clock, always at now minus the retention period.
func TestPruneFollowsTheClock(t *testing.T) {
	start := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	clk := clocktest.New(start)
	got := make(cutoffs, 10)
	stop := prune(got, clk, 30*24*time.Hour, slog.New(slog.DiscardHandler))
	defer stop()
	next := func() time.Time {
		t.Helper()
		select {
		case c := <-got:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("no prune within 10 s")
			return time.Time{}
		}
	}
	if c, want := next(), start.AddDate(0, 0, -30); !c.Equal(want) {
		t.Errorf("first prune: got cutoff %v, want %v", c, want)
	}
	for i := 1; i <= 2; i++ {
		if !clk.WaitTimers(1, 10*time.Second) {
			t.Fatal("the pruner is not waiting for the next hour")
		}
		clk.Advance(59 * time.Minute)
		select {
		case c := <-got:
			t.Fatalf("pruned after 59 minutes (cutoff %v), want after an hour", c)
		default:
		}
		clk.Advance(time.Minute)
		if c, want := next(), start.Add(time.Duration(i)*time.Hour).AddDate(0, 0, -30); !c.Equal(want) {
			t.Errorf("prune %d: got cutoff %v, want %v", i, c, want)
		}
	}
}
