package openai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/openai"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("document number %d", i)
	}
	return out
}

func TestEmbed(t *testing.T) {
	cases := []struct {
		name      string
		n         int
		options   map[string]any
		dims      int
		wantSizes []int
	}{
		{"one text", 1, nil, 16, []int{1}},
		{"shuffled batch", 50, nil, 16, []int{50}},
		{"dimensions option", 3, map[string]any{"dimensions": 4}, 4, []int{3}},
		{"split at 2048", 5000, nil, 16, []int{openai.MaxBatch, openai.MaxBatch, 5000 - 2*openai.MaxBatch}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu := wiretest.NewOpenAI(t)
			p := newProvider(t, emu, nil)
			in := texts(tc.n)
			resp, err := p.Embed(context.Background(), providers.EmbedRequest{Model: "text-embedding-3-small", Texts: in, Options: tc.options})
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range resp.Vectors {
				if diff := cmp.Diff(wiretest.OpenAIEmbedding(in[i], tc.dims), v); diff != "" {
					t.Fatalf("vector %d (-want +got):\n%s", i, diff)
				}
			}
			var sizes []int
			for _, r := range emu.Requests() {
				var body struct {
					Input          []string `json:"input"`
					EncodingFormat string   `json:"encoding_format"`
				}
				if err := json.Unmarshal(r.Body, &body); err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, len(body.Input))
				if body.EncodingFormat != "float" {
					t.Errorf("encoding_format %q", body.EncodingFormat)
				}
			}
			if diff := cmp.Diff(tc.wantSizes, sizes); diff != "" {
				t.Errorf("batch sizes (-want +got):\n%s", diff)
			}
			if resp.Dimensions != tc.dims || len(resp.Vectors) != tc.n || resp.Usage.Requests != len(tc.wantSizes) ||
				resp.Usage.InputTokens == 0 || resp.Usage.USD == 0 {
				t.Errorf("dims %d, %d vectors, usage %+v", resp.Dimensions, len(resp.Vectors), resp.Usage)
			}
		})
	}
}

func TestEmbedRejects(t *testing.T) {
	emu := wiretest.NewOpenAI(t)
	p := newProvider(t, emu, nil)
	cases := []struct {
		name string
		req  providers.EmbedRequest
		want string
	}{
		{"empty text", providers.EmbedRequest{Model: "e", Texts: []string{"a", ""}}, "text 1 is empty"},
		{"no texts", providers.EmbedRequest{Model: "e"}, "no texts"},
		{"unknown option", providers.EmbedRequest{Model: "e", Texts: []string{"a"}, Options: map[string]any{"pooling": "cls"}}, "option pooling"},
		{"bad dimensions", providers.EmbedRequest{Model: "e", Texts: []string{"a"}, Options: map[string]any{"dimensions": 0}}, "dimensions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Embed(context.Background(), tc.req)
			if pe := asProviderError(t, err); !strings.Contains(pe.Message, tc.want) {
				t.Errorf("error %v, want %q", pe, tc.want)
			}
		})
	}
	if emu.Count() != 0 {
		t.Errorf("%d requests sent", emu.Count())
	}
}

func TestEmbedRetries(t *testing.T) {
	emu := wiretest.NewOpenAI(t)
	emu.Add(wiretest.Fault{Status: 503, Path: "/v1/embeddings"})
	emu.Add(wiretest.Fault{Status: 429, Code: "rate_limit_exceeded", Path: "/v1/embeddings"})
	p := newProvider(t, emu, nil)
	resp, err := p.Embed(context.Background(), providers.EmbedRequest{Model: "e", Texts: texts(3)})
	if err != nil || len(resp.Vectors) != 3 || emu.Count() != 3 {
		t.Errorf("got %d vectors after %d attempts, %v", len(resp.Vectors), emu.Count(), err)
	}
}

func BenchmarkEmbed2048(b *testing.B) {
	emu := wiretest.NewOpenAI(b)
	p, err := openai.New(providers.Config{Kind: "openai", Settings: map[string]any{"api_key": emu.Key(), "base_url": emu.URL()}})
	if err != nil {
		b.Fatal(err)
	}
	in := texts(openai.MaxBatch)
	for b.Loop() {
		if _, err := p.(providers.Embedder).Embed(context.Background(), providers.EmbedRequest{Model: "e", Texts: in}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerateStream(b *testing.B) {
	long := strings.Repeat("word ", 500)
	emu := wiretest.NewOpenAI(b, wiretest.WithOpenAIScript(func(wiretest.ChatPrompt) wiretest.ChatTurn {
		return wiretest.ChatTurn{Text: long}
	}))
	p, err := openai.New(providers.Config{Kind: "openai", Settings: map[string]any{"api_key": emu.Key(), "base_url": emu.URL()}})
	if err != nil {
		b.Fatal(err)
	}
	g := p.(providers.Generator)
	for b.Loop() {
		if _, err := g.Generate(context.Background(), providers.GenerateRequest{Model: "m", Messages: user("x"), Stream: func(string) {}}); err != nil {
			b.Fatal(err)
		}
	}
}
