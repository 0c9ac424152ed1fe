package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Params are the top-level request parameters a model's published input schema accepts,
// so that validate can check a step's params: names, types, ranges and enums come from
// the provider's schema instead of a hand-written list.
type Params struct {
	Model    string
	props    map[string]map[string]any // name → its property schema
	required []string
	once     map[string]*paramCheck
	mu       sync.Mutex
}

type paramCheck struct {
	schema *jsonschema.Schema
	err    error
}

var paramCache sync.Map // providerKind|id|primary → *Params

// PublishedParams returns the parameters of the request form that carries primary (the
// input field aiflow fills: "messages" for chat, "text" for embeddings …). Schemas that
// offer several forms (prompt or messages, one text or an async batch of requests) list
// the parameters of the forms that have primary; a form whose only field is the async
// "requests" batch is left out. It reports false when no input schema is vendored.
func PublishedParams(providerKind, id, primary string) (*Params, bool) {
	key := providerKind + "|" + id + "|" + primary
	if p, ok := paramCache.Load(key); ok {
		return p.(*Params), true
	}
	raw, ok := InputSchema(providerKind, id)
	if !ok {
		return nil, false
	}
	var root any
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, false
	}
	var forms []map[string]any
	collectForms(root, &forms, 0)
	props := map[string]map[string]any{}
	var required []string
	add := func(f map[string]any) {
		if req, ok := f["required"].([]any); ok {
			for _, r := range req {
				if name, ok := r.(string); ok && !slices.Contains(required, name) {
					required = append(required, name)
				}
			}
		}
		ps, _ := f["properties"].(map[string]any)
		for name, s := range ps {
			if sm, ok := s.(map[string]any); ok {
				if _, dup := props[name]; !dup {
					props[name] = sm
				}
			}
		}
	}
	for _, f := range forms {
		if ps, _ := f["properties"].(map[string]any); ps[primary] != nil {
			add(f)
		}
	}
	if len(props) == 0 {
		for _, f := range forms {
			if ps, _ := f["properties"].(map[string]any); !(len(ps) == 1 && ps["requests"] != nil) {
				add(f)
			}
		}
	}
	sort.Strings(required)
	p := &Params{Model: id, props: props, required: required, once: map[string]*paramCheck{}}
	actual, _ := paramCache.LoadOrStore(key, p)
	return actual.(*Params), true
}

// collectForms gathers the object forms of a schema: the root when it has properties,
// and the branches of its oneOf/anyOf, recursively (gpt-oss nests anyOf → oneOf).
func collectForms(v any, out *[]map[string]any, depth int) {
	obj, ok := v.(map[string]any)
	if !ok || depth > 4 {
		return
	}
	if _, ok := obj["properties"].(map[string]any); ok {
		*out = append(*out, obj)
	}
	for _, k := range []string{"oneOf", "anyOf", "allOf"} {
		if l, ok := obj[k].([]any); ok {
			for _, b := range l {
				collectForms(b, out, depth+1)
			}
		}
	}
}

// Names lists the accepted parameter names, sorted.
func (p *Params) Names() []string {
	out := make([]string, 0, len(p.props))
	for k := range p.props {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Required lists the parameters the form requires, sorted.
func (p *Params) Required() []string { return slices.Clone(p.required) }

// Has reports whether the schema has a parameter called name.
func (p *Params) Has(name string) bool { _, ok := p.props[name]; return ok }

// Check validates v (a decoded YAML or JSON value) against parameter name's published
// schema; the error says what the schema accepts ("an integer from 1 to 50").
func (p *Params) Check(name string, v any) error {
	ps, ok := p.props[name]
	if !ok {
		return fmt.Errorf("%s has no parameter %s", p.Model, name)
	}
	p.mu.Lock()
	pc, ok := p.once[name]
	if !ok {
		pc = &paramCheck{}
		pc.schema, pc.err = compile(ps)
		p.once[name] = pc
	}
	p.mu.Unlock()
	if pc.err != nil {
		return nil // a schema the validator cannot compile checks nothing
	}
	inst, err := toJSONValue(v)
	if err != nil {
		return fmt.Errorf("%v is not a JSON value: %w", v, err)
	}
	if pc.schema.Validate(inst) != nil {
		return fmt.Errorf("the published input schema of %s wants %s, got %s", p.Model, Describe(ps), show(v))
	}
	return nil
}

// Describe renders what a property schema accepts, for error messages.
func Describe(s map[string]any) string {
	if e, ok := s["enum"].([]any); ok {
		var vals []string
		for _, v := range e {
			vals = append(vals, fmt.Sprint(v))
		}
		return "one of " + strings.Join(vals, ", ")
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		if l, ok := s[k].([]any); ok {
			var parts []string
			for _, b := range l {
				if bm, ok := b.(map[string]any); ok {
					parts = append(parts, Describe(bm))
				}
			}
			return strings.Join(parts, " or ")
		}
	}
	t, _ := s["type"].(string)
	noun := map[string]string{"integer": "an integer", "number": "a number", "string": "a string", "boolean": "true or false",
		"array": "a list", "object": "a mapping", "null": "null"}[t]
	if noun == "" {
		noun = "a value"
	}
	lo, hasLo := num(s["minimum"])
	hi, hasHi := num(s["maximum"])
	switch {
	case hasLo && hasHi:
		return fmt.Sprintf("%s from %s to %s", noun, fmtNum(lo), fmtNum(hi))
	case hasLo:
		return fmt.Sprintf("%s ≥ %s", noun, fmtNum(lo))
	case hasHi:
		return fmt.Sprintf("%s ≤ %s", noun, fmtNum(hi))
	}
	if n, ok := num(s["minLength"]); ok && n > 0 {
		noun += " of at least " + fmtNum(n) + " characters"
	}
	if n, ok := num(s["maxItems"]); ok {
		noun += " of at most " + fmtNum(n) + " items"
	}
	return noun
}

func num(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// compile compiles one schema document.
func compile(s any) (*jsonschema.Schema, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("published.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("published.json")
}

// toJSONValue turns a decoded YAML/Go value into the form the validator expects.
func toJSONValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

var bodyCache sync.Map // "in|"/"out|" + id → *paramCheck

// ValidateInput checks a whole request body against the model's published input schema.
// The published branches overlap (llama-3.3's "Async Batch" form requires nothing, so
// every chat body matches two branches), yet the API accepts those bodies; oneOf is
// therefore read as anyOf, and a branch whose only property is the async "requests"
// batch is read as requiring it (else it would accept any body at all). checked is false when no schema is vendored.
func ValidateInput(providerKind, id string, body []byte) (checked bool, err error) {
	raw, ok := InputSchema(providerKind, id)
	if !ok {
		return false, nil
	}
	return true, validateDoc("in|"+id, raw, body)
}

// ValidateOutput checks a result against the model's published output schema.
func ValidateOutput(providerKind, id string, result []byte) (checked bool, err error) {
	raw, ok := OutputSchema(providerKind, id)
	if !ok {
		return false, nil
	}
	return true, validateDoc("out|"+id, raw, result)
}

func validateDoc(key string, raw json.RawMessage, body []byte) error {
	v, ok := bodyCache.Load(key)
	if !ok {
		pc := &paramCheck{}
		var s any
		if pc.err = json.Unmarshal(raw, &s); pc.err == nil {
			pc.schema, pc.err = compile(anyOf(s))
		}
		v, _ = bodyCache.LoadOrStore(key, pc)
	}
	pc := v.(*paramCheck)
	if pc.err != nil {
		return fmt.Errorf("published schema does not compile: %w", pc.err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	return pc.schema.Validate(inst)
}

// anyOf rewrites every oneOf of a schema as anyOf, and makes a requests-only branch
// require requests.
func anyOf(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t)+1)
		if ps, ok := t["properties"].(map[string]any); ok && len(ps) == 1 && ps["requests"] != nil && t["required"] == nil {
			out["required"] = []any{"requests"}
		}
		for k, x := range t {
			if k == "oneOf" {
				k = "anyOf"
			}
			out[k] = anyOf(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = anyOf(x)
		}
		return out
	}
	return v
}
