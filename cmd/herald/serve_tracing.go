package main

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/herald-chat/herald/tracing"
)

// openTracing starts the OTLP exporter when tracing is configured
// (--otlp-endpoint, or the standard OpenTelemetry variables). Off, it
// returns a nil provider (the packages record nothing) and a stop that
// does nothing.
func (c *ServeCmd) openTracing(ctx context.Context, node string, log *slog.Logger) (trace.TracerProvider, func(), error) {
	if !tracing.Enabled(c.OTLPEndpoint) {
		return nil, func() {}, nil
	}
	p, err := tracing.New(ctx, tracing.Options{Endpoint: c.OTLPEndpoint, SampleRatio: c.OTLPSampleRatio, Version: version(), Node: node})
	if err != nil {
		return nil, nil, err
	}
	endpoint := c.OTLPEndpoint
	if endpoint == "" {
		endpoint = "from OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT"
	}
	log.Info("tracing: exporting spans over OTLP/HTTP", "endpoint", endpoint, "sample_ratio", c.OTLPSampleRatio)
	return p.TracerProvider(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			log.Warn("tracing: spans not exported at shutdown", "err", err)
		}
	}, nil
}
