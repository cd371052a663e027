package client_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/client"
	"github.com/herald-chat/herald/wire"
)

func TestDiagnoseQueryAndReport(t *testing.T) {
	var got []string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery+" "+r.Header.Get("Authorization"))
		answer(w, http.StatusOK, `{"version":1,"user":"u_1","thread":"t 1","status":"not_delivered","cause":"token_revoked",
			"summary":"Token revoked","findings":[{"check":"token_revoked","title":"Token revoked","verdict":"confirmed","tag":"Observed",
			"summary":"revoked","evidence":[{"at":"2024-03-09T14:30:05Z","source":"tokens","id":"k_1","detail":"revoked"}]}]}`)
	})
	a := client.NewAdmin(srv.URL, "hak_key")
	ctx := context.Background()
	rep, err := a.Diagnose(ctx, client.DiagnoseOptions{User: "u_1", Thread: "t 1", Message: "m&1", Since: "2h"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Diagnose(ctx, client.DiagnoseOptions{User: "u_1", Thread: "t_1"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /admin/doctor?message=m%261&since=2h&thread=t+1&user=u_1 Bearer hak_key",
		"GET /admin/doctor?thread=t_1&user=u_1 Bearer hak_key",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep.Cause != wire.CheckTokenRevoked || len(rep.Findings) != 1 || rep.Findings[0].Verdict != wire.VerdictConfirmed ||
		rep.Findings[0].Tag != wire.TagObserved || len(rep.Findings[0].Evidence) != 1 || rep.Findings[0].Evidence[0].ID != "k_1" {
		t.Errorf("got report %+v, want cause token_revoked with one confirmed Observed finding citing k_1", rep)
	}
}

func TestEventsQueryAndTable(t *testing.T) {
	var got []string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		answer(w, http.StatusOK, `{"table":"Connections","columns":["opened","connection"],"rows":[["2024-03-09T14:30:05.000Z","c_1"]]}`)
	})
	a := client.NewAdmin(srv.URL, "hak_key")
	ctx := context.Background()
	tab, err := a.Events(ctx, "Connections", client.EventsOptions{User: "u_1", Thread: "t_1", Message: "m_1",
		Since: "2024-03-09T14:00:00+01:00", Until: "1h", Reason: "slow_consumer", Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Events(ctx, "Acks", client.EventsOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/admin/events/Connections?limit=20&message=m_1&reason=slow_consumer&since=2024-03-09T14%3A00%3A00%2B01%3A00&thread=t_1&until=1h&user=u_1",
		"/admin/events/Acks?",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if tab.Name != "Connections" || len(tab.Columns) != 2 || len(tab.Rows) != 1 || tab.Rows[0][1] != "c_1" {
		t.Errorf("got table %+v, want Connections with one row for c_1", tab)
	}
}

func TestEventsTableIsOnePathSegment(t *testing.T) {
	var got []string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.EscapedPath())
		answer(w, http.StatusNotFound, `{"error":{"code":"not_found","reason":"route_not_found","message":"no evidence table","target":"table"}}`)
	})
	a := client.NewAdmin(srv.URL, "hak_key")
	_, err := a.Events(context.Background(), "../identities", client.EventsOptions{})
	he, h := mustHeraldError(t, err)
	if he.Code != herald.CodeNotFound || h.Status != http.StatusNotFound {
		t.Errorf("got %s (HTTP %d), want not_found (HTTP 404)", he.Code, h.Status)
	}
	if len(got) != 1 || got[0] != "/admin/events/..%2Fidentities" {
		t.Errorf("got paths %q, want the table escaped as one segment", got)
	}
	for _, table := range []string{"", ".."} {
		if _, err := a.Events(context.Background(), table, client.EventsOptions{}); herald.ErrorCode(err) != herald.CodeInvalid {
			t.Errorf("table %q: got %v, want an invalid error before sending", table, err)
		}
	}
	if len(got) != 1 {
		t.Errorf("got %d requests, want the unusable tables refused unsent", len(got))
	}
}
