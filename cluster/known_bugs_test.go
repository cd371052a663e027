package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herald-chat/herald/wire"
)

// TestNoWriteAfterRemovalOrDeletion sends into a thread from 16
// goroutines on two nodes while the owner, through a third, removes one
// sender and then deletes the thread. Nothing the removed sender sends may
// get a Seq after its removal, and nothing may get a Seq after the
// deletion: both are the last word for that user, and for the thread.
func TestNoWriteAfterRemovalOrDeletion(t *testing.T) {
	pg, natsURL := testPostgres(t), testNATS(t)
	c := startCluster(t, clusterConfig{nodes: 3, postgres: pg, nats: natsURL})
	admin := c.admin(0)
	owner := mustNewMember(t, c, admin, 0)
	var senders []*member
	for i := range 4 {
		senders = append(senders, mustNewMember(t, c, admin, 1+i%2))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db := c.db(t)
	for round := range 5 {
		th := mustNewThread(t, append([]*member{owner}, senders...), fmt.Sprintf("round %d", round))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for si, s := range senders {
			for g := range 4 {
				wg.Go(func() {
					for k := range 2000 {
						select {
						case <-stop:
							return
						default:
						}
						s.send.SendMessage(ctx, th, wire.SendMessageRequest{Content: fmt.Sprintf("%d-%d-%d", si, g, k)}, "")
					}
				})
			}
		}
		time.Sleep(150 * time.Millisecond)
		if err := owner.send.RemoveParticipant(ctx, th, senders[0].id); err != nil {
			t.Fatalf("remove: %v", err)
		}
		time.Sleep(150 * time.Millisecond)
		if err := owner.send.DeleteThread(ctx, th); err != nil {
			t.Fatalf("delete: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
		close(stop)
		wg.Wait()
		var removedAt, deletedAt, last, late int64
		if err := db.QueryRow(ctx, `SELECT removed_seq FROM participants WHERE thread_id = $1 AND user_id = $2`, th, senders[0].id).Scan(&removedAt); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(ctx, `SELECT seq FROM events WHERE thread_id = $1 AND type = 'chatThreadDeleted'`, th).Scan(&deletedAt); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(ctx, `SELECT last_seq FROM threads WHERE id = $1`, th).Scan(&last); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(ctx, `SELECT count(*) FROM messages WHERE thread_id = $1 AND sender_id = $2 AND seq > $3`, th, senders[0].id, removedAt).Scan(&late); err != nil {
			t.Fatal(err)
		}
		if late > 0 {
			t.Errorf("round %d: %d messages of the sender removed at Seq %d have a later Seq", round, late, removedAt)
		}
		if last != deletedAt {
			t.Errorf("round %d: thread deleted at Seq %d, last Seq %d, want nothing after the deletion", round, deletedAt, last)
		}
	}
}
