package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/doctor"
	"github.com/herald-chat/herald/wire"
)

// DoctorCmd is "doctor": the delivery report for a user in a thread, or,
// without --user, the triage of a message across every recipient, or with
// --recent every undelivered pair of a recent window. It exits 0 whatever
// the verdict (a report is an answer), and non-zero only when the question
// could not be asked or answered.
type DoctorCmd struct {
	User    string `placeholder:"USER" help:"The recipient: the user who did not get the message. Without it, every participant of --thread is listed."`
	Thread  string `placeholder:"THREAD" help:"The thread the message was sent to."`
	Message string `placeholder:"MESSAGE" help:"The message in question (default: the newest message the user did not send; without --user, the thread's newest)."`
	Since   string `placeholder:"DURATION|TIME" help:"Read evidence from this long ago (2h) or this RFC 3339 time on (default: 24h)."`
	Recent  string `placeholder:"DURATION" help:"Instead: list the (user, message) pairs not delivered among the messages sent this long ago (1h) or since this RFC 3339 time, grouped by cause."`
}

// Run fetches the report and prints it: as the playbook reads, or the
// report's JSON with -o json.
func (c *DoctorCmd) Run(g *Globals) error {
	switch {
	case c.Recent != "":
		if c.User != "" || c.Thread != "" || c.Message != "" {
			return errors.New("--recent lists every user and thread: drop --user, --thread and --message")
		}
		return c.triage(g, "/admin/doctor/recent", url.Values{"since": {c.Recent}})
	case c.Thread == "":
		return errors.New("--thread is required (or --recent DURATION for every thread)")
	case c.User == "":
		v := url.Values{"thread": {c.Thread}}
		setIf(v, "message", c.Message)
		setIf(v, "since", c.Since)
		return c.triage(g, "/admin/doctor/thread", v)
	}
	a, err := g.admin()
	if err != nil {
		return err
	}
	rep, err := a.Diagnose(g.Context(), client.DiagnoseOptions{User: c.User, Thread: c.Thread, Message: c.Message, Since: c.Since})
	if err != nil {
		return err
	}
	if g.structured() {
		return emit(g, rep, nil)
	}
	return writeReport(g.stdout, rep)
}

func setIf(v url.Values, k, s string) {
	if s != "" {
		v.Set(k, s)
	}
}

// triage asks an admin triage endpoint and prints its answer.
func (c *DoctorCmd) triage(g *Globals, path string, v url.Values) error {
	if _, err := g.admin(); err != nil {
		return err // no admin key
	}
	var t doctor.Triage
	if err := adminGet(g.Context(), g.URL, g.AdminKey, path, v, &t); err != nil {
		return err
	}
	if g.structured() {
		return emit(g, &t, nil)
	}
	var b bytes.Buffer
	if err := doctor.WriteTriage(&b, t); err != nil {
		return err
	}
	return writeClean(g.stdout, b.String())
}

// adminGet calls an admin GET endpoint and decodes its JSON answer into
// out, or returns the server's error as a *herald.Error.
func adminGet(ctx context.Context, base, key, path string, v url.Values, out any) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+path+"?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("User-Agent", userAgent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e wire.ErrorResponse
		if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
			return &herald.Error{Code: herald.Code(e.Error.Code), Reason: herald.Reason(e.Error.Reason), Message: e.Error.Message, Target: e.Error.Target}
		}
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.Unmarshal(body, out)
}

// writeReport renders the report with doctor.WriteText, with control
// characters removed from every line: request ids come from clients.
func writeReport(w io.Writer, rep *doctor.Report) error {
	var b bytes.Buffer
	if err := doctor.WriteText(&b, *rep); err != nil {
		return err
	}
	return writeClean(w, b.String())
}

func writeClean(w io.Writer, s string) error {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = clean(l)
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}
