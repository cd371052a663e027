package metrics

import "github.com/prometheus/client_golang/prometheus"

// Counts are the counters the core packages keep themselves, as atomics,
// read when Prometheus scrapes: nothing on the message path changes for
// them. cmd/herald fills it from hub.Stats and the service.
type Counts struct {
	QueueOverflows  int64 // hub.Stats.Overflows
	DroppedEvents   int64 // hub.Stats.DroppedEvents (read again from the store)
	DroppedSignals  int64 // hub.Stats.DroppedSignals (typing and receipts lost live)
	DroppedControl  int64 // hub.Stats.DroppedControl
	Queued          int64 // hub.Stats.Queued: signals waiting in every connection queue now
	MaxQueued       int64 // hub.Stats.MaxQueued: the fullest queue now
	QueueSize       int64 // the queue bound (hub.Config.QueueSize)
	PublishFailures int64 // service.PublishFailures
	LostRequestRows int64 // httpapi.Server.LostRequestRows
}

// Watch makes every scrape read fn for the Counts series. Without it they
// read zero.
func (m *Metrics) Watch(fn func() Counts) { m.watch.Store(&fn) }

// countDescs are the Counts series, in the order of values.
var countDescs = []struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(Counts) int64
}{
	{prometheus.NewDesc("herald_hub_queue_overflows_total", "Connection queues that overflowed and were caught up from the store.", nil, nil),
		prometheus.CounterValue, func(c Counts) int64 { return c.QueueOverflows }},
	{prometheus.NewDesc("herald_hub_dropped_events_total", "Sequenced signals dropped from overflowing queues (read again from the store, not lost).", nil, nil),
		prometheus.CounterValue, func(c Counts) int64 { return c.DroppedEvents }},
	{prometheus.NewDesc("herald_hub_dropped_signals_total", "Typing and read-receipt signals dropped from overflowing queues (lost live).", nil, nil),
		prometheus.CounterValue, func(c Counts) int64 { return c.DroppedSignals }},
	{prometheus.NewDesc("herald_hub_dropped_control_total", "Resyncs and ledger flushes dropped on a writer's full control queue (retried by their period).", nil, nil),
		prometheus.CounterValue, func(c Counts) int64 { return c.DroppedControl }},
	{prometheus.NewDesc("herald_hub_queued_signals", "Signals waiting in every connection queue of this node now.", nil, nil),
		prometheus.GaugeValue, func(c Counts) int64 { return c.Queued }},
	{prometheus.NewDesc("herald_hub_queue_max_depth", "Signals waiting in the fullest connection queue now.", nil, nil),
		prometheus.GaugeValue, func(c Counts) int64 { return c.MaxQueued }},
	{prometheus.NewDesc("herald_hub_queue_size", "The bound of each connection queue (--queue-size); past it the queue overflows.", nil, nil),
		prometheus.GaugeValue, func(c Counts) int64 { return c.QueueSize }},
	{prometheus.NewDesc("herald_publish_failures_total", "Signals the broker refused after their commit (receivers read them from the store).", nil, nil),
		prometheus.CounterValue, func(c Counts) int64 { return c.PublishFailures }},
	{prometheus.NewDesc("herald_request_log_lost_rows_total", "Request-log rows the store failed to write (doctor evidence lost).", nil, nil),
		prometheus.CounterValue, func(c Counts) int64 { return c.LostRequestRows }},
}

// counted is the collector of the Counts series.
type counted struct{ m *Metrics }

func (c counted) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range countDescs {
		ch <- d.desc
	}
}

func (c counted) Collect(ch chan<- prometheus.Metric) {
	var v Counts
	if fn := c.m.watch.Load(); fn != nil {
		v = (*fn)()
	}
	for _, d := range countDescs {
		ch <- prometheus.MustNewConstMetric(d.desc, d.kind, float64(d.value(v)))
	}
}
