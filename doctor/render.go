package doctor

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report as the playbook reads: the status and the
// cause first, then every hypothesis with its tag, verdict, evidence and
// mitigation.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	subject := "the thread's newest message"
	switch {
	case r.Message != "" && r.Seq > 0:
		subject = fmt.Sprintf("message %s (sequence %d)", r.Message, r.Seq)
	case r.Message != "":
		subject = "message " + r.Message
	case r.Seq == 0:
		subject = "the thread (no messages)"
	}
	fmt.Fprintf(&b, "Delivery report for user %s in thread %s, %s\n", r.User, r.Thread, subject)
	fmt.Fprintf(&b, "Evidence since %s, generated %s\n\n", stamp(r.Since), stamp(r.GeneratedAt))
	fmt.Fprintf(&b, "Status: %s\n", strings.ToUpper(strings.ReplaceAll(r.Status, "_", " ")))
	fmt.Fprintf(&b, "  %s\n", r.Summary)
	for i, f := range r.Findings {
		if i == 0 || f.Verdict != r.Findings[i-1].Verdict {
			fmt.Fprintf(&b, "\n%s\n", heading(f.Verdict))
		}
		fmt.Fprintf(&b, "  [%s] %s: %s\n", f.Tag, f.Title, verdictWord(f.Verdict))
		fmt.Fprintf(&b, "      %s\n", f.Summary)
		for _, e := range f.Evidence {
			id := e.ID
			if id == "" {
				id = "-"
			}
			fmt.Fprintf(&b, "      - %s  %-11s %s  %s\n", stamp(e.At), e.Source, id, e.Detail)
		}
		if f.Mitigation != "" && f.Verdict != RuledOut {
			fmt.Fprintf(&b, "      Mitigation: %s\n", f.Mitigation)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
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

func verdictWord(v Verdict) string {
	switch v {
	case Confirmed:
		return "CONFIRMED"
	case Inconclusive:
		return "inconclusive"
	}
	return "ruled out"
}
