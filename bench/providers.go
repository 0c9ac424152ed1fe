package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
	"github.com/aiflow/aiflow/providers/workersai"
)

func init() {
	register("providers", "workers-ai fan-out: 2,000 generate calls through a 100 req/s limiter, emulator answering after 50 ms", benchProviders)
}

// Figures of the provider fan-out.
const (
	fanOutCalls   = 2000
	fanOutRPS     = 100
	fanOutBurst   = 1
	fanOutLatency = 50 * time.Millisecond
	fanOutTarget  = 95.0 // % of the limit
)

func benchProviders() error {
	cf := wiretest.StartCloudflare()
	defer cf.Close()
	cf.SetLatency(fanOutLatency)
	var admitted admissions
	p, err := workersai.Open(providers.Config{Name: "bench", Kind: workersai.Kind, Settings: map[string]any{
		"account_id": cf.Account(), "api_token": cf.Token(), "base_url": cf.APIBase(),
		"rate_limit": map[string]any{"generate": fanOutRPS * 60, "burst": fanOutBurst},
	}}, workersai.WithAdmitHook(admitted.add))
	if err != nil {
		return err
	}
	defer p.Close()
	workers := p.Limits().Concurrency
	elapsed, failed := benchFanOut(p, workers)
	if failed > 0 {
		return fmt.Errorf("%d of %d calls failed", failed, fanOutCalls)
	}
	rate := float64(fanOutCalls) / elapsed.Seconds()
	pct := 100 * rate / fanOutRPS
	arrived := wiretest.PeakRate(wiretest.Times(cf.Requests()), time.Second)
	scheduled := wiretest.PeakRate(admitted.times(), time.Second)
	bound := fanOutRPS + fanOutBurst
	fmt.Printf("   %d calls, %d workers, %s: %.1f req/s = %.1f %% of the %d req/s limit (target ≥ %.0f %%)\n",
		fanOutCalls, workers, elapsed.Round(time.Millisecond), rate, pct, fanOutRPS, fanOutTarget)
	fmt.Printf("   busiest 1 s window: limiter schedule %d, arrivals at the emulator %d (limit %d + burst %d)%s\n",
		scheduled, arrived, fanOutRPS, fanOutBurst, jitterNote(arrived, bound))
	switch {
	case pct < fanOutTarget:
		return fmt.Errorf("throughput %.1f %% of the limit is below the %.0f %% target", pct, fanOutTarget)
	case scheduled > bound:
		return fmt.Errorf("the limiter admitted %d requests within one second, above %d + %d", scheduled, fanOutRPS, fanOutBurst)
	}
	return nil
}

// jitterNote explains arrivals above the bound while the schedule kept it: requests
// delayed on a loaded machine reach the server bunched.
func jitterNote(arrived, bound int) string {
	if arrived <= bound {
		return ""
	}
	return fmt.Sprintf("; %d over at the emulator: arrival jitter, the schedule kept the limit", arrived-bound)
}

// admissions collects the limiter's scheduled admission times.
type admissions struct {
	mu   sync.Mutex
	list []time.Time
}

func (a *admissions) add(at time.Time) {
	a.mu.Lock()
	a.list = append(a.list, at)
	a.mu.Unlock()
}

func (a *admissions) times() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.list...)
}

// benchFanOut runs the calls with the given number of workers and counts failures.
func benchFanOut(p *workersai.Provider, workers int) (time.Duration, int64) {
	work := make(chan int)
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := range work {
				req := providers.GenerateRequest{Model: "@cf/meta/llama-3.1-8b-instruct",
					Messages: []providers.Message{{Role: "user", Content: fmt.Sprintf("call %d", i)}}}
				if _, err := p.Generate(context.Background(), req); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	for i := range fanOutCalls {
		work <- i
	}
	close(work)
	wg.Wait()
	return time.Since(start), failed.Load()
}
