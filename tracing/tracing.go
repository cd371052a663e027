// Package tracing exports Herald's spans of the send path (request →
// commit → publish → socket write) over OTLP/HTTP with the OpenTelemetry
// SDK. It is off unless configured; the other packages use only the
// OpenTelemetry API (no-op without a provider from here).
package tracing

import (
	"context"
	"errors"
	"fmt"
	"os"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Options configure the exporter.
type Options struct {
	// Endpoint is the full URL of the collector's OTLP/HTTP traces
	// endpoint (http://127.0.0.1:4318/v1/traces). Empty leaves it to the
	// standard OTEL_EXPORTER_OTLP_ENDPOINT or
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT variables.
	Endpoint string
	// SampleRatio is the fraction of traces started here that are kept
	// (0–1). A request that carries a traceparent keeps its caller's
	// decision.
	SampleRatio float64
	Service     string // service.name (default "herald")
	Version     string // service.version
	Node        string // service.instance.id
}

// Enabled reports whether tracing is configured: an endpoint given, or one
// of the standard OpenTelemetry endpoint variables set.
func Enabled(endpoint string) bool {
	return endpoint != "" || os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Provider is a tracer provider that batches spans to the collector.
type Provider struct {
	tp *sdktrace.TracerProvider
}

// New starts the exporter. It does not contact the collector: an
// unreachable collector costs dropped spans (logged by the SDK), never a
// request.
func New(ctx context.Context, o Options) (*Provider, error) {
	if o.SampleRatio < 0 || o.SampleRatio > 1 {
		return nil, fmt.Errorf("tracing: sample ratio %v is not between 0 and 1", o.SampleRatio)
	}
	var opts []otlptracehttp.Option
	if o.Endpoint != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(o.Endpoint))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	if o.Service == "" {
		o.Service = "herald"
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", o.Service)}
	if o.Version != "" {
		attrs = append(attrs, attribute.String("service.version", o.Version))
	}
	if o.Node != "" {
		attrs = append(attrs, attribute.String("service.instance.id", o.Node))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SampleRatio))),
	)
	return &Provider{tp: tp}, nil
}

// TracerProvider returns the provider to hand to the other packages.
func (p *Provider) TracerProvider() trace.TracerProvider { return p.tp }

// Shutdown exports the spans still batched and stops the exporter.
func (p *Provider) Shutdown(ctx context.Context) error {
	if err := p.tp.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}
