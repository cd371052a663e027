package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

// These tests pin what the client itself decides: how answers become
// errors, how nextLink is followed, how paths are escaped and which headers
// are sent. The behaviour of the API is tested against a real server
// elsewhere.

// serve starts a server that answers every request with h.
func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// answer writes status and body with a JSON content type.
func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func mustHeraldError(t *testing.T, err error) (*herald.Error, *client.HTTPError) {
	t.Helper()
	var he *herald.Error
	if !errors.As(err, &he) {
		t.Fatalf("got error %v (%T), want a *herald.Error", err, err)
	}
	var h *client.HTTPError
	if !errors.As(err, &h) {
		t.Fatalf("got error %v, want one wrapping a *client.HTTPError", err)
	}
	return he, h
}

func TestErrorBodyBecomesHeraldError(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(wire.HeaderRequestID, "req-42")
		answer(w, http.StatusForbidden, `{"error":{"code":"forbidden","message":"you are not in this thread","reason":"not_participant","target":"t1"}}`)
	})
	c := client.New(srv.URL, client.StaticToken("tok"))
	_, err := c.GetThread(context.Background(), "t1")

	he, h := mustHeraldError(t, err)
	want := herald.Error{Code: herald.CodeForbidden, Reason: herald.ReasonNotParticipant, Message: "you are not in this thread", Target: "t1"}
	if he.Code != want.Code || he.Reason != want.Reason || he.Message != want.Message || he.Target != want.Target {
		t.Errorf("got %+v, want %+v", *he, want)
	}
	if h.Status != http.StatusForbidden || h.RequestID != "req-42" || h.RetryAfter != 0 {
		t.Errorf("got %+v, want status 403, request id req-42, no Retry-After", *h)
	}
	if got := client.Status(err); got != http.StatusForbidden {
		t.Errorf("Status: got %d, want 403", got)
	}
	if got := herald.ErrorReason(err); got != herald.ReasonNotParticipant {
		t.Errorf("ErrorReason: got %q, want %q", got, herald.ReasonNotParticipant)
	}
}

func TestRetryAfter(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(wire.HeaderRetryAfter, "3")
		answer(w, http.StatusTooManyRequests, `{"error":{"code":"rate_limited","message":"slow down","reason":"rate_limited"}}`)
	})
	c := client.New(srv.URL, client.StaticToken("tok"))
	_, err := c.SendMessage(context.Background(), "t1", wire.SendMessageRequest{Content: "hi"}, "")

	he, h := mustHeraldError(t, err)
	if he.Code != herald.CodeRateLimited || he.Reason != herald.ReasonRateLimited {
		t.Errorf("got %s/%s, want rate_limited/rate_limited", he.Code, he.Reason)
	}
	if h.Status != http.StatusTooManyRequests || h.RetryAfter != 3*time.Second {
		t.Errorf("got status %d, Retry-After %s; want 429, 3s", h.Status, h.RetryAfter)
	}
}

func TestErrorWithoutErrorBody(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   herald.Code
	}{
		{http.StatusBadGateway, "<html>bad gateway</html>", herald.CodeInternal},
		{http.StatusServiceUnavailable, "upstream down", herald.CodeUnavailable},
		{http.StatusUnauthorized, "", herald.CodeUnauthorized},
		{http.StatusNotFound, "404 page not found\n", herald.CodeNotFound},
		{http.StatusConflict, `{"other":"shape"}`, herald.CodeConflict},
		{http.StatusRequestEntityTooLarge, `[]`, herald.CodeTooLarge},
		{http.StatusTooManyRequests, `{"error":null}`, herald.CodeRateLimited},
		{http.StatusForbidden, `{"error":{}}`, herald.CodeForbidden},
		{http.StatusTeapot, `{}`, herald.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			err := client.New(srv.URL, client.StaticToken("tok")).DeleteThread(context.Background(), "t1")
			he, h := mustHeraldError(t, err)
			if he.Code != tt.want {
				t.Errorf("got code %q, want %q", he.Code, tt.want)
			}
			if h.Status != tt.status {
				t.Errorf("got status %d, want %d", h.Status, tt.status)
			}
			if !strings.Contains(he.Message, fmt.Sprint(tt.status)) {
				t.Errorf("got message %q, want it to name the status %d", he.Message, tt.status)
			}
		})
	}
}

func TestRetryAfterDate(t *testing.T) {
	// An HTTP-date in the future is a delay; one in the past is none.
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	for _, tt := range []struct {
		header string
		min    time.Duration
		max    time.Duration
	}{
		{future, 58 * time.Minute, time.Hour},
		{past, 0, 0},
		{"soon", 0, 0},
		{"-5", 0, 0},
	} {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(wire.HeaderRetryAfter, tt.header)
			w.WriteHeader(http.StatusServiceUnavailable)
		})
		err := client.New(srv.URL, nil).DeleteThread(context.Background(), "t1")
		_, h := mustHeraldError(t, err)
		if h.RetryAfter < tt.min || h.RetryAfter > tt.max {
			t.Errorf("Retry-After %q: got %s, want between %s and %s", tt.header, h.RetryAfter, tt.min, tt.max)
		}
	}
}

func TestTransportFailureIsNotHeraldError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()

	_, err := client.New(url, client.StaticToken("tok")).GetThread(context.Background(), "t1")
	if err == nil {
		t.Fatal("got no error from a closed server")
	}
	var he *herald.Error
	if errors.As(err, &he) {
		t.Errorf("got *herald.Error %v for a transport failure, want a plain wrapped error", he)
	}
	if got := client.Status(err); got != 0 {
		t.Errorf("Status: got %d, want 0", got)
	}
}

func TestCancelledContext(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { answer(w, http.StatusOK, `{}`) })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := client.New(srv.URL, nil).GetThread(ctx, "t1")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestNextLinkFollowed(t *testing.T) {
	// The server lives under a path prefix; nextLink is relative to the
	// base URL, so the prefix must be kept.
	var queries []string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/herald/chat/threads/t1/messages" {
			answer(w, http.StatusNotFound, `{"error":{"code":"not_found","message":"wrong path `+r.URL.Path+`"}}`)
			return
		}
		queries = append(queries, r.URL.RawQuery)
		switch r.URL.Query().Get("before") {
		case "":
			answer(w, http.StatusOK, `{"value":[{"id":"m5","sequenceId":"5"},{"id":"m4","sequenceId":"4"}],"nextLink":"/chat/threads/t1/messages?before=4&maxPageSize=2"}`)
		case "4":
			answer(w, http.StatusOK, `{"value":[{"id":"m3","sequenceId":"3"},{"id":"m2","sequenceId":"2"}],"nextLink":"/chat/threads/t1/messages?before=2&maxPageSize=2"}`)
		default:
			answer(w, http.StatusOK, `{"value":[{"id":"m1","sequenceId":"1"}]}`)
		}
	})
	c := client.New(srv.URL+"/herald/", client.StaticToken("tok"))

	var got []string
	for m, err := range c.AllMessages(context.Background(), "t1", client.ListMessagesOptions{MaxPageSize: 2}) {
		if err != nil {
			t.Fatalf("AllMessages: %v", err)
		}
		got = append(got, m.ID)
	}
	if want := "m5 m4 m3 m2 m1"; strings.Join(got, " ") != want {
		t.Errorf("got messages %v, want %s", got, want)
	}
	if want := "maxPageSize=2|before=4&maxPageSize=2|before=2&maxPageSize=2"; strings.Join(queries, "|") != want {
		t.Errorf("got queries %q, want %q", strings.Join(queries, "|"), want)
	}

	// The same pages, one call at a time.
	page, err := c.ListMessages(context.Background(), "t1", client.ListMessagesOptions{MaxPageSize: 2})
	if err != nil {
		t.Fatalf("ListMessages: %v", err)
	}
	page, err = c.NextMessages(context.Background(), page.NextLink)
	if err != nil {
		t.Fatalf("NextMessages: %v", err)
	}
	if len(page.Value) != 2 || page.Value[0].ID != "m3" {
		t.Errorf("got second page %+v, want m3 and m2", page.Value)
	}
}

func TestNextLinkStopsEarly(t *testing.T) {
	// Breaking out of the loop must not fetch another page.
	requests := 0
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		requests++
		answer(w, http.StatusOK, `{"value":[{"id":"a"},{"id":"b"}],"nextLink":"/chat/threads?skip=`+fmt.Sprint(requests*2)+`"}`)
	})
	c := client.New(srv.URL, client.StaticToken("tok"))
	for range c.AllThreads(context.Background(), client.ListThreadsOptions{}) {
		break
	}
	if requests != 1 {
		t.Errorf("got %d requests, want 1", requests)
	}
}

func TestNextLinkRefusals(t *testing.T) {
	tests := []struct {
		name, nextLink string
	}{
		{"another host", "http://elsewhere.example/chat/threads?skip=2"},
		{"protocol-relative", "//elsewhere.example/chat/threads?skip=2"},
		{"repeated", "/chat/threads?skip=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requests := 0
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				requests++
				answer(w, http.StatusOK, `{"value":[{"id":"a"}],"nextLink":"`+tt.nextLink+`"}`)
			})
			c := client.New(srv.URL, client.StaticToken("tok"))
			var items int
			var err error
			for _, e := range c.AllThreads(context.Background(), client.ListThreadsOptions{}) {
				if e != nil {
					err = e
					break
				}
				items++
			}
			if err == nil {
				t.Fatalf("got no error after %d items and %d requests", items, requests)
			}
			if requests > 2 {
				t.Errorf("got %d requests, want at most 2", requests)
			}
		})
	}
}

func TestPathEscaping(t *testing.T) {
	var got []string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.EscapedPath())
		w.WriteHeader(http.StatusNoContent)
	})
	ctx := context.Background()
	c := client.New(srv.URL, client.StaticToken("tok"))
	a := client.NewAdmin(srv.URL, "key")

	if err := c.DeleteMessage(ctx, "a/b c", "m?1#x"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveParticipant(ctx, "19:thread@herald", "8:acs:u1"); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeTokens(ctx, "u/../admin"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"DELETE /chat/threads/a%2Fb%20c/messages/m%3F1%23x",
		"POST /chat/threads/19:thread@herald/participants/:remove",
		"POST /identities/u%2F..%2Fadmin/:revokeAccessTokens",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got paths\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUnusableIDNotSent(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("got request %s %s, want none", r.Method, r.URL.EscapedPath())
	})
	c := client.New(srv.URL, client.StaticToken("tok"))
	for _, tt := range []struct {
		thread, message string
		want            herald.Reason
	}{
		{"", "m1", herald.ReasonMissingField},
		{"t1", "", herald.ReasonMissingField},
		{"..", "m1", herald.ReasonInvalidField},
		{"t1", ".", herald.ReasonInvalidField},
	} {
		_, err := c.GetMessage(context.Background(), tt.thread, tt.message)
		if herald.ErrorCode(err) != herald.CodeInvalid || herald.ErrorReason(err) != tt.want {
			t.Errorf("GetMessage(%q, %q): got %v, want invalid/%s", tt.thread, tt.message, err, tt.want)
		}
	}
}

func TestAuthorizationHeader(t *testing.T) {
	var got []string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		answer(w, http.StatusOK, `{"value":[]}`)
	})
	ctx := context.Background()
	if _, err := client.New(srv.URL, client.StaticToken("user-token")).ListThreads(ctx, client.ListThreadsOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.NewAdmin(srv.URL, "admin-key").ListTokens(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if want := "Bearer user-token|Bearer admin-key"; strings.Join(got, "|") != want {
		t.Errorf("got Authorization %q, want %q", strings.Join(got, "|"), want)
	}
}

// failingCredential cannot supply a token.
type failingCredential struct{}

func (failingCredential) Token(context.Context) (string, error) {
	return "", errors.New("vault sealed")
}

func TestCredentialFailureNotSent(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("got request %s %s, want none", r.Method, r.URL.Path)
	})
	_, err := client.New(srv.URL, failingCredential{}).GetThread(context.Background(), "t1")
	if err == nil || !strings.Contains(err.Error(), "vault sealed") {
		t.Errorf("got %v, want the credential's error", err)
	}
}

func TestRepeatabilityHeaderAndBody(t *testing.T) {
	type seen struct{ repeatability, contentType, path string }
	var got []seen
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, seen{r.Header.Get(wire.HeaderRepeatability), r.Header.Get("Content-Type"), r.URL.Path})
		body, _ := io.ReadAll(r.Body)
		// The client's bodies must pass the server's strict decoder.
		switch r.URL.Path {
		case "/chat/threads":
			var req wire.CreateThreadRequest
			if err := wire.Decode(body, &req); err != nil || req.Topic != "plans" || req.Participants[0].CommunicationIdentifier.UserID() != "u2" {
				t.Errorf("got body %s (%v), want topic plans and participant u2", body, err)
			}
			answer(w, http.StatusCreated, `{"chatThread":{"id":"t1","topic":"plans"}}`)
		default:
			var req wire.SendMessageRequest
			if err := wire.Decode(body, &req); err != nil || req.Content != "hi" {
				t.Errorf("got body %s (%v), want content hi", body, err)
			}
			answer(w, http.StatusCreated, `{"id":"m1","sequenceId":"2"}`)
		}
	})
	ctx := context.Background()
	c := client.New(srv.URL, client.StaticToken("tok"))

	th, err := c.CreateThread(ctx, wire.CreateThreadRequest{
		Topic:        "plans",
		Participants: []wire.ChatParticipant{{CommunicationIdentifier: wire.Identifier("u2")}},
	}, "create-1")
	if err != nil || th.ChatThread.ID != "t1" {
		t.Fatalf("CreateThread: got %+v, %v; want thread t1", th, err)
	}
	m, err := c.SendMessage(ctx, "t1", wire.SendMessageRequest{Content: "hi"}, "send-1")
	if err != nil || m.ID != "m1" || m.SequenceID != "2" {
		t.Fatalf("SendMessage: got %+v, %v; want m1 at 2", m, err)
	}
	if _, err := c.SendMessage(ctx, "t1", wire.SendMessageRequest{Content: "hi"}, ""); err != nil {
		t.Fatal(err)
	}
	want := []seen{
		{"create-1", "application/json", "/chat/threads"},
		{"send-1", "application/json", "/chat/threads/t1/messages"},
		{"", "application/json", "/chat/threads/t1/messages"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestQueryParameters(t *testing.T) {
	var got []string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.RawQuery)
		answer(w, http.StatusOK, `{"value":[]}`)
	})
	ctx := context.Background()
	c := client.New(srv.URL, client.StaticToken("tok"))
	since := herald.Seq(0)
	start := time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("CEST", 2*3600))
	calls := []func() error{
		func() error { _, err := c.ListMessages(ctx, "t1", client.ListMessagesOptions{}); return err },
		func() error {
			_, err := c.ListMessages(ctx, "t1", client.ListMessagesOptions{Since: &since, MaxPageSize: 10})
			return err
		},
		func() error {
			_, err := c.ListMessages(ctx, "t1", client.ListMessagesOptions{Before: 7, StartTime: start})
			return err
		},
		func() error {
			_, err := c.ListParticipants(ctx, "t1", client.ListParticipantsOptions{MaxPageSize: 5, Skip: 10})
			return err
		},
	}
	for _, f := range calls {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"", "maxPageSize=10&since=0", "before=7&startTime=2024-05-06T05%3A08%3A09Z", "maxPageSize=5&skip=10"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got queries %q, want %q", got, want)
	}
}

func TestResponseSizeCap(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"id":"`)
		io.WriteString(w, strings.Repeat("x", client.MaxResponseBytes))
		io.WriteString(w, `"}`)
	})
	_, err := client.New(srv.URL, nil).GetThread(context.Background(), "t1")
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("got %v, want a too-large error", err)
	}
}

func TestBadBaseURL(t *testing.T) {
	for _, base := range []string{"", "127.0.0.1:8080", "ftp://host", "http://"} {
		_, err := client.NewAdmin(base, "key").GetIdentity(context.Background(), "u1")
		if err == nil {
			t.Errorf("base URL %q: got no error", base)
		}
	}
}
