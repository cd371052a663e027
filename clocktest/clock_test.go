package clocktest

import (
	"testing"
	"time"

	"github.com/herald-chat/herald"
)

var start = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fired(t herald.Timer) bool {
	select {
	case <-t.C():
		return true
	default:
		return false
	}
}

func TestAdvanceFiresDueTimers(t *testing.T) {
	c := New(start)
	early, late := c.NewTimer(time.Second), c.NewTimer(time.Minute)
	if got := c.Timers(); got != 2 {
		t.Fatalf("got %d armed timers, want 2", got)
	}
	c.Advance(999 * time.Millisecond)
	if fired(early) || fired(late) {
		t.Fatal("a timer fired before its deadline")
	}
	c.Advance(time.Millisecond)
	if !fired(early) {
		t.Error("the 1 s timer did not fire at 1 s")
	}
	if fired(late) {
		t.Error("the 1 min timer fired at 1 s")
	}
	if got, want := c.Now(), start.Add(time.Second); !got.Equal(want) {
		t.Errorf("got now %v, want %v", got, want)
	}
	if !late.Stop() {
		t.Error("Stop of an armed timer: got false, want true")
	}
	c.Advance(time.Hour)
	if fired(late) {
		t.Error("a stopped timer fired")
	}
	if got := c.Timers(); got != 0 {
		t.Errorf("got %d armed timers, want 0", got)
	}
}

func TestSetBackFiresNothing(t *testing.T) {
	c := New(start)
	tm := c.NewTimer(time.Second)
	c.Set(start.AddDate(-3, 0, 0))
	if fired(tm) {
		t.Fatal("moving the clock back fired a timer")
	}
	c.Set(start.Add(time.Second))
	if !fired(tm) {
		t.Error("moving the clock to the deadline did not fire the timer")
	}
}

func TestZeroTimerFiresAtOnce(t *testing.T) {
	c := New(start)
	if tm := c.NewTimer(0); !fired(tm) {
		t.Error("a zero timer did not fire at once")
	}
}

func TestRealTimers(t *testing.T) {
	c := New(start, RealTimers())
	tm := c.NewTimer(time.Millisecond)
	select {
	case at := <-tm.C():
		if !at.Equal(start) {
			t.Errorf("a real-time firing carried %v, want the clock's time %v", at, start)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a 1 ms real timer did not fire within 10 s")
	}
	if !c.Now().Equal(start) {
		t.Errorf("real time moved the wall clock: got %v, want %v", c.Now(), start)
	}
}

func TestWaitTimers(t *testing.T) {
	c := New(start)
	go c.NewTimer(time.Hour)
	if !c.WaitTimers(1, 10*time.Second) {
		t.Fatal("WaitTimers did not see the timer armed by another goroutine")
	}
	if c.WaitTimers(2, time.Millisecond) {
		t.Error("WaitTimers reported 2 timers while 1 is armed")
	}
}
