package main

import (
	"encoding/csv"
	"fmt"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/doctor"
)

// EventsCmd is "events": the rows of one evidence table, the tables the
// doctor reads (admin key).
type EventsCmd struct {
	Table   string `arg:"" name:"table" help:"Evidence table: ChatMessageSentEvents, ChatMessageReceivedEvents, Acks, Requests, Connections, Membership, ThreadLifecycle or Tokens."`
	User    string `placeholder:"USER" help:"Rows about this user (Tokens needs it)."`
	Thread  string `placeholder:"THREAD" help:"Rows about this thread (Membership and ThreadLifecycle need it)."`
	Message string `placeholder:"MESSAGE" help:"Rows about this message (with --thread)."`
	Since   string `placeholder:"DURATION|TIME" help:"Rows from this long ago (2h) or this RFC 3339 time on."`
	Until   string `placeholder:"DURATION|TIME" help:"Rows before this long ago (1h) or this RFC 3339 time."`
	Reason  string `placeholder:"REASON" help:"Rows with this reason code (for example slow_consumer)."`
	Limit   int    `placeholder:"N" help:"At most this many rows (default: the server's, 1000)."`
}

// csvOutput is the output format events adds to the global ones.
const csvOutput = "csv"

// BeforeApply lets the global -o flag take csv for this command only; the
// other commands keep the formats Globals lists.
func (c *EventsCmd) BeforeApply(ctx *kong.Context) error {
	for _, f := range ctx.Model.Flags {
		if f.Name == "output" && !strings.Contains(f.Enum, csvOutput) {
			f.Enum += "," + csvOutput
		}
	}
	return nil
}

// Run reads the table and prints it: an aligned table, the JSON the server
// answered (-o json), or CSV with a header row (-o csv).
func (c *EventsCmd) Run(g *Globals) error {
	name, err := tableName(c.Table)
	if err != nil {
		return err
	}
	a, err := g.admin()
	if err != nil {
		return err
	}
	t, err := a.Events(g.Context(), name, client.EventsOptions{User: c.User, Thread: c.Thread, Message: c.Message,
		Since: c.Since, Until: c.Until, Reason: c.Reason, Limit: c.Limit})
	if err != nil {
		return err
	}
	if g.Output == csvOutput {
		return writeCSV(g, t)
	}
	return emit(g, evidenceRecords(t), func(tb *table, r evidence) { printEvidence(tb, r.source) })
}

// evidence is a table as -o json prints it: one object per row, keyed by
// column, so that jq can select by name.
type evidence struct {
	Table  string              `json:"table"`
	Rows   []map[string]string `json:"rows"`
	source *doctor.Table
}

func evidenceRecords(t *doctor.Table) evidence {
	out := evidence{Table: t.Name, Rows: make([]map[string]string, 0, len(t.Rows)), source: t}
	for _, r := range t.Rows {
		row := make(map[string]string, len(t.Columns))
		for i, c := range t.Columns {
			if i < len(r) {
				row[c] = r[i]
			}
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

// tableName returns the evidence table name matches, ignoring case.
func tableName(name string) (string, error) {
	for _, t := range doctor.Tables {
		if strings.EqualFold(t, name) {
			return t, nil
		}
	}
	return "", fmt.Errorf("no evidence table %q; the tables are: %s", name, strings.Join(doctor.Tables, ", "))
}

// printEvidence writes the table with its column names as the header.
func printEvidence(t *table, et *doctor.Table) {
	header := make([]string, len(et.Columns))
	for i, c := range et.Columns {
		header[i] = strings.ToUpper(c)
	}
	t.row(header...)
	for _, r := range et.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = orDash(v)
		}
		t.row(cells...)
	}
	if len(et.Rows) == 0 {
		t.line("(no rows)")
	}
}

// writeCSV writes the table as CSV, the columns as the header row. As in
// the table output, control characters become spaces, so that content from
// clients (request ids, origins) cannot reach a terminal as an escape
// sequence; -o json keeps every cell exact.
func writeCSV(g *Globals, et *doctor.Table) error {
	w := csv.NewWriter(g.stdout)
	if err := w.Write(et.Columns); err != nil {
		return err
	}
	for _, r := range et.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = clean(v)
		}
		if err := w.Write(cells); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}
