package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/service"
)

// An identity's display name is the default name of its participations,
// and a participant's of the messages they send; names given explicitly
// win (issue 17: names everywhere, not ids).
func TestIdentityNamesAreTheDefaults(t *testing.T) {
	svc, _ := benchService(t)
	ctx := context.Background()
	named := func(name string) service.Caller {
		id, tok, err := svc.CreateIdentity(ctx, service.NewIdentity{DisplayName: name, Scopes: []herald.Scope{herald.ScopeChat}})
		if err != nil {
			t.Fatal(err)
		}
		if id.DisplayName != name {
			t.Fatalf("CreateIdentity: display name %q, want %q", id.DisplayName, name)
		}
		if got, _ := svc.GetIdentity(ctx, id.ID); got.DisplayName != name {
			t.Fatalf("GetIdentity: display name %q, want %q", got.DisplayName, name)
		}
		return service.Caller{User: id.ID, Token: tok.Token}
	}
	alice, bob, carol := named("Alice"), named("Bob"), named("Carol")
	th, refused, err := svc.CreateThread(ctx, alice, service.NewThread{Topic: "names",
		Participants: []service.NewParticipant{{User: bob.User}, {User: carol.User, DisplayName: "Caz"}}})
	if err != nil || len(refused) > 0 {
		t.Fatalf("CreateThread: %v %v", err, refused)
	}
	ps, err := svc.ListParticipants(ctx, alice, th.ID, herald.Page{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[herald.UserID]string{}
	for _, p := range ps {
		names[p.UserID] = p.DisplayName
	}
	if names[alice.User] != "Alice" || names[bob.User] != "Bob" || names[carol.User] != "Caz" {
		t.Errorf("participants' names: %v, want Alice and Bob from their identities, Caz as given", names)
	}
	m, err := svc.SendMessage(ctx, bob, th.ID, service.NewMessage{Content: "hi"})
	if err != nil || m.SenderDisplayName != "Bob" {
		t.Errorf("a message sent without senderDisplayName: %q, %v; want Bob", m.SenderDisplayName, err)
	}
	m, err = svc.SendMessage(ctx, bob, th.ID, service.NewMessage{Content: "hi", SenderDisplayName: "Robert"})
	if err != nil || m.SenderDisplayName != "Robert" {
		t.Errorf("a message sent with senderDisplayName Robert: %q, %v", m.SenderDisplayName, err)
	}

	_, _, err = svc.CreateIdentity(ctx, service.NewIdentity{DisplayName: strings.Repeat("n", 257)})
	if e, ok := err.(*herald.Error); !ok || e.Reason != herald.ReasonInvalidField || e.Target != "displayName" {
		t.Errorf("a 257-byte display name: %v, want invalid_field on displayName", err)
	}
}

// A strict creation (the chat page's) with one bad participant creates
// nothing and names every refused participant; without strict, ACS's
// behaviour: created, the refused listed.
func TestStrictCreationCreatesNothing(t *testing.T) {
	svc, _ := benchService(t)
	ctx := context.Background()
	alice, bob := mustCaller(t, svc), mustCaller(t, svc)
	_, _, err := svc.CreateThread(ctx, alice, service.NewThread{Topic: "strict", Strict: true,
		Participants: []service.NewParticipant{{User: bob.User}, {User: "u_nobody"}}})
	e, ok := err.(*herald.Error)
	if !ok || e.Reason != herald.ReasonInvalidField || e.Target != "participants" || !strings.Contains(e.Message, "u_nobody (identity_not_found") {
		t.Fatalf("strict creation with u_nobody: %v, want invalid_field on participants naming u_nobody", err)
	}
	for _, c := range []service.Caller{alice, bob} {
		if ts, err := svc.ListThreads(ctx, c, herald.ThreadFilter{}); err != nil || len(ts) != 0 {
			t.Errorf("threads of %s after a refused strict creation: %d, %v; want none", c.User, len(ts), err)
		}
	}
	th, refused, err := svc.CreateThread(ctx, alice, service.NewThread{Topic: "lenient",
		Participants: []service.NewParticipant{{User: bob.User}, {User: "u_nobody"}}})
	if err != nil || th.ID == "" || len(refused) != 1 || refused[0].User != "u_nobody" {
		t.Errorf("lenient creation: %v, %v, %v; want the thread, u_nobody refused", th.ID, refused, err)
	}
}

// The people picker finds, by name, only people the caller shares a
// thread with.
func TestSearchPeople(t *testing.T) {
	svc, _ := benchService(t)
	ctx := context.Background()
	named := func(name string) service.Caller { return namedCaller(t, svc, name) }
	alice, carol := named("Alice"), named("Carol")
	named("Caroline Stranger")
	if _, _, err := svc.CreateThread(ctx, alice, service.NewThread{Topic: "x", Participants: []service.NewParticipant{{User: carol.User}}}); err != nil {
		t.Fatal(err)
	}
	ps, err := svc.SearchPeople(ctx, alice, "car", 0)
	if err != nil || len(ps) != 1 || ps[0].ID != carol.User || ps[0].DisplayName != "Carol" {
		t.Errorf("Alice searching car: %+v, %v; want Carol only (Caroline shares no thread)", ps, err)
	}
	for _, tc := range []struct {
		q      string
		limit  int
		reason herald.Reason
	}{
		{"", 0, herald.ReasonMissingField},
		{strings.Repeat("x", 65), 0, herald.ReasonInvalidField},
		{"c", 51, herald.ReasonInvalidPageSize},
		{"c", -1, herald.ReasonInvalidPageSize},
	} {
		if _, err := svc.SearchPeople(ctx, alice, tc.q, tc.limit); herald.ErrorReason(err) != tc.reason {
			t.Errorf("SearchPeople(%q, %d): %v, want %s", tc.q, tc.limit, err, tc.reason)
		}
	}
	// The admin's directory lists every named identity, within the same page bounds.
	if is, err := svc.Directory(ctx, "Car", 0); err != nil || len(is) != 2 {
		t.Errorf("Directory(Car): %+v, %v; want Carol and Caroline Stranger", is, err)
	}
	for _, tc := range []struct {
		q      string
		limit  int
		reason herald.Reason
	}{
		{strings.Repeat("x", 65), 0, herald.ReasonInvalidField},
		{"", 51, herald.ReasonInvalidPageSize},
		{"", -1, herald.ReasonInvalidPageSize},
	} {
		if _, err := svc.Directory(ctx, tc.q, tc.limit); herald.ErrorReason(err) != tc.reason {
			t.Errorf("Directory(%q, %d): %v, want %s", tc.q, tc.limit, err, tc.reason)
		}
	}
}

// namedCaller creates an identity with a display name and a chat token.
func namedCaller(t *testing.T, svc *service.Service, name string) service.Caller {
	t.Helper()
	id, tok, err := svc.CreateIdentity(context.Background(), service.NewIdentity{DisplayName: name, Scopes: []herald.Scope{herald.ScopeChat}})
	if err != nil {
		t.Fatal(err)
	}
	return service.Caller{User: id.ID, Token: tok.Token}
}
