package main

import (
	"bytes"
	"io"
	"strings"

	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/doctor"
)

// DoctorCmd is "doctor": the delivery report for a user in a thread. It
// exits 0 whatever the verdict (a report is an answer), and non-zero only
// when the question could not be asked or answered.
type DoctorCmd struct {
	User    string `required:"" placeholder:"USER" help:"The recipient: the user who did not get the message."`
	Thread  string `required:"" placeholder:"THREAD" help:"The thread the message was sent to."`
	Message string `placeholder:"MESSAGE" help:"The message in question (default: the thread's newest message)."`
	Since   string `placeholder:"DURATION|TIME" help:"Read evidence from this long ago (2h) or this RFC 3339 time on (default: 24h)."`
}

// Run fetches the report and prints it: as the playbook reads, or the
// report's JSON with -o json.
func (c *DoctorCmd) Run(g *Globals) error {
	a, err := g.admin()
	if err != nil {
		return err
	}
	rep, err := a.Diagnose(g.Context(), client.DiagnoseOptions{User: c.User, Thread: c.Thread, Message: c.Message, Since: c.Since})
	if err != nil {
		return err
	}
	if g.Output == "json" {
		return emit(g, rep, nil)
	}
	return writeReport(g.stdout, rep)
}

// writeReport renders the report with doctor.WriteText, with control
// characters removed from every line: request ids come from clients.
func writeReport(w io.Writer, rep *doctor.Report) error {
	var b bytes.Buffer
	if err := doctor.WriteText(&b, *rep); err != nil {
		return err
	}
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = clean(l)
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}
