package workersai_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
	"github.com/aiflow/aiflow/providers/workersai"
)

// BenchmarkFanOutGenerate sends 2,000 generate calls through a 100 req/s limiter to the
// emulator answering after 50 ms. It reports the throughput as a share of the limit
// (target ≥ 95 %), the most admissions the limiter scheduled in any one-second window
// (must stay ≤ limit + burst) and the most arrivals the emulator saw in one (the same
// plus the machine's scheduling jitter).
func BenchmarkFanOutGenerate(b *testing.B) {
	const (
		calls = 2000
		rps   = 100
		burst = 1
	)
	for b.Loop() {
		cf := wiretest.StartCloudflare()
		cf.SetLatency(50 * time.Millisecond)
		var mu sync.Mutex
		var admitted []time.Time
		p, err := workersai.Open(providers.Config{Settings: map[string]any{
			"account_id": cf.Account(), "api_token": cf.Token(), "base_url": cf.APIBase(),
			"rate_limit": map[string]any{"generate": rps * 60, "burst": burst},
		}}, workersai.WithAdmitHook(func(at time.Time) { mu.Lock(); admitted = append(admitted, at); mu.Unlock() }))
		if err != nil {
			b.Fatal(err)
		}
		elapsed := fanOut(b, p, calls)
		arrived := wiretest.PeakRate(wiretest.Times(cf.Requests()), time.Second)
		p.Close()
		cf.Close()
		scheduled := wiretest.PeakRate(admitted, time.Second)
		b.ReportMetric(100*float64(calls)/elapsed.Seconds()/rps, "%limit")
		b.ReportMetric(float64(scheduled), "scheduled/s")
		b.ReportMetric(float64(arrived), "arrived/s")
		if scheduled > rps+burst {
			b.Errorf("limiter admitted %d requests within one second, limit %d + burst %d", scheduled, rps, burst)
		}
	}
}

// fanOut runs calls generations with the provider's declared concurrency.
func fanOut(b *testing.B, p *workersai.Provider, calls int) time.Duration {
	work := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range p.Limits().Concurrency {
		wg.Go(func() {
			for i := range work {
				req := providers.GenerateRequest{Model: llama, Messages: user(fmt.Sprintf("call %d", i))}
				if _, err := p.Generate(context.Background(), req); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range calls {
		work <- i
	}
	close(work)
	wg.Wait()
	return time.Since(start)
}
