package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aiflow/aiflow/providers/wiretest"
)

// collector is an OpenTelemetry Collector (.ci/otelcol: the OTLP receiver and the file
// exporter) running on 127.0.0.1 for one test.
type collector struct {
	cmd        *exec.Cmd
	grpc, http string // host:port of the two OTLP receivers
	out        string // the file exporter's output (OTLP JSON, one batch a line)
	log        bytes.Buffer
}

// startCollector starts the collector AIFLOW_OTELCOL names (make deps builds it) on free
// loopback ports. Without one the test is skipped, or fails under make test
// (AIFLOW_REQUIRE_OTELCOL=1).
func startCollector(t *testing.T) *collector {
	t.Helper()
	bin := os.Getenv("AIFLOW_OTELCOL")
	if bin == "" || !exists(bin) {
		msg := fmt.Sprintf("no OpenTelemetry Collector at AIFLOW_OTELCOL=%q: make deps builds one (.ci/otelcol)", bin)
		if os.Getenv("AIFLOW_REQUIRE_OTELCOL") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	c := &collector{grpc: freeAddr(t), http: freeAddr(t), out: filepath.Join(dir, "spans.json")}
	config := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc: {endpoint: %q}
      http: {endpoint: %q}
exporters:
  file: {path: %q}
service:
  telemetry:
    metrics: {level: none}
  pipelines:
    traces: {receivers: [otlp], exporters: [file]}
`, c.grpc, c.http, c.out)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(bin, "--config", "file:"+cfg)
	c.cmd.Stdout, c.cmd.Stderr = &c.log, &c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	for i := 0; ; i++ { // until both receivers accept connections, for at most 30s
		if dial(c.grpc) && dial(c.http) {
			return c
		}
		if i == 300 {
			t.Fatalf("the collector did not open %s and %s:\n%s", c.grpc, c.http, c.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func dial(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// stop shuts the collector down gracefully (the file exporter writes what it holds)
// and returns the spans it received and the raw exported bytes.
func (c *collector) stop(t *testing.T) ([]otlpSpan, []byte) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-done
		t.Fatalf("the collector did not stop on SIGTERM:\n%s", c.log.String())
	}
	raw, err := os.ReadFile(c.out)
	if err != nil {
		t.Fatalf("no exported spans: %v\ncollector log:\n%s", err, c.log.String())
	}
	var spans []otlpSpan
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var doc struct {
			ResourceSpans []struct {
				ScopeSpans []struct {
					Spans []otlpSpan `json:"spans"`
				} `json:"scopeSpans"`
			} `json:"resourceSpans"`
		}
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatalf("exported line is not OTLP JSON: %v", err)
		}
		for _, rs := range doc.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				spans = append(spans, ss.Spans...)
			}
		}
	}
	return spans, raw
}

// otlpSpan is a span as the collector's file exporter writes it.
type otlpSpan struct {
	TraceID    string `json:"traceId"`
	SpanID     string `json:"spanId"`
	ParentID   string `json:"parentSpanId"`
	Name       string `json:"name"`
	Attributes []struct {
		Key   string         `json:"key"`
		Value map[string]any `json:"value"`
	} `json:"attributes"`
	Status struct {
		Code    int    `json:"code"` // 2: error
		Message string `json:"message"`
	} `json:"status"`
}

// attr returns an attribute's value as text ("" when absent).
func (s otlpSpan) attr(key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			for _, v := range a.Value {
				return fmt.Sprint(v)
			}
		}
	}
	return ""
}

func (s otlpSpan) has(key string) bool {
	for _, a := range s.Attributes {
		if a.Key == key {
			return true
		}
	}
	return false
}

// copyQuickstart copies the quickstart and its documents into a temporary directory,
// with the question's default carrying the value of $AIFLOW_PLANTED_TOKEN (an env()
// secret that reaches the search step's inputs and so, redacted, its span).
func copyQuickstart(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "..", "examples", "flows")
	if err := os.CopyFS(filepath.Join(dir, "data"), os.DirFS(filepath.Join(src, "data"))); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(src, "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const q = "default: What does the waggle dance tell other bees?"
	if !bytes.Contains(b, []byte(q)) {
		t.Fatalf("quickstart.yaml no longer has %q", q)
	}
	b = bytes.Replace(b, []byte(q), []byte(`default: '${ "What does the waggle dance tell other bees? " + env("AIFLOW_PLANTED_TOKEN") }'`), 1)
	flow := filepath.Join(dir, "quickstart.yaml")
	if err := os.WriteFile(flow, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return flow
}

// stepRecords lists a run's step records as (step, item) keys, from runs show -o json.
func stepRecords(t *testing.T, runID, flow string) map[string]bool {
	t.Helper()
	var out, errs bytes.Buffer
	if code := run([]string{"runs", "show", "-o", "json", runID, flow}, &out, &errs); code != exitOK {
		t.Fatalf("runs show: exit %d\n%s", code, errs.String())
	}
	var doc struct {
		Run struct {
			TraceID string `json:"trace_id"`
		} `json:"run"`
		Steps []struct {
			Step string `json:"step"`
			Item *int   `json:"item"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	recs := map[string]bool{"trace " + doc.Run.TraceID: true}
	for _, s := range doc.Steps {
		item := -1
		if s.Item != nil {
			item = *s.Item
		}
		recs[fmt.Sprintf("%s[%d]", s.Step, item)] = true
	}
	return recs
}

// TestE2EQuickstartTrace is issue 15's check: the quickstart, run with an OTLP endpoint
// (gRPC from the environment, HTTP from --otlp-endpoint), gives the collector one trace
// whose id was printed and stored, with a span per step and for_each item of the run
// store, GenAI attributes on the model calls, the CI pipeline's span as the root's
// parent when TRACEPARENT is set, and nowhere the planted token (an env() secret, also
// sent as an OTLP header).
func TestE2EQuickstartTrace(t *testing.T) {
	const token = "planted-token-5f0c1e2d3b4a"
	const ciTrace, ciSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	tests := []struct {
		name        string
		protocol    string
		flag        bool // endpoint from --otlp-endpoint, not OTEL_EXPORTER_OTLP_ENDPOINT
		content     bool
		traceparent bool
	}{
		{"grpc from the environment, content, TRACEPARENT", "grpc", false, true, true},
		{"http/protobuf from the flag", "http/protobuf", true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			col := startCollector(t)
			flow := copyQuickstart(t)
			t.Setenv("AIFLOW_PLANTED_TOKEN", token)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", tt.protocol)
			t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20"+token)
			t.Setenv("TRACEPARENT", "")
			if tt.traceparent {
				t.Setenv("TRACEPARENT", "00-"+ciTrace+"-"+ciSpan+"-01")
			}
			endpoint := "http://" + col.grpc
			if tt.protocol != "grpc" {
				endpoint = "http://" + col.http
			}
			args := []string{"run", flow, "-o", "json"}
			if tt.flag {
				t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
				args = append(args, "--otlp-endpoint", endpoint)
			} else {
				t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
			}
			if tt.content {
				args = append(args, "--otel-content")
			}
			var out, errs bytes.Buffer
			if code := run(args, &out, &errs); code != exitOK {
				t.Fatalf("run: exit %d\n%s", code, errs.String())
			}
			doc := decodeRun(t, procResult{stdout: out.String(), stderr: errs.String()})
			var res struct {
				Run struct {
					TraceID string `json:"trace_id"`
				} `json:"run"`
			}
			json.Unmarshal(out.Bytes(), &res)
			tid := res.Run.TraceID
			if len(tid) != 32 || !strings.Contains(errs.String(), "trace "+tid+"\n") {
				t.Fatalf("trace id %q in -o json; want 32 hex digits, printed on stderr as \"trace <id>\":\n%s", tid, errs.String())
			}
			if tt.traceparent && tid != ciTrace {
				t.Errorf("trace id %s; want TRACEPARENT's %s", tid, ciTrace)
			}
			recs := stepRecords(t, doc.Run.RunID, flow)
			if !recs["trace "+tid] {
				t.Errorf("runs show -o json does not give the trace id %s", tid)
			}
			var shown, showErr bytes.Buffer
			if code := run([]string{"runs", "show", doc.Run.RunID, flow}, &shown, &showErr); code != exitOK || !strings.Contains(shown.String(), "  trace:   "+tid+"\n") {
				t.Errorf("runs show (exit %d) does not print the trace id %s:\n%s%s", code, tid, shown.String(), showErr.String())
			}

			spans, raw := col.stop(t)
			if bytes.Contains(raw, []byte(token)) {
				t.Errorf("the planted token is in the exported spans")
			}
			if tt.content && !bytes.Contains(raw, []byte("[REDACTED]")) {
				t.Errorf("with --otel-content the question (holding the token) should be exported redacted")
			}
			got := map[string]bool{}
			var roots []otlpSpan
			ids := map[string]bool{}
			for _, s := range spans {
				ids[s.SpanID] = true
			}
			for _, s := range spans {
				if s.TraceID != tid {
					t.Errorf("span %q is in trace %s, not %s", s.Name, s.TraceID, tid)
				}
				if !ids[s.ParentID] {
					roots = append(roots, s)
				}
				if step := s.attr("aiflow.step.id"); step != "" {
					item := -1
					if s.has("aiflow.item.index") {
						item, _ = strconv.Atoi(s.attr("aiflow.item.index"))
					}
					key := fmt.Sprintf("%s[%d]", step, item)
					if got[key] {
						t.Errorf("two spans for %s", key)
					}
					got[key] = true
				}
			}
			if len(roots) != 1 || roots[0].Name != "run quickstart" || roots[0].attr("aiflow.run.id") != doc.Run.RunID {
				t.Fatalf("%d root spans (%v); want one, the run's", len(roots), roots)
			}
			wantParent := ""
			if tt.traceparent {
				wantParent = ciSpan
			}
			if roots[0].ParentID != wantParent {
				t.Errorf("the run's span has parent %q, want %q", roots[0].ParentID, wantParent)
			}
			delete(recs, "trace "+tid)
			if len(got) != len(recs) || len(spans) != len(recs)+1 {
				t.Errorf("%d spans with %d step/item keys for %d step records; want a span per record plus the run's", len(spans), len(got), len(recs))
			}
			var missing []string
			for k := range recs {
				if !got[k] {
					missing = append(missing, k)
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("no span for %v", missing)
			}
			calls := 0
			for _, s := range spans {
				if s.attr("aiflow.step.id") == "vectors" && s.has("aiflow.item.index") || s.attr("aiflow.step.id") == "answer" {
					calls++
					for _, k := range []string{"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"} {
						if !s.has(k) {
							t.Errorf("model call %q has no %s", s.Name, k)
						}
					}
				}
			}
			if calls < 2 {
				t.Errorf("%d model-call spans (vectors items, answer); want at least 2", calls)
			}
		})
	}
}

// retryFlow asks the Workers AI emulator for one generation.
const retryFlow = `aiflow: 1
name: retried
providers:
  cf:
    kind: workers-ai
    account_id: %s
    api_token: ${ env("CLOUDFLARE_API_TOKEN") }
    base_url: %s
steps:
  ask:
    uses: generate
    model: cf:@cf/meta/llama-3.1-8b-instruct
    prompt:
      user: Say hello.
`

// TestE2ETraceRetries checks that traceparent reaches the provider (the Workers AI
// emulator) on every attempt, naming the attempt's span in the run's trace, and that
// the attempt spans show the retries after two 429s.
func TestE2ETraceRetries(t *testing.T) {
	col := startCollector(t)
	cf := wiretest.NewCloudflare(t)
	cf.Add(wiretest.Fault{Path: "/client/v4/accounts/" + cf.Account() + "/ai/run/", Times: 2, Status: http.StatusTooManyRequests,
		Header: http.Header{"Retry-After": {"0"}}, Code: "3040", Message: "Capacity temporarily exceeded"})
	t.Setenv("CLOUDFLARE_API_TOKEN", cf.Token())
	t.Setenv("TRACEPARENT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "")
	flow := filepath.Join(t.TempDir(), "flow.yaml")
	if err := os.WriteFile(flow, []byte(fmt.Sprintf(retryFlow, cf.Account(), cf.APIBase())), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if code := run([]string{"run", flow, "-o", "json", "--otlp-endpoint", "http://" + col.http}, &out, &errs); code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, errs.String())
	}
	var res struct {
		Run struct {
			TraceID string `json:"trace_id"`
		} `json:"run"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Run.TraceID == "" {
		t.Fatalf("no trace id in -o json (%v):\n%s", err, out.String())
	}
	spans, raw := col.stop(t)
	if bytes.Contains(raw, []byte(cf.Token())) {
		t.Errorf("the API token is in the exported spans")
	}
	byID := map[string]otlpSpan{}
	var attempts []otlpSpan
	for _, s := range spans {
		byID[s.SpanID] = s
		if s.has("aiflow.attempt") {
			attempts = append(attempts, s)
		}
	}
	sort.Slice(attempts, func(i, j int) bool { return attempts[i].attr("aiflow.attempt") < attempts[j].attr("aiflow.attempt") })
	var sent []string
	for _, r := range cf.Requests() {
		sent = append(sent, r.Header.Get("traceparent"))
	}
	if len(attempts) != 3 || len(sent) != 3 {
		t.Fatalf("%d attempt spans, %d requests at the emulator; want 3 (two 429s, then the answer)", len(attempts), len(sent))
	}
	for i, a := range attempts {
		if want := "00-" + res.Run.TraceID + "-" + a.SpanID + "-01"; sent[i] != want {
			t.Errorf("request %d: traceparent %q, want %q", i+1, sent[i], want)
		}
		if p := byID[a.ParentID]; p.Name != "step ask" {
			t.Errorf("attempt %d: parent %q, want the step's span", i+1, p.Name)
		}
		failed := a.Status.Code == 2 && a.attr("error.type") == "429" && a.attr("http.response.status_code") == "429"
		if failed != (i < 2) || a.attr("aiflow.attempt") != strconv.Itoa(i+1) {
			t.Errorf("attempt %d: status %d, error.type %q, aiflow.attempt %s; want failed with 429 = %v", i+1, a.Status.Code, a.attr("error.type"), a.attr("aiflow.attempt"), i < 2)
		}
	}
	if n := attempts[2].attr("http.request.resend_count"); n != "2" {
		t.Errorf("third attempt: http.request.resend_count %q, want 2", n)
	}
}

// shoutFlow upper-cases a word; shoutRows are three rows for it, with the answer.
const shoutFlow = "aiflow: 1\nname: shout\nvars:\n  word: { type: string }\nsteps:\n  up:\n    uses: transform\n    with:\n      expr: ${ upper(vars.word) }\noutputs:\n  loud: ${ steps.up.output }\n"

const shoutRows = "{\"word\":\"a\",\"want\":\"A\"}\n{\"word\":\"b\",\"want\":\"B\"}\n{\"word\":\"c\",\"want\":\"C\"}\n"

// TestE2EDatasetTrace: `run --inputs` and `eval` with an OTLP endpoint export one trace
// for the dataset: a "dataset" span whose children are the runs of its rows (each with
// its steps below it), so a collector shows the whole batch job as one tree.
func TestE2EDatasetTrace(t *testing.T) {
	for _, tc := range []struct {
		name string
		args func(dir, flow, input string) []string
	}{
		{"run --inputs", func(dir, flow, input string) []string {
			return []string{"run", flow, "--inputs", input, "--results", filepath.Join(dir, "out.jsonl")}
		}},
		{"eval", func(dir, flow, input string) []string { return []string{"eval", flow} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := startCollector(t)
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
			t.Setenv("TRACEPARENT", "")
			dir := t.TempDir()
			flow := filepath.Join(dir, "shout.yaml")
			input := filepath.Join(dir, "words.jsonl")
			files := map[string]string{flow: shoutFlow, input: shoutRows,
				filepath.Join(dir, "shout.test.yaml"): "eval:\n  inputs: words.jsonl\n  metrics:\n    - { name: exact, type: exact, actual: outputs.loud, expected: row.want }\n"}
			for path, text := range files {
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := append(tc.args(dir, flow, input), "--state-dir", filepath.Join(dir, "state"), "--otlp-endpoint", "http://"+col.http)
			var out, errs bytes.Buffer
			if code := run(args, &out, &errs); code != exitOK {
				t.Fatalf("%s: exit %d\n%s%s", tc.name, code, out.String(), errs.String())
			}
			spans, _ := col.stop(t)
			checkDatasetTrace(t, spans, 3)
		})
	}
}

// checkDatasetTrace checks that spans are one trace: one dataset span over rows runs, each
// run's steps under it.
func checkDatasetTrace(t *testing.T, spans []otlpSpan, rows int) {
	t.Helper()
	var dataset []otlpSpan
	byID := map[string]otlpSpan{}
	for _, s := range spans {
		byID[s.SpanID] = s
		if strings.HasPrefix(s.Name, "dataset ") {
			dataset = append(dataset, s)
		}
	}
	if len(dataset) != 1 {
		t.Fatalf("%d dataset spans, want 1; spans: %v", len(dataset), spanNames(spans))
	}
	ds := dataset[0]
	if got := ds.attr("aiflow.dataset.rows"); got != fmt.Sprint(rows) {
		t.Errorf("dataset span rows = %q, want %d", got, rows)
	}
	runs := 0
	for _, s := range spans {
		if s.TraceID != ds.TraceID {
			t.Errorf("span %q is in trace %s, not the dataset's %s", s.Name, s.TraceID, ds.TraceID)
		}
		switch {
		case strings.HasPrefix(s.Name, "run "):
			runs++
			if s.ParentID != ds.SpanID {
				t.Errorf("run span %s has parent %q, not the dataset span", s.SpanID, s.ParentID)
			}
		case strings.HasPrefix(s.Name, "step "):
			if p, ok := byID[s.ParentID]; !ok || !strings.HasPrefix(p.Name, "run ") {
				t.Errorf("step span %q is not under a run span", s.Name)
			}
		}
	}
	if runs != rows {
		t.Errorf("%d run spans, want one per row (%d): %v", runs, rows, spanNames(spans))
	}
}

func spanNames(spans []otlpSpan) []string {
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	return names
}
