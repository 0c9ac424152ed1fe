package wiretest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const cfLlama = "@cf/meta/llama-3.1-8b-instruct"

// cfDo sends a request to the emulator; path is relative to the server root.
func cfDo(t *testing.T, cf *Cloudflare, path, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, cf.Server.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cf.Token())
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func runPath(model string) string {
	return "/client/v4/accounts/" + CloudflareAccount + "/ai/run/" + model
}

func gwPath(gateway, model string) string {
	return "/v1/" + CloudflareAccount + "/" + gateway + "/workers-ai/" + model
}

// envelopeCodes decodes an envelope's (or a gateway error's) codes and result.
func envelopeCodes(t *testing.T, body string) ([]int, json.RawMessage) {
	t.Helper()
	var env struct {
		Result  json.RawMessage `json:"result"`
		Success *bool           `json:"success"`
		Errors  []cfErr         `json:"errors"`
		Error   []cfErr         `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || env.Success == nil {
		t.Fatalf("not an envelope: %q", body)
	}
	var codes []int
	for _, e := range append(env.Errors, env.Error...) {
		codes = append(codes, e.Code)
	}
	return codes, env.Result
}

func TestCloudflareRejects(t *testing.T) {
	long := strings.Repeat(`"x",`, 100) + `"x"`
	tests := []struct {
		name       string
		path, body string
		header     map[string]string
		wantStatus int
		wantCodes  []int
	}{
		{"unknown route", "/client/v4/accounts/" + CloudflareAccount + "/ai/walk/x", `{}`, nil, 404, []int{7003, 7000}},
		{"wrong account", "/client/v4/accounts/nope/ai/run/" + cfLlama, `{"prompt":"hi"}`, nil, 404, []int{7003, 7000}},
		{"missing token", runPath(cfLlama), `{"prompt":"hi"}`, map[string]string{"Authorization": ""}, 401, []int{10000}},
		{"wrong token", runPath(cfLlama), `{"prompt":"hi"}`, map[string]string{"Authorization": "Bearer nope"}, 401, []int{10000}},
		{"escaped slashes", runPath("@cf%2Fmeta%2Fllama-3.1-8b-instruct"), `{"prompt":"hi"}`, nil, 400, []int{5007}},
		{"unknown model", runPath("@cf/meta/llama-9"), `{"prompt":"hi"}`, nil, 400, []int{5007}},
		{"prompt and messages", runPath(cfLlama), `{"prompt":"hi","messages":[{"role":"user","content":"hi"}]}`, nil, 400, []int{5006}},
		{"neither prompt nor messages", runPath(cfLlama), `{"max_tokens":5}`, nil, 400, []int{5006}},
		{"empty prompt", runPath(cfLlama), `{"prompt":""}`, nil, 400, []int{5006}},
		{"null content", runPath(cfLlama), `{"messages":[{"role":"assistant","content":null}]}`, nil, 400, []int{5006}},
		{"array content", runPath(cfLlama), `{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`, nil, 400, []int{5006}},
		{"temperature out of range", runPath(cfLlama), `{"prompt":"hi","temperature":9}`, nil, 400, []int{5006}},
		{"json mode refuses stream", runPath(cfLlama), `{"prompt":"hi","stream":true,"response_format":{"type":"json_object"}}`, nil, 400, []int{5006}},
		{"tool property without description", runPath(cfLlama), `{"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}]}`, nil, 400, []int{5006}},
		{"101 embedding texts", runPath("@cf/baai/bge-small-en-v1.5"), `{"text":[` + long + `]}`, nil, 400, []int{5006}},
		{"empty embedding text", runPath("@cf/baai/bge-small-en-v1.5"), `{"text":["a",""]}`, nil, 400, []int{5006}},
		{"m2m100 without target_lang", runPath("@cf/meta/m2m100-1.2b"), `{"text":"hello","source_lang":"en"}`, nil, 400, []int{5006}},
		{"bart without input_text", runPath("@cf/facebook/bart-large-cnn"), `{"text":"hello"}`, nil, 400, []int{5006}},
		{"gpt-oss messages on /ai/run", runPath("@cf/openai/gpt-oss-20b"), `{"messages":[{"role":"user","content":"hi"}]}`, nil, 400, []int{5006}},
	}
	cf := NewCloudflare(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := cfDo(t, cf, tt.path, tt.body, tt.header)
			codes, _ := envelopeCodes(t, body)
			if diff := cmp.Diff([]any{tt.wantStatus, tt.wantCodes}, []any{resp.StatusCode, codes}); diff != "" {
				t.Errorf("status, codes (-want +got):\n%s\nbody: %s", diff, body)
			}
		})
	}
	if cf.Runs() != 0 {
		t.Errorf("rejected requests reached the model %d times", cf.Runs())
	}
}

func TestCloudflareTasks(t *testing.T) {
	words300 := strings.TrimSpace(strings.Repeat("w ", 300))
	tests := []struct {
		name, model, body string
		want              string // JSON of the expected result
	}{
		{"echo messages", cfLlama, `{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi there"}]}`,
			`{"response":"echo: hi there","tool_calls":[],"usage":{"completion_tokens":3,"prompt_tokens":4,"total_tokens":7}}`},
		{"max_tokens default 256 cuts", cfLlama, `{"prompt":"` + words300 + `"}`, ""},
		{"json mode object", cfLlama, `{"messages":[{"role":"user","content":"India"}],"response_format":{"type":"json_schema","json_schema":{"type":"object","properties":{"name":{"type":"string"}}}}}`,
			`{"response":{"name":"India"},"usage":{"completion_tokens":1,"prompt_tokens":1,"total_tokens":2}}`},
		{"tool call id-less with object arguments", cfLlama, `{"messages":[{"role":"user","content":"Lisbon"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string","description":"City"}}}}}]}`,
			`{"response":"","tool_calls":[{"arguments":{"city":"Lisbon"},"name":"get_weather"}],"usage":{"completion_tokens":8,"prompt_tokens":1,"total_tokens":9}}`},
		{"translate", "@cf/meta/m2m100-1.2b", `{"text":"hello","source_lang":"en","target_lang":"es"}`, `{"translated_text":"[es] hello"}`},
		{"summarize", "@cf/facebook/bart-large-cnn", `{"input_text":"One two three. Four five.","max_length":2}`, `{"summary":"One two"}`},
		{"classify bare array", "@cf/huggingface/distilbert-sst-2-int8", `{"text":"great great"}`,
			`[{"label":"NEGATIVE","score":0.16666666666666663},{"label":"POSITIVE","score":0.8333333333333334}]`},
	}
	cf := NewCloudflare(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := cfDo(t, cf, runPath(tt.model), tt.body, nil)
			codes, result := envelopeCodes(t, body)
			if resp.StatusCode != 200 || len(codes) != 0 {
				t.Fatalf("status %d codes %v: %s", resp.StatusCode, codes, body)
			}
			if tt.want == "" {
				var r struct{ Response string }
				json.Unmarshal(result, &r)
				if n := len(strings.Fields(r.Response)); n != 256 {
					t.Errorf("response has %d words, want the 256 default", n)
				}
				return
			}
			var got, want any
			json.Unmarshal(result, &got)
			json.Unmarshal([]byte(tt.want), &want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCloudflareEmbeddings(t *testing.T) {
	cf := NewCloudflare(t)
	_, body := cfDo(t, cf, runPath("@cf/baai/bge-base-en-v1.5"), `{"text":["the cat sat","the cat sat","stock prices fell"]}`, nil)
	_, result := envelopeCodes(t, body)
	var r struct {
		Shape   []int       `json:"shape"`
		Data    [][]float32 `json:"data"`
		Pooling string      `json:"pooling"`
	}
	if err := json.Unmarshal(result, &r); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{3, 768}, r.Shape); diff != "" || len(r.Data) != 3 || r.Pooling != "mean" {
		t.Fatalf("shape %v, %d vectors, pooling %q", r.Shape, len(r.Data), r.Pooling)
	}
	if diff := cmp.Diff(r.Data[0], r.Data[1]); diff != "" {
		t.Error("identical texts got different vectors")
	}
	if cmp.Equal(r.Data[0], r.Data[2]) {
		t.Error("different texts got the same vector")
	}
}

// sseEvents reads the data: payloads of a stream.
func sseEvents(body string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestCloudflareStream(t *testing.T) {
	tests := []struct {
		name      string
		opts      []CloudflareOption
		cut       bool
		wantText  string
		wantDone  bool
		wantUsage bool
	}{
		{name: "native framing", wantText: "echo: one two three", wantDone: true, wantUsage: true},
		{name: "openai chunks", opts: []CloudflareOption{WithCFStreamStyle(CFStreamOpenAI)}, wantText: "echo: one two three", wantDone: true, wantUsage: true},
		{name: "cut before done", cut: true, wantText: "echo: one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := NewCloudflare(t, tt.opts...)
			if tt.cut {
				cf.Faults.Add(Fault{CutStream: true})
			}
			resp, body := cfDo(t, cf, runPath(cfLlama), `{"prompt":"one two three","stream":true}`, nil)
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("content type %q", ct)
			}
			var text strings.Builder
			done, usage, padded := false, false, false
			for _, ev := range sseEvents(body) {
				if ev == "[DONE]" {
					done = true
					continue
				}
				var e struct {
					Response *string `json:"response"`
					P        string  `json:"p"`
					Usage    any     `json:"usage"`
					Choices  []struct {
						Delta struct{ Content string } `json:"delta"`
					} `json:"choices"`
				}
				if err := json.Unmarshal([]byte(ev), &e); err != nil {
					t.Fatalf("bad event %q", ev)
				}
				if e.Response != nil {
					text.WriteString(*e.Response)
				}
				for _, c := range e.Choices {
					text.WriteString(c.Delta.Content)
				}
				usage = usage || e.Usage != nil
				padded = padded || e.P != ""
			}
			got := []any{text.String(), done, usage, padded}
			if diff := cmp.Diff([]any{tt.wantText, tt.wantDone, tt.wantUsage, true}, got); diff != "" {
				t.Errorf("text, done, usage, padded (-want +got):\n%s\n%s", diff, body)
			}
		})
	}
}

func TestCloudflareFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int
		wantCode   int // 0: not an envelope
		wantHeader string
	}{
		{"capacity", CFCapacityFault("2"), 429, 3040, "2"},
		{"daily quota", CFDailyQuotaFault(), 429, 3036, ""},
		{"neuron quota", CFNeuronQuotaFault(), 429, 4006, ""},
		{"timeout", CFTimeoutFault(), 408, 3007, ""},
		{"too large", CFTooLargeFault(), 413, 3006, ""},
		{"agreement", CFAgreementFault(), 403, 5016, ""},
		{"non-JSON 503", CFUnavailableFault(), 503, 0, ""},
		{"HTML 1015", CFEdgeRateLimitFault("30"), 429, 0, "30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := NewCloudflare(t)
			cf.Faults.Add(tt.fault)
			resp, body := cfDo(t, cf, runPath(cfLlama), `{"prompt":"hi"}`, nil)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Retry-After") != tt.wantHeader {
				t.Errorf("status %d retry-after %q, want %d %q", resp.StatusCode, resp.Header.Get("Retry-After"), tt.wantStatus, tt.wantHeader)
			}
			if tt.wantCode != 0 {
				codes, _ := envelopeCodes(t, body)
				if diff := cmp.Diff([]int{tt.wantCode}, codes); diff != "" {
					t.Errorf("codes (-want +got):\n%s", diff)
				}
			} else if json.Valid([]byte(body)) {
				t.Errorf("body is JSON, want a non-JSON page: %s", body)
			}
			if resp, _ := cfDo(t, cf, runPath(cfLlama), `{"prompt":"hi"}`, nil); resp.StatusCode != 200 {
				t.Errorf("after the fault: status %d", resp.StatusCode)
			}
		})
	}
}

func TestCloudflareGateway(t *testing.T) {
	const body = `{"prompt":"hi"}`
	cf := NewCloudflare(t)
	ttl := map[string]string{"cf-aig-cache-ttl": "3600", "cf-aig-metadata": `{"a":1,"b":"x","c":true,"d":2,"e":3,"f":4}`}
	steps := []struct {
		name       string
		body       string
		header     map[string]string
		wantStatus int
		wantCache  string
		wantRuns   int
	}{
		{"first call misses", body, ttl, 200, "MISS", 1},
		{"identical call hits without upstream", body, ttl, 200, "HIT", 1},
		{"skip-cache misses", body, map[string]string{"cf-aig-cache-ttl": "3600", "cf-aig-skip-cache": "true"}, 200, "MISS", 2},
		{"changed body misses", `{"prompt":"hi!"}`, ttl, 200, "MISS", 3},
		{"no ttl misses", body, nil, 200, "MISS", 4},
		{"array metadata rejected", body, map[string]string{"cf-aig-metadata": `["a"]`}, 400, "", 4},
		{"nested metadata rejected", body, map[string]string{"cf-aig-metadata": `{"a":{"b":1}}`}, 400, "", 4},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			resp, _ := cfDo(t, cf, gwPath("prod", cfLlama), st.body, st.header)
			got := []any{resp.StatusCode, resp.Header.Get("cf-aig-cache-status"), cf.Runs()}
			if diff := cmp.Diff([]any{st.wantStatus, st.wantCache, st.wantRuns}, got); diff != "" {
				t.Errorf("status, cache, runs (-want +got):\n%s", diff)
			}
			if st.wantStatus == 200 && resp.Header.Get("cf-aig-log-id") == "" {
				t.Error("no cf-aig-log-id")
			}
		})
	}
	log := cf.GatewayRequests()
	if len(log) == 0 || len(log[0].Metadata) != 5 || log[0].CacheTTL.Seconds() != 3600 || log[0].Gateway != "prod" {
		t.Errorf("first gateway record = %+v, want 5 metadata entries, 1h TTL, gateway prod", log[0])
	}
}

func TestCloudflareGatewayAuth(t *testing.T) {
	cf := NewCloudflare(t, WithCFGatewayAuth("gw-secret"))
	tests := []struct {
		name       string
		header     map[string]string
		wantStatus int
		wantCodes  []int
	}{
		{"missing cf-aig-authorization", nil, 401, []int{2009}},
		{"wrong cf-aig-authorization", map[string]string{"cf-aig-authorization": "Bearer nope"}, 401, []int{2009}},
		{"authorized", map[string]string{"cf-aig-authorization": "Bearer gw-secret"}, 200, nil},
		{"authorized gateway, bad provider token", map[string]string{"cf-aig-authorization": "Bearer gw-secret", "Authorization": "Bearer x"}, 401, []int{10000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := cfDo(t, cf, gwPath("prod", cfLlama), `{"prompt":"hi"}`, tt.header)
			codes, _ := envelopeCodes(t, body)
			if diff := cmp.Diff([]any{tt.wantStatus, tt.wantCodes}, []any{resp.StatusCode, codes}); diff != "" {
				t.Errorf("(-want +got):\n%s\n%s", diff, body)
			}
		})
	}
}

func TestCloudflareChatCompletions(t *testing.T) {
	cf := NewCloudflare(t)
	path := "/client/v4/accounts/" + CloudflareAccount + "/ai/v1/chat/completions"
	resp, body := cfDo(t, cf, path, `{"model":"@cf/openai/gpt-oss-20b","messages":[{"role":"user","content":"hello"}]}`, nil)
	var r struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || resp.StatusCode != 200 || len(r.Choices) != 1 {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	if got := r.Choices[0].Message.Content; got != "echo: hello" {
		t.Errorf("content %q", got)
	}
	_, body = cfDo(t, cf, path, `{"model":"@cf/openai/gpt-oss-20b","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"a b"}]}`, nil)
	evs := sseEvents(body)
	if len(evs) < 3 || evs[len(evs)-1] != "[DONE]" || !strings.Contains(evs[len(evs)-2], `"usage"`) {
		t.Errorf("stream events %s", fmt.Sprint(evs))
	}
}

func TestPeakRate(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(ms ...int) []Request {
		var out []Request
		for _, m := range ms {
			out = append(out, Request{Time: t0.Add(time.Duration(m) * time.Millisecond)})
		}
		return out
	}
	tests := []struct {
		name string
		reqs []Request
		want int
	}{
		{"none", nil, 0},
		{"spread", at(0, 1000, 2000), 1},
		{"window is half-open", at(0, 999, 1000), 2},
		{"unsorted burst", at(1500, 0, 1400, 1600, 3000), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PeakRate(Times(tt.reqs), time.Second); got != tt.want {
				t.Errorf("PeakRate = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestCloudflareGatewayCachesNothingForAGoneClient: a client that gives up while the
// gateway waits on Workers AI leaves no cache entry; the retry goes upstream and gets a
// real answer, not an empty cached one.
func TestCloudflareGatewayCachesNothingForAGoneClient(t *testing.T) {
	const body = `{"prompt":"hi"}`
	cf := NewCloudflare(t)
	cf.SetLatency(300 * time.Millisecond)
	req, err := http.NewRequest(http.MethodPost, cf.Server.URL+gwPath("prod", cfLlama), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cf.Token())
	req.Header.Set("cf-aig-cache-ttl", "3600")
	quick := &http.Client{Timeout: 50 * time.Millisecond}
	if resp, err := quick.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("the request did not time out")
	}
	time.Sleep(400 * time.Millisecond) // the handler has finished its wait
	cf.SetLatency(0)
	resp, got := cfDo(t, cf, gwPath("prod", cfLlama), body, map[string]string{"cf-aig-cache-ttl": "3600"})
	if st := resp.Header.Get("cf-aig-cache-status"); st != "MISS" || !strings.Contains(got, "response") {
		t.Errorf("retry after a gone client: cache %s, body %q; want a MISS with an answer", st, got)
	}
}
