package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/doctor"
)

func (s *Server) adminRoutes() {
	s.route("GET /admin/doctor", "Diagnose", s.diagnose)
	s.route("GET /admin/events/{table}", "ListEvidence", s.evidence)
}

// diagnose answers GET /admin/doctor?user=&thread=&message=&since=: the
// delivery report as JSON, or as text with format=text.
func (s *Server) diagnose(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	q := query{r: r}
	since := q.since("since", s.clock.Now())
	if q.err != nil {
		return q.err
	}
	v := r.URL.Query()
	rep, err := s.doctor.Diagnose(r.Context(), doctor.Query{User: herald.UserID(v.Get("user")), Thread: herald.ThreadID(v.Get("thread")),
		Message: herald.MessageID(v.Get("message")), Since: since})
	if err != nil {
		return err
	}
	if rec := recordOf(r); rec != nil {
		rec.ThreadID, rec.MessageID = herald.ThreadID(rep.Thread), herald.MessageID(rep.Message)
	}
	if v.Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		return doctor.WriteText(w, rep)
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// evidence answers GET /admin/events/{table} with the table's rows.
func (s *Server) evidence(w http.ResponseWriter, r *http.Request) error {
	if err := s.admin(r); err != nil {
		return err
	}
	q := query{r: r}
	v := r.URL.Query()
	f := doctor.Filter{User: herald.UserID(v.Get("user")), Thread: herald.ThreadID(v.Get("thread")), Message: herald.MessageID(v.Get("message")),
		Since: q.since("since", s.clock.Now()), Until: q.since("until", s.clock.Now()), Reason: herald.Reason(v.Get("reason")), Limit: q.int("limit")}
	if q.err != nil {
		return q.err
	}
	t, err := doctor.ReadTable(r.Context(), s.store, r.PathValue("table"), f)
	if herald.IsNotFound(err) && herald.ErrorReason(err) == herald.ReasonNone {
		return herald.Errorf(herald.CodeNotFound, herald.ReasonMessageNotFound, "no message %s in thread %s", f.Message, f.Thread)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// since reads a time as RFC 3339 or as a duration before now ("2h").
func (q *query) since(name string, now time.Time) time.Time {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d).UTC()
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return now.Add(-time.Duration(n) * time.Second).UTC()
	}
	return q.time(name)
}
