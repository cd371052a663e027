package storetest

import (
	"testing"

	"github.com/herald-chat/herald"
)

func testSearchPeople(t *testing.T, s herald.Store) {
	ctx := t.Context()
	update(t, s, func(tx herald.Tx) error {
		for _, id := range []herald.Identity{
			{ID: "u_me", DisplayName: "Me", CreatedAt: epoch},
			{ID: "u_carol", DisplayName: "Carol Jones", CreatedAt: epoch},
			{ID: "u_cass", CreatedAt: epoch},
			{ID: "u_gone", DisplayName: "Carl Gone", CreatedAt: epoch, DeletedAt: at(1)},
			{ID: "u_stranger", DisplayName: "Cara Stranger", CreatedAt: epoch},
			{ID: "u_pct", DisplayName: "C%rl", CreatedAt: epoch},
		} {
			if err := tx.CreateIdentity(ctx, id); err != nil {
				return err
			}
		}
		return nil
	})
	createThreads(t, s, newThread("t_1", "u_me", 0), newThread("t_2", "u_me", 0), newThread("t_3", "u_stranger", 0))
	cass := member("t_2", "u_cass", 2)
	cass.DisplayName = "Cassie" // a participant name where the identity has none
	left := member("t_2", "u_me", 1)
	left.RemovedAt, left.RemovedBy, left.RemovedSeq = at(9), "u_me", 9 // shared once: still found
	putParticipants(t, s, member("t_1", "u_me", 1), member("t_1", "u_carol", 2), member("t_1", "u_gone", 3), member("t_1", "u_pct", 4),
		left, cass, member("t_2", "u_carol", 3), member("t_3", "u_stranger", 1))

	for _, tc := range []struct {
		prefix string
		limit  int
		want   []herald.Person
	}{
		{"ca", 10, []herald.Person{{ID: "u_carol", DisplayName: "Carol Jones"}, {ID: "u_cass", DisplayName: "Cassie"}}},
		{"CAROL", 10, []herald.Person{{ID: "u_carol", DisplayName: "Carol Jones"}}},
		{"c", 1, []herald.Person{{ID: "u_pct", DisplayName: "C%rl"}}},
		{"c%", 10, []herald.Person{{ID: "u_pct", DisplayName: "C%rl"}}}, // % is a character, not a wildcard
		{"me", 10, nil},   // not oneself
		{"cara", 10, nil}, // a stranger: no shared thread
		{"carl", 10, nil}, // deleted
		{"zz", 10, nil},
	} {
		got, err := s.SearchPeople(ctx, "u_me", tc.prefix, tc.limit)
		if err != nil {
			t.Fatalf("SearchPeople(%q): %v", tc.prefix, err)
		}
		wantDiff(t, "SearchPeople("+tc.prefix+")", tc.want, got)
	}

	// The directory: named, live identities by name prefix.
	for _, tc := range []struct {
		prefix string
		limit  int
		want   []herald.UserID
	}{
		{"car", 10, []herald.UserID{"u_stranger", "u_carol"}},
		{"", 10, []herald.UserID{"u_pct", "u_stranger", "u_carol", "u_me"}},
		{"", 2, []herald.UserID{"u_pct", "u_stranger"}},
		{"cass", 10, nil}, // the identity has no name (only a participation does)
	} {
		is, err := s.ListIdentities(ctx, tc.prefix, tc.limit)
		if err != nil {
			t.Fatalf("ListIdentities(%q): %v", tc.prefix, err)
		}
		var got []herald.UserID
		for _, i := range is {
			got = append(got, i.ID)
		}
		wantDiff(t, "ListIdentities("+tc.prefix+")", tc.want, got)
	}
}
