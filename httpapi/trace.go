package httpapi

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/herald-chat/herald"
)

// startSpan starts the request's server span, continuing the caller's
// trace when it sent a W3C traceparent. Its name is set at the end, when
// the route has named the operation.
func (s *Server) startSpan(r *http.Request, pattern string) (*http.Request, trace.Span) {
	ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := s.tracer.Start(ctx, r.Method+" "+pattern, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method)))
	return r.WithContext(ctx), span
}

// endRequestSpan names the span after the operation (SendChatMessage,
// ...) and records what the request log records: status, reason, request
// id; never the query or a header (tokens, tickets, the admin key).
func endRequestSpan(span trace.Span, pattern string, rec *herald.Request) {
	if rec.Operation != "" {
		span.SetName(rec.Operation)
	}
	span.SetAttributes(
		attribute.String("http.route", pattern),
		attribute.Int("http.response.status_code", rec.Status),
		attribute.String("herald.operation", rec.Operation),
		attribute.String("herald.request_id", rec.RequestID),
	)
	if rec.Reason != "" {
		span.SetAttributes(attribute.String("herald.reason", string(rec.Reason)))
	}
	if rec.ThreadID != "" {
		span.SetAttributes(attribute.String("herald.thread_id", string(rec.ThreadID)))
	}
	if rec.Status >= 500 {
		span.SetStatus(codes.Error, string(rec.Reason))
	}
	span.End()
}
