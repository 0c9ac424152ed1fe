package generate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps/internal/jsonout"
)

// validator checks answers against output.schema.
type validator struct {
	schema *jsonschema.Schema
}

// compileSchema compiles the evaluated output.schema (JSON Schema, 2020-12 by default).
func compileSchema(schema map[string]any) (*validator, error) {
	doc, err := jsonout.Normalize(schema)
	if err != nil {
		return nil, fmt.Errorf("output.schema: %w", err)
	}
	s, err := jsonout.Compile("output.schema", doc, "output.schema")
	if err != nil {
		return nil, fmt.Errorf("output.schema is not a valid JSON Schema: %w", err)
	}
	return &validator{schema: s}, nil
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
	if err := jsonout.ValidateDoc(v.schema, doc); err != nil {
		return nil, "", err
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
		return jsonout.Unfence(s), nil
	}
	if resp.JSON != nil {
		b, err := json.Marshal(resp.JSON)
		return string(b), err
	}
	t := jsonout.Unfence(resp.Text)
	if t == "" {
		return "", errors.New("the answer is empty")
	}
	return t, nil
}

// repairPrompt is the user turn that sends a validation failure back to the model.
func repairPrompt(err error) string {
	return "Your reply does not match the required JSON schema: " + err.Error() +
		"\nReply again with only the corrected JSON value, no explanation and no code fence."
}
