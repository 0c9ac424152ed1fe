package local

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/google/go-cmp/cmp"
)

// newProvider builds a local provider with settings, failing the test on error.
func newProvider(t testing.TB, settings map[string]any) *Provider {
	t.Helper()
	p, err := New(providers.Config{Name: "local", Kind: Kind, Settings: settings})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p.(*Provider)
}

func TestRegistered(t *testing.T) {
	info, ok := providers.Default().Lookup(Kind)
	if !ok {
		t.Fatalf("kind %q is not registered", Kind)
	}
	want := []providers.Task{providers.TaskClassify, providers.TaskEmbed, providers.TaskSummarize, providers.TaskToMarkdown, providers.TaskTranslate}
	got := slices.Clone(info.Tasks)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("declared tasks (-want +got):\n%s", diff)
	}
	p, err := info.New(providers.Config{Name: "offline", Kind: Kind})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer p.Close()
	if p.Kind() != Kind {
		t.Errorf("Kind() = %q, want %q", p.Kind(), Kind)
	}
	all := []providers.Task{providers.TaskGenerate, providers.TaskEmbed, providers.TaskSummarize, providers.TaskTranslate, providers.TaskClassify}
	for _, task := range all {
		t.Run(string(task), func(t *testing.T) {
			declared, implemented := info.Serves(task), providers.Serves(p, task)
			wantServed := task != providers.TaskGenerate
			if declared != wantServed || implemented != wantServed {
				t.Errorf("declared %v, implemented %v; want both %v", declared, implemented, wantServed)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		wantDims int
		wantErr  string
	}{
		{name: "defaults", wantDims: 768},
		{name: "int dimensions", settings: map[string]any{"dimensions": 1024}, wantDims: 1024},
		{name: "yaml float dimensions", settings: map[string]any{"dimensions": 256.0}, wantDims: 256},
		{name: "fractional dimensions", settings: map[string]any{"dimensions": 256.5}, wantErr: "whole number"},
		{name: "string dimensions", settings: map[string]any{"dimensions": "big"}, wantErr: "want a number"},
		{name: "too small", settings: map[string]any{"dimensions": 4}, wantErr: "out of range"},
		{name: "apertium path", settings: map[string]any{"apertium": "/opt/apertium/bin/apertium"}, wantDims: 768},
		{name: "empty apertium path", settings: map[string]any{"apertium": ""}, wantErr: "non-empty string"},
		{name: "unknown key", settings: map[string]any{"dimension": 12}, wantErr: `unknown setting "dimension"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(providers.Config{Name: "l", Kind: Kind, Settings: tt.settings})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp, err := p.(*Provider).Embed(context.Background(), providers.EmbedRequest{Texts: []string{"hello"}})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Dimensions != tt.wantDims || len(resp.Vectors[0]) != tt.wantDims {
				t.Errorf("dimensions %d, vector length %d, want %d", resp.Dimensions, len(resp.Vectors[0]), tt.wantDims)
			}
		})
	}
}

func TestUnknownModel(t *testing.T) {
	p := newProvider(t, nil)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"embed", func() error {
			_, err := p.Embed(ctx, providers.EmbedRequest{Model: "@cf/baai/bge-base-en-v1.5", Texts: []string{"x"}})
			return err
		}, "offers local/hash-embed"},
		{"summarize", func() error {
			_, err := p.Summarize(ctx, providers.SummarizeRequest{Model: "local/bart", Text: "A. B."})
			return err
		}, "offers local/textrank"},
		{"classify", func() error {
			_, err := p.Classify(ctx, providers.ClassifyRequest{Model: "local/bert", Text: "x"})
			return err
		}, "offers local/vader, local/zero-shot"},
		{"translate", func() error {
			_, err := p.Translate(ctx, providers.TranslateRequest{Model: "local/m2m100", Text: "x", From: "en", To: "es"})
			return err
		}, "offers local/apertium"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a non-retryable *providers.Error containing %q", err, tt.want)
			}
		})
	}
}

func TestModelsCoverTasks(t *testing.T) {
	info, _ := providers.Default().Lookup(Kind)
	for _, m := range Models() {
		if !info.Serves(m.Task) {
			t.Errorf("model %s is for task %s, which the provider does not declare", m.ID, m.Task)
		}
		if (m.Task == providers.TaskEmbed) != (m.Dimensions > 0) {
			t.Errorf("model %s: dimensions %d for task %s", m.ID, m.Dimensions, m.Task)
		}
	}
	for _, task := range info.Tasks {
		if len(modelIDs(task)) == 0 {
			t.Errorf("task %s has no model", task)
		}
	}
}
