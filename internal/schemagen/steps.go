package schemagen

import (
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// generalStepKeys are the step keys every kind accepts; the others only kinds that list
// them in Kind.Keys. It mirrors engine/check_step.go (generalKeys), and
// TestGeneralStepKeysMatchEngine keeps the two equal.
var generalStepKeys = []string{"uses", "description", "with", "when", "for_each", "needs", "cache", "retry", "timeout", "continue_on_error", "parallelism", "max_items", "variants"}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// stepProperty is the schema of a step key, apart from uses and with, which depend on
// the kind.
func (g *gen) stepProperty(key string) obj {
	switch key {
	case "uses":
		return obj{"enum": g.opts.Steps.Names()}
	case "description":
		return ref("text")
	case "with":
		return obj{"type": []string{"object", "null"}}
	case "model", "route":
		return ref("literal")
	case "prompt":
		return ref("prompt")
	case "params":
		return obj{"type": []string{"object", "null"}}
	case "output":
		return obj{"type": []string{"object", "null"}, "additionalProperties": false, "properties": obj{
			"schema": obj{"type": []string{"object", "null"}, "description": "A JSON Schema the output must match; the model is asked for JSON and repaired once when it does not match."},
		}}
	case "when":
		return ref("text")
	case "for_each":
		return obj{"anyOf": []any{obj{"type": []string{"array", "null"}}, ref("expr")}}
	case "batch":
		return obj{"anyOf": []any{
			obj{"type": "integer", "minimum": 1},
			obj{"type": "object", "additionalProperties": false, "required": []string{"size"}, "properties": obj{
				"size":  obj{"type": "integer", "minimum": 1, "description": "For_each items per batch."},
				"async": obj{"type": "boolean", "description": "Send each batch through the provider's asynchronous batch API (workers-ai queueRequest, OpenAI Batch API, Anthropic Message Batches) and poll for the answers; a resumed run polls a batch already submitted instead of paying again."},
				"poll":  obj{"allOf": []any{ref("duration")}, "description": "Wait before the first poll (default 2s); the wait doubles after each poll, up to 5m."},
			}},
		}}
	case "parallelism", "max_items":
		return obj{"type": "integer", "minimum": 1}
	case "needs":
		return ref("names")
	case "cache", "retry":
		return ref(key)
	case "timeout":
		return ref("duration")
	case "continue_on_error":
		return obj{"type": "boolean"}
	case "variants":
		return obj{"type": "object", "propertyNames": ref("identifier"), "additionalProperties": obj{
			"type": "object", "additionalProperties": false, "not": obj{"required": []string{"model", "route"}},
			"description": "A named alternative of this step: the keys it sets replace the step's; with: inputs replace or add to the step's.",
			"properties": obj{
				"description": ref("text"), "model": ref("literal"), "route": ref("literal"), "prompt": ref("prompt"),
				"params": obj{"type": []string{"object", "null"}}, "with": obj{"type": []string{"object", "null"}},
			}}}
	}
	return obj{} // tools: checked by the kind
}

func (g *gen) prompt() error {
	props, err := g.keys("prompt", spec.PromptKeys, promptDocs, func(k string) obj {
		switch k {
		case "messages":
			return obj{"anyOf": []any{
				obj{"type": "array", "items": obj{"type": "object", "properties": obj{
					"role":    obj{"enum": []string{"system", "user", "assistant"}},
					"content": ref("text"),
				}}},
				ref("expr"),
			}}
		case "file":
			return ref("literal")
		}
		return ref("text")
	})
	if err != nil {
		return err
	}
	g.defs["prompt"] = obj{"anyOf": []any{
		obj{"type": []string{"string", "number", "boolean", "null"}},
		obj{"type": "object", "additionalProperties": false, "properties": props, "not": obj{"required": []string{"user", "file"}}},
	}, "description": "The prompt: a string (the user message), or {system, user} text, chat messages, or a file relative to the flow, with ${ } inside."}
	return nil
}

func (g *gen) steps() error {
	if err := g.prompt(); err != nil {
		return err
	}
	props, err := g.keys("step", spec.StepKeys, stepDocs, g.stepProperty)
	if err != nil {
		return err
	}
	for _, k := range generalStepKeys {
		if !contains(spec.StepKeys, k) {
			return errorf("general step key %q is not a spec.StepKeys key", k)
		}
	}
	var kinds []any
	for _, name := range g.opts.Steps.Names() {
		k, _ := g.opts.Steps.Lookup(name)
		g.defs["step."+name] = g.kindStep(k, props)
		g.defs["with."+name] = g.with(k)
		kinds = append(kinds, kindCaseOn("uses", name, "step."+name))
	}
	g.defs["step"] = obj{"type": "object", "required": []string{"uses"}, "additionalProperties": false,
		"properties":        props,
		"allOf":             kinds,
		"not":               obj{"required": []string{"model", "route"}},
		"dependentRequired": obj{"batch": []string{"for_each"}, "max_items": []string{"for_each"}},
		"description":       "A step: uses names its kind; with: holds the kind's inputs."}
	g.defs["steps"] = obj{"type": "object", "minProperties": 1, "propertyNames": ref("identifier"), "additionalProperties": ref("step")}
	return nil
}

// kindStep restricts a step to the keys its kind accepts, with the kind's inputs.
func (g *gen) kindStep(k steps.Kind, all obj) obj {
	props := obj{}
	for key, s := range all {
		if contains(generalStepKeys, key) || contains(k.Keys, key) {
			props[key] = s
		}
	}
	props["uses"] = obj{"const": k.Name, "description": k.Summary}
	props["with"] = described(ref("with."+k.Name), "Inputs of "+k.Name+".")
	def := obj{"type": "object", "additionalProperties": false, "properties": props, "description": k.Summary}
	var required []string
	for _, f := range k.Inputs {
		if f.Required {
			required = append(required, "with")
			break
		}
	}
	if len(required) > 0 {
		def["required"] = required
	}
	if k.Task == providers.TaskGenerate {
		def["anyOf"] = []any{obj{"required": []string{"model"}}, obj{"required": []string{"route"}}}
	}
	return def
}

// with is the schema of a kind's with: mapping.
func (g *gen) with(k steps.Kind) obj {
	props := obj{}
	var required []string
	for _, f := range k.Inputs {
		props[f.Name] = inputSchema(f)
		if f.Required {
			required = append(required, f.Name)
		}
	}
	def := obj{"type": "object", "additionalProperties": false, "properties": props}
	if len(required) > 0 {
		def["required"] = required
	} else {
		def["type"] = []string{"object", "null"}
	}
	return def
}

// inputSchema is the schema of one input: its literal type (with the conversions
// steps.Coerce makes), or an expression; null stands for the default of an optional input.
func inputSchema(f steps.Field) obj {
	lit := literalSchema(f)
	alts := []any{lit}
	if inner, ok := lit["anyOf"].([]any); ok && len(lit) == 1 {
		alts = inner
	}
	alts = append(alts, ref("expr"))
	if !f.Required {
		alts = append(alts, obj{"type": "null"})
	}
	s := obj{"anyOf": alts}
	if f.Doc != "" {
		s["description"] = f.Doc
	}
	if f.Default != nil {
		s["default"] = f.Default
	}
	return s
}

func literalSchema(f steps.Field) obj {
	if len(f.Enum) > 0 {
		return obj{"enum": f.Enum}
	}
	switch f.Type {
	case steps.String:
		return ref("text")
	case steps.Int:
		return obj{"anyOf": []any{obj{"type": "integer"}, obj{"type": "string", "pattern": intPattern}}}
	case steps.Number:
		return obj{"anyOf": []any{obj{"type": "number"}, obj{"type": "string", "pattern": numberPattern}}}
	case steps.Bool:
		return obj{"anyOf": []any{obj{"type": "boolean"}, obj{"enum": boolStrings}}}
	case steps.List:
		return obj{"type": "array"}
	case steps.Strings:
		return obj{"type": "array", "items": obj{"type": "string"}}
	case steps.Object:
		return obj{"type": "object"}
	case steps.Duration:
		return obj{"type": "string", "pattern": durationPattern}
	case steps.Blob:
		return obj{"type": "object", "required": []string{"type", "sha256", "size", "media_type"}, "properties": obj{"type": obj{"const": "blob"}}}
	case steps.Resource:
		return obj{"type": "object", "required": []string{"name"}, "properties": obj{"name": obj{"type": "string"}, "kind": obj{"type": "string"}}}
	}
	return obj{} // Any
}
