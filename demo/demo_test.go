package demo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/heraldtest"
	"github.com/herald-chat/herald/wire"
)

// TestScenariosAgainstServer runs every scenario against a server in this
// process and checks that each injected fault was diagnosed as itself:
// the status and the cause the doctor names first. token-expired cannot
// be reproduced on a server whose tokens live at least 60 minutes, and
// must say so rather than match or fail.
func TestScenariosAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every scenario against a server")
	}
	srv := heraldtest.Start(t, heraldtest.Options{})
	admin := client.NewAdmin(srv.URL, heraldtest.AdminKey)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := CheckScratch(ctx, admin, srv.URL); err != nil {
		t.Fatalf("CheckScratch on a new server: %v", err)
	}
	all, err := Pick("all")
	if err != nil {
		t.Fatal(err)
	}
	r := New(admin, srv.URL, false)
	var trials []*Trial
	for _, s := range all {
		t.Run(s.Name, func(t *testing.T) {
			tr := r.Try(ctx, s)
			trials = append(trials, tr)
			if tr.Scenario != s.Name || tr.Injected != s.Injected || len(tr.Steps) == 0 {
				t.Errorf("got trial %q (%q) with %d steps, want %q and its steps", tr.Scenario, tr.Injected, len(tr.Steps), s.Name)
			}
			if tr.Error != "" {
				t.Fatalf("failed: %s\nsteps: %q", tr.Error, tr.Steps)
			}
			if s.Name == "token-expired" {
				if tr.NotReproduced == "" || tr.Matched || len(tr.Diagnoses) != 0 {
					t.Errorf("got matched=%v, %d diagnoses, notReproduced %q; want it reported as not reproduced",
						tr.Matched, len(tr.Diagnoses), tr.NotReproduced)
				}
				return
			}
			if !tr.Matched || len(tr.Diagnoses) == 0 {
				t.Errorf("not matched: %+v", tr)
			}
			for _, dg := range tr.Diagnoses {
				if dg.Report == nil || !dg.Matched || dg.Report.Status != dg.Want.Status || dg.Report.Cause != dg.Want.Cause {
					t.Errorf("%s: got %+v, want %s", dg.Label, dg.Report, dg.Want)
				}
				if dg.Query.User == "" || dg.Query.Thread == "" {
					t.Errorf("%s: got query %+v, want the user and thread asked about", dg.Label, dg.Query)
				}
			}
		})
	}
	tally := Count(trials)
	if tally.Matched != len(all)-1 || tally.Reproduced != len(all)-1 || len(tally.Failed) != 0 ||
		strings.Join(tally.Skipped, ",") != "token-expired" {
		t.Errorf("got tally %+v, want %d of %d matched and token-expired skipped", tally, len(all)-1, len(all)-1)
	}
	// The server holds the demo's messages now: it is no scratch server.
	if err := CheckScratch(ctx, admin, srv.URL); err == nil || !strings.Contains(err.Error(), "already holds messages") {
		t.Errorf("CheckScratch after the demo: got %v, want the scratch-server advice", err)
	}
}

func TestPick(t *testing.T) {
	all, err := Pick("all")
	if err != nil || len(all) != 11 || all[0].Name != "healthy" || all[10].Name != "history-not-shared" {
		t.Fatalf("Pick(all): got %d scenarios (%v), want the 11 in the playbook's order", len(all), err)
	}
	all[0].Name = "changed"
	if again, _ := Pick("all"); again[0].Name != "healthy" {
		t.Error("Pick(all) handed out the package's own list: a caller changed it")
	}
	one, err := Pick("slow-consumer")
	if err != nil || len(one) != 1 || one[0].Name != "slow-consumer" || one[0].Injected == "" {
		t.Errorf("Pick(slow-consumer): got %+v, %v", one, err)
	}
	if _, err := Pick("token-expiry"); err == nil || !strings.Contains(err.Error(), "the scenarios are: all, healthy, token-expired,") {
		t.Errorf("Pick(token-expiry): got %v, want the list of scenarios", err)
	}
}

func TestExpectAndVerdict(t *testing.T) {
	acked := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	removed := &wire.DoctorReport{Status: "not_delivered", Cause: wire.CheckParticipantRemove,
		Findings: []wire.DoctorFinding{{Check: wire.CheckTokenRevoked, Tag: wire.TagObserved},
			{Check: wire.CheckParticipantRemove, Tag: wire.TagObserved, Mitigation: "add them back"}}}
	delivered := &wire.DoctorReport{Status: "delivered", Delivered: &wire.DoctorDelivery{AckedAt: &acked}}
	tests := []struct {
		want    Expect
		r       *wire.DoctorReport
		met     bool
		verdict string
	}{
		{Expect{Status: "not_delivered", Cause: wire.CheckParticipantRemove}, removed, true, "participant_removed [Observed]"},
		{Expect{Status: "not_delivered", Cause: wire.CheckTokenRevoked}, removed, false, "participant_removed [Observed]"},
		{Expect{Status: "delivered", Acked: true}, delivered, true, "delivered and acknowledged"},
		{Expect{Status: "delivered", Acked: true}, &wire.DoctorReport{Status: "delivered"}, false, "delivered"},
	}
	for _, tt := range tests {
		if got := tt.want.Met(tt.r); got != tt.met {
			t.Errorf("%s met by %s: got %v, want %v", tt.want, Verdict(tt.r), got, tt.met)
		}
		if got := Verdict(tt.r); got != tt.verdict {
			t.Errorf("Verdict: got %q, want %q", got, tt.verdict)
		}
	}
	if f := CauseOf(removed); f == nil || f.Mitigation != "add them back" {
		t.Errorf("CauseOf: got %+v, want the participant_removed finding", f)
	}
	if f := CauseOf(delivered); f != nil {
		t.Errorf("CauseOf a clean delivery: got %+v, want nil", f)
	}
}

func TestCount(t *testing.T) {
	got := Count([]*Trial{
		{Scenario: "healthy", Matched: true},
		{Scenario: "token-expired", NotReproduced: "tokens live 60 minutes"},
		{Scenario: "slow-consumer"},
		{Scenario: "websocket-blocked", NotReproduced: "x", Error: "doctor: 500"},
	})
	if got.Matched != 1 || got.Reproduced != 3 || strings.Join(got.Failed, ",") != "slow-consumer,websocket-blocked" ||
		strings.Join(got.Skipped, ",") != "token-expired" {
		t.Errorf("got %+v", got)
	}
}
