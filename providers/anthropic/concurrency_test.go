package anthropic_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func TestConcurrentUse(t *testing.T) {
	emu := wiretest.NewAnthropic(t)
	p := newProvider(t, emu, nil)
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf("echo: n%d", i)
			req := providers.GenerateRequest{Model: "m", Messages: user(fmt.Sprintf("n%d", i))}
			if i%2 == 0 {
				req.Stream = func(string) {}
			}
			resp, err := p.Generate(context.Background(), req)
			if err == nil && resp.Text != want {
				err = fmt.Errorf("got %q, want %q", resp.Text, want)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
	}
}

func TestCanceledContext(t *testing.T) {
	emu := wiretest.NewAnthropic(t)
	emu.Add(wiretest.Fault{Status: 503, Times: 10})
	p := newProvider(t, emu, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, stream := range []bool{false, true} {
		req := providers.GenerateRequest{Model: "m", Messages: user("hi")}
		if stream {
			req.Stream = func(string) {}
		}
		_, err := p.Generate(ctx, req)
		if pe := asProviderError(t, err); !errors.Is(err, context.Canceled) || pe.Retryable || providers.ShouldFallback(err) {
			t.Errorf("stream=%v: error %v, want a non-retryable wrap of context.Canceled", stream, err)
		}
	}
}
