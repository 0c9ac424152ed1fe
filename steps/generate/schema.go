package generate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/aiflow/aiflow/providers"
)

// validator checks answers against output.schema.
type validator struct {
	schema *jsonschema.Schema
}

// noLoader refuses every $ref outside the schema itself: no file or network reads.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("output.schema may not refer to %s: only references inside the schema are allowed", url)
}

// compileSchema compiles the evaluated output.schema (JSON Schema, 2020-12 by default).
func compileSchema(schema map[string]any) (*validator, error) {
	doc, err := normalize(schema)
	if err != nil {
		return nil, fmt.Errorf("output.schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	const loc = "aiflow:///output.schema.json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("output.schema: %w", err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("output.schema is not a valid JSON Schema: %w", err)
	}
	return &validator{schema: s}, nil
}

// normalize round-trips v through JSON so that numbers are json.Number, as the validator
// expects.
func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// answer extracts the JSON value of a response and validates it. It returns the value (as
// encoding/json decodes it) and its compact text.
func (v *validator) answer(resp providers.GenerateResponse) (any, string, error) {
	raw, err := jsonText(resp)
	if err != nil {
		return nil, "", err
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(raw))
	if err != nil {
		return nil, "", fmt.Errorf("the answer is not JSON: %w", err)
	}
	if err := v.schema.Validate(doc); err != nil {
		return nil, "", errors.New(shorten(describe(err), 1500))
	}
	var val any
	if err := json.Unmarshal([]byte(raw), &val); err != nil {
		return nil, "", fmt.Errorf("the answer is not JSON: %w", err)
	}
	return val, raw, nil
}

// jsonText returns the answer's JSON as text: the provider's parsed value, else the text
// with any Markdown code fence removed.
func jsonText(resp providers.GenerateResponse) (string, error) {
	if s, ok := resp.JSON.(string); ok {
		return unfence(s), nil
	}
	if resp.JSON != nil {
		b, err := json.Marshal(resp.JSON)
		return string(b), err
	}
	t := unfence(resp.Text)
	if t == "" {
		return "", errors.New("the answer is empty")
	}
	return t, nil
}

// unfence strips surrounding whitespace and a ```json … ``` fence.
func unfence(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "```") {
		return s
	}
	s = strings.TrimPrefix(s, "```")
	if nl := strings.IndexByte(s, '\n'); nl >= 0 {
		s = s[nl+1:]
	}
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
}

// describe flattens a validation error's tree ("at '/a': missing property 'b'") into
// one line, without the schema URL the library puts first.
func describe(err error) string {
	lines := strings.Split(err.Error(), "\n")
	if len(lines) > 1 && strings.HasPrefix(lines[0], "jsonschema validation failed") {
		lines = lines[1:]
	}
	var parts []string
	for _, l := range lines {
		if l = strings.TrimLeft(strings.TrimSpace(l), "- "); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// repairPrompt is the user turn that sends a validation failure back to the model.
func repairPrompt(err error) string {
	return "Your reply does not match the required JSON schema: " + err.Error() +
		"\nReply again with only the corrected JSON value, no explanation and no code fence."
}
