package catalog

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
)

func TestEmbeddedFileIsValid(t *testing.T) {
	f, err := parse(modelsJSON)
	if err != nil {
		t.Fatalf("models.json: %v", err)
	}
	if len(f.Models) < 20 {
		t.Errorf("only %d models", len(f.Models))
	}
	for _, m := range f.Models {
		if m.Provider != "workers-ai" && !strings.HasPrefix(m.Source, "approximate") {
			t.Errorf("%s %s: third-party list prices must be marked approximate, source is %q", m.Provider, m.ID, m.Source)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"unknown task", `{"neuron_usd_per_thousand":0.011,"models":[{"provider":"p","id":"m","task":"dance","free":true,"source":"s"}]}`, `unknown task "dance"`},
		{"embedder without dimensions", `{"neuron_usd_per_thousand":0.011,"models":[{"provider":"p","id":"m","task":"embed","max_batch":1,"free":true,"source":"s"}]}`, "need dimensions"},
		{"no price", `{"neuron_usd_per_thousand":0.011,"models":[{"provider":"p","id":"m","task":"generate","source":"s"}]}`, "exactly one of"},
		{"duplicate", `{"neuron_usd_per_thousand":0.011,"models":[{"provider":"p","id":"m","task":"generate","free":true,"source":"s"},{"provider":"p","id":"m","task":"generate","free":true,"source":"s"}]}`, "duplicate"},
		{"bad rate limit", `{"neuron_usd_per_thousand":0.011,"rate_limits":[{"provider":"p","task":"embed","requests_per_minute":0,"source":"s"}]}`, "positive requests_per_minute"},
		{"missing neuron price", `{"models":[]}`, "neuron_usd_per_thousand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parse error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// reference is cloudflare-wire.md §2.10's pricing table.
var reference = []struct {
	id                 string
	usdIn, usdOut      float64
	neuronIn, neuronOu float64
}{
	{"@cf/meta/llama-3.1-8b-instruct", 0.282, 0.827, 25608, 75147},
	{"@cf/meta/llama-3.1-8b-instruct-fp8", 0.152, 0.287, 13778, 26128},
	{"@cf/meta/llama-3.1-8b-instruct-fp8-fast", 0.045, 0.384, 4119, 34868},
	{"@cf/meta/llama-3.3-70b-instruct-fp8-fast", 0.293, 2.253, 26668, 204805},
	{"@cf/meta/llama-3.2-1b-instruct", 0.027, 0.201, 2457, 18252},
	{"@cf/baai/bge-small-en-v1.5", 0.020, 0, 1841, 0},
	{"@cf/baai/bge-base-en-v1.5", 0.067, 0, 6058, 0},
	{"@cf/baai/bge-large-en-v1.5", 0.204, 0, 18582, 0},
	{"@cf/baai/bge-m3", 0.012, 0, 1075, 0},
	{"@cf/meta/m2m100-1.2b", 0.342, 0.342, 31050, 31050},
	{"@cf/huggingface/distilbert-sst-2-int8", 0.026, 0, 2394, 0},
	{"@cf/openai/gpt-oss-20b", 0.200, 0.300, 18182, 27273},
	{"@cf/openai/gpt-oss-120b", 0.350, 0.750, 31818, 68182},
}

func TestWorkersAIPricesMatchReference(t *testing.T) {
	for _, ref := range reference {
		t.Run(ref.id, func(t *testing.T) {
			m, ok := Lookup("workers-ai", ref.id)
			if !ok {
				t.Fatal("not in the catalogue")
			}
			got := []float64{m.USDPerMInput, m.USDPerMOutput, m.NeuronsPerMInput, m.NeuronsPerMOutput}
			if diff := cmp.Diff([]float64{ref.usdIn, ref.usdOut, ref.neuronIn, ref.neuronOu}, got); diff != "" {
				t.Errorf("prices (-want +got):\n%s", diff)
			}
			// The USD list price is the neuron price rounded to three decimals.
			usd, _ := m.Cost(1_000_000, 0)
			if math.Abs(usd-ref.usdIn) > 0.0005+1e-9 {
				t.Errorf("neuron-derived USD per M input %.4f disagrees with list %.4f", usd, ref.usdIn)
			}
		})
	}
}

func TestCost(t *testing.T) {
	tests := []struct {
		name, provider, id   string
		in, out              int
		wantUSD, wantNeurons float64
	}{
		{"workers-ai neurons", "workers-ai", "@cf/meta/llama-3.1-8b-instruct", 1000, 500, (1000*25608.0 + 500*75147.0) / 1e6 * 0.011 / 1000, (1000*25608.0 + 500*75147.0) / 1e6},
		{"embedding input only", "workers-ai", "@cf/baai/bge-base-en-v1.5", 2_000_000, 0, 2 * 6058 * 0.011 / 1000, 2 * 6058},
		{"openai usd", "openai", "gpt-4o-mini", 1_000_000, 1_000_000, 0.75, 0},
		{"anthropic usd", "anthropic", "claude-sonnet-4-5", 2000, 1000, 0.006 + 0.015, 0},
		{"free model", "workers-ai", "@cf/facebook/bart-large-cnn", 5000, 100, 0, 0},
		{"unpriced model", "workers-ai", "@cf/meta/llama-3.1-8b-instruct-fast", 5000, 100, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := Lookup(tt.provider, tt.id)
			if !ok {
				t.Fatalf("%s %s not found", tt.provider, tt.id)
			}
			usd, neurons := m.Cost(tt.in, tt.out)
			if math.Abs(usd-tt.wantUSD) > 1e-12 || math.Abs(neurons-tt.wantNeurons) > 1e-9 {
				t.Errorf("Cost = (%g USD, %g neurons), want (%g, %g)", usd, neurons, tt.wantUSD, tt.wantNeurons)
			}
		})
	}
}

func TestLookupAndAll(t *testing.T) {
	if _, ok := Lookup("workers-ai", "gpt-4o"); ok {
		t.Error("Lookup matched a model of another provider")
	}
	m, ok := Lookup("workers-ai", "@cf/baai/bge-small-en-v1.5")
	if !ok || m.Dimensions != 384 || m.MaxBatch != 100 || m.Task != providers.TaskEmbed {
		t.Errorf("bge-small = %+v", m)
	}
	all := All()
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.Provider > b.Provider || (a.Provider == b.Provider && a.ID >= b.ID) {
			t.Errorf("All not sorted at %d: %s %s then %s %s", i, a.Provider, a.ID, b.Provider, b.ID)
		}
	}
	all[0].ID = "changed"
	if All()[0].ID == "changed" {
		t.Error("All returned the catalogue's own slice")
	}
	if n := len(ByProvider("anthropic")); n != 3 {
		t.Errorf("ByProvider(anthropic) = %d models, want 3", n)
	}
}

func TestRequestsPerMinute(t *testing.T) {
	tests := []struct {
		task   providers.Task
		model  string
		want   int
		wantOK bool
	}{
		{providers.TaskGenerate, "@cf/meta/llama-3.1-8b-instruct", 300, true},
		{providers.TaskEmbed, "@cf/baai/bge-base-en-v1.5", 3000, true},
		{providers.TaskEmbed, "@cf/baai/bge-large-en-v1.5", 1500, true},
		{providers.TaskClassify, "", 2000, true},
		{providers.TaskSummarize, "", 1500, true},
		{providers.TaskTranslate, "", 720, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.task)+" "+tt.model, func(t *testing.T) {
			got, ok := RequestsPerMinute("workers-ai", tt.task, tt.model)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("RequestsPerMinute = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
	if _, ok := RequestsPerMinute("openai", providers.TaskGenerate, ""); ok {
		t.Error("openai has no published per-task limit in the catalogue")
	}
}

// TestSourcesArePublic keeps the catalogue citing what users can open: the public
// Cloudflare docs (pricing, limits and model pages), never a file only this repo's
// authors have (issue 12, 13b).
func TestSourcesArePublic(t *testing.T) {
	f, err := parse(modelsJSON)
	if err != nil {
		t.Fatalf("models.json: %v", err)
	}
	check := func(what, source string) {
		t.Helper()
		if strings.Contains(source, ".md") || strings.Contains(source, "§") {
			t.Errorf("%s: source %q cites a file users do not have", what, source)
		}
		if !strings.Contains(source, "https://developers.cloudflare.com/workers-ai/") {
			t.Errorf("%s: source %q does not cite the public Cloudflare docs", what, source)
		}
	}
	for _, m := range f.Models {
		if m.Provider != "workers-ai" {
			continue
		}
		check(m.ID, m.Source)
		if !m.Unpriced && !strings.Contains(m.Source, "https://developers.cloudflare.com/workers-ai/platform/pricing/") &&
			!strings.Contains(m.Source, "https://developers.cloudflare.com/workers-ai/models/") {
			t.Errorf("%s: priced entry %q cites neither the pricing page nor the model page", m.ID, m.Source)
		}
	}
	for _, rl := range f.RateLimits {
		check(rl.Provider+" "+string(rl.Task), rl.Source)
	}
}
