package tracing

import (
	"context"
	"testing"
)

// TestEnabled: tracing is on with an endpoint or a standard variable, off
// otherwise.
func TestEnabled(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	if Enabled("") {
		t.Errorf("no endpoint, no variable: on, want off")
	}
	if !Enabled("http://127.0.0.1:4318/v1/traces") {
		t.Errorf("an endpoint: off, want on")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
	if !Enabled("") {
		t.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT set: off, want on")
	}
}

// TestNewRefusesBadRatio: a sample ratio outside 0–1 is refused, not
// clamped.
func TestNewRefusesBadRatio(t *testing.T) {
	for _, r := range []float64{-0.1, 1.5} {
		if _, err := New(context.Background(), Options{Endpoint: "http://127.0.0.1:4318/v1/traces", SampleRatio: r}); err == nil {
			t.Errorf("sample ratio %v: accepted, want refused", r)
		}
	}
	p, err := New(context.Background(), Options{Endpoint: "http://127.0.0.1:4318/v1/traces", SampleRatio: 0.5})
	if err != nil {
		t.Fatalf("sample ratio 0.5: %v", err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Errorf("shutdown with nothing to export: %v", err)
	}
}
