package hub

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceWrite records the write that just ended as a span "herald.write"
// under each traced event it carried: the last hop of the send path
// (request → commit → publish → write), on whichever node holds the
// connection. Events without a traceparent (tracing off, trace not
// sampled, read again from the store) record nothing.
func (c *Conn) traceWrite(began, ended time.Time, frames int, err error) {
	for _, s := range c.pending {
		if s.TraceParent == "" {
			continue
		}
		parent := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": s.TraceParent})
		if !trace.SpanContextFromContext(parent).IsValid() {
			continue
		}
		_, span := c.hub.tracer.Start(parent, "herald.write", trace.WithTimestamp(began), trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(
				attribute.String("herald.connection_id", string(c.id)),
				attribute.String("herald.transport", string(c.transport)),
				attribute.String("herald.user_id", string(c.user)),
				attribute.String("herald.thread_id", string(s.ThreadID)),
				attribute.Int64("herald.seq", int64(s.Seq)),
				attribute.Int("herald.frames", frames),
			))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End(trace.WithTimestamp(ended))
	}
}
