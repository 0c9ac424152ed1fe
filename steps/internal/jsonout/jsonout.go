// Package jsonout checks a chat model's JSON output against a JSON Schema for the
// steps that ask for one (generate, agent): it compiles schemas without reading files
// or the network, validates values with one-line errors, and strips the Markdown code
// fence models put around JSON.
package jsonout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// maxError bounds a validation error's length in bytes.
const maxError = 1500

// noLoader refuses every $ref outside the schema itself: no file or network reads.
type noLoader struct{ subject string }

func (l noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s may not refer to %s: only references inside the schema are allowed", l.subject, url)
}

// Normalize round-trips v through JSON so that numbers are json.Number, as the
// validator expects.
func Normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// Compile compiles doc, a JSON Schema (2020-12 unless it says otherwise) as Normalize
// returns it, as the resource aiflow:///{name}.json. A $ref outside the schema fails
// with an error saying that subject ("output.schema", "a schema") may not refer to it.
func Compile(name string, doc any, subject string) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{subject: subject})
	loc := "aiflow:///" + name + ".json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, err
	}
	return c.Compile(loc)
}

// Validate checks v, as encoding/json decodes it, against s (see ValidateDoc).
func Validate(s *jsonschema.Schema, v any) error {
	doc, err := Normalize(v)
	if err != nil {
		return err
	}
	return ValidateDoc(s, doc)
}

// ValidateDoc checks doc, as Normalize or jsonschema.UnmarshalJSON return it, against
// s. Its error is one line of at most 1500 bytes (then "…"): every failure ("at '/a':
// missing property 'b'"), joined by "; ", without the schema URL the library puts
// first.
func ValidateDoc(s *jsonschema.Schema, doc any) error {
	if err := s.Validate(doc); err != nil {
		return errors.New(shorten(flatten(err), maxError))
	}
	return nil
}

// flatten turns a validation error's tree into one line.
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

// Unfence strips surrounding whitespace and a ```json … ``` fence.
func Unfence(s string) string {
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
