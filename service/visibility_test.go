package service_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/service"
)

// TestVisibilityPathsAgree (issue 16) generates membership histories —
// adds with and without a shareHistoryTime (past, between messages, in the
// future), removals, re-adds, sends, on two nodes — and checks that the
// three paths that decide what a participant sees agree: the REST read
// (ListMessages), the resume (Replay) and the live push (the recipients
// of each send). For every message sent during a user's latest membership
// (ended by a removal or not), the three agree on whether the user sees
// it. (Messages from before that membership are history: the REST read
// shows them from the shareHistoryTime on; they were never pushed, and a
// resume starts at the add — by design, see docs/realtime.md.)
func TestVisibilityPathsAgree(t *testing.T) {
	forEngines(t, testVisibilityPathsAgree)
}

func testVisibilityPathsAgree(t *testing.T, storeA, storeB herald.Store) {
	a, b, clock := twoNodes(t, storeA, storeB)
	ctx := context.Background()
	const users, rounds, steps = 5, 3, 40
	for round := range rounds {
		rng := rand.New(rand.NewPCG(uint64(round), 16))
		owner := mustCaller(t, a.svc)
		others := make([]service.Caller, users)
		for i := range others {
			others[i] = mustCaller(t, a.svc)
		}
		th, _, err := a.svc.CreateThread(ctx, owner, service.NewThread{Topic: "v"})
		if err != nil {
			t.Fatal(err)
		}
		epoch := map[herald.UserID]int{owner.User: 1} // >0: a participant; +1 at every add
		type sent struct {
			id     herald.MessageID
			at     time.Time
			epochs map[herald.UserID]int // the participants' epochs at the send
			pushed []herald.UserID
		}
		var msgs []sent
		node := func() *node {
			if rng.IntN(2) == 0 {
				return a
			}
			return b
		}
		for range steps {
			clock.Advance(time.Second)
			u := others[rng.IntN(users)]
			switch op := rng.IntN(4); {
			case op == 0 && epoch[u.User] <= 0: // add, with some shareHistoryTime
				var share time.Time
				switch k := rng.IntN(4); {
				case k == 1 && len(msgs) > 0:
					share = msgs[rng.IntN(len(msgs))].at
				case k == 2 && len(msgs) > 0:
					share = msgs[rng.IntN(len(msgs))].at.Add(500 * time.Millisecond)
				case k == 3:
					share = clock.Now().Add(10 * time.Second)
				}
				if refused, err := node().svc.AddParticipants(ctx, owner, th.ID, []service.NewParticipant{{User: u.User, ShareHistoryTime: share}}); err != nil || len(refused) > 0 {
					t.Fatalf("add %s: %v %v", u.User, err, refused)
				}
				epoch[u.User] = -epoch[u.User] + 1
			case op == 1 && epoch[u.User] > 0: // remove
				if err := node().svc.RemoveParticipant(ctx, owner, th.ID, u.User); err != nil {
					t.Fatalf("remove %s: %v", u.User, err)
				}
				epoch[u.User] = -epoch[u.User]
			default: // a send by a current participant
				from := owner
				if epoch[u.User] > 0 && rng.IntN(2) == 0 {
					from = u
				}
				n := node()
				m, err := n.svc.SendMessage(ctx, from, th.ID, service.NewMessage{Content: "m"})
				if err != nil {
					t.Fatalf("send: %v", err)
				}
				s := sent{id: m.ID, at: m.CreatedAt, epochs: map[herald.UserID]int{}, pushed: n.lastRecipients()}
				for u, e := range epoch {
					if e > 0 {
						s.epochs[u] = e
					}
				}
				msgs = append(msgs, s)
			}
		}

		for _, c := range append([]service.Caller{owner}, others...) {
			if epoch[c.User] == 0 {
				continue // never a participant: both reads refuse
			}
			rest := map[herald.MessageID]bool{}
			list, err := a.svc.ListMessages(ctx, c, th.ID, service.MessageQuery{Oldest: true, Limit: 200})
			if err != nil {
				t.Fatalf("round %d: ListMessages as %s: %v", round, c.User, err)
			}
			for _, m := range list {
				rest[m.ID] = true
			}
			replay := map[herald.MessageID]bool{}
			cu, err := b.svc.Replay(ctx, c.User, th.ID, 0, 1000)
			if err != nil {
				t.Fatalf("round %d: Replay as %s: %v", round, c.User, err)
			}
			for _, s := range cu.Signals {
				if s.Message != nil {
					replay[s.Message.ID] = true
				}
			}
			cur := max(epoch[c.User], -epoch[c.User]) // the latest membership, current or ended
			for _, m := range msgs {
				if m.epochs[c.User] != cur {
					// Sent outside the latest membership: the REST read may
					// show it as history (shareHistoryTime), but it was never
					// pushed and a resume starts at the add.
					continue
				}
				pushed := slices.Contains(m.pushed, c.User)
				if rest[m.id] != replay[m.id] || pushed != rest[m.id] {
					t.Errorf("round %d, %s, message %s sent during their latest membership: REST shows it %v, replay %v, pushed %v; want all the same",
						round, c.User, m.id, rest[m.id], replay[m.id], pushed)
				}
			}
		}
	}
}
