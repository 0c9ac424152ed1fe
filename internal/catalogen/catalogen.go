// Package catalogen turns a directory of Cloudflare's published Workers AI model files
// (cloudflare-docs, src/content/workers-ai-models/*.json) into the compact catalogue that
// providers/catalog embeds: per model its id, task, description, context window, prices
// with units, function calling, LoRA, beta and deprecation flags, and the published input
// and output JSON schemas (without their prose descriptions, which only cost bytes).
//
// The generated file records where it came from: the source repository and path, the
// date it was taken and, per model, the commit its file was read at, so a later refresh
// can say what changed. The raw docs files are not part of this repository.
package catalogen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Source says where the model files were taken from.
type Source struct {
	Repository string `json:"repository"`
	Path       string `json:"path"`
	Commit     string `json:"commit"` // the snapshot's commit, or "per-model" when files come from several
	Taken      string `json:"taken"`  // date the files were read, YYYY-MM-DD
	Note       string `json:"note,omitempty"`
}

// File is the generated catalogue.
type File struct {
	Source Source  `json:"source"`
	Models []Model `json:"models"`
}

// Price is one published price with its unit ("per M input tokens", "per audio minute" …).
type Price struct {
	Unit     string  `json:"unit"`
	Price    float64 `json:"price"`
	Currency string  `json:"currency"`
}

// Example is one published request with its response.
type Example struct {
	Request  json.RawMessage `json:"request"`
	Response json.RawMessage `json:"response,omitempty"`
}

// Model is one published model in compact form.
type Model struct {
	ID                 string          `json:"id"`
	Task               string          `json:"task"`           // aiflow's task name (see Tasks)
	PublishedTask      string          `json:"published_task"` // Cloudflare's task name
	Description        string          `json:"description,omitempty"`
	ContextWindow      int             `json:"context_window,omitempty"`
	MaxInputTokens     int             `json:"max_input_tokens,omitempty"`
	Dimensions         int             `json:"dimensions,omitempty"`
	Prices             []Price         `json:"prices,omitempty"`
	FunctionCalling    bool            `json:"function_calling,omitempty"`
	LoRA               bool            `json:"lora,omitempty"`
	Beta               bool            `json:"beta,omitempty"`
	AsyncQueue         bool            `json:"async_queue,omitempty"`
	Deprecated         bool            `json:"deprecated,omitempty"`
	PlannedDeprecation string          `json:"planned_deprecation,omitempty"`
	Successor          string          `json:"successor,omitempty"`
	Input              json.RawMessage `json:"input,omitempty"`
	Output             json.RawMessage `json:"output,omitempty"`
	Example            *Example        `json:"example,omitempty"`
	SourceFile         string          `json:"source_file"`
	SourceCommit       string          `json:"source_commit,omitempty"`
}

// Tasks maps Cloudflare's published task names to aiflow's. Tasks aiflow has no step
// kind for yet keep a name of their own so the catalogue can list them.
var Tasks = map[string]string{
	"Text Generation":              "generate",
	"Text Embeddings":              "embed",
	"Summarization":                "summarize",
	"Translation":                  "translate",
	"Text Classification":          "classify",
	"Text-to-Image":                "generate-image",
	"Automatic Speech Recognition": "speech-recognition",
	"Image Classification":         "classify-image",
	"Image-to-Text":                "image-to-text",
	"Object Detection":             "object-detection",
	"Text-to-Speech":               "text-to-speech",
	"Voice Activity Detection":     "voice-activity-detection",
}

// docsFile is the layout of one cloudflare-docs model file.
type docsFile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Task        struct {
		Name string `json:"name"`
	} `json:"task"`
	Properties []struct {
		ID    string          `json:"property_id"`
		Value json.RawMessage `json:"value"`
	} `json:"properties"`
	Schema *struct {
		Input  json.RawMessage `json:"input"`
		Output json.RawMessage `json:"output"`
	} `json:"schema"`
	Examples   []Example `json:"examples"`
	Deprecated bool      `json:"deprecated"`
}

// ReadDir reads every *.json model file of dir. commits (file name → commit) may be nil.
// When two files publish one model id and exactly one of them is named after the model
// (cloudflare-docs keeps a stale qwen.json beside qwen1.5-0.5b-chat.json), that one is
// kept and the others are returned in skipped, each with the reason, so the caller can
// say so; any other duplicate is an error naming both files.
func ReadDir(dir string, commits map[string]string) (models []Model, skipped []string, err error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("%s: no *.json model files", dir)
	}
	var errs []error
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, nil, err
		}
		base := filepath.Base(name)
		m, err := Convert(base, b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.SourceCommit = commits[base]
		models = append(models, m)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	sort.Slice(models, func(i, j int) bool {
		if models[i].ID != models[j].ID {
			return models[i].ID < models[j].ID
		}
		return models[i].SourceFile < models[j].SourceFile
	})
	var kept []Model
	for i := 0; i < len(models); {
		j := i + 1
		for j < len(models) && models[j].ID == models[i].ID {
			j++
		}
		m, why, err := pickPublisher(models[i:j])
		if err != nil {
			return nil, nil, err
		}
		kept = append(kept, m)
		skipped = append(skipped, why...)
		i = j
	}
	return kept, skipped, nil
}

// pickPublisher chooses among the files that publish one model id: a lone file, or the
// only one named after the model (the last part of its id plus ".json").
func pickPublisher(same []Model) (Model, []string, error) {
	if len(same) == 1 {
		return same[0], nil, nil
	}
	want := path.Base(same[0].ID) + ".json"
	var named []Model
	for _, m := range same {
		if m.SourceFile == want {
			named = append(named, m)
		}
	}
	if len(named) != 1 {
		return Model{}, nil, fmt.Errorf("%s and %s both publish %s", same[0].SourceFile, same[1].SourceFile, same[0].ID)
	}
	var why []string
	for _, m := range same {
		if m.SourceFile != want {
			why = append(why, fmt.Sprintf("%s: skipped, it publishes %s which %s (named after the model) also publishes", m.SourceFile, m.ID, want))
		}
	}
	return named[0], why, nil
}

// Convert reads one docs model file; file names it in errors.
func Convert(file string, b []byte) (Model, error) {
	var d docsFile
	if err := json.Unmarshal(b, &d); err != nil {
		return Model{}, fmt.Errorf("%s: %w", file, err)
	}
	if d.Name == "" {
		return Model{}, fmt.Errorf("%s: no model name", file)
	}
	task, ok := Tasks[d.Task.Name]
	if !ok {
		return Model{}, fmt.Errorf("%s: unknown task %q (known: %s)", file, d.Task.Name, strings.Join(taskNames(), ", "))
	}
	m := Model{ID: d.Name, Task: task, PublishedTask: d.Task.Name, Description: strings.TrimSpace(d.Description),
		Deprecated: d.Deprecated, SourceFile: file}
	for _, p := range d.Properties {
		if err := m.property(p.ID, p.Value); err != nil {
			return Model{}, fmt.Errorf("%s: property %s: %w", file, p.ID, err)
		}
	}
	if d.Schema != nil {
		var err error
		if m.Input, err = compactSchema(d.Schema.Input); err != nil {
			return Model{}, fmt.Errorf("%s: schema.input: %w", file, err)
		}
		if m.Output, err = compactSchema(d.Schema.Output); err != nil {
			return Model{}, fmt.Errorf("%s: schema.output: %w", file, err)
		}
	}
	if len(d.Examples) > 0 {
		m.Example = &d.Examples[0]
	}
	return m, nil
}

func taskNames() []string {
	var out []string
	for k := range Tasks {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// property applies one published property; unknown ones (info, terms, partner …) are
// dropped: nothing in aiflow reads them.
func (m *Model) property(id string, raw json.RawMessage) error {
	switch id {
	case "price":
		return json.Unmarshal(raw, &m.Prices)
	case "context_window":
		return intProp(raw, &m.ContextWindow)
	case "max_input_tokens":
		return intProp(raw, &m.MaxInputTokens)
	case "output_dimensions":
		return intProp(raw, &m.Dimensions)
	case "function_calling":
		return boolProp(raw, &m.FunctionCalling)
	case "lora":
		return boolProp(raw, &m.LoRA)
	case "beta":
		return boolProp(raw, &m.Beta)
	case "async_queue":
		return boolProp(raw, &m.AsyncQueue)
	case "planned_deprecation_date":
		return json.Unmarshal(raw, &m.PlannedDeprecation)
	case "successor", "replacement":
		return json.Unmarshal(raw, &m.Successor)
	}
	return nil
}

// intProp reads a number published as a string ("60000") or a number.
func intProp(raw json.RawMessage, dst *int) error {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("want an integer, got %q", s)
		}
		*dst = n
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// boolProp reads a boolean published as "true"/"false" or a boolean.
func boolProp(raw json.RawMessage, dst *bool) error {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
		*dst = b
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// compactSchema drops prose descriptions from a schema and returns nil for an absent or
// empty one. Only the description keyword is dropped: a property that is itself named
// "description" (a tool's, say) stays.
func compactSchema(raw json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	if obj, ok := v.(map[string]any); ok && len(obj) == 0 {
		return nil, nil
	}
	return json.Marshal(strip(v))
}

// schemaMaps are keywords whose value maps names to schemas; schemaLists hold lists of
// schemas; every other object-valued keyword holds one schema.
var (
	schemaMaps  = map[string]bool{"properties": true, "patternProperties": true, "$defs": true, "definitions": true}
	schemaLists = map[string]bool{"oneOf": true, "anyOf": true, "allOf": true, "prefixItems": true}
	schemaOne   = map[string]bool{"items": true, "additionalProperties": true, "not": true, "contains": true,
		"if": true, "then": true, "else": true, "propertyNames": true}
)

func strip(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(obj))
	for k, val := range obj {
		switch {
		case k == "description":
			if _, isStr := val.(string); isStr {
				continue
			}
			out[k] = val
		case schemaMaps[k]:
			if m, ok := val.(map[string]any); ok {
				mm := make(map[string]any, len(m))
				for name, s := range m {
					mm[name] = strip(s)
				}
				out[k] = mm
			} else {
				out[k] = val
			}
		case schemaLists[k]:
			if l, ok := val.([]any); ok {
				ll := make([]any, len(l))
				for i, s := range l {
					ll[i] = strip(s)
				}
				out[k] = ll
			} else {
				out[k] = val
			}
		case schemaOne[k]:
			out[k] = strip(val)
		default:
			out[k] = val
		}
	}
	return out
}

// Encode writes the catalogue one model per line, so a refresh diffs model by model.
func Encode(f File) ([]byte, error) {
	var buf bytes.Buffer
	src, err := json.Marshal(f.Source)
	if err != nil {
		return nil, err
	}
	buf.WriteString("{\"source\": ")
	buf.Write(src)
	buf.WriteString(",\n\"models\": [\n")
	for i, m := range f.Models {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.ID, err)
		}
		buf.Write(b)
		if i < len(f.Models)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]}\n")
	return buf.Bytes(), nil
}

// ReadCommits reads a "file<TAB>commit" list; a missing file is no commits.
func ReadCommits(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		file, commit, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want file<TAB>commit", path, i+1)
		}
		out[file] = strings.TrimSpace(commit)
	}
	return out, nil
}
