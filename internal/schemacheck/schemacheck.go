// Package schemacheck validates flow files against schema.json the way an editor does:
// YAML is decoded to plain data and checked with a JSON Schema 2020-12 validator. Its
// tests hold the schema and the Go validator (spec + engine) to the same verdict on every
// example and test flow.
package schemacheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// Checker validates flow documents against one compiled schema. It is safe for
// concurrent use.
type Checker struct{ schema *jsonschema.Schema }

// New compiles the JSON Schema in schemaJSON.
func New(schemaJSON []byte) (*Checker, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("reading schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		return nil, fmt.Errorf("adding schema: %w", err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		return nil, fmt.Errorf("compiling schema: %w", err)
	}
	return &Checker{schema: s}, nil
}

// SyntaxError reports YAML that has no JSON form, so the schema cannot judge it.
type SyntaxError struct{ Err error }

func (e *SyntaxError) Error() string {
	return "not a single YAML document of plain data: " + e.Err.Error()
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// Check validates one flow file. It returns a *SyntaxError when src is not one YAML
// document of plain data, and the schema's *jsonschema.ValidationError when the data does
// not match.
func (c *Checker) Check(src []byte) error {
	data, err := ToJSON(src)
	if err != nil {
		return err
	}
	return c.schema.Validate(data)
}

// ToJSON decodes one YAML document into the data JSON Schema validators take: mappings
// become map[string]any (non-string keys are formatted), numbers json.Number. It fails
// with a *SyntaxError on invalid YAML, duplicate keys, excessive aliasing, several
// documents, and values JSON cannot hold (such as .inf). An empty document is null.
func ToJSON(src []byte) (any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var v any
	if err := dec.Decode(&v); err != nil && !errors.Is(err, io.EOF) {
		return nil, &SyntaxError{Err: err}
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("more than one document")
		}
		return nil, &SyntaxError{Err: err}
	}
	b, err := json.Marshal(plain(v))
	if err != nil {
		return nil, &SyntaxError{Err: err}
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, &SyntaxError{Err: err}
	}
	return out, nil
}

// plain turns yaml.v3's map[any]any (from non-string keys) into map[string]any, deeply.
func plain(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = plain(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = plain(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = plain(e)
		}
		return x
	}
	return v
}
