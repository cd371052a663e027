package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

// ListenCmd is "listen": it connects as the user of the access token and
// prints every event and every connection state change, one line each,
// until interrupted or the server ends the connection for good.
type ListenCmd struct {
	Transport string   `enum:"websocket,sse,longpoll" default:"websocket" help:"Real-time transport: ${enum}."`
	Threads   []string `name:"thread" placeholder:"THREAD" help:"Print only this thread's events (repeat for more; default: all)."`
}

// Run listens until the context ends (Ctrl-C), which is a clean exit.
func (c *ListenCmd) Run(g *Globals) error {
	cl, err := g.user()
	if err != nil {
		return err
	}
	p := &listenPrinter{w: g.stdout, errw: g.stderr, json: g.Output == "json", only: map[string]bool{}}
	for _, t := range c.Threads {
		p.only[t] = true
	}
	rt := cl.Realtime(client.RealtimeOptions{Transport: c.Transport})
	for _, t := range herald.EventTypes() {
		rt.On(t, p.event)
	}
	rt.OnState(p.state)
	rt.OnError(p.warn)
	return rt.Start(g.Context())
}

// listenPrinter writes events and state changes as lines: columns
// separated by two spaces, or one JSON object per line.
type listenPrinter struct {
	w, errw io.Writer
	json    bool
	only    map[string]bool // threads to print; empty: all
}

func (p *listenPrinter) event(_ context.Context, ev client.Event) error {
	if len(p.only) > 0 && !p.only[ev.ThreadID] {
		return nil
	}
	if p.json {
		return p.encode(ev.Frame)
	}
	at := ev.Data.At
	if at.IsZero() {
		at = time.Now()
	}
	seq := "-"
	if ev.Seq > 0 {
		seq = fmt.Sprint(ev.Seq)
	}
	p.line(ts(at), ev.ThreadID, seq, string(ev.Type), orDash(eventSender(ev.Data)),
		truncate(clean(eventSummary(ev.Type, ev.Data)), contentWidth))
	return nil
}

// stateLine is a state change as listen -o json prints it, under "state".
type stateLine struct {
	State         client.State      `json:"state"`
	At            time.Time         `json:"at"`
	Attempt       int               `json:"attempt,omitempty"`
	Transport     string            `json:"transport,omitempty"`
	ConnectionID  string            `json:"connectionId,omitempty"`
	CaughtUp      bool              `json:"caughtUp,omitempty"`
	ResumeFailed  map[string]string `json:"resumeFailed,omitempty"`
	Code          int               `json:"code,omitempty"`
	Reason        string            `json:"reason,omitempty"`
	Error         string            `json:"error,omitempty"`
	WillReconnect bool              `json:"willReconnect,omitempty"`
	RetryInMs     int64             `json:"retryInMs,omitempty"`
}

func (p *listenPrinter) state(sc client.StateChange) {
	if p.json {
		s := stateLine{State: sc.State, At: sc.At.UTC(), Attempt: sc.Attempt, Transport: sc.Transport,
			ConnectionID: sc.ConnectionID, CaughtUp: sc.CaughtUp, ResumeFailed: sc.ResumeFailed, Code: sc.Code,
			Reason: sc.Reason, WillReconnect: sc.WillReconnect, RetryInMs: sc.RetryIn.Milliseconds()}
		if sc.Err != nil {
			s.Error = sc.Err.Error()
		}
		p.encode(struct {
			State stateLine `json:"state"`
		}{s})
		return
	}
	cells := []string{ts(sc.At), "state", string(sc.State)}
	if d := stateDetail(sc); d != "" {
		cells = append(cells, clean(d))
	}
	p.line(cells...)
}

// stateDetail says what a state change means in a few words.
func stateDetail(sc client.StateChange) string {
	var parts []string
	switch sc.State {
	case client.StateConnecting, client.StateReconnecting:
		if sc.Attempt > 0 {
			parts = append(parts, fmt.Sprintf("attempt %d", sc.Attempt+1))
		}
	case client.StateConnected:
		if sc.CaughtUp {
			parts = append(parts, "caught up; live from here")
			break
		}
		parts = append(parts, fmt.Sprintf("%s via %s", sc.ConnectionID, sc.Transport))
		for _, t := range slices.Sorted(maps.Keys(sc.ResumeFailed)) {
			parts = append(parts, fmt.Sprintf("resume failed for %s: %s", orDash(t), orDash(sc.ResumeFailed[t])))
		}
	case client.StateDisconnected:
		if sc.Code != 0 || sc.Reason != "" {
			parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s %s", codeText(sc.Code), sc.Reason)))
		}
		var he *herald.Error
		var ce *client.CloseError
		switch {
		case errors.As(sc.Err, &he):
			parts = append(parts, he.Message)
		case sc.Err != nil && !errors.As(sc.Err, &ce):
			parts = append(parts, sc.Err.Error())
		}
		if sc.WillReconnect {
			parts = append(parts, fmt.Sprintf("reconnecting in %s", sc.RetryIn.Round(time.Millisecond)))
		}
	}
	return strings.Join(parts, "; ")
}

func codeText(code int) string {
	if code == 0 {
		return ""
	}
	return fmt.Sprint(code)
}

func (p *listenPrinter) warn(err error) {
	fmt.Fprintf(p.errw, "warning: %s\n", clean(err.Error()))
}

func (p *listenPrinter) line(cells ...string) {
	fmt.Fprintln(p.w, strings.Join(cells, "  "))
}

func (p *listenPrinter) encode(v any) error {
	enc := json.NewEncoder(p.w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// eventSender is who caused an event.
func eventSender(d wire.EventData) string {
	if id := userOf(d.Actor); id != "" {
		return id
	}
	if d.Message != nil {
		return sender(*d.Message)
	}
	return ""
}

// eventSummary is an event's content as one line of text.
func eventSummary(t herald.EventType, d wire.EventData) string {
	switch t {
	case herald.EventMessageReceived, herald.EventMessageEdited, herald.EventMessageDeleted:
		if d.Message != nil {
			return summary(*d.Message)
		}
	case herald.EventThreadCreated, herald.EventThreadPropertiesUpdated:
		if d.Thread != nil {
			return "topic: " + d.Thread.Topic
		}
	case herald.EventThreadDeleted:
		return "thread deleted"
	case herald.EventParticipantsAdded:
		return "added " + users(d.Participants)
	case herald.EventParticipantsRemoved:
		return "removed " + users(d.Participants)
	case herald.EventTypingIndicatorReceived:
		return "typing"
	case herald.EventReadReceiptReceived:
		return "read " + d.ChatMessageID
	}
	return ""
}
