package openai_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func pollToEnd(t *testing.T, p providers.AsyncBatcher, job providers.BatchJob) (statuses []string, st providers.BatchState) {
	t.Helper()
	for range 10 {
		var err error
		if st, err = p.PollBatch(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, st.Status)
		if st.Ended {
			return statuses, st
		}
	}
	t.Fatalf("batch never ended: %v", statuses)
	return
}

// TestBatchChat uploads a JSONL file with purpose batch, starts a batch on
// /v1/chat/completions, polls through validating and in_progress, and reads the output
// and error files back by custom_id; usage is priced at the published 50 %.
func TestBatchChat(t *testing.T) {
	emu := wiretest.NewOpenAI(t)
	emu.SetBatchPolls(2)
	emu.SetBatchItemError(func(id string) string {
		if id == "b" {
			return "This model's maximum context length is 128000 tokens."
		}
		return ""
	})
	p := newProvider(t, emu, nil)
	model := "gpt-4o-mini"
	reqs := []providers.BatchRequest{
		{ID: "a", Generate: &providers.GenerateRequest{Model: model, Messages: user("hello there")}},
		{ID: "b", Generate: &providers.GenerateRequest{Model: model, Messages: user("too long")}},
		{ID: "c", Generate: &providers.GenerateRequest{Model: model, Messages: user("general kenobi"), Params: map[string]any{"temperature": 0}}},
	}
	job, err := p.SubmitBatch(context.Background(), providers.TaskGenerate, model, reqs)
	if err != nil {
		t.Fatal(err)
	}
	var upload, create wiretest.Request
	for _, r := range emu.Requests() {
		switch r.Path {
		case "/v1/files":
			upload = r
		case "/v1/batches":
			create = r
		}
	}
	if !strings.HasPrefix(upload.Header.Get("Content-Type"), "multipart/form-data") || !strings.Contains(string(upload.Body), `"custom_id":"a","method":"POST","url":"/v1/chat/completions"`) {
		t.Fatalf("upload: %s\n%s", upload.Header.Get("Content-Type"), upload.Body)
	}
	var cb map[string]any
	if err := json.Unmarshal(create.Body, &cb); err != nil || cb["endpoint"] != "/v1/chat/completions" || cb["completion_window"] != "24h" {
		t.Fatalf("create body %s", create.Body)
	}
	statuses, st := pollToEnd(t, p, job)
	if strings.Join(statuses, ",") != "validating,in_progress,completed" {
		t.Fatalf("statuses = %v", statuses)
	}
	if st.Done != 2 || st.Failed != 1 || len(st.Results) != 3 {
		t.Fatalf("state %+v", st)
	}
	for _, r := range st.Results {
		switch r.ID {
		case "a", "c":
			if r.Err != nil || !strings.Contains(r.Generate.Text, map[string]string{"a": "hello there", "c": "general kenobi"}[r.ID]) {
				t.Errorf("%s: %+v", r.ID, r)
			}
		case "b":
			if r.Err == nil || !strings.Contains(r.Err.Error(), "maximum context length") {
				t.Errorf("b: err = %v", r.Err)
			}
		}
	}
	if emu.BatchItems() != 3 || emu.BatchSubmissions("a") != 1 {
		t.Fatalf("submitted %d items", emu.BatchItems())
	}
	if p.BatchDiscount(model) != 0.5 {
		t.Fatalf("discount %v", p.BatchDiscount(model))
	}
	// The same answer synchronously costs twice as much.
	sync, err := p.Generate(context.Background(), *reqs[0].Generate)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Results {
		if r.ID == "a" && (sync.Usage.USD == 0 || math.Abs(r.Generate.Usage.USD*2-sync.Usage.USD) > 1e-12) {
			t.Fatalf("batched USD %v, synchronous %v: want half", r.Generate.Usage.USD, sync.Usage.USD)
		}
	}
}

// TestBatchEmbeddings batches /v1/embeddings and keeps each item's vectors in order.
func TestBatchEmbeddings(t *testing.T) {
	emu := wiretest.NewOpenAI(t)
	p := newProvider(t, emu, nil)
	model := "text-embedding-3-small"
	job, err := p.SubmitBatch(context.Background(), providers.TaskEmbed, model, []providers.BatchRequest{
		{ID: "x", Embed: &providers.EmbedRequest{Model: model, Texts: []string{"one", "two", "three"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, st := pollToEnd(t, p, job)
	if len(st.Results) != 1 || st.Results[0].Err != nil || len(st.Results[0].Embed.Vectors) != 3 {
		t.Fatalf("state %+v", st)
	}
	direct, err := p.Embed(context.Background(), providers.EmbedRequest{Model: model, Texts: []string{"one", "two", "three"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range direct.Vectors {
		if direct.Vectors[i][0] != st.Results[0].Embed.Vectors[i][0] {
			t.Fatalf("vector %d out of order", i)
		}
	}
}
