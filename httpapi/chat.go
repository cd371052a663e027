package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/wire"
)

func threadID(r *http.Request) herald.ThreadID { return herald.ThreadID(r.PathValue("threadId")) }

func (s *Server) createThread(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	var in wire.CreateThreadRequest
	if err := s.decode(w, r, &in, false); err != nil {
		return err
	}
	ps, err := participants(in.Participants)
	if err != nil {
		return err
	}
	strict := false
	switch v := r.URL.Query().Get("strictParticipants"); v {
	case "", "false":
	case "true":
		strict = true
	default:
		return herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField, "strictParticipants must be true or false, got %q", v).WithTarget("strictParticipants")
	}
	t, refused, err := s.svc.CreateThread(r.Context(), c, service.NewThread{Topic: in.Topic, Participants: ps,
		Metadata: in.Metadata, RequestID: r.Header.Get(wire.HeaderRepeatability), Strict: strict})
	if err != nil {
		return err
	}
	if rec := recordOf(r); rec != nil {
		rec.ThreadID = t.ID
	}
	w.Header().Set("Location", "/chat/threads/"+url.PathEscape(string(t.ID)))
	writeJSON(w, http.StatusCreated, wire.CreateThreadResponse{ChatThread: wire.FromThread(t), InvalidParticipants: invalid(refused)})
	return nil
}

// searchPeople answers GET /chat/people?q=&maxPageSize= (a Herald
// addition): the people picker.
func (s *Server) searchPeople(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	q := query{r: r}
	limit := q.int("maxPageSize")
	if q.err != nil {
		return q.err
	}
	ps, err := s.svc.SearchPeople(r.Context(), c, r.URL.Query().Get("q"), limit)
	if err != nil {
		return err
	}
	out := wire.PeopleList{Value: make([]wire.ChatParticipant, len(ps))}
	for i, p := range ps {
		out.Value[i] = wire.ChatParticipant{CommunicationIdentifier: wire.Identifier(string(p.ID)), DisplayName: p.DisplayName}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listThreads(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	q := query{r: r}
	f := herald.ThreadFilter{UpdatedAfter: q.time("startTime"), Page: q.page()}
	if q.err != nil {
		return q.err
	}
	ts, err := s.svc.ListThreads(r.Context(), c, f)
	if err != nil {
		return err
	}
	out := wire.ThreadList{Value: make([]wire.ChatThreadItem, len(ts))}
	for i, t := range ts {
		out.Value[i] = wire.ChatThreadItem{ID: string(t.ID), Topic: t.Topic, DeletedOn: wire.Opt(t.DeletedAt), LastMessageReceivedOn: wire.Opt(t.LastMessageAt)}
	}
	out.NextLink = s.skipLink(r, f.Page, len(ts))
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getThread(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	t, err := s.svc.GetThread(r.Context(), c, threadID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.FromThread(t))
	return nil
}

func (s *Server) updateThread(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	var in wire.UpdateThreadRequest
	if err := s.decode(w, r, &in, false); err != nil {
		return err
	}
	if err := s.svc.UpdateThread(r.Context(), c, threadID(r), service.ThreadUpdate{Topic: in.Topic, Metadata: in.Metadata}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteThread(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	if err := s.svc.DeleteThread(r.Context(), c, threadID(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listParticipants(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	q := query{r: r}
	p := q.page()
	if q.err != nil {
		return q.err
	}
	ps, err := s.svc.ListParticipants(r.Context(), c, threadID(r), p)
	if err != nil {
		return err
	}
	out := wire.ParticipantList{Value: make([]wire.ChatParticipant, len(ps))}
	for i, p := range ps {
		out.Value[i] = wire.ChatParticipant{CommunicationIdentifier: wire.Identifier(string(p.UserID)), DisplayName: p.DisplayName,
			ShareHistoryTime: wire.Opt(p.ShareHistoryTime), Metadata: p.Metadata}
	}
	out.NextLink = s.skipLink(r, p, len(ps))
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) addParticipants(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	var in wire.AddParticipantsRequest
	if err := s.decode(w, r, &in, false); err != nil {
		return err
	}
	ps, err := participants(in.Participants)
	if err != nil {
		return err
	}
	refused, err := s.svc.AddParticipants(r.Context(), c, threadID(r), ps)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, wire.AddParticipantsResponse{InvalidParticipants: invalid(refused)})
	return nil
}

func (s *Server) removeParticipant(w http.ResponseWriter, r *http.Request) error {
	c, err := s.user(r)
	if err != nil {
		return err
	}
	var in wire.CommunicationIdentifier
	if err := s.decode(w, r, &in, false); err != nil {
		return err
	}
	user, err := identifier(in, "")
	if err != nil {
		return err
	}
	if err := s.svc.RemoveParticipant(r.Context(), c, threadID(r), user); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// participants converts and checks wire participants.
func participants(in []wire.ChatParticipant) ([]service.NewParticipant, error) {
	out := make([]service.NewParticipant, len(in))
	for i, p := range in {
		user, err := identifier(p.CommunicationIdentifier, fmt.Sprintf("participants[%d].", i))
		if err != nil {
			return nil, err
		}
		out[i] = service.NewParticipant{User: user, DisplayName: p.DisplayName, Metadata: p.Metadata}
		if p.ShareHistoryTime != nil {
			out[i].ShareHistoryTime = p.ShareHistoryTime.UTC()
		}
	}
	return out, nil
}

// identifier reads the user id of an ACS identifier; rawId and
// communicationUser.id must agree when both are given.
func identifier(c wire.CommunicationIdentifier, path string) (herald.UserID, error) {
	raw, user := c.RawID, ""
	if c.CommunicationUser != nil {
		user = c.CommunicationUser.ID
	}
	switch {
	case raw == "" && user == "":
		return "", herald.Errorf(herald.CodeInvalid, herald.ReasonMissingField,
			"the identifier needs rawId or communicationUser.id").WithTarget(path + "communicationIdentifier")
	case raw != "" && user != "" && raw != user:
		return "", herald.Errorf(herald.CodeInvalid, herald.ReasonInvalidField,
			"rawId %q and communicationUser.id %q name different users", raw, user).WithTarget(path + "communicationIdentifier")
	case user != "":
		return herald.UserID(user), nil
	}
	return herald.UserID(raw), nil
}

func invalid(refused []service.Refused) []wire.InvalidParticipant {
	var out []wire.InvalidParticipant
	for _, r := range refused {
		out = append(out, wire.InvalidParticipant{Code: string(r.Err.Code), Message: r.Err.Message, Reason: string(r.Err.Reason), Target: string(r.User)})
	}
	return out
}

// query reads query parameters, keeping the first error.
type query struct {
	r   *http.Request
	err error
}

func (q *query) fail(reason herald.Reason, name, format string, args ...any) {
	if q.err == nil {
		q.err = herald.Errorf(herald.CodeInvalid, reason, format, args...).WithTarget(name)
	}
}

func (q *query) int(name string) int {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		q.fail(herald.ReasonInvalidCursor, name, "%s must be a whole number, not %q", name, v)
	}
	return n
}

func (q *query) pageSize() int {
	v := q.r.URL.Query().Get("maxPageSize")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		q.fail(herald.ReasonInvalidPageSize, "maxPageSize", "maxPageSize must be a whole number from 1, not %q", v)
		return 0
	}
	return n
}

func (q *query) time(name string) time.Time {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		q.fail(herald.ReasonInvalidField, name, "%s must be an RFC 3339 time, not %q", name, v)
	}
	return t.UTC()
}

// apiVersion checks ACS's api-version parameter. It is optional (Herald
// serves one version of each operation, and its own clients send none);
// when sent, it must be given once and look like an ACS version, a date
// with an optional preview suffix (2025-03-15, 2023-10-01,
// 2021-10-01-preview7), so that a mistyped or garbled one is an error
// rather than silently ignored.
func (q *query) apiVersion() string {
	if q.r.URL.RawQuery == "" { // most requests: no query to parse
		return ""
	}
	vs, ok := q.r.URL.Query()["api-version"]
	if !ok {
		return ""
	}
	if len(vs) != 1 {
		q.fail(herald.ReasonInvalidField, "api-version", "api-version is given %d times; give it once", len(vs))
		return ""
	}
	v := vs[0]
	date, suffix := v, ""
	if i := strings.Index(v, "-preview"); i >= 0 {
		date, suffix = v[:i], v[i+len("-preview"):]
	}
	_, err := time.Parse(time.DateOnly, date)
	if err != nil || strings.Trim(suffix, "0123456789") != "" || len(suffix) > 4 {
		q.fail(herald.ReasonInvalidField, "api-version", "api-version must be an ACS API version such as 2025-03-15 (chat) or 2023-10-01 (identity), not %q", v)
		return ""
	}
	return v
}

// page reads skip and maxPageSize.
func (q *query) page() herald.Page { return herald.Page{Skip: q.int("skip"), Limit: q.pageSize()} }

// skipLink returns the nextLink of a skip-paged list that returned n items
// for page p, or "" when that was the last page.
func (s *Server) skipLink(r *http.Request, p herald.Page, n int) string {
	if p.Limit == 0 {
		p.Limit = s.svc.Limits().DefaultPageSize
	}
	if n < p.Limit {
		return ""
	}
	return next(r, "skip", strconv.Itoa(p.Skip+n))
}

// next builds a nextLink: the same path and query with key set to value.
func next(r *http.Request, key, value string) string {
	v := r.URL.Query()
	v.Set(key, value)
	return r.URL.Path + "?" + v.Encode()
}
