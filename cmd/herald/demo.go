package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/herald-chat/herald/demo"
)

// DemoCmd is "demo": against a running server it reproduces each failure
// of the delivery playbook with real clients, asks the doctor about the
// message that went astray, and says whether the diagnosis names what was
// injected. It exits non-zero when one does not, so it doubles as a smoke
// test of the doctor. The scenarios live in package demo; this is the
// command line and the printing.
type DemoCmd struct {
	Scenario        string `default:"all" placeholder:"NAME" help:"Scenario to run, or all: healthy, token-expired, token-revoked, participant-removed, thread-deleted, websocket-blocked, app-not-listening, identity-deleted, slow-consumer, offline-then-resumed, history-not-shared."`
	Report          bool   `help:"Print the doctor's full report for every diagnosis."`
	WaitTokenExpiry bool   `name:"wait-token-expiry" help:"Reproduce token-expired for real: keep a connection open until its token expires (the server's minimum lifetime, 60 minutes)."`
	Yes             bool   `help:"Run even though the server already holds messages: the demo adds about 22 identities, 11 threads and 1,300 messages to it."`
}

// Run runs the scenarios one after the other, printing each as it ends
// (or all of them as JSON at the end with -o json).
func (c *DemoCmd) Run(g *Globals) error {
	picked, err := demo.Pick(c.Scenario)
	if err != nil {
		return err
	}
	a, err := g.admin()
	if err != nil {
		return err
	}
	if !c.Yes {
		if err := demo.CheckScratch(g.Context(), a, g.URL); err != nil {
			return err
		}
	}
	d := demo.New(a, g.URL, c.WaitTokenExpiry)
	var trials []*demo.Trial
	for i, s := range picked {
		t := d.Try(g.Context(), s)
		trials = append(trials, t)
		if g.Output != "json" {
			printTrial(g.stdout, i, len(picked), t, c.Report)
		}
		if g.Context().Err() != nil {
			break
		}
	}
	if g.Output == "json" {
		if err := emit(g, trials, nil); err != nil {
			return err
		}
	}
	return conclude(g, demo.Count(trials))
}

// conclude prints the tally and fails if a reproduced scenario's diagnosis
// did not match.
func conclude(g *Globals, t demo.Tally) error {
	if g.Output != "json" {
		fmt.Fprintf(g.stdout, "demo: %d of %d reproduced scenarios matched the doctor's diagnosis", t.Matched, t.Reproduced)
		if len(t.Skipped) > 0 {
			fmt.Fprintf(g.stdout, "; not reproduced: %s", strings.Join(t.Skipped, ", "))
		}
		fmt.Fprintln(g.stdout)
	}
	if len(t.Failed) > 0 {
		return fmt.Errorf("the diagnosis did not match what was injected in: %s", strings.Join(t.Failed, ", "))
	}
	return nil
}

// printTrial writes a trial compactly: the steps, then per diagnosis the
// status and summary, the mitigation and "injected: X → doctor: Y [tag]".
func printTrial(w io.Writer, i, n int, t *demo.Trial, full bool) {
	fmt.Fprintf(w, "[%d/%d] %s (%.1fs)\n", i+1, n, t.Scenario, t.Seconds)
	fmt.Fprintf(w, "  fault: %s\n", t.Injected)
	for _, s := range t.Steps {
		fmt.Fprintf(w, "  - %s\n", clean(s))
	}
	for _, dg := range t.Diagnoses {
		r, label := dg.Report, ""
		if dg.Label != "" {
			label = " (" + dg.Label + ")"
		}
		fmt.Fprintf(w, "  doctor%s: %s: %s\n", label, r.Status, clean(r.Summary))
		if f := demo.CauseOf(r); f != nil && f.Mitigation != "" {
			fmt.Fprintf(w, "  mitigation: %s\n", clean(f.Mitigation))
		}
		if full {
			var b strings.Builder
			writeReport(&b, r)
			for line := range strings.Lines(b.String()) {
				if line != "\n" {
					line = "    " + line
				}
				io.WriteString(w, line)
			}
		}
		result := "MATCH"
		if !dg.Matched {
			result = "MISMATCH"
		}
		fmt.Fprintf(w, "  injected: %s → doctor: %s  %s\n", dg.Want, demo.Verdict(r), result)
		q := dg.Query
		fmt.Fprintf(w, "  see: herald doctor --user %s --thread %s", q.User, q.Thread)
		if q.Message != "" {
			fmt.Fprintf(w, " --message %s", q.Message)
		}
		fmt.Fprintln(w)
	}
	if t.NotReproduced != "" {
		fmt.Fprintf(w, "  NOT REPRODUCED: %s\n", clean(t.NotReproduced))
	}
	if t.Error != "" {
		fmt.Fprintf(w, "  FAILED: %s\n", clean(t.Error))
	}
	fmt.Fprintln(w)
}
