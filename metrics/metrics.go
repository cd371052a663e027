package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/herald-chat/herald"
)

// Options are the label values known before any is seen; each gets its
// series at zero from the start, so that rate() and alerts on them work
// before the first occurrence.
type Options struct {
	// DoctorCauses are the causes the doctor can confirm (doctor.Causes).
	DoctorCauses []string
	// Transports are the real-time transports (websocket, sse, longpoll).
	Transports []string
}

// The label values every node has from the start.
var (
	storeErrorSites   = []string{"request", "ledger", "connection", "request_log", "webhook"}
	brokerErrorKinds  = []string{"disconnected", "dropped"}
	rateLimitReasons  = []herald.Reason{herald.ReasonRateLimited, herald.ReasonTooManyAuthFailures, herald.ReasonTooManyConnections}
	closeReasonsKnown = []herald.Reason{herald.ReasonSlowConsumer, herald.ReasonHeartbeatTimeout, herald.ReasonGoingAway,
		herald.ReasonResync, herald.ReasonClientClosed, herald.ReasonConnectionLost}
)

// Latency buckets, in seconds: from a fraction of a millisecond (an
// in-process fan-out) to seconds (a store in trouble).
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics is one node's Prometheus registry and the herald.Observer that
// fills it. Its methods are safe for concurrent use; those on the message
// path add to a counter or observe a histogram, without allocating.
type Metrics struct {
	reg *prometheus.Registry

	requests       *prometheus.CounterVec   // operation, status, reason
	requestSeconds *prometheus.HistogramVec // operation
	rateLimited    *prometheus.CounterVec   // reason
	reqMu          sync.Mutex               // serializes additions to reqCache
	reqCache       atomic.Pointer[map[requestKey]requestSeries]

	sendCommit prometheus.Histogram
	fanout     prometheus.Histogram
	delivered  prometheus.Counter
	replayed   prometheus.Counter
	acks       prometheus.Counter
	resumed    prometheus.Counter
	notResumed prometheus.Counter

	connections  *prometheus.GaugeVec     // transport
	closes       *prometheus.CounterVec   // reason
	storeErrors  *prometheus.CounterVec   // where
	brokerErrors *prometheus.CounterVec   // kind
	doctorCauses *prometheus.CounterVec   // cause
	webhooks     *prometheus.HistogramVec // result

	watch atomic.Pointer[func() Counts]
}

var _ herald.Observer = (*Metrics)(nil)

type requestKey struct {
	op     string
	status int
	reason herald.Reason
}

// requestSeries are the series one (operation, status, reason) adds to.
type requestSeries struct {
	count       prometheus.Counter
	seconds     prometheus.Observer
	rateLimited prometheus.Counter // nil unless the status is 429
}

// New returns Metrics with a registry of its own, holding Herald's metrics
// and the Go runtime and process collectors.
func New(opts Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_http_requests_total",
		Help: "HTTP requests answered, by operation (route name), status and reason (empty on success)."},
		[]string{"operation", "status", "reason"})
	m.requestSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "herald_http_request_duration_seconds",
		Help: "Time to answer an HTTP request, by operation (real-time streams count until their upgrade).", Buckets: latencyBuckets},
		[]string{"operation"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_rate_limited_requests_total",
		Help: "Requests refused with 429, by reason (rate_limited, too_many_auth_failures, too_many_connections)."},
		[]string{"reason"})
	m.sendCommit = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "herald_send_commit_seconds",
		Help: "Time from the start of a send's transaction to its durable commit.", Buckets: latencyBuckets})
	m.fanout = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "herald_fanout_seconds",
		Help: "Time from a live event's commit to its write to one connection's socket; one observation per write, its oldest live event.", Buckets: latencyBuckets})
	m.delivered = prometheus.NewCounter(prometheus.CounterOpts{Name: "herald_deliveries_total",
		Help: "Sequenced events written to real-time connections (one per event per connection), live or replayed."})
	m.replayed = prometheus.NewCounter(prometheus.CounterOpts{Name: "herald_replayed_events_total",
		Help: "Events connections read from the store: resumes, gaps, catch-ups after an overflow."})
	m.acks = prometheus.NewCounter(prometheus.CounterOpts{Name: "herald_acks_total",
		Help: "Acknowledgements clients sent and the server accepted (one per thread per ack frame)."})
	resumes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_resumes_total",
		Help: "Connections that asked to resume, by result: resumed, or not (a cursor ahead of the thread, a thread gone)."},
		[]string{"result"})
	m.resumed, m.notResumed = resumes.WithLabelValues("resumed"), resumes.WithLabelValues("not_resumed")
	m.connections = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "herald_connections",
		Help: "Open real-time connections on this node, by transport."}, []string{"transport"})
	m.closes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_connections_closed_total",
		Help: "Real-time connections ended, by reason (slow_consumer, heartbeat_timeout, going_away, ...)."}, []string{"reason"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_store_errors_total",
		Help: "Store operations that failed, by where: request (a 500), ledger, connection (closed with resync), request_log, webhook (the outbox)."},
		[]string{"where"})
	m.brokerErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_broker_errors_total",
		Help: "Broker connection troubles, by kind: disconnected, dropped (signals lost; connections catch up from the store)."},
		[]string{"kind"})
	m.doctorCauses = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "herald_doctor_causes_total",
		Help: "Causes the delivery doctor confirmed in the reports it was asked for, by cause."}, []string{"cause"})
	m.webhooks = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "herald_webhook_attempt_seconds",
		Help:    "Webhook POSTs by result (delivered, retry: failed and scheduled again, dead: failed for good) and how long each took.",
		Buckets: []float64{.005, .025, .1, .5, 1, 5, 30}}, []string{"result"})
	for _, r := range []string{"delivered", "retry", "dead"} {
		m.webhooks.WithLabelValues(r)
	}

	for _, w := range storeErrorSites {
		m.storeErrors.WithLabelValues(w)
	}
	for _, k := range brokerErrorKinds {
		m.brokerErrors.WithLabelValues(k)
	}
	for _, r := range rateLimitReasons {
		m.rateLimited.WithLabelValues(string(r))
	}
	for _, r := range closeReasonsKnown {
		m.closes.WithLabelValues(string(r))
	}
	for _, c := range opts.DoctorCauses {
		m.doctorCauses.WithLabelValues(c)
	}
	for _, t := range opts.Transports {
		m.connections.WithLabelValues(t)
	}
	empty := map[requestKey]requestSeries{}
	m.reqCache.Store(&empty)

	m.reg.MustRegister(m.requests, m.requestSeconds, m.rateLimited, m.sendCommit, m.fanout, m.delivered, m.replayed, m.acks,
		resumes, m.connections, m.closes, m.storeErrors, m.brokerErrors, m.doctorCauses, m.webhooks, counted{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus exposition format (GET
// /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Gatherer returns the registry, for tests and for tools that push.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Request counts a request. The series of each (operation, status,
// reason) are looked up once and kept in a copy-on-write map: after the
// first request of a kind, counting is a map read and two atomic adds.
func (m *Metrics) Request(op string, status int, reason herald.Reason, d time.Duration) {
	k := requestKey{op, status, reason}
	s, ok := (*m.reqCache.Load())[k]
	if !ok {
		s = m.addRequestSeries(k)
	}
	s.count.Inc()
	s.seconds.Observe(d.Seconds())
	if s.rateLimited != nil {
		s.rateLimited.Inc()
	}
}

func (m *Metrics) addRequestSeries(k requestKey) requestSeries {
	m.reqMu.Lock()
	defer m.reqMu.Unlock()
	old := *m.reqCache.Load()
	if s, ok := old[k]; ok {
		return s
	}
	s := requestSeries{count: m.requests.WithLabelValues(k.op, strconv.Itoa(k.status), string(k.reason)),
		seconds: m.requestSeconds.WithLabelValues(k.op)}
	if k.status == http.StatusTooManyRequests {
		s.rateLimited = m.rateLimited.WithLabelValues(string(k.reason))
	}
	next := make(map[requestKey]requestSeries, len(old)+1)
	for key, v := range old {
		next[key] = v
	}
	next[k] = s
	m.reqCache.Store(&next)
	return s
}

// SendCommitted observes a send's commit latency.
func (m *Metrics) SendCommitted(d time.Duration) { m.sendCommit.Observe(d.Seconds()) }

// Delivered counts events written to a connection.
func (m *Metrics) Delivered(n int) { m.delivered.Add(float64(n)) }

// FannedOut observes a live event's commit-to-socket latency.
func (m *Metrics) FannedOut(d time.Duration) { m.fanout.Observe(max(d, 0).Seconds()) }

// Replayed counts events read from the store for a connection.
func (m *Metrics) Replayed(n int) {
	if n > 0 {
		m.replayed.Add(float64(n))
	}
}

// Acked counts accepted acknowledgements.
func (m *Metrics) Acked(n int) { m.acks.Add(float64(n)) }

// Resumed counts a resume, and whether it resumed every thread.
func (m *Metrics) Resumed(ok bool) {
	if ok {
		m.resumed.Inc()
	} else {
		m.notResumed.Inc()
	}
}

// ConnectionOpened counts an open connection of transport.
func (m *Metrics) ConnectionOpened(transport string) { m.connections.WithLabelValues(transport).Inc() }

// ConnectionClosed counts a connection's end and its reason.
func (m *Metrics) ConnectionClosed(transport string, reason herald.Reason) {
	m.connections.WithLabelValues(transport).Dec()
	m.closes.WithLabelValues(string(reason)).Inc()
}

// StoreError counts a failed store operation.
func (m *Metrics) StoreError(where string) { m.storeErrors.WithLabelValues(where).Inc() }

// BrokerError counts a broker trouble: disconnected, or dropped signals.
func (m *Metrics) BrokerError(kind string) { m.brokerErrors.WithLabelValues(kind).Inc() }

// DoctorCause counts a cause the doctor confirmed.
func (m *Metrics) DoctorCause(cause string) { m.doctorCauses.WithLabelValues(cause).Inc() }

// WebhookAttempt counts one webhook POST by result and observes its time.
func (m *Metrics) WebhookAttempt(result string, d time.Duration) {
	m.webhooks.WithLabelValues(result).Observe(max(d, 0).Seconds())
}
