package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/aiflow/aiflow/steps/internal/jsonout"
)

// compileSchema compiles a JSON Schema (2020-12 unless it says otherwise) given as Go data.
func compileSchema(name string, schema any) (*jsonschema.Schema, error) {
	doc, err := jsonout.Normalize(schema)
	if err != nil {
		return nil, err
	}
	return jsonout.Compile(name, doc, "a schema")
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// answerJSON extracts and validates the JSON of a final answer: the provider's parsed
// value, else the text without a Markdown code fence. It returns the value and its
// compact text.
func answerJSON(s *jsonschema.Schema, parsed any, text string) (any, string, error) {
	raw := jsonout.Unfence(text)
	switch p := parsed.(type) {
	case nil:
	case string:
		raw = jsonout.Unfence(p)
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return nil, "", err
		}
		raw = string(b)
	}
	if raw == "" {
		return nil, "", errors.New("the answer is empty")
	}
	var val any
	if err := json.Unmarshal([]byte(raw), &val); err != nil {
		return nil, "", fmt.Errorf("the answer is not JSON: %w", err)
	}
	if err := jsonout.Validate(s, val); err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(raw)); err != nil {
		return nil, "", err
	}
	return val, buf.String(), nil
}

// repairPrompt is the user turn that sends a final answer's schema problem back.
func repairPrompt(err error) string {
	return "Your final answer does not match the required JSON schema: " + err.Error() +
		"\nAnswer again with only the corrected JSON value, no explanation and no code fence."
}
