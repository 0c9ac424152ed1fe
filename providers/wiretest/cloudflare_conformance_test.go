package wiretest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
	"github.com/aiflow/aiflow/providers/workersai"
)

// TestWorkersAIConformance drives every kind of Workers AI request aiflow's client sends
// (chat streaming and not, sampling params, tools and tool turns, JSON mode, the AI
// Gateway path, embeddings with options, summarisation, translation, classification)
// through the emulator, which validates each /ai/run body against the model's published
// input schema (cloudflare-docs, vendored in providers/catalog/workersai.json) and each
// JSON answer against the published output schema. Nothing may be refused.
func TestWorkersAIConformance(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	open := func(extra map[string]any) *workersai.Provider {
		settings := map[string]any{"account_id": cf.Account(), "api_token": cf.Token(), "base_url": cf.APIBase(), "rate_limit": "off"}
		for k, v := range extra {
			settings[k] = v
		}
		p, err := workersai.Open(providers.Config{Name: "cf", Kind: workersai.Kind, Settings: settings,
			Retry: providers.RetryPolicy{Backoff: time.Millisecond, MaxBackoff: time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	direct := open(nil)
	gateway := open(map[string]any{"gateway": map[string]any{"id": "prod", "base_url": cf.GatewayBase(), "cache_ttl": "1h",
		"metadata": map[string]any{"team": "search", "run": 7}}})
	ctx := context.Background()
	user := []providers.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "hello there"}}
	tool := providers.ToolSpec{Name: "lookup", Description: "Look a word up.", Parameters: map[string]any{
		"type": "object", "properties": map[string]any{"word": map[string]any{"type": "string", "description": "The word."}},
		"required": []any{"word"}}}
	turns := append(append([]providers.Message(nil), user...),
		providers.Message{Role: "assistant", ToolCalls: []providers.ToolCall{{ID: "call_1", Name: "lookup", Arguments: []byte(`{"word":"cat"}`)}}},
		providers.Message{Role: "tool", ToolCallID: "call_1", Name: "lookup", Content: "a small feline"})
	params := map[string]any{"max_tokens": 64, "temperature": 0.2, "top_p": 0.9, "top_k": 40, "seed": 7,
		"repetition_penalty": 1.1, "frequency_penalty": 0.5, "presence_penalty": 0.5}
	stream := func(string) {}
	gens := []struct {
		name string
		p    *workersai.Provider
		req  providers.GenerateRequest
	}{
		{"chat", direct, providers.GenerateRequest{Model: "@cf/meta/llama-3.1-8b-instruct", Messages: user}},
		{"chat streamed with params", direct, providers.GenerateRequest{Model: "@cf/meta/llama-3.1-8b-instruct", Messages: user, Params: params, Stream: stream}},
		{"fp8 with params", direct, providers.GenerateRequest{Model: "@cf/meta/llama-3.1-8b-instruct-fp8", Messages: user, Params: params}},
		{"3.2-1b streamed", direct, providers.GenerateRequest{Model: "@cf/meta/llama-3.2-1b-instruct", Messages: user, Stream: stream}},
		{"fast", direct, providers.GenerateRequest{Model: "@cf/meta/llama-3.1-8b-instruct-fast", Messages: user}},
		{"tools", direct, providers.GenerateRequest{Model: "@cf/meta/llama-3.3-70b-instruct-fp8-fast", Messages: user, Tools: []providers.ToolSpec{tool}}},
		{"tools streamed with a tool turn", direct, providers.GenerateRequest{Model: "@cf/meta/llama-3.3-70b-instruct-fp8-fast", Messages: turns, Tools: []providers.ToolSpec{tool}, Stream: stream}},
		{"json mode", direct, providers.GenerateRequest{Model: "@cf/meta/llama-3.3-70b-instruct-fp8-fast", Messages: user,
			JSONSchema: map[string]any{"type": "object", "properties": map[string]any{"answer": map[string]any{"type": "string"}}}, Stream: stream}},
		{"json object mode", direct, providers.GenerateRequest{Model: "@cf/meta/llama-3.1-8b-instruct", Messages: user, JSONSchema: map[string]any{}}},
		{"gateway", gateway, providers.GenerateRequest{Model: "@cf/meta/llama-3.1-8b-instruct", Messages: user, Params: params}},
		{"gateway streamed", gateway, providers.GenerateRequest{Model: "@cf/meta/llama-3.3-70b-instruct-fp8-fast", Messages: user, Stream: stream}},
	}
	for _, g := range gens {
		if _, err := g.p.Generate(ctx, g.req); err != nil {
			t.Errorf("%s: %v", g.name, err)
		}
	}
	for _, e := range []providers.EmbedRequest{
		{Model: "@cf/baai/bge-base-en-v1.5", Texts: []string{"a cat", "a dog"}, Options: map[string]any{"pooling": "cls"}},
		{Model: "@cf/baai/bge-small-en-v1.5", Texts: []string{"a cat"}},
		{Model: "@cf/baai/bge-large-en-v1.5", Texts: []string{"a cat"}, Options: map[string]any{"pooling": "mean"}},
		{Model: "@cf/baai/bge-m3", Texts: []string{"a cat"}, Options: map[string]any{"truncate_inputs": true}},
	} {
		if _, err := direct.Embed(ctx, e); err != nil {
			t.Errorf("embed %s: %v", e.Model, err)
		}
		if _, err := gateway.Embed(ctx, e); err != nil {
			t.Errorf("embed %s via gateway: %v", e.Model, err)
		}
	}
	if _, err := direct.Summarize(ctx, providers.SummarizeRequest{Model: "@cf/facebook/bart-large-cnn", Text: "Cats sleep a lot. Dogs bark.", MaxLength: 30}); err != nil {
		t.Errorf("summarize: %v", err)
	}
	if _, err := direct.Translate(ctx, providers.TranslateRequest{Model: "@cf/meta/m2m100-1.2b", Text: "hello", From: "en", To: "fr"}); err != nil {
		t.Errorf("translate: %v", err)
	}
	if _, err := direct.Classify(ctx, providers.ClassifyRequest{Model: "@cf/huggingface/distilbert-sst-2-int8", Text: "great"}); err != nil {
		t.Errorf("classify: %v", err)
	}
	c := cf.Conformance()
	if len(c.Rejected) > 0 || len(c.Bad) > 0 {
		t.Errorf("published schemas refused requests %q and answers %q", c.Rejected, c.Bad)
	}
	// Gateway cache hits never reach the model; every other call was checked.
	if c.Checked < len(gens)+4+3 || c.Answers == 0 {
		t.Errorf("checked %d requests and %d answers, want every request and some answers", c.Checked, c.Answers)
	}
}

// TestWorkersAIConformanceRejects: a body the published schema refuses gets the 400
// (code 5006) the real API gives, and the emulator records it.
func TestWorkersAIConformanceRejects(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	tests := []struct{ model, body, want string }{
		{"@cf/meta/llama-3.1-8b-instruct", `{"messages":[{"role":"user","content":"hi"}],"seed":0}`, "seed"},
		{"@cf/meta/llama-3.1-8b-instruct", `{"messages":[{"role":"user","content":"hi"}],"top_k":100}`, "top_k"},
		{"@cf/baai/bge-base-en-v1.5", `{"text":["a"],"pooling":"max"}`, "pooling"},
		{"@cf/meta/m2m100-1.2b", `{"text":"hi"}`, "target_lang"},
		// Accepted by the emulator's hand-written ranges (top_p 0–2); llama-3.3's
		// published schema says 0.001–1.
		{"@cf/meta/llama-3.3-70b-instruct-fp8-fast", `{"messages":[{"role":"user","content":"hi"}],"top_p":1.5}`, "top_p"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodPost, cf.APIBase()+"/accounts/"+cf.Account()+"/ai/run/"+tt.model, strings.NewReader(tt.body))
		req.Header.Set("Authorization", "Bearer "+cf.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var env struct {
			Errors []struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		_ = json.Unmarshal(b, &env)
		if resp.StatusCode != http.StatusBadRequest || len(env.Errors) == 0 || env.Errors[0].Code != 5006 || !strings.Contains(env.Errors[0].Message, tt.want) {
			t.Errorf("%s %s: %d %s, want 400/5006 naming %s", tt.model, tt.body, resp.StatusCode, b, tt.want)
		}
	}
	if c := cf.Conformance(); len(c.Rejected) != len(tests) || cf.Runs() != 0 {
		t.Errorf("rejected %q, runs %d; want %d rejections and no run", c.Rejected, cf.Runs(), len(tests))
	}
}

// TestWorkersAIConformanceBadAnswer: an answer the published output schema refuses is
// recorded, so a responder scripting a wrong shape cannot pass unnoticed.
func TestWorkersAIConformanceBadAnswer(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.SetResponder(func(run wiretest.CFRun) (any, bool) {
		return map[string]any{"summary": 5}, run.Task == "summarize"
	})
	req, _ := http.NewRequest(http.MethodPost, cf.APIBase()+"/accounts/"+cf.Account()+"/ai/run/@cf/facebook/bart-large-cnn",
		strings.NewReader(`{"input_text":"Cats sleep."}`))
	req.Header.Set("Authorization", "Bearer "+cf.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := cf.Conformance(); len(c.Bad) != 1 || !strings.Contains(c.Bad[0], "summary") {
		t.Errorf("bad answers %q, want the non-string summary", c.Bad)
	}
}
