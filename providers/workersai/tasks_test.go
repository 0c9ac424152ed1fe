package workersai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func TestEmbedBatchesInOrder(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	texts := make([]string, 250)
	for i := range texts {
		texts[i] = fmt.Sprintf("document number %d", i)
	}
	got, err := p.Embed(context.Background(), providers.EmbedRequest{Model: bge, Texts: texts})
	if err != nil {
		t.Fatal(err)
	}
	if got.Dimensions != 768 || len(got.Vectors) != len(texts) {
		t.Fatalf("%d vectors of %d dimensions", len(got.Vectors), got.Dimensions)
	}
	for i, text := range texts {
		if !cmp.Equal(got.Vectors[i], wiretest.CFEmbedding(bge, "mean", text, 768)) {
			t.Fatalf("vector %d is not the one of %q: order lost", i, text)
		}
	}
	var sizes []int
	for _, r := range cf.Requests() {
		var body struct{ Text []string }
		json.Unmarshal(r.Body, &body)
		sizes = append(sizes, len(body.Text))
	}
	if diff := cmp.Diff(map[int]int{100: 2, 50: 1}, countSizes(sizes)); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	if got.Usage.Requests != 3 || got.Usage.InputTokens == 0 || got.Usage.Neurons == 0 || got.Meta["usage"] != "estimated" {
		t.Errorf("usage %+v meta %v", got.Usage, got.Meta)
	}
}

func countSizes(sizes []int) map[int]int {
	m := map[int]int{}
	for _, s := range sizes {
		m[s]++
	}
	return m
}

func TestEmbedConcurrentCalls(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			text := fmt.Sprintf("text %d", i)
			got, err := p.Embed(context.Background(), providers.EmbedRequest{Model: "@cf/baai/bge-small-en-v1.5", Texts: []string{text}, Options: map[string]any{"pooling": "cls"}})
			if err != nil {
				t.Error(err)
				return
			}
			if !cmp.Equal(got.Vectors[0], wiretest.CFEmbedding("@cf/baai/bge-small-en-v1.5", "cls", text, 384)) {
				t.Errorf("call %d got another call's vector", i)
			}
		})
	}
	wg.Wait()
}

func TestEmbedRejects(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	tests := []struct {
		name string
		req  providers.EmbedRequest
	}{
		{"empty text", providers.EmbedRequest{Model: bge, Texts: []string{"a", ""}}},
		{"unknown option", providers.EmbedRequest{Model: bge, Texts: []string{"a"}, Options: map[string]any{"dimensions": 3}}},
		{"bad pooling", providers.EmbedRequest{Model: bge, Texts: []string{"a"}, Options: map[string]any{"pooling": "max"}}},
		// bge-m3 publishes no pooling (cloudflare-docs bge-m3.json).
		{"pooling for bge-m3", providers.EmbedRequest{Model: "@cf/baai/bge-m3", Texts: []string{"a"}, Options: map[string]any{"pooling": "cls"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := p.Embed(context.Background(), tt.req); err == nil {
				t.Error("want an error")
			} else if tt.name == "pooling for bge-m3" && !strings.Contains(err.Error(), "embedding option pooling is not in the published input schema of @cf/baai/bge-m3 (it has text, truncate_inputs)") {
				t.Errorf("err = %v", err)
			}
		})
	}
	if cf.Count() != 0 {
		t.Errorf("%d requests sent", cf.Count())
	}
}

func TestSummarizeTranslateClassify(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	ctx := context.Background()
	sum, err := p.Summarize(ctx, providers.SummarizeRequest{Model: "@cf/facebook/bart-large-cnn", Text: "Cats sleep a lot. Dogs bark.", MaxLength: 2})
	if err != nil || sum.Text != "Cats sleep" {
		t.Errorf("summary %q, %v", sum.Text, err)
	}
	checkSent(t, cf, map[string]any{"input_text": "Cats sleep a lot. Dogs bark.", "max_length": 2.0})
	tr, err := p.Translate(ctx, providers.TranslateRequest{Model: "@cf/meta/m2m100-1.2b", Text: "hello", From: "en", To: "es"})
	if err != nil || tr.Text != "[es] hello" {
		t.Errorf("translation %q, %v", tr.Text, err)
	}
	checkSent(t, cf, map[string]any{"text": "hello", "source_lang": "en", "target_lang": "es"})
	cl, err := p.Classify(ctx, providers.ClassifyRequest{Model: "@cf/huggingface/distilbert-sst-2-int8", Text: "a great day"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cl.Scores) != 2 || cl.Scores[0].Label != "POSITIVE" || cl.Scores[0].Score < cl.Scores[1].Score {
		t.Errorf("scores not best first: %+v", cl.Scores)
	}
	if cl.Usage.Neurons == 0 || tr.Usage.Neurons == 0 {
		t.Errorf("no estimated neurons: classify %+v translate %+v", cl.Usage, tr.Usage)
	}
	if _, err := p.Classify(ctx, providers.ClassifyRequest{Model: "@cf/huggingface/distilbert-sst-2-int8", Text: "x", Labels: []string{"spam", "ham"}}); err == nil {
		t.Error("custom labels accepted by a fixed-label model")
	}
	if _, err := p.Classify(ctx, providers.ClassifyRequest{Model: "@cf/huggingface/distilbert-sst-2-int8", Text: "x", Labels: []string{"positive", "negative"}}); err != nil {
		t.Errorf("the model's own labels rejected: %v", err)
	}
	if _, err := p.Translate(ctx, providers.TranslateRequest{Model: "@cf/meta/m2m100-1.2b", Text: "hello"}); err == nil {
		t.Error("translation without a target language accepted")
	}
}
