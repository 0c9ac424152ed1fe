package workersai_test

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

const batchLlama = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"

// TestBatchGenerate submits generations with queueRequest=true, polls through queued
// and running, and maps the answers back by external_reference; an item the batch failed
// carries the API's message and the others stand.
func TestBatchGenerate(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.SetBatchPolls(2)
	cf.SetBatchItemError(func(ref string, _ map[string]any) string {
		if ref == "b" {
			return "AiError: input too long"
		}
		return ""
	})
	p := open(t, cf, nil)
	ctx := context.Background()
	reqs := []providers.BatchRequest{
		{ID: "a", Generate: &providers.GenerateRequest{Model: batchLlama, Messages: user("tell me a joke")}},
		{ID: "b", Generate: &providers.GenerateRequest{Model: batchLlama, Messages: user("too long")}},
		{ID: "c", Generate: &providers.GenerateRequest{Model: batchLlama, Messages: user("write an email")}},
	}
	job, err := p.SubmitBatch(ctx, providers.TaskGenerate, batchLlama, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if job.ID == "" || job.Model != batchLlama || len(job.IDs) != 3 {
		t.Fatalf("job = %+v", job)
	}
	sub := cf.Requests()[0]
	if sub.RawQuery != "queueRequest=true" || !strings.Contains(string(sub.Body), `"external_reference":"a"`) || strings.Contains(string(sub.Body), `"stream"`) {
		t.Fatalf("submission %s?%s: %s", sub.Path, sub.RawQuery, sub.Body)
	}
	var statuses []string
	var st providers.BatchState
	for range 5 {
		if st, err = p.PollBatch(ctx, job); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, st.Status)
		if st.Ended {
			break
		}
	}
	if strings.Join(statuses, ",") != "queued,running,done" {
		t.Fatalf("statuses = %v", statuses)
	}
	if st.Done != 2 || st.Failed != 1 || len(st.Results) != 3 {
		t.Fatalf("state = %+v", st)
	}
	for _, r := range st.Results {
		switch r.ID {
		case "a", "c":
			if r.Err != nil || r.Generate.Text == "" || r.Generate.Usage.OutputTokens == 0 {
				t.Errorf("%s: %+v", r.ID, r)
			}
		case "b":
			if r.Err == nil || !strings.Contains(r.Err.Error(), "input too long") {
				t.Errorf("b: err = %v, want the API's message", r.Err)
			}
		default:
			t.Errorf("unexpected id %q", r.ID)
		}
	}
	if cf.BatchSubmissions("a") != 1 || cf.BatchItems() != 3 {
		t.Fatalf("submissions: a=%d items=%d", cf.BatchSubmissions("a"), cf.BatchItems())
	}
	if p.BatchDiscount(batchLlama) != 1 {
		t.Fatalf("discount = %v; Workers AI publishes none", p.BatchDiscount(batchLlama))
	}
}

// TestBatchEmbed batches embeddings and refuses models the Batch API does not list.
func TestBatchEmbed(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	ctx := context.Background()
	job, err := p.SubmitBatch(ctx, providers.TaskEmbed, bge, []providers.BatchRequest{
		{ID: "x", Embed: &providers.EmbedRequest{Model: bge, Texts: []string{"one", "two"}}},
		{ID: "y", Embed: &providers.EmbedRequest{Model: bge, Texts: []string{"three"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var st providers.BatchState
	for !st.Ended {
		if st, err = p.PollBatch(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{}
	for _, r := range st.Results {
		if r.Err != nil || r.Embed.Dimensions != 768 {
			t.Fatalf("%s: %+v", r.ID, r)
		}
		got[r.ID] = len(r.Embed.Vectors)
	}
	if got["x"] != 2 || got["y"] != 1 {
		t.Fatalf("vectors per item = %v", got)
	}
	// The oversized batch leaves tens of MiB of garbage; collect it so that tests
	// measuring the heap (TestStreamLimits) do not count it.
	defer runtime.GC()
	big := strings.Repeat("word ", 1_100_000)
	_, err = p.SubmitBatch(ctx, providers.TaskEmbed, bge, []providers.BatchRequest{
		{ID: "a", Embed: &providers.EmbedRequest{Model: bge, Texts: []string{big, big}}}})
	if err == nil || !strings.Contains(err.Error(), "at most 10 MB") {
		t.Fatalf("oversized batch: err = %v", err)
	}
	_, err = p.SubmitBatch(ctx, providers.TaskGenerate, llama, []providers.BatchRequest{{ID: "a", Generate: &providers.GenerateRequest{Model: llama, Messages: user("hi")}}})
	if err == nil || !strings.Contains(err.Error(), "queueRequest") {
		t.Fatalf("unsupported model: err = %v", err)
	}
}
