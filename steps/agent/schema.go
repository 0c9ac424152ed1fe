package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// noLoader refuses every $ref outside the schema itself: no file or network reads.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("a schema may not refer to %s: only references inside the schema are allowed", url)
}

// compileSchema compiles a JSON Schema (2020-12 unless it says otherwise) given as Go data.
func compileSchema(name string, schema any) (*jsonschema.Schema, error) {
	doc, err := normalize(schema)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	loc := "aiflow:///" + name + ".json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, err
	}
	return c.Compile(loc)
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

// validate checks v (as encoding/json decodes it) against s, with a one-line error.
func validate(s *jsonschema.Schema, v any) error {
	doc, err := normalize(v)
	if err != nil {
		return err
	}
	if err := s.Validate(doc); err != nil {
		return errors.New(shorten(flatten(err), 1500))
	}
	return nil
}

// flatten turns a validation error's tree ("at '/a': missing property 'b'") into one
// line, without the schema URL the library puts first.
func flatten(err error) string {
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

// answerJSON extracts and validates the JSON of a final answer: the provider's parsed
// value, else the text without a Markdown code fence. It returns the value and its
// compact text.
func answerJSON(s *jsonschema.Schema, parsed any, text string) (any, string, error) {
	raw := unfence(text)
	switch p := parsed.(type) {
	case nil:
	case string:
		raw = unfence(p)
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
	if err := validate(s, val); err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(raw)); err != nil {
		return nil, "", err
	}
	return val, buf.String(), nil
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

// repairPrompt is the user turn that sends a final answer's schema problem back.
func repairPrompt(err error) string {
	return "Your final answer does not match the required JSON schema: " + err.Error() +
		"\nAnswer again with only the corrected JSON value, no explanation and no code fence."
}
