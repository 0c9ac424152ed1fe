package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/fake"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/embed"
	"github.com/aiflow/aiflow/steps/generate"
)

// gatedProvider is the fake provider with a concurrency limit of one whose generate
// calls wait until an embedding call has been served: if generate calls hold (or queue
// for) the provider's only slot, the embedding call never runs and they give up.
type gatedProvider struct {
	*fake.Provider
	embedded  chan struct{}
	once      sync.Once
	generates atomic.Int32
	inflight  atomic.Int32 // generate calls running now
	most      atomic.Int32 // the most that ever ran at once
}

func (p *gatedProvider) Limits() providers.Limits { return providers.Limits{Concurrency: 1} }

func (p *gatedProvider) Info() providers.Info {
	info := p.Provider.Info()
	info.New = func(providers.Config) (providers.Provider, error) { return p, nil }
	return info
}

func (p *gatedProvider) Generate(ctx context.Context, req providers.GenerateRequest) (providers.GenerateResponse, error) {
	p.generates.Add(1)
	now := p.inflight.Add(1)
	defer p.inflight.Add(-1)
	for m := p.most.Load(); now > m && !p.most.CompareAndSwap(m, now); m = p.most.Load() {
	}
	select {
	case <-p.embedded:
	case <-ctx.Done():
		return providers.GenerateResponse{}, ctx.Err()
	case <-time.After(10 * time.Second): // a guard against hanging, not a measurement
		return providers.GenerateResponse{}, errors.New("the embedding call never got a slot while generate calls held the provider")
	}
	return p.Provider.Generate(ctx, req)
}

func (p *gatedProvider) Embed(ctx context.Context, req providers.EmbedRequest) (providers.EmbedResponse, error) {
	defer p.once.Do(func() { close(p.embedded) })
	return p.Provider.Embed(ctx, req)
}

// TestProviderConcurrencyIsPerTask checks that generate calls holding and queued for a
// provider's concurrency limit do not starve an embedding call on the same provider
// (issue 12 bug 9): the limit applies per task, and a call waiting for a provider slot
// holds no run-wide execution slot.
func TestProviderConcurrencyIsPerTask(t *testing.T) {
	const src = `
aiflow: 1
providers:
  f: { kind: fake }
steps:
  g1: { uses: generate, model: f:chat, prompt: { user: one } }
  g2: { uses: generate, model: f:chat, prompt: { user: two } }
  g3: { uses: generate, model: f:chat, prompt: { user: three } }
  e:
    uses: embed
    model: f:vec
    with:
      text: hello
outputs:
  dims: ${ steps.e.output.dimensions }
`
	p := &gatedProvider{Provider: fake.New(), embedded: make(chan struct{})}
	reg := steps.NewRegistry()
	for _, k := range []steps.Kind{generate.Kind, embed.Kind} {
		if err := reg.Register(k); err != nil {
			t.Fatal(err)
		}
	}
	preg := providers.NewRegistry()
	if err := preg.Register(p.Info()); err != nil {
		t.Fatal(err)
	}
	f, diags := spec.Parse("flow.yaml", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	fl, diags := engine.Compile(f, engine.Options{Steps: reg, Providers: preg})
	if diags.HasErrors() {
		t.Fatalf("compile: %v", diags)
	}
	// Two run-wide slots for four calls: generate calls queued for the provider's slot
	// must not sit on them either.
	res, err := fl.Run(context.Background(), engine.RunOptions{Store: openStore(t), Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Outputs["dims"]) != "16" || p.generates.Load() != 3 {
		t.Errorf("dims %v after %d generate calls, want 16 after 3", res.Outputs["dims"], p.generates.Load())
	}
	if got := p.most.Load(); got != 1 {
		t.Errorf("%d generate calls ran at once; the provider's limit is 1", got)
	}
}
