package generate

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

var citySchema = map[string]any{
	"type":                 "object",
	"required":             []any{"city", "population"},
	"properties":           map[string]any{"city": map[string]any{"type": "string"}, "population": map[string]any{"type": "integer", "minimum": 0}},
	"additionalProperties": false,
}

func TestSchemaOutput(t *testing.T) {
	good := providers.GenerateResponse{Text: `{"city":"Paris","population":2100000}`, Usage: providers.Usage{InputTokens: 10, OutputTokens: 5}}
	bad := providers.GenerateResponse{Text: `{"city":"Paris"}`, Usage: providers.Usage{InputTokens: 10, OutputTokens: 3}}
	prose := providers.GenerateResponse{Text: "Sure! Paris has about two million people.", Usage: providers.Usage{InputTokens: 10, OutputTokens: 9}}
	tests := []struct {
		name      string
		replies   []providers.GenerateResponse
		wantCalls int
		wantJSON  any
		wantText  string
		wantUsage providers.Usage
		wantErr   string
	}{
		{name: "valid at once", replies: []providers.GenerateResponse{good}, wantCalls: 1,
			wantJSON: map[string]any{"city": "Paris", "population": 2100000.0}, wantText: good.Text, wantUsage: good.Usage},
		{name: "parsed by the provider", replies: []providers.GenerateResponse{{JSON: map[string]any{"population": 1.0, "city": "Oslo"}}}, wantCalls: 1,
			wantJSON: map[string]any{"city": "Oslo", "population": 1.0}, wantText: `{"city":"Oslo","population":1}`},
		{name: "json as a string from the provider", replies: []providers.GenerateResponse{{JSON: `{"city":"Rome","population":3}`}}, wantCalls: 1,
			wantJSON: map[string]any{"city": "Rome", "population": 3.0}, wantText: `{"city":"Rome","population":3}`},
		{name: "fenced", replies: []providers.GenerateResponse{{Text: "```json\n{\"city\":\"Lyon\",\"population\":5}\n```"}}, wantCalls: 1,
			wantJSON: map[string]any{"city": "Lyon", "population": 5.0}, wantText: `{"city":"Lyon","population":5}`},
		{name: "repaired after two bad answers", replies: []providers.GenerateResponse{bad, prose, good}, wantCalls: 3,
			wantJSON: map[string]any{"city": "Paris", "population": 2100000.0}, wantText: good.Text,
			wantUsage: providers.Usage{InputTokens: 30, OutputTokens: 17}},
		{name: "gives up after the bound", replies: []providers.GenerateResponse{bad}, wantCalls: 1 + MaxRepairs,
			wantErr: "model test:m answered 3 times without JSON matching output.schema; last problem: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gen := answers(tt.replies...)
			call := newCall(steptest.Model(gen, "m"), &steptest.Env{}, &steps.Prompt{User: "Largest city of France as JSON"})
			call.OutputSchema = citySchema
			res, err := (&generator{}).Run(context.Background(), call)
			if got := len(gen.Requests()); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "population") {
					t.Fatalf("error = %v, want prefix %q naming the missing property", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.wantJSON, res.Output["json"]); d != "" {
				t.Errorf("json (-want +got):\n%s", d)
			}
			if res.Output["text"] != tt.wantText {
				t.Errorf("text = %q, want %q", res.Output["text"], tt.wantText)
			}
			if res.Usage != tt.wantUsage {
				t.Errorf("usage = %+v, want %+v", res.Usage, tt.wantUsage)
			}
			if d := cmp.Diff(citySchema, gen.Requests()[0].JSONSchema); d != "" {
				t.Errorf("schema not sent (-want +got):\n%s", d)
			}
		})
	}
}

// TestRepairTurns checks what the model is told after an invalid answer.
func TestRepairTurns(t *testing.T) {
	gen := answers(providers.GenerateResponse{Text: `{"city":"Paris"}`}, providers.GenerateResponse{Text: `{"city":"Paris","population":1}`})
	call := newCall(steptest.Model(gen, "m"), &steptest.Env{}, &steps.Prompt{User: "q"})
	call.OutputSchema = citySchema
	if _, err := (&generator{}).Run(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	msgs := gen.Requests()[1].Messages
	if len(msgs) != 3 || msgs[1].Role != "assistant" || msgs[1].Content != `{"city":"Paris"}` || msgs[2].Role != "user" {
		t.Fatalf("repair turns = %+v", msgs)
	}
	if !strings.Contains(msgs[2].Content, "does not match the required JSON schema") || !strings.Contains(msgs[2].Content, "population") {
		t.Errorf("repair prompt = %q", msgs[2].Content)
	}
	if n := len(gen.Requests()[0].Messages); n != 1 {
		t.Errorf("first request was changed afterwards: %d messages", n)
	}
}

func TestBadSchema(t *testing.T) {
	tests := []struct {
		name    string
		schema  map[string]any
		wantErr string
	}{
		{"wrong keyword type", map[string]any{"type": 5}, "output.schema is not a valid JSON Schema"},
		{"remote ref", map[string]any{"$ref": "https://example.com/s.json"}, "output.schema is not a valid JSON Schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gen := answers(providers.GenerateResponse{Text: "{}"})
			call := newCall(steptest.Model(gen, "m"), &steptest.Env{}, &steps.Prompt{User: "q"})
			call.OutputSchema = tt.schema
			_, err := (&generator{}).Run(context.Background(), call)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want prefix %q", err, tt.wantErr)
			}
			if len(gen.Requests()) != 0 {
				t.Errorf("request sent with an invalid schema")
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	v, err := compileSchema(citySchema)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = v.answer(providers.GenerateResponse{Text: `{"city": 3, "population": -1}`})
	if err == nil {
		t.Fatal("no error")
	}
	parts := strings.Split(err.Error(), "; ")
	sort.Strings(parts)
	want := []string{"at '/city': got number, want string", "at '/population': minimum: got -1, want 0"}
	if d := cmp.Diff(want, parts); d != "" {
		t.Errorf("error parts (-want +got):\n%s", d)
	}
}
