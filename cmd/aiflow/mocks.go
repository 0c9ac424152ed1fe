package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// mock replaces, in one test case, a step's output or a model's answer. Mocks live only
// in test files and reach the engine only through aiflow test's RunOptions
// (Executor and WrapProvider), so no flow file can declare one.
//
//	mocks:
//	  - step: sentiment          # the step's output, for every item…
//	    item: 2                  # …or only this for_each item
//	    output: { label: NEGATIVE, score: 0.9 }
//	  - model: sst2              # a model alias, provider:model-id, or a provider name
//	    prompt: refund           # only calls whose prompt (or text) contains this; /re/ for a regexp
//	    answer: The ticket asks for a refund.
type mock struct {
	pos    spec.Pos
	path   string // tests[i].mocks[j]
	step   string
	item   *int
	model  string
	prompt string
	re     *regexp.Regexp
	output any // step mocks
	answer any // model mocks
	// resolved model: provider name and model id ("" matches any model of the provider)
	provider, modelID string
	used              atomic.Int64
}

var mockKeys = []string{"step", "item", "model", "prompt", "output", "answer"}

func (p *testParser) mocks(n *yaml.Node, path string, tc *testCase) {
	if n.Kind != yaml.SequenceNode {
		p.errf(n, path, "expected a list of mocks: {step, output} or {model, answer}")
		return
	}
	for i, item := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		m := &mock{pos: p.pos(item), path: ipath}
		var hasOutput, hasAnswer bool
		p.mapping(item, ipath, mockKeys, func(key string, k, v *yaml.Node) {
			switch key {
			case "step":
				m.step = p.str(v, ipath+".step")
			case "model":
				m.model = p.str(v, ipath+".model")
			case "item":
				var x int
				if err := v.Decode(&x); err != nil || x < 0 {
					p.errf(v, ipath+".item", "expected a for_each index (0, 1, …)")
					return
				}
				m.item = &x
			case "prompt":
				m.prompt = p.str(v, ipath+".prompt")
				if r, ok := strings.CutPrefix(m.prompt, "/"); ok && strings.HasSuffix(r, "/") && len(r) > 1 {
					re, err := regexp.Compile(strings.TrimSuffix(r, "/"))
					if err != nil {
						p.errf(v, ipath+".prompt", "invalid regular expression: %v", err)
						return
					}
					m.re = re
				}
			case "output", "answer":
				var x any
				if err := v.Decode(&x); err != nil {
					p.errf(v, ipath+"."+key, "%v", err)
					return
				}
				if _, isMap := x.(map[string]any); key == "output" && !isMap {
					p.errf(v, ipath+".output", "expected a mapping: the step's output fields, e.g. { text: … } for generate")
					return
				}
				if key == "output" {
					m.output, hasOutput = jsonable(x), true
				} else {
					m.answer, hasAnswer = jsonable(x), true
				}
			}
		})
		if item.Kind != yaml.MappingNode {
			continue
		}
		switch {
		case (m.step == "") == (m.model == ""):
			p.errf(item, ipath, "a mock names either step: (to replace its output) or model: (to replace its answer)")
		case m.step != "" && !hasOutput:
			p.errf(item, ipath+".output", "missing output: the step's output to use instead of running it")
		case m.step != "" && hasAnswer:
			p.errf(item, ipath+".answer", "answer: goes with model:; a step mock gives output:")
		case m.model != "" && !hasAnswer:
			p.errf(item, ipath+".answer", "missing answer: the model's answer (text; a label for classify; a vector for embed)")
		case m.model != "" && (hasOutput || m.item != nil):
			p.errf(item, ipath, "output: and item: go with step:; a model mock gives answer: and may match a prompt:")
		}
		tc.mocks = append(tc.mocks, m)
	}
}

// bindMocks checks a test case's mocks against the flow: steps must exist, models must
// resolve to a provider of the flow.
func bindMocks(fl *engine.Flow, tests []*testCase) spec.Diagnostics {
	var diags spec.Diagnostics
	var stepIDs, modelNames []string
	for _, id := range fl.Order {
		stepIDs = append(stepIDs, id)
	}
	for name := range fl.Models {
		modelNames = append(modelNames, name)
	}
	for name := range fl.Providers {
		modelNames = append(modelNames, name)
	}
	for _, tc := range tests {
		for _, m := range tc.mocks {
			if m.step != "" {
				if _, ok := fl.Nodes[m.step]; !ok {
					diags.Errorf(m.pos, m.path+".step", "unknown step %q%s", m.step, spec.DidYouMean(m.step, stepIDs))
				}
				continue
			}
			if a, ok := fl.Models[m.model]; ok {
				m.provider, m.modelID = a.Provider, a.ID
			} else if prov, id, found := strings.Cut(m.model, ":"); found {
				m.provider, m.modelID = prov, id
			} else {
				m.provider = m.model
			}
			if _, ok := fl.Providers[m.provider]; !ok {
				diags.Errorf(m.pos, m.path+".model", "unknown model %q%s: want a models: alias, provider:model-id or a providers: name", m.model, spec.DidYouMean(m.model, modelNames))
			}
		}
	}
	return diags
}

func (m *mock) describe() string {
	var parts []string
	if m.step != "" {
		parts = append(parts, "step "+m.step)
		if m.item != nil {
			parts = append(parts, fmt.Sprintf("item %d", *m.item))
		}
	} else {
		parts = append(parts, "model "+m.model)
	}
	if m.prompt != "" {
		parts = append(parts, fmt.Sprintf("prompt %q", m.prompt))
	}
	return strings.Join(parts, ", ")
}

func (m *mock) matchesText(texts ...string) bool {
	if m.prompt == "" {
		return true
	}
	for _, t := range texts {
		if m.re != nil && m.re.MatchString(t) || m.re == nil && strings.Contains(t, m.prompt) {
			return true
		}
	}
	return false
}

// mockSet is one test run's mocks.
type mockSet struct{ mocks []*mock }

func (s *mockSet) stepMock(call *steps.Call) *mock {
	var best *mock
	for _, m := range s.mocks {
		if m.step != call.StepID || m.item != nil && *m.item != call.Item || !m.matchesText(callTexts(call)...) {
			continue
		}
		if m.item != nil { // an item's own mock wins over the step's
			return m
		}
		if best == nil {
			best = m
		}
	}
	return best
}

func (s *mockSet) modelMock(provider, model string, texts ...string) *mock {
	for _, m := range s.mocks {
		if m.model != "" && m.provider == provider && (m.modelID == "" || m.modelID == model) && m.matchesText(texts...) {
			return m
		}
	}
	return nil
}

// unused lists the mocks no call used.
func (s *mockSet) unused() []*mock {
	var out []*mock
	for _, m := range s.mocks {
		if m.used.Load() == 0 {
			out = append(out, m)
		}
	}
	return out
}

// callTexts is what a step mock's prompt: is matched against: the prompt's turns and
// the text-like inputs.
func callTexts(call *steps.Call) []string {
	var out []string
	if p := call.Prompt; p != nil {
		out = append(out, p.System, p.User)
		for _, m := range p.Messages {
			out = append(out, m.Content)
		}
	}
	for _, k := range []string{"text", "texts", "focus", "question"} {
		switch v := call.Inputs[k].(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// mockExecutor answers calls of mocked steps with their output and runs the others.
type mockExecutor struct {
	inner engine.Executor
	set   *mockSet
}

func (x mockExecutor) Execute(ctx context.Context, step steps.Step, call *steps.Call) (steps.Result, error) {
	if m := x.set.stepMock(call); m != nil {
		m.used.Add(1)
		out, _ := cloneJSON(m.output).(map[string]any)
		return steps.Result{Output: out}, nil
	}
	return x.inner.Execute(ctx, step, call)
}

// cloneJSON copies a decoded YAML/JSON value, so one run cannot change a mock's value
// another item reads.
func cloneJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	json.Unmarshal(b, &out)
	return out
}

// wrap is the RunOptions.WrapProvider of a test run with mocks: every provider becomes a
// mockProvider that opens the real one only for a call no mock matches.
func (s *mockSet) wrap(name, kind string, open func() (providers.Provider, error)) (providers.Provider, error) {
	return &mockProvider{name: name, kind: kind, open: open, set: s}, nil
}

type mockProvider struct {
	name, kind string
	set        *mockSet
	open       func() (providers.Provider, error)
	once       sync.Once
	real       providers.Provider
	err        error
}

var (
	_ providers.Generator  = (*mockProvider)(nil)
	_ providers.Embedder   = (*mockProvider)(nil)
	_ providers.Summarizer = (*mockProvider)(nil)
	_ providers.Translator = (*mockProvider)(nil)
	_ providers.Classifier = (*mockProvider)(nil)
)

func (p *mockProvider) Kind() string { return p.kind }

func (p *mockProvider) Close() error {
	if p.real != nil {
		return p.real.Close()
	}
	return nil
}

// realAs opens the real provider for an unmocked call and returns it as capability C.
func realAs[C any](p *mockProvider, task providers.Task) (C, error) {
	var zero C
	p.once.Do(func() { p.real, p.err = p.open() })
	if p.err != nil {
		return zero, fmt.Errorf("no mock matches this call, and the real provider cannot be opened: %w", p.err)
	}
	c, ok := p.real.(C)
	if !ok {
		return zero, fmt.Errorf("provider %q (%s) does not serve %s", p.name, p.kind, task)
	}
	return c, nil
}

func answerText(m *mock) string {
	if s, ok := m.answer.(string); ok {
		return s
	}
	b, _ := json.Marshal(m.answer)
	return string(b)
}

func (p *mockProvider) Generate(ctx context.Context, req providers.GenerateRequest) (providers.GenerateResponse, error) {
	texts := make([]string, len(req.Messages))
	for i, m := range req.Messages {
		texts[i] = m.Content
	}
	if m := p.set.modelMock(p.name, req.Model, texts...); m != nil {
		m.used.Add(1)
		resp := providers.GenerateResponse{Text: answerText(m), FinishReason: "stop"}
		if req.JSONSchema != nil {
			if _, isStr := m.answer.(string); isStr {
				var v any
				if json.Unmarshal([]byte(resp.Text), &v) == nil {
					resp.JSON = v
				}
			} else {
				resp.JSON = cloneJSON(m.answer)
			}
		}
		if req.Stream != nil {
			req.Stream(resp.Text)
		}
		return resp, nil
	}
	g, err := realAs[providers.Generator](p, providers.TaskGenerate)
	if err != nil {
		return providers.GenerateResponse{}, err
	}
	return g.Generate(ctx, req)
}

func (p *mockProvider) Summarize(ctx context.Context, req providers.SummarizeRequest) (providers.SummarizeResponse, error) {
	if m := p.set.modelMock(p.name, req.Model, req.Text, req.Focus); m != nil {
		m.used.Add(1)
		return providers.SummarizeResponse{Text: answerText(m)}, nil
	}
	g, err := realAs[providers.Summarizer](p, providers.TaskSummarize)
	if err != nil {
		return providers.SummarizeResponse{}, err
	}
	return g.Summarize(ctx, req)
}

func (p *mockProvider) Translate(ctx context.Context, req providers.TranslateRequest) (providers.TranslateResponse, error) {
	if m := p.set.modelMock(p.name, req.Model, req.Text); m != nil {
		m.used.Add(1)
		return providers.TranslateResponse{Text: answerText(m)}, nil
	}
	g, err := realAs[providers.Translator](p, providers.TaskTranslate)
	if err != nil {
		return providers.TranslateResponse{}, err
	}
	return g.Translate(ctx, req)
}

func (p *mockProvider) Classify(ctx context.Context, req providers.ClassifyRequest) (providers.ClassifyResponse, error) {
	if m := p.set.modelMock(p.name, req.Model, req.Text); m != nil {
		m.used.Add(1)
		return providers.ClassifyResponse{Scores: mockScores(m.answer)}, nil
	}
	g, err := realAs[providers.Classifier](p, providers.TaskClassify)
	if err != nil {
		return providers.ClassifyResponse{}, err
	}
	return g.Classify(ctx, req)
}

// mockScores reads a classify answer: a label, or a list of {label, score}.
func mockScores(a any) []providers.LabelScore {
	if s, ok := a.(string); ok {
		return []providers.LabelScore{{Label: s, Score: 1}}
	}
	var out []providers.LabelScore
	b, _ := json.Marshal(a)
	if json.Unmarshal(b, &out) != nil || len(out) == 0 {
		return []providers.LabelScore{{Label: answerText(&mock{answer: a}), Score: 1}}
	}
	return out
}

func (p *mockProvider) Embed(ctx context.Context, req providers.EmbedRequest) (providers.EmbedResponse, error) {
	if m := p.set.modelMock(p.name, req.Model, req.Texts...); m != nil {
		m.used.Add(1)
		var vec []float32
		b, _ := json.Marshal(m.answer)
		if err := json.Unmarshal(b, &vec); err != nil || len(vec) == 0 {
			return providers.EmbedResponse{}, fmt.Errorf("%s: %s: an embed mock's answer must be a list of numbers (the vector every text gets)", m.pos, m.path)
		}
		out := make([][]float32, len(req.Texts))
		for i := range out {
			out[i] = vec
		}
		return providers.EmbedResponse{Vectors: out, Dimensions: len(vec)}, nil
	}
	g, err := realAs[providers.Embedder](p, providers.TaskEmbed)
	if err != nil {
		return providers.EmbedResponse{}, err
	}
	return g.Embed(ctx, req)
}
