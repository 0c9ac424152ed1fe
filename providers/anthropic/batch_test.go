package anthropic_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestMessageBatch submits requests[{custom_id, params}] to /v1/messages/batches, polls
// until processing_status is ended, and reads the results JSONL by custom_id: a
// succeeded message becomes the item's answer (JSON mode included), an errored one the
// item's error with Anthropic's message; usage is priced at the published 50 %.
func TestMessageBatch(t *testing.T) {
	emu := wiretest.NewAnthropic(t)
	emu.SetBatchPolls(2)
	emu.SetBatchItemError(func(id string) string {
		if id == "b" {
			return "prompt is too long: 250000 tokens > 200000 maximum"
		}
		return ""
	})
	p := newProvider(t, emu, nil)
	model := "claude-sonnet-4-5"
	reqs := []providers.BatchRequest{
		{ID: "a", Generate: &providers.GenerateRequest{Model: model, Messages: user("hello there")}},
		{ID: "b", Generate: &providers.GenerateRequest{Model: model, Messages: user("too long")}},
		{ID: "c", Generate: &providers.GenerateRequest{Model: model, Messages: user(`{"city": "Paris"}`),
			JSONSchema: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}},
	}
	ctx := context.Background()
	job, err := p.SubmitBatch(ctx, providers.TaskGenerate, model, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(job.ID, "msgbatch_") {
		t.Fatalf("job %+v", job)
	}
	var sent struct {
		Requests []struct {
			CustomID string         `json:"custom_id"`
			Params   map[string]any `json:"params"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(emu.Requests()[0].Body, &sent); err != nil || len(sent.Requests) != 3 ||
		sent.Requests[0].CustomID != "a" || sent.Requests[0].Params["model"] != model || sent.Requests[0].Params["max_tokens"] == nil {
		t.Fatalf("sent %+v (%v)", sent, err)
	}
	var statuses []string
	var st providers.BatchState
	for range 10 {
		if st, err = p.PollBatch(ctx, job); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, st.Status)
		if st.Ended {
			break
		}
	}
	if strings.Join(statuses, ",") != "in_progress,in_progress,ended" || st.Done != 2 || st.Failed != 1 {
		t.Fatalf("statuses %v, state %+v", statuses, st)
	}
	direct, err := p.Generate(ctx, *reqs[0].Generate)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Results {
		switch r.ID {
		case "a":
			if r.Err != nil || r.Generate.Text != direct.Text {
				t.Errorf("a: %+v, want %q", r, direct.Text)
			}
			if direct.Usage.USD == 0 || math.Abs(r.Generate.Usage.USD*2-direct.Usage.USD) > 1e-12 {
				t.Errorf("batched USD %v, direct %v: want half", r.Generate.Usage.USD, direct.Usage.USD)
			}
		case "b":
			if r.Err == nil || !strings.Contains(r.Err.Error(), "prompt is too long") {
				t.Errorf("b: err = %v", r.Err)
			}
		case "c":
			if r.Err != nil || r.Generate.JSON == nil {
				t.Errorf("c: %+v, want the JSON answer", r)
			}
		}
	}
	if emu.BatchItems() != 3 || emu.BatchSubmissions("c") != 1 || p.BatchDiscount(model) != 0.5 {
		t.Fatalf("items %d, discount %v", emu.BatchItems(), p.BatchDiscount(model))
	}
}
