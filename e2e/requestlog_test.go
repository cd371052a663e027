package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/clocktest"
	"github.com/herald-chat/herald/doctor"
	"github.com/herald-chat/herald/httpapi"
	"github.com/herald-chat/herald/inmem"
	"github.com/herald-chat/herald/service"
	"github.com/herald-chat/herald/sqlite"
	"github.com/herald-chat/herald/token"
)

// gatedLog is a store whose request-log writes wait until the gate opens:
// a writer that falls behind a burst.
type gatedLog struct {
	herald.Store
	gate chan struct{}
}

func (g gatedLog) LogRequests(ctx context.Context, rs []herald.Request) error {
	<-g.gate
	return g.Store.LogRequests(ctx, rs)
}

// startLogged runs an API (no real-time hub) over store with a request-log
// queue of queue rows.
func startLogged(t *testing.T, store herald.Store, queue int) (*httpapi.Server, *service.Service) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktest.New(epoch)
	svc, err := service.New(store, token.New(key, "", "", clk), inmem.New(), clk, herald.RandomIDs{}, service.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(svc, store, clk, herald.RandomIDs{}, httpapi.Config{AdminKey: adminKey, RequestLogQueue: queue, Doctor: doctor.New(store, clk)})
	if err != nil {
		t.Fatal(err)
	}
	return api, svc
}

// TestRequestLogKeepsEveryRowUnderBurst: a burst of 200 requests against
// a queue of 8 rows while the store does not write: every row is kept (the
// requests wait for room), none is dropped.
func TestRequestLogKeepsEveryRowUnderBurst(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	g := gatedLog{Store: store, gate: make(chan struct{})}
	api, _ := startLogged(t, g, 8)
	srv := httptest.NewServer(api)
	defer srv.Close()
	const burst = 200
	var answered atomic.Int64
	var wg sync.WaitGroup
	for range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(srv.URL + "/chat/threads") // 401: no token
			if err == nil {
				resp.Body.Close()
				answered.Add(1)
			}
		}()
	}
	// Open the gate once every request was answered or after a while,
	// whichever comes first; the assertion is on the rows kept, not on
	// timing.
	opened := time.NewTimer(2 * time.Second)
	for answered.Load() < burst {
		select {
		case <-opened.C:
		case <-time.After(10 * time.Millisecond):
			continue
		}
		break
	}
	close(g.gate)
	wg.Wait()
	api.Close()
	rows, err := store.ListRequests(context.Background(), herald.RequestFilter{Limit: 10 * burst})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != burst {
		t.Errorf("got %d request-log rows, want %d: rows were dropped", len(rows), burst)
	}
	if n, _ := api.LostRequestRows(); n != 0 {
		t.Errorf("got %d lost rows, want 0", n)
	}
}

// TestCancelledSendIsLogged499: a send whose client went away is logged
// as 499 client_cancelled, not as 500 internal_error.
func TestCancelledSendIsLogged499(t *testing.T) {
	e := start(t)
	alice, bob := e.newUser(), e.newUser()
	th := e.newThread(alice, bob)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client gave up before the server answered
	req := httptest.NewRequestWithContext(ctx, "POST", "/chat/threads/"+th+"/messages", strings.NewReader(`{"content":"hello"}`))
	req.Header.Set("Authorization", "Bearer "+alice.Token)
	req.Header.Set("x-request-id", "r_cancelled")
	rec := httptest.NewRecorder()
	e.api.ServeHTTP(rec, req)
	e.flushRequests()
	rows, err := e.Store.ListRequests(context.Background(), herald.RequestFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.RequestID == "r_cancelled" {
			if r.Status != 499 || r.Reason != herald.ReasonClientCancelled {
				t.Errorf("got %d %s, want 499 client_cancelled", r.Status, r.Reason)
			}
			return
		}
	}
	t.Errorf("no request-log row r_cancelled among %d rows", len(rows))
}
