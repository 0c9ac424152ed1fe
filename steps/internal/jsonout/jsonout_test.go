package jsonout_test

import (
	"encoding/json"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/steps/internal/jsonout"
)

var citySchema = map[string]any{
	"type":                 "object",
	"required":             []any{"city", "population"},
	"properties":           map[string]any{"city": map[string]any{"type": "string"}, "population": map[string]any{"type": "integer", "minimum": 0}},
	"additionalProperties": false,
}

func TestUnfence(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"whitespace", ` {"a":1} `, `{"a":1}`},
		{"json fence", "```json\n{\"a\":1}\n```", `{"a":1}`},
		{"bare fence and trailing newline", "```\n[1, 2]\n```\n", `[1, 2]`},
		{"fence inside text kept", "no fence ```json\n{}\n```", "no fence ```json\n{}\n```"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := jsonout.Unfence(tt.in); got != tt.want {
				t.Errorf("Unfence(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	got, err := jsonout.Normalize(map[string]any{"n": 2, "f": 1.5, "s": "x"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"n": json.Number("2"), "f": json.Number("1.5"), "s": "x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Normalize (-want +got):\n%s", diff)
	}
	if _, err := jsonout.Normalize(math.NaN()); err == nil {
		t.Error("Normalize(NaN): no error")
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name   string
		schema any
		want   []string // substrings of the error
	}{
		{"reference outside the schema", map[string]any{"$ref": "https://example.com/s.json"},
			[]string{"output.schema may not refer to https://example.com/s.json: only references inside the schema are allowed"}},
		{"not a schema", map[string]any{"type": 5}, []string{"aiflow:///out.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := jsonout.Normalize(tt.schema)
			if err != nil {
				t.Fatal(err)
			}
			_, err = jsonout.Compile("out", doc, "output.schema")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	doc, err := jsonout.Normalize(citySchema)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jsonout.Compile("city", doc, "a schema")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		value any
		want  []string // the error's "; "-separated parts, sorted; nil for none
	}{
		{"valid", map[string]any{"city": "Paris", "population": 2100000.0}, nil},
		{"two failures on one line", map[string]any{"city": 3.0, "population": -1.0},
			[]string{"at '/city': got number, want string", "at '/population': minimum: got -1, want 0"}},
		{"missing property", map[string]any{"city": "Oslo"}, []string{"at '': missing property 'population'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			if err := jsonout.Validate(s, tt.value); err != nil {
				got = strings.Split(err.Error(), "; ")
				sort.Strings(got)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error parts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateDocShortensLongErrors(t *testing.T) {
	doc, err := jsonout.Normalize(map[string]any{"type": "array", "items": map[string]any{"type": "string"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := jsonout.Compile("list", doc, "a schema")
	if err != nil {
		t.Fatal(err)
	}
	items := make([]any, 200)
	for i := range items {
		items[i] = 1.0
	}
	v, err := jsonout.Normalize(items)
	if err != nil {
		t.Fatal(err)
	}
	err = jsonout.ValidateDoc(s, v)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if len(msg) != 1500+len("…") || !strings.HasSuffix(msg, "…") || strings.Contains(msg, "\n") {
		t.Errorf("error of %d bytes, want one line of 1500 bytes and an ellipsis: %q", len(msg), msg)
	}
}
