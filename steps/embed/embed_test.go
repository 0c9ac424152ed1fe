package embed

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

func call(m *steps.Model, inputs map[string]any) *steps.Call {
	return &steps.Call{StepID: "e", Item: -1, Inputs: inputs, Model: m, Env: &steptest.Env{}}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name   string
		inputs map[string]any
		want   map[string]any
		reqs   [][]string
	}{
		{
			name:   "one text",
			inputs: map[string]any{"text": "abc"},
			want:   map[string]any{"vectors": []any{[]float32{1, 1, 1}}, "vector": []float32{1, 1, 1}, "dimensions": 3, "count": 1},
			reqs:   [][]string{{"abc"}},
		},
		{
			name:   "texts",
			inputs: map[string]any{"texts": []string{"aa", "cd"}},
			want:   map[string]any{"vectors": []any{[]float32{2, 0, 0}, []float32{1, 0, 1}}, "vector": []float32{2, 0, 0}, "dimensions": 3, "count": 2},
			reqs:   [][]string{{"aa", "cd"}},
		},
		{
			name:   "no texts sends nothing",
			inputs: map[string]any{"texts": []string{}},
			want:   map[string]any{"vectors": []any{}, "vector": nil, "dimensions": 0, "count": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := steptest.WordEmbedder(3)
			res, err := embedder{}.Run(context.Background(), call(steptest.Model(p, "m1"), tt.inputs))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, res.Output); d != "" {
				t.Errorf("output (-want +got):\n%s", d)
			}
			var got [][]string
			for _, r := range p.Requests() {
				got = append(got, r.Texts)
				if r.Model != "m1" {
					t.Errorf("request model = %q, want m1", r.Model)
				}
			}
			if d := cmp.Diff(tt.reqs, got); d != "" {
				t.Errorf("requests (-want +got):\n%s", d)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	provErr := &providers.Error{Provider: "fake", Status: 429, Retryable: true, Message: "capacity"}
	tests := []struct {
		name    string
		model   *steps.Model
		wantErr string
		wantPE  bool
	}{
		{"provider lacks embed", steptest.Model(steptest.Bare{}, "m"), "model test:m (provider kind bare) does not serve embed", false},
		{"provider error stays typed", steptest.Model(&steptest.Embedder{Fn: func(context.Context, providers.EmbedRequest) (providers.EmbedResponse, error) {
			return providers.EmbedResponse{}, provErr
		}}, "m"), "embedding 1 texts with test:m: fake: HTTP 429: capacity", true},
		{"short response", steptest.Model(&steptest.Embedder{Fn: func(context.Context, providers.EmbedRequest) (providers.EmbedResponse, error) {
			return providers.EmbedResponse{}, nil
		}}, "m"), "embedding with test:m: got 0 vectors for 1 texts", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := embedder{}.Run(context.Background(), call(tt.model, map[string]any{"text": "x"}))
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			var pe *providers.Error
			if got := errors.As(err, &pe); got != tt.wantPE {
				t.Errorf("errors.As(*providers.Error) = %v, want %v", got, tt.wantPE)
			}
		})
	}
}

// TestBilledShortResponseKeepsUsage: a response that was billed and then had too few
// vectors fails with what it paid, in Run and RunBatch, so the engine counts it.
func TestBilledShortResponseKeepsUsage(t *testing.T) {
	paid := providers.Usage{USD: 0.001, Requests: 1}
	m := steptest.Model(&steptest.Embedder{Fn: func(context.Context, providers.EmbedRequest) (providers.EmbedResponse, error) {
		return providers.EmbedResponse{Vectors: [][]float32{{1}}, Usage: paid}, nil
	}}, "m")
	res, err := embedder{}.Run(context.Background(), call(m, map[string]any{"texts": []string{"a", "b"}}))
	if err == nil || res.Usage != paid {
		t.Errorf("Run: usage %+v, error %v; want %+v with an error", res.Usage, err, paid)
	}
	results, err := embedder{}.RunBatch(context.Background(), []*steps.Call{call(m, map[string]any{"text": "a"}), call(m, map[string]any{"text": "b"})})
	var got providers.Usage
	for _, r := range results {
		got = got.Add(r.Usage)
	}
	if err == nil || got != paid {
		t.Errorf("RunBatch: usage %+v, error %v; want %+v with an error", got, err, paid)
	}
}

func TestOptionsAndGateway(t *testing.T) {
	p := steptest.WordEmbedder(2)
	m := steptest.Model(p, "m")
	m.Gateway = &providers.GatewayOptions{SkipCache: true}
	opts := map[string]any{"pooling": "cls"}
	if _, err := (embedder{}).Run(context.Background(), call(m, map[string]any{"text": "a", "options": opts})); err != nil {
		t.Fatal(err)
	}
	r := p.Requests()[0]
	if d := cmp.Diff(opts, r.Options); d != "" {
		t.Errorf("options (-want +got):\n%s", d)
	}
	if r.Gateway != m.Gateway {
		t.Errorf("gateway options not passed")
	}
}

// TestRunBatchOrder checks that a batch is one request and that vectors and usage go back
// to the right items.
func TestRunBatchOrder(t *testing.T) {
	p := steptest.WordEmbedder(26)
	p.Fn = func(ctx context.Context, req providers.EmbedRequest) (providers.EmbedResponse, error) {
		resp, _ := steptest.WordEmbedder(26).Fn(ctx, req)
		resp.Usage = providers.Usage{InputTokens: 10, Neurons: 1, Requests: 1}
		return resp, nil
	}
	m := steptest.Model(p, "m")
	calls := []*steps.Call{
		call(m, map[string]any{"text": "a"}),
		call(m, map[string]any{"texts": []string{"b", "c"}}),
		call(m, map[string]any{"texts": []string{}}),
		call(m, map[string]any{"text": "d"}),
	}
	res, err := embedder{}.RunBatch(context.Background(), calls)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([][]string{{"a", "b", "c", "d"}}, textsOf(p.Requests())); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
	letter := func(v any) string {
		for i, x := range v.([]float32) {
			if x > 0 {
				return string(rune('a' + i))
			}
		}
		return ""
	}
	var got [][]string
	var total providers.Usage
	for _, r := range res {
		var ls []string
		for _, v := range r.Output["vectors"].([]any) {
			ls = append(ls, letter(v))
		}
		got = append(got, ls)
		total = total.Add(r.Usage)
	}
	if d := cmp.Diff([][]string{{"a"}, {"b", "c"}, nil, {"d"}}, got); d != "" {
		t.Errorf("vectors per item (-want +got):\n%s", d)
	}
	if d := cmp.Diff(providers.Usage{InputTokens: 10, Neurons: 1, Requests: 1}, total); d != "" {
		t.Errorf("usage sum (-want +got):\n%s", d)
	}
	if res[2].Usage != (providers.Usage{}) {
		t.Errorf("empty item charged %+v", res[2].Usage)
	}
}

func textsOf(reqs []providers.EmbedRequest) [][]string {
	var out [][]string
	for _, r := range reqs {
		out = append(out, r.Texts)
	}
	return out
}

func TestShareUsage(t *testing.T) {
	u := providers.Usage{InputTokens: 7, OutputTokens: 3, Neurons: 0.9, USD: 0.3, Requests: 1}
	got := shareUsage(u, []int{0, 1, 2})
	want := []providers.Usage{
		{},
		{InputTokens: 2, OutputTokens: 1, Neurons: 0.3, USD: 0.1, Requests: 1},
		{InputTokens: 5, OutputTokens: 2, Neurons: 0.6, USD: 0.2},
	}
	approx := cmp.Comparer(func(a, b float64) bool { return a-b < 1e-12 && b-a < 1e-12 })
	if d := cmp.Diff(want, got, approx); d != "" {
		t.Errorf("shareUsage (-want +got):\n%s", d)
	}
}

func TestNew(t *testing.T) {
	set := func(keys ...string) []*spec.Setting {
		var out []*spec.Setting
		for _, k := range keys {
			out = append(out, &spec.Setting{Key: k, KeyPos: spec.Pos{File: "f.yaml", Line: 3}})
		}
		return out
	}
	tests := []struct {
		name   string
		with   []*spec.Setting
		want   string
		inCode bool // built by Env.Invoke: no position, no with:
	}{
		{"text", set("text"), "", false},
		{"texts", set("texts"), "", false},
		{"both", set("text", "texts"), "give text or texts, not both", false},
		{"neither", set(), "embed needs text or texts", false},
		{"built in code", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &spec.Step{ID: "e", With: tt.with, Pos: spec.Pos{File: "f.yaml", Line: 2}}
			if tt.inCode {
				st.Pos = spec.Pos{}
			}
			_, diags := Kind.New(st)
			got := ""
			if len(diags) > 0 {
				got = diags[0].Summary
			}
			if got != tt.want || len(diags) > 1 {
				t.Errorf("diagnostics = %v, want %q", diags, tt.want)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	k, ok := steps.Default().Lookup("embed")
	if !ok || k.Task != providers.TaskEmbed || !strings.Contains(strings.Join(k.Keys, ","), "batch") {
		t.Fatalf("embed kind = %+v, %v", k, ok)
	}
}
