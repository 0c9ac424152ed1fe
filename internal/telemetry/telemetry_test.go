package telemetry_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/internal/telemetry"
)

// otelVars are the variables Setup reads; each test starts with all of them unset.
var otelVars = []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
	"TRACEPARENT", "TRACESTATE"}

func clearEnv(t *testing.T) {
	for _, v := range otelVars {
		t.Setenv(v, "")
	}
}

// TestSetupSwitch checks when tracing is on, off, or refused with an error that names
// the setting and what it accepts.
func TestSetupSwitch(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		flag    string
		on      bool
		wantErr string
	}{
		{"off by default", nil, "", false, ""},
		{"endpoint variable", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, "", true, ""},
		{"traces endpoint variable", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, "", true, ""},
		{"flag", nil, "http://127.0.0.1:4318", true, ""},
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "http://127.0.0.1:4317", true, ""},
		{"SDK disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, "", false, ""},
		{"exporter none", map[string]string{"OTEL_TRACES_EXPORTER": "none"}, "http://127.0.0.1:4318", false, ""},
		{"exporter unknown", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "http://127.0.0.1:4318", false, `OTEL_TRACES_EXPORTER="zipkin": aiflow exports traces with otlp only (or none to turn them off)`},
		{"protocol unknown", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "http://127.0.0.1:4318", false, `OTEL_EXPORTER_OTLP_PROTOCOL="http/json": want grpc or http/protobuf`},
		{"flag without scheme", nil, "user:secret@localhost:4317", false, `--otlp-endpoint "localhost:4317": want a URL such as http://localhost:4318`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tr, err := telemetry.Setup(context.Background(), telemetry.Config{Endpoint: tt.flag})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("the error shows the endpoint's credentials: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Shutdown()
			if on := tr != nil; on != tt.on {
				t.Errorf("tracing on = %v, want %v", on, tt.on)
			}
			if tr == nil && tr.Engine() != nil {
				t.Error("tracing off gives the engine a tracer")
			}
		})
	}
}

// TestDeadCollector checks that a collector that is not there costs one warning, without
// its credentials, and that the flush at exit returns (within the flush timeout).
func TestDeadCollector(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(protocol, func(t *testing.T) {
			clearEnv(t)
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close() // nothing listens there now
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
			t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20header-secret")
			var warn bytes.Buffer
			tr, err := telemetry.Setup(context.Background(), telemetry.Config{Endpoint: "http://user:url-secret@" + addr, Warn: &warn, FlushTimeout: time.Second})
			if err != nil || tr == nil {
				t.Fatalf("setup: %v", err)
			}
			for i := 0; i < 3; i++ {
				_, sp := tr.Engine().Start(context.Background(), engine.SpanStart{RunID: "r", Flow: "f", Item: -1})
				sp.End(engine.SpanEnd{Status: engine.StatusSucceeded})
			}
			tr.Shutdown()
			got := warn.String()
			if strings.Count(got, "warning: tracing:") != 1 || !strings.Contains(got, addr) {
				t.Errorf("warnings:\n%s\nwant one naming %s", got, addr)
			}
			if strings.Contains(got, "url-secret") || strings.Contains(got, "header-secret") {
				t.Errorf("the warning shows a credential:\n%s", got)
			}
		})
	}
}

// TestParent checks that TRACEPARENT (as CI systems set it) becomes the run's parent.
func TestParent(t *testing.T) {
	clearEnv(t)
	if sc := trace.SpanContextFromContext(telemetry.Parent(context.Background())); sc.IsValid() {
		t.Errorf("no TRACEPARENT gave a parent %v", sc)
	}
	t.Setenv("TRACEPARENT", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	sc := trace.SpanContextFromContext(telemetry.Parent(context.Background()))
	if sc.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" || sc.SpanID().String() != "b7ad6b7169203331" || !sc.IsRemote() || !sc.IsSampled() {
		t.Errorf("parent %+v; want TRACEPARENT's span, remote and sampled", sc)
	}
	t.Setenv("TRACEPARENT", "not a traceparent")
	if sc := trace.SpanContextFromContext(telemetry.Parent(context.Background())); sc.IsValid() {
		t.Errorf("a malformed TRACEPARENT gave a parent %v", sc)
	}
}

func TestRedacted(t *testing.T) {
	for in, want := range map[string]string{
		"http://user:pw@collector:4318/v1/traces?token=x": "http://collector:4318/v1/traces",
		"http://collector:4317":                           "http://collector:4317",
		"user:pw@collector:4317":                          "collector:4317",
	} {
		if got := telemetry.Redacted(in); got != want {
			t.Errorf("Redacted(%q) = %q, want %q", in, got, want)
		}
	}
}
