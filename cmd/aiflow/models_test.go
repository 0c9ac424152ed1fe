package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
)

func TestFilterModels(t *testing.T) {
	tests := []struct {
		name     string
		task     providers.Task
		kind     string
		wantKind string // every row must have it, when set
		min      int
	}{
		{"everything", "", "", "", 25},
		{"local only", "", "local", "local", 5},
		{"embedders", providers.TaskEmbed, "", "", 5},
		{"workers-ai translators", providers.TaskTranslate, "workers-ai", "workers-ai", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := filterModels(allModels(), tt.task, tt.kind)
			if len(rows) < tt.min {
				t.Errorf("%d models, want at least %d", len(rows), tt.min)
			}
			for _, r := range rows {
				if (tt.task != "" && r.Task != tt.task) || (tt.wantKind != "" && r.Provider != tt.wantKind) {
					t.Errorf("row %s %s (%s) does not match task %q provider %q", r.Provider, r.ID, r.Task, tt.task, tt.kind)
				}
			}
		})
	}
}

func TestModelFilterErrors(t *testing.T) {
	tests := []struct{ name, task, kind, want string }{
		{"ok", "embed", "local", ""},
		{"task typo", "genrate", "", `--task: unknown task "genrate" (did you mean "generate"?); use one of "generate", "embed", "summarize", "translate", "classify", "generate-image", "classify-image", "to-markdown", "image-to-text", "object-detection", "speech-recognition", "text-to-speech" or "voice-activity-detection"`},
		{"provider typo", "", "anthropc", `--provider: unknown provider kind "anthropc" (did you mean "anthropic"?); use one of "anthropic", "local", "openai" or "workers-ai"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := checkModelFilters(tt.task, tt.kind); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("error %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPrices(t *testing.T) {
	neuron := catalog.NeuronUSD()
	tests := []struct {
		name            string
		m               catalog.Model
		in, out, neuron string
	}{
		{"free", catalog.Model{Free: true}, "free", "free", "-"},
		{"unpriced", catalog.Model{Unpriced: true}, "?", "?", "-"},
		{"usd", catalog.Model{USDPerMInput: 0.15, USDPerMOutput: 0.6}, "$0.15", "$0.6", "-"},
		{"input only", catalog.Model{USDPerMInput: 0.02}, "$0.02", "-", "-"},
		{"neurons", catalog.Model{NeuronsPerMInput: 1000 / neuron / 1000, NeuronsPerMOutput: 2 / neuron}, "$1", "$2", number(1000/neuron/1000) + "/" + number(2/neuron)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, out, n := prices(tt.m)
			if diff := cmp.Diff([]string{tt.in, tt.out, tt.neuron}, []string{in, out, n}); diff != "" {
				t.Errorf("prices (-want +got):\n%s", diff)
			}
		})
	}
}

// TestModelsJSONCoversCatalogue checks that -o json lists every catalogue entry with its
// fields and every local model with its description.
func TestModelsJSONCoversCatalogue(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"models", "-o", "json"}, &out, &errs); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	var doc struct {
		Models []modelRow `json:"models"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var want []modelRow
	for _, m := range catalog.All() {
		want = append(want, modelRow{Model: m})
	}
	var got []modelRow
	for _, r := range doc.Models {
		if r.Provider == "local" {
			if r.Description == "" || !r.Free {
				t.Errorf("local model %s: want a description and free, got %+v", r.ID, r)
			}
			continue
		}
		got = append(got, r)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("catalogue entries in -o json (-want +got):\n%s", diff)
	}
}

// TestModelsWholeCatalogue: `aiflow models -o json` lists the whole published Workers AI
// catalogue, every task included, each named model with its task and price.
func TestModelsWholeCatalogue(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"models", "-o", "json", "--provider", "workers-ai"}, &out, &errs); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	var doc struct {
		Models []map[string]any `json:"models"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Models) < 80 {
		t.Errorf("%d workers-ai models, want ≥ 80", len(doc.Models))
	}
	byID := map[string]map[string]any{}
	for _, m := range doc.Models {
		byID[m["id"].(string)] = m
	}
	for id, task := range map[string]string{
		"@cf/black-forest-labs/flux-1-schnell":   "generate-image",
		"@cf/openai/whisper-large-v3-turbo":      "speech-recognition",
		"@cf/microsoft/resnet-50":                "classify-image",
		"@cf/meta/llama-3.2-11b-vision-instruct": "generate",
		"@cf/baai/bge-m3":                        "embed",
		"@cf/meta/m2m100-1.2b":                   "translate",
	} {
		m := byID[id]
		if m == nil {
			t.Errorf("%s missing", id)
			continue
		}
		_, priced := m["prices"]
		_, usd := m["usd_per_m_input"]
		_, perTile := m["neurons_per_tile"]
		_, perImage := m["neurons_per_image"]
		if m["task"] != task || !(priced || usd || perTile || perImage || m["unpriced"] == true || m["free"] == true) {
			t.Errorf("%s: task %v, prices %v/%v, want task %s and a price (or unpriced)", id, m["task"], m["prices"], m["usd_per_m_input"], task)
		}
	}
	out.Reset()
	if code := run([]string{"models", "--task", "speech-recognition"}, &out, &errs); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if !strings.Contains(out.String(), "$0.00051/audio minute") {
		t.Errorf("whisper-large-v3-turbo's per-minute price is not shown:\n%s", out.String())
	}
	out.Reset()
	run([]string{"models", "--task", "generate", "--provider", "workers-ai"}, &out, &errs)
	if !regexp.MustCompile(`kimi-k2\.5 .*deprecated 2026-05-30`).MatchString(out.String()) {
		t.Errorf("kimi-k2.5's planned deprecation is not shown:\n%s", out.String())
	}
}
