package metrics

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/metrics/metricstest"
)

// session drives every Observer method once or more, as a node's requests,
// sends, deliveries and acks would, and sets the scrape-time counts.
func session(m *Metrics) {
	m.Request("SendChatMessage", http.StatusCreated, "", 3*time.Millisecond)
	m.Request("SendChatMessage", http.StatusCreated, "", 4*time.Millisecond)
	m.Request("SendChatMessage", http.StatusTooManyRequests, herald.ReasonRateLimited, time.Millisecond)
	m.Request("GetChatMessage", http.StatusInternalServerError, herald.ReasonInternal, time.Millisecond)
	m.SendCommitted(2 * time.Millisecond)
	m.SendCommitted(2 * time.Millisecond)
	m.ConnectionOpened("websocket")
	m.Delivered(2)
	m.FannedOut(time.Millisecond)
	m.FannedOut(-time.Millisecond) // clocks of two nodes: never a negative observation
	m.Replayed(1)
	m.Acked(1)
	m.Resumed(true)
	m.Resumed(false)
	m.ConnectionOpened("sse")
	m.ConnectionClosed("sse", herald.ReasonSlowConsumer)
	m.StoreError("request")
	m.BrokerError("dropped")
	m.DoctorCause("slow_consumer")
	m.Watch(func() Counts {
		return Counts{QueueOverflows: 1, DroppedEvents: 2, DroppedSignals: 3, DroppedControl: 4, Queued: 5, MaxQueued: 5, QueueSize: 1024,
			PublishFailures: 6, LostRequestRows: 7}
	})
}

// TestDeployNamesRegistered: every metric the committed Grafana dashboard
// and Prometheus alert rules use is exported after a session.
func TestDeployNamesRegistered(t *testing.T) {
	m := New(Options{DoctorCauses: []string{"slow_consumer"}, Transports: []string{"websocket", "sse", "longpoll"}})
	session(m)
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	families := map[string]bool{}
	for _, mf := range mfs {
		families[mf.GetName()] = true
	}
	for _, name := range metricstest.Names(t, "..") {
		if !families[metricstest.Family(name, families)] {
			t.Errorf("the deploy files use %s; it is not exported by metrics.New", name)
		}
	}
}

// TestCounts: the session's observations land in the series with the
// right labels, and a 429 also counts as rate-limited by its reason.
func TestCounts(t *testing.T) {
	m := New(Options{})
	session(m)
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"sends 201", testutil.ToFloat64(m.requests.WithLabelValues("SendChatMessage", "201", "")), 2},
		{"sends 429", testutil.ToFloat64(m.requests.WithLabelValues("SendChatMessage", "429", "rate_limited")), 1},
		{"rate limited", testutil.ToFloat64(m.rateLimited.WithLabelValues("rate_limited")), 1},
		{"rate limited (auth)", testutil.ToFloat64(m.rateLimited.WithLabelValues("too_many_auth_failures")), 0},
		{"deliveries", testutil.ToFloat64(m.delivered), 2},
		{"acks", testutil.ToFloat64(m.acks), 1},
		{"replayed", testutil.ToFloat64(m.replayed), 1},
		{"resumed", testutil.ToFloat64(m.resumed), 1},
		{"not resumed", testutil.ToFloat64(m.notResumed), 1},
		{"websocket connections", testutil.ToFloat64(m.connections.WithLabelValues("websocket")), 1},
		{"sse connections", testutil.ToFloat64(m.connections.WithLabelValues("sse")), 0},
		{"slow consumer closes", testutil.ToFloat64(m.closes.WithLabelValues("slow_consumer")), 1},
		{"store errors", testutil.ToFloat64(m.storeErrors.WithLabelValues("request")), 1},
		{"broker drops", testutil.ToFloat64(m.brokerErrors.WithLabelValues("dropped")), 1},
		{"doctor causes", testutil.ToFloat64(m.doctorCauses.WithLabelValues("slow_consumer")), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.fanout); n != 1 {
		t.Errorf("fan-out histogram: got %d series, want 1", n)
	}
	if got, want := histogramCount(t, m, "herald_fanout_seconds"), uint64(2); got != want {
		t.Errorf("fan-out observations: got %d, want %d", got, want)
	}
	if got, want := histogramCount(t, m, "herald_send_commit_seconds"), uint64(2); got != want {
		t.Errorf("send commit observations: got %d, want %d", got, want)
	}
	if got, want := gauge(t, m, "herald_hub_queued_signals"), 5.0; got != want {
		t.Errorf("queued signals: got %v, want %v", got, want)
	}
}

func histogramCount(t *testing.T, m *Metrics, name string) uint64 {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("%s not gathered", name)
	return 0
}

func gauge(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("%s not gathered", name)
	return 0
}

// TestHotPathAllocatesNothing: what service and hub call per send, per
// delivery and per ack allocates nothing (a request's series are looked
// up once, then read from the copy-on-write cache).
func TestHotPathAllocatesNothing(t *testing.T) {
	m := New(Options{})
	m.Request("SendChatMessage", 201, "", time.Millisecond) // first of its kind: cached
	for name, fn := range map[string]func(){
		"Request":       func() { m.Request("SendChatMessage", 201, "", time.Millisecond) },
		"SendCommitted": func() { m.SendCommitted(time.Millisecond) },
		"Delivered":     func() { m.Delivered(3) },
		"FannedOut":     func() { m.FannedOut(time.Millisecond) },
		"Acked":         func() { m.Acked(1) },
		"Replayed":      func() { m.Replayed(2) },
	} {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: got %v allocations per call, want 0", name, n)
		}
	}
}

// BenchmarkObserve measures the cost the message path pays per event.
func BenchmarkObserve(b *testing.B) {
	m := New(Options{})
	m.Request("SendChatMessage", 201, "", time.Millisecond)
	b.Run("Request", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.Request("SendChatMessage", 201, "", time.Millisecond)
			}
		})
	})
	b.Run("DeliveredFannedOut", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.Delivered(1)
				m.FannedOut(time.Millisecond)
			}
		})
	})
	b.Run("NoObserver", func(b *testing.B) {
		var o herald.Observer = herald.NoObserver{}
		for b.Loop() {
			o.Delivered(1)
			o.FannedOut(time.Millisecond)
		}
	})
}
