// Package telemetry exports a run's spans over OTLP with the OpenTelemetry Go SDK. It is
// off by default and switched on by the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT
// or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, with OTEL_EXPORTER_OTLP_PROTOCOL grpc or
// http/protobuf, OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME; OTEL_SDK_DISABLED=true
// turns it off) or by an endpoint given on the command line.
//
// Tracing never fails or hangs a run: a collector that is down or slow costs at most
// the flush timeout at exit and one warning on stderr. Prompts and completions are not
// exported unless asked for (Config.Content or
// OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true), and then with the run's
// secrets redacted; header values and credentials never become attributes.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/aiflow/aiflow/internal/telemetry/genai"
)

// DefaultFlushTimeout bounds the export of the spans still queued when the process
// exits, and each export before: a dead collector delays an exit by at most this much.
const DefaultFlushTimeout = 5 * time.Second

// Protocols the exporter speaks (OTEL_EXPORTER_OTLP_PROTOCOL).
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// Config is what the command line adds to the environment.
type Config struct {
	// Endpoint, when set, switches tracing on and overrides the OTEL_EXPORTER_OTLP_*
	// endpoints: a URL such as http://localhost:4318 (http/protobuf, /v1/traces is
	// added to a bare host) or http://localhost:4317 with the grpc protocol.
	Endpoint string
	// Content exports prompts, completions, inputs and outputs (redacted).
	Content bool
	// Warn receives the one warning a failing export prints; nil discards it.
	Warn io.Writer
	// Version is aiflow's version, the service.version resource attribute.
	Version string
	// FlushTimeout bounds each export and the flush at exit; DefaultFlushTimeout when 0.
	FlushTimeout time.Duration
	// Exporter, when set, replaces the OTLP exporter (tests use the SDK's in-memory one).
	Exporter sdktrace.SpanExporter
}

// Tracing is tracing switched on: the SDK's tracer provider and its exporter.
type Tracing struct {
	tp       *sdktrace.TracerProvider
	tracer   trace.Tracer
	content  bool
	flush    time.Duration
	warn     *warner
	endpoint string // for messages: credentials removed
}

// Setup reads the environment and cfg and returns the tracing they ask for, or nil when
// tracing is off (no endpoint, OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none). An
// error names the setting that is wrong and what it accepts.
func Setup(ctx context.Context, cfg Config) (*Tracing, error) {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return nil, nil
	}
	switch exp := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")); exp {
	case "", "otlp":
	case "none":
		return nil, nil
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: aiflow exports traces with otlp only (or none to turn them off)", exp)
	}
	endpoint, fromFlag := cfg.Endpoint, cfg.Endpoint != ""
	if !fromFlag {
		endpoint = firstEnv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if endpoint == "" && cfg.Exporter == nil {
		return nil, nil
	}
	protocol := firstEnv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	if protocol == "" {
		protocol = ProtocolHTTP
	}
	if protocol != ProtocolGRPC && protocol != ProtocolHTTP {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: want %s or %s", protocol, ProtocolGRPC, ProtocolHTTP)
	}
	flush := cfg.FlushTimeout
	if flush <= 0 {
		flush = DefaultFlushTimeout
	}
	t := &Tracing{flush: flush, endpoint: Redacted(endpoint), content: cfg.Content || envTrue("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")}
	t.warn = &warner{w: cfg.Warn, endpoint: t.endpoint}
	exp := cfg.Exporter
	if exp == nil {
		var err error
		if exp, err = newExporter(ctx, protocol, endpoint, fromFlag, flush); err != nil {
			return nil, err
		}
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("aiflow"), semconv.ServiceVersion(cfg.Version)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
		resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	// Export failures reach the SDK's global error handler; one warning is enough.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(t.warn.warn))
	bsp := sdktrace.NewBatchSpanProcessor(&warnExporter{SpanExporter: exp, warn: t.warn},
		sdktrace.WithMaxQueueSize(1<<14), sdktrace.WithMaxExportBatchSize(1<<10), sdktrace.WithExportTimeout(flush))
	t.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(bsp), sdktrace.WithResource(res))
	t.tracer = t.tp.Tracer(genai.ScopeName, trace.WithInstrumentationVersion(cfg.Version))
	return t, nil
}

// newExporter builds the OTLP exporter. Endpoints from the environment, and the headers,
// timeout and TLS variables, are read by the exporter itself; a command-line endpoint
// overrides them. Retries stop after half the flush timeout, so an export to a dead
// collector fails with its cause (connection refused) rather than a deadline.
func newExporter(ctx context.Context, protocol, endpoint string, fromFlag bool, flush time.Duration) (sdktrace.SpanExporter, error) {
	if fromFlag {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--otlp-endpoint %q: want a URL such as http://localhost:4318 (http/protobuf) or http://localhost:4317 (with OTEL_EXPORTER_OTLP_PROTOCOL=grpc)", Redacted(endpoint))
		}
		if protocol == ProtocolHTTP && (u.Path == "" || u.Path == "/") {
			u.Path = "/v1/traces" // as for OTEL_EXPORTER_OTLP_ENDPOINT, the signal's path
			endpoint = u.String()
		}
	}
	if protocol == ProtocolGRPC {
		opts := []otlptracegrpc.Option{otlptracegrpc.WithTimeout(flush),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true, InitialInterval: 200 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: flush / 2})}
		if fromFlag {
			opts = append(opts, otlptracegrpc.WithEndpointURL(endpoint))
		}
		exp, err := otlptracegrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("OTLP exporter (grpc, %s): %w", Redacted(endpoint), err)
		}
		return exp, nil
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithTimeout(flush),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true, InitialInterval: 200 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: flush / 2})}
	if fromFlag {
		opts = append(opts, otlptracehttp.WithEndpointURL(endpoint))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter (http/protobuf, %s): %w", Redacted(endpoint), err)
	}
	return exp, nil
}

// Parent returns ctx with the remote parent span named by the TRACEPARENT and
// TRACESTATE environment variables (as CI systems set them), so a run's trace nests in
// the pipeline's; ctx unchanged when they are unset or malformed.
func Parent(ctx context.Context) context.Context {
	c := propagation.MapCarrier{}
	if v := strings.TrimSpace(os.Getenv("TRACEPARENT")); v != "" {
		c["traceparent"] = v
	}
	if v := strings.TrimSpace(os.Getenv("TRACESTATE")); v != "" {
		c["tracestate"] = v
	}
	if len(c) == 0 {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, c)
}

// Shutdown exports what is still queued and stops the exporter, within the flush
// timeout whatever the context (a cancelled run still flushes). A failure is a warning.
func (t *Tracing) Shutdown() {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.flush)
	defer cancel()
	if err := t.tp.Shutdown(ctx); err != nil {
		t.warn.warn(err)
	}
}

// Endpoint is where spans go, credentials removed (for messages).
func (t *Tracing) Endpoint() string { return t.endpoint }

// Content reports whether prompts and completions are exported.
func (t *Tracing) Content() bool { return t.content }

// Redacted returns an endpoint without its user info and query, which may hold
// credentials.
func Redacted(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" { // not a URL with a host, e.g. user:pw@host:4317
		return leadingUserInfo.ReplaceAllString(userInfo.ReplaceAllString(endpoint, "//"), "")
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

var (
	userInfo        = regexp.MustCompile(`//[^/@\s]*@`)
	leadingUserInfo = regexp.MustCompile(`^[^/@\s]*@`)
)

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return v
		}
	}
	return ""
}

func envTrue(name string) bool { return strings.EqualFold(strings.TrimSpace(os.Getenv(name)), "true") }

// warner prints the first export failure, and only the first: a run with a dead
// collector gets one line, not one per batch.
type warner struct {
	once     sync.Once
	mu       sync.Mutex
	w        io.Writer
	endpoint string
}

func (wn *warner) warn(err error) {
	if err == nil || wn.w == nil {
		return
	}
	wn.once.Do(func() {
		msg := userInfo.ReplaceAllString(err.Error(), "//")
		wn.mu.Lock()
		defer wn.mu.Unlock()
		fmt.Fprintf(wn.w, "warning: tracing: spans not exported to %s: %s (the run is not affected)\n", wn.endpoint, msg)
	})
}

// warnExporter reports failed exports to the warner.
type warnExporter struct {
	sdktrace.SpanExporter
	warn *warner
}

func (e *warnExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil && !errors.Is(err, context.Canceled) {
		e.warn.warn(err)
	}
	return err
}
