// Package metrics exports Herald's measurements to Prometheus, with the
// official client library (github.com/prometheus/client_golang).
//
// It implements herald.Observer, which service, hub and httpapi call on
// their paths (a request answered, a send committed, an event written to a
// connection, an ack), and reads, when scraped, the counters those packages
// keep themselves as atomics (hub.Stats, the service's publish failures)
// through a function cmd/herald gives it (Metrics.Watch). No other package
// imports Prometheus, and no metric has a user, thread or message label:
// every label takes a handful of values (an operation, a status, a reason,
// a transport).
//
// What it is not: a tracer (that is package tracing, OpenTelemetry), nor the
// evidence the doctor reads (that is the request log, the connection log and
// the delivery ledger in the Store).
//
// The metric names are API: deploy/grafana/herald.json and
// deploy/prometheus/alerts.yml use them, and a test fails when one they use
// is not registered here.
package metrics
