package engine_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/fake"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/generate"
)

// pricedFanOut makes six priced generate calls, one at a time, under a $0.0005 budget:
// at $0.0002 a call, two are paid and the third is refused. (max_tokens: 4 keeps the
// first call's estimate, as on the catalogue's dearest generate model, under it.)
const pricedFanOut = `
aiflow: 1
budget: { usd: 0.0005 }
providers:
  f: { kind: fake }
steps:
  gen:
    uses: generate
    model: f:m
    for_each: ${ ["a", "b", "c", "d", "e", "f"] }
    parallelism: 1
    prompt: ${ each.value }
    params: { max_tokens: 4 }
    cache: off
`

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// TestResumeCarriesBudgetAndUsage is issue 11 finding 3: a resumed run starts its budget
// from what the run already spent, and reports (and records) the usage of all its
// processes, not only the last one's. Before, every --resume got the whole budget again.
func TestResumeCarriesBudgetAndUsage(t *testing.T) {
	p := fake.New()
	p.PricePerCall = 0.0002
	fl := fakeFlow(t, p, pricedFanOut)
	st := openStore(t)
	ctx := context.Background()
	first, err := fl.Run(ctx, engine.RunOptions{Store: st})
	var be *engine.BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("first run: want a budget error, got %v", err)
	}
	if calls := p.Calls("m"); calls != 2 || !near(first.Usage.USD, 0.0004) {
		t.Fatalf("first run: %d calls, $%v; want 2 calls, $0.0004", calls, first.Usage.USD)
	}
	for i := range 3 {
		res, err := fl.Run(ctx, engine.RunOptions{Store: st, Resume: first.RunID})
		if !errors.As(err, &be) {
			t.Fatalf("resume %d: want a budget error, got %v", i+1, err)
		}
		if calls := p.Calls("m"); calls != 2 {
			t.Errorf("resume %d: %d calls in all, want still 2: the budget was already spent", i+1, calls)
		}
		if !near(res.Usage.USD, 0.0004) || res.Usage.Requests != 2 {
			t.Errorf("resume %d reports $%v over %d requests, want the run's $0.0004 over 2", i+1, res.Usage.USD, res.Usage.Requests)
		}
		run, err := st.GetRun(ctx, first.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if !near(run.Usage.USD, 0.0004) || run.Usage.Requests != 2 {
			t.Errorf("resume %d: store has $%v over %d requests, want $0.0004 over 2", i+1, run.Usage.USD, run.Usage.Requests)
		}
	}

	t.Run("a bigger budget continues from what was spent", func(t *testing.T) {
		res, err := fl.Run(ctx, engine.RunOptions{Store: st, Resume: first.RunID, BudgetUSD: 0.0009})
		if !errors.As(err, &be) {
			t.Fatalf("want a budget error, got %v", err)
		}
		// 0.0004 spent + 2 × 0.0002 = 0.0008 ≤ 0.0009; a fifth call would cross it.
		if calls := p.Calls("m"); calls != 4 || !near(res.Usage.USD, 0.0008) {
			t.Errorf("%d calls in all, run usage $%v; want 4 calls and $0.0008", calls, res.Usage.USD)
		}
	})
}

// TestBilledFailuresCount is issue 11 finding 3: a call that failed after it was paid
// for counts in the run's usage and budget: a generate whose JSON repair turns all
// failed, and a retried attempt that reported usage and then failed.
func TestBilledFailuresCount(t *testing.T) {
	const schemaFlow = `
aiflow: 1
providers:
  f: { kind: fake }
steps:
  facts:
    uses: generate
    model: f:m
    prompt: Name a city as JSON.
    output:
      schema: { type: object, required: [city], properties: { city: { type: string } } }
`
	const retryFlow = `
aiflow: 1
providers:
  f: { kind: fake }
steps:
  gen:
    uses: generate
    model: f:m
    prompt: hello
    retry: { attempts: 2, backoff: 1ms }
`
	tests := []struct {
		name     string
		src      string
		exec     engine.Executor
		wantErr  bool
		wantUSD  float64
		wantReqs int
	}{
		// The fake never answers JSON: the first answer and MaxRepairs repairs are paid.
		{name: "failed JSON repair", src: schemaFlow, wantErr: true,
			wantUSD: 0.0002 * (generate.MaxRepairs + 1), wantReqs: generate.MaxRepairs + 1},
		// The first attempt is billed $0.001 and then fails retryably; the second succeeds.
		{name: "billed attempt retried", src: retryFlow, exec: &billedFailure{usd: 0.001},
			wantUSD: 0.001 + 0.0002, wantReqs: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fake.New()
			p.PricePerCall = 0.0002
			fl := fakeFlow(t, p, tt.src)
			st := openStore(t)
			res, err := fl.Run(context.Background(), engine.RunOptions{Store: st, Executor: tt.exec})
			if (err != nil) != tt.wantErr {
				t.Fatalf("run error = %v, want error %v", err, tt.wantErr)
			}
			if !near(res.Usage.USD, tt.wantUSD) || res.Usage.Requests != tt.wantReqs {
				t.Errorf("run usage $%v over %d requests, want $%v over %d", res.Usage.USD, res.Usage.Requests, tt.wantUSD, tt.wantReqs)
			}
			run, err := st.GetRun(context.Background(), res.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if !near(run.Usage.USD, tt.wantUSD) || run.Usage.Requests != tt.wantReqs {
				t.Errorf("recorded usage $%v over %d requests, want $%v over %d", run.Usage.USD, run.Usage.Requests, tt.wantUSD, tt.wantReqs)
			}
			recs, err := st.Steps(context.Background(), res.RunID)
			if err != nil || len(recs) != 1 {
				t.Fatalf("step records %v, %v", recs, err)
			}
			if got := recs[0].Usage; !near(got.USD, tt.wantUSD) {
				t.Errorf("step record %s usage $%v, want $%v", recs[0].Status, got.USD, tt.wantUSD)
			}
		})
	}
}

// billedFailure is an executor whose first call reports usage and fails with a
// retryable error, as a provider that billed a request and then timed out would.
type billedFailure struct {
	usd  float64
	once sync.Once
}

func (b *billedFailure) Execute(ctx context.Context, s steps.Step, call *steps.Call) (steps.Result, error) {
	first := false
	b.once.Do(func() { first = true })
	if first {
		return steps.Result{Usage: providers.Usage{USD: b.usd, Requests: 1}}, fake.Unavailable("m")
	}
	return engine.InProcess{}.Execute(ctx, s, call)
}

// TestSharedBudget: runs drawing on one SharedBudget (the rows of a dataset run) never
// commit more than it together, though none has a budget of its own. Before, a dataset
// run's --budget capped each row, so N rows could spend N times it.
func TestSharedBudget(t *testing.T) {
	p := fake.New()
	p.PricePerCall = 0.0002
	fl := fakeFlow(t, p, strings.Replace(pricedFanOut, "budget: { usd: 0.0005 }\n", "", 1))
	st := openStore(t)
	shared := engine.NewSharedBudget(0.0011)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = fl.Run(context.Background(), engine.RunOptions{Store: st, Ephemeral: true, SharedBudget: shared})
		}()
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		var be *engine.BudgetError
		if errors.As(err, &be) {
			if !be.Shared || !strings.Contains(be.Error(), "shared by the dataset's rows") {
				t.Errorf("refusal %v: want the shared budget named", be)
			}
			refused++
		} else if err != nil {
			t.Errorf("run: %v", err)
		}
	}
	if calls := p.Calls("m"); calls != 5 || !near(shared.Spent(), 0.001) {
		t.Errorf("%d calls paid $%v in all; want 5 calls, $0.001, under the shared $0.0011", p.Calls("m"), shared.Spent())
	}
	if refused != 4 {
		t.Errorf("%d of 4 runs refused by the shared budget; want all (24 calls wanted, 5 fit)", refused)
	}
}
