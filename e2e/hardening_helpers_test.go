package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http/httptest"
	"testing"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/httpapi"
	"github.com/herald-chat/herald/hub"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/token"
)

// startWith is start with the HTTP edge's configuration edited by cfg (the
// limits of issue 13: deadlines, budgets, origins). The harness's start
// builds a fixed Config; this builds the same server around an edited one.
func startWith(t testing.TB, cfg func(*httpapi.Config), edit ...func(*service.Limits)) *env {
	t.Helper()
	store, broker, engine := openEngine(t)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktest.New(epoch, clocktest.RealTimers())
	limits := service.DefaultLimits()
	for _, f := range edit {
		f(&limits)
	}
	ids := herald.RandomIDs{}
	svc, err := service.New(store, token.New(key, "", "", clk), broker, clk, ids, limits)
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(svc, store, broker, clk, ids, hubConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := httpapi.Config{AdminKey: adminKey, Hub: h, AllowedOrigins: []string{"https://app.example.com"}}
	if cfg != nil {
		cfg(&c)
	}
	api, err := httpapi.New(svc, store, clk, ids, c)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
		api.Close()
		broker.Close()
		store.Close()
	})
	return &env{t: t, URL: srv.URL, Clock: clk, Engine: engine, Store: store, Key: key, Limits: limits, api: api, Hub: h}
}
