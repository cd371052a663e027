package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/doctor"
)

func (s *Server) adminRoutes() {
	s.route("GET /admin/doctor", "Diagnose", s.diagnose)
	s.route("GET /admin/doctor/thread", "DiagnoseThread", s.diagnoseThread)
	s.route("GET /admin/doctor/recent", "DiagnoseRecent", s.diagnoseRecent)
	s.route("GET /admin/events/{table}", "ListEvidence", s.evidence)
}

// diagnose answers GET /admin/doctor?user=&thread=&message=&since=: the
// delivery report as JSON, or as text with format=text.
func (s *Server) diagnose(w http.ResponseWriter, r *http.Request) error {
	since, err := s.doctorRequest(r, herald.UserID(r.URL.Query().Get("user")))
	if err != nil {
		return err
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
	if rep.Cause != "" {
		s.obs.DoctorCause(string(rep.Cause))
	}
	rep.Incomplete = append(rep.Incomplete, s.lostRows()...)
	if v.Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		return doctor.WriteText(w, rep)
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// doctorRequest is what every doctor endpoint does first: check the admin
// key, read since, and sync the ledger (of user's connections only, when
// the question is about one user).
func (s *Server) doctorRequest(r *http.Request, user herald.UserID) (time.Time, error) {
	if err := s.admin(r); err != nil {
		return time.Time{}, err
	}
	q := query{r: r}
	since := q.since("since", s.clock.Now())
	if q.err != nil {
		return time.Time{}, q.err
	}
	s.syncLedger(user)
	return since, nil
}

// syncLedger writes this node's delivery ledger (pushes and acks it holds
// in memory, written in batches) before the doctor reads it, so that a
// message just delivered is not reported as unexplained.
func (s *Server) syncLedger(user herald.UserID) {
	switch {
	case s.cfg.Hub == nil:
	case user != "":
		s.cfg.Hub.SyncUser(user)
	default:
		s.cfg.Hub.Sync()
	}
}

// lostRows says, for a report, that this node lost request-log or
// delivery-ledger rows.
func (s *Server) lostRows() []string {
	var out []string
	if n, since := s.LostRequestRows(); n > 0 {
		out = append(out, fmt.Sprintf("%d request-log row(s) could not be written on this node since %s: the request evidence is incomplete", n, since.UTC().Format(time.RFC3339)))
	}
	if s.cfg.Hub != nil {
		if n, since := s.cfg.Hub.LostLedgerRows(); n > 0 {
			out = append(out, fmt.Sprintf("%d delivery-ledger row(s) (pushes and acks) could not be written on this node since %s: a delivered message may show as not pushed", n, since.UTC().Format(time.RFC3339)))
		}
	}
	return out
}

// diagnoseThread answers GET /admin/doctor/thread?thread=&message=&since=:
// the message's status for every participant, grouped by cause.
func (s *Server) diagnoseThread(w http.ResponseWriter, r *http.Request) error {
	since, err := s.doctorRequest(r, "")
	if err != nil {
		return err
	}
	v := r.URL.Query()
	t, err := s.doctor.ThreadTriage(r.Context(), doctor.ThreadQuery{Thread: herald.ThreadID(v.Get("thread")), Message: herald.MessageID(v.Get("message")), Since: since})
	if err != nil {
		return err
	}
	if rec := recordOf(r); rec != nil {
		rec.ThreadID, rec.MessageID = herald.ThreadID(t.Thread), herald.MessageID(t.Message)
	}
	return s.writeTriage(w, r, t)
}

// diagnoseRecent answers GET /admin/doctor/recent?since=1h: the pairs of
// recipient and message not delivered among the messages sent since then,
// grouped by cause.
func (s *Server) diagnoseRecent(w http.ResponseWriter, r *http.Request) error {
	since, err := s.doctorRequest(r, "")
	if err != nil {
		return err
	}
	t, err := s.doctor.RecentTriage(r.Context(), doctor.RecentQuery{Since: since})
	if err != nil {
		return err
	}
	return s.writeTriage(w, r, t)
}

func (s *Server) writeTriage(w http.ResponseWriter, r *http.Request, t doctor.Triage) error {
	t.Incomplete = append(t.Incomplete, s.lostRows()...)
	if r.URL.Query().Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		return doctor.WriteTriage(w, t)
	}
	writeJSON(w, http.StatusOK, t)
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

// maxSinceSeconds is the largest count of seconds since/until accept: the
// longest time.Duration, in whole seconds.
const maxSinceSeconds = int64(math.MaxInt64 / int64(time.Second))

// since reads a time as RFC 3339 or as a duration before now ("2h").
func (q *query) since(name string, now time.Time) time.Time {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d).UTC()
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		// A count of seconds past what a Duration holds (~292 years) would
		// wrap around to the future and silently match nothing.
		if n > maxSinceSeconds {
			q.fail(herald.ReasonInvalidField, name, "%s is at most %d seconds (or an RFC 3339 time), not %s", name, maxSinceSeconds, v)
			return time.Time{}
		}
		return now.Add(-time.Duration(n) * time.Second).UTC()
	}
	return q.time(name)
}
