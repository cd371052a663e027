package doctor

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report as the playbook reads: the status and the
// cause first, then how the user got the message, then every hypothesis
// with its tag, verdict, evidence and mitigation, and what the tags mean.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	subject := "the thread's newest message"
	switch {
	case r.Message != "" && r.Seq > 0:
		subject = fmt.Sprintf("message %s (sequence %d)", r.Message, r.Seq)
	case r.Message != "":
		subject = "message " + r.Message
	case r.Seq == 0:
		subject = "no message"
	}
	fmt.Fprintf(&b, "Delivery report for user %s in thread %s, %s\n", r.User, r.Thread, subject)
	if r.Picked != "" {
		fmt.Fprintf(&b, "No message was named; the message in question is %s\n", r.Picked)
	}
	if r.Sender != "" && r.SentAt != nil {
		fmt.Fprintf(&b, "Sent by %s at %s\n", r.Sender, stamp(*r.SentAt))
	}
	fmt.Fprintf(&b, "Evidence since %s, generated %s\n", stamp(r.Since), stamp(r.GeneratedAt))
	for _, n := range r.Incomplete {
		fmt.Fprintf(&b, "Incomplete: %s\n", n)
	}
	fmt.Fprintf(&b, "\nStatus: %s\n", strings.ToUpper(strings.ReplaceAll(r.Status, "_", " ")))
	fmt.Fprintf(&b, "  %s\n", r.Summary)
	if len(r.Receipts) > 0 {
		fmt.Fprintf(&b, "\nReceived\n")
		for _, rc := range r.Receipts {
			e := rc.Evidence
			fmt.Fprintf(&b, "  [%s] %s\n      - %s  %-11s %s  %s\n", rc.Tag, receivedWords[rc.How], stamp(e.At), e.Source, orDash(e.ID), e.Detail)
		}
	}
	if len(r.Webhooks) > 0 {
		fmt.Fprintf(&b, "\nWebhooks (server-side deliveries of this event, not the user's devices)\n")
		for _, w := range r.Webhooks {
			who := "thread-level events only"
			if w.ForUser {
				who = "with this user's event"
			}
			fmt.Fprintf(&b, "  %s delivery %d: %s after %d attempt(s), %s", w.WebhookID, w.DeliveryID, w.State, w.Attempts, who)
			if w.LastError != "" {
				fmt.Fprintf(&b, "; last: %s", w.LastError)
			}
			fmt.Fprintln(&b)
		}
	}
	for i, f := range r.Findings {
		if i == 0 || f.Verdict != r.Findings[i-1].Verdict {
			fmt.Fprintf(&b, "\n%s\n", heading(f.Verdict))
		}
		fmt.Fprintf(&b, "  [%s] %s: %s\n", f.Tag, f.Title, verdictWord(f))
		fmt.Fprintf(&b, "      %s\n", f.Summary)
		for _, e := range f.Evidence {
			fmt.Fprintf(&b, "      - %s  %-11s %s  %s\n", stamp(e.At), e.Source, orDash(e.ID), e.Detail)
		}
		if f.Mitigation != "" && f.Verdict != RuledOut {
			fmt.Fprintf(&b, "      Mitigation: %s\n", f.Mitigation)
		}
	}
	b.WriteString(tagLegend(b.String()))
	_, err := io.WriteString(w, b.String())
	return err
}

// tagWords explains the evidence tags, in the playbook's order.
var tagWords = []struct {
	tag   Tag
	words string
}{
	{Observed, "read directly from a record (token log, thread deletion, a request's answer, the ledger)"},
	{Measured, "read from current state (the membership and its history)"},
	{Correlated, "two signals that co-occur (REST calls succeed while no live connection holds; a list after the commit)"},
	{Inferred, "deduced when the others are ruled out (pushed but never acknowledged; nothing open)"},
}

// tagLegend explains the evidence tags that text uses ("[Observed]", ...),
// one line each, as the text reports end; empty when it uses none.
func tagLegend(text string) string {
	var b strings.Builder
	for _, t := range tagWords {
		if label := "[" + string(t.tag) + "]"; strings.Contains(text, label) {
			fmt.Fprintf(&b, "  %-12s %s\n", label, t.words)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "\nEvidence tags\n" + b.String()
}

var receivedWords = map[string]string{
	ReceivedRead:         "Read: the user sent a read receipt at or past the message",
	ReceivedAcknowledged: "Pushed and acknowledged: the app took it",
	ReceivedFetched:      "Fetched: a REST read by the user returned it after its commit",
	ReceivedPushed:       "Pushed to a live connection",
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func heading(v Verdict) string {
	switch v {
	case Confirmed:
		return "Confirmed"
	case Inconclusive:
		return "Inconclusive"
	}
	return "Ruled out"
}

// verdictWord is the verdict as the text report shows it; a confirmed
// finding that is not a fault says so rather than raising an alarm.
func verdictWord(f Finding) string {
	switch {
	case f.Verdict == Confirmed && !f.Check.Fault():
		return "yes (not a fault)"
	case f.Verdict == Confirmed:
		return "CONFIRMED"
	case f.Verdict == Inconclusive:
		return "inconclusive"
	}
	return "ruled out"
}

// textGroupRows is how many pairs of a group the text form lists.
const textGroupRows = 10

// WriteTriage writes an answer across users: the summary, then each group
// with its count and the pairs it lists.
func WriteTriage(w io.Writer, t Triage) error {
	var b strings.Builder
	if t.Thread != "" {
		fmt.Fprintf(&b, "Delivery triage of thread %s", t.Thread)
		if t.Message != "" {
			fmt.Fprintf(&b, ", message %s (sequence %d)", t.Message, t.Seq)
		}
		b.WriteString("\n")
		if t.Sender != "" && t.SentAt != nil {
			fmt.Fprintf(&b, "Sent by %s at %s\n", t.Sender, stamp(*t.SentAt))
		}
	} else {
		fmt.Fprintf(&b, "Undelivered messages since %s\n", stamp(t.Since))
	}
	fmt.Fprintf(&b, "Evidence since %s, generated %s\n\n", stamp(t.Since), stamp(t.GeneratedAt))
	fmt.Fprintf(&b, "%s\n", t.Summary)
	for _, n := range t.Incomplete {
		fmt.Fprintf(&b, "Incomplete: %s\n", n)
	}
	for _, g := range t.Groups {
		fmt.Fprintf(&b, "\n%s: %d\n", strings.ToUpper(strings.ReplaceAll(groupName(g), "_", " ")), g.Count)
		shown := g.Pairs[:min(len(g.Pairs), textGroupRows)]
		for _, p := range shown {
			if t.Thread == "" {
				fmt.Fprintf(&b, "  %s  %s  %s  %s\n", p.User, p.Thread, p.Message, p.Summary)
			} else {
				fmt.Fprintf(&b, "  %s  %s\n", p.User, p.Summary)
			}
		}
		if g.Count > len(shown) {
			fmt.Fprintf(&b, "  … and %d more (-o json lists up to %d per group)\n", g.Count-len(shown), MaxGroupRows)
		}
	}
	b.WriteString(tagLegend(b.String()))
	b.WriteString("\nAsk about one pair with: herald doctor --user USER --thread THREAD --message MESSAGE\n")
	_, err := io.WriteString(w, b.String())
	return err
}
