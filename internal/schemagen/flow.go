package schemagen

import (
	"github.com/aiflow/aiflow/spec"
)

// varDefaults says what a default must be for each var type; "any" takes anything.
var varDefaults = map[string]obj{
	"string":  {"type": "string"},
	"number":  orExpr(obj{"type": "number"}),
	"integer": orExpr(obj{"type": "integer"}),
	"boolean": orExpr(obj{"type": "boolean"}),
	"list":    orExpr(obj{"type": "array"}),
	"object":  orExpr(obj{"type": "object"}),
	"any":     {},
}

func (g *gen) vars() error {
	props, err := g.keys("var", spec.VarKeys, varDocs, func(k string) obj {
		switch k {
		case "type":
			return obj{"enum": spec.VarTypes}
		case "description":
			return ref("text")
		case "enum":
			return obj{"type": "array", "minItems": 1}
		case "secret":
			return obj{"type": "boolean"}
		}
		return obj{}
	})
	if err != nil {
		return err
	}
	var byType []any
	for _, t := range spec.VarTypes {
		d, ok := varDefaults[t]
		if !ok {
			return errorf("var type %q has no default rule (add it to varDefaults)", t)
		}
		if len(d) == 0 {
			continue
		}
		byType = append(byType, obj{
			"if":   obj{"properties": obj{"type": obj{"const": t}}, "required": []string{"type"}},
			"then": obj{"properties": obj{"default": d}},
		})
	}
	g.defs["varDefinition"] = obj{"type": "object", "additionalProperties": false, "properties": props, "allOf": byType}
	g.defs["vars"] = named(obj{
		"anyOf":       []any{obj{"type": []string{"string", "number", "boolean", "array", "null"}}, ref("varDefinition")},
		"description": "A typed input: {type, description, default, enum, secret}, or just its default value. A var without a default must be given with --var.",
	})
	return nil
}

func (g *gen) routes() error {
	props, err := g.keys("route", spec.RouteKeys, routeDocs, func(k string) obj {
		switch k {
		case "rules":
			return obj{"type": "array", "items": ref("routeRule")}
		case "fallback":
			return ref("names")
		}
		return obj{"type": []string{"object", "null"}, "propertyNames": ref("literal"),
			"additionalProperties": obj{"type": "integer", "minimum": 0, "description": "Relative weight of this model."}}
	})
	if err != nil {
		return err
	}
	rule, err := g.keys("rule", spec.RuleKeys, ruleDocs, func(k string) obj {
		if k == "when" {
			return ref("text")
		}
		return ref("literal")
	})
	if err != nil {
		return err
	}
	g.defs["routeRule"] = obj{"type": "object", "additionalProperties": false, "required": []string{"use"}, "properties": rule}
	g.defs["route"] = obj{"type": "object", "additionalProperties": false, "properties": props,
		"anyOf": []any{
			obj{"required": []string{"rules"}, "properties": obj{"rules": obj{"minItems": 1}}},
			obj{"required": []string{"split"}, "properties": obj{"split": obj{"type": "object", "minProperties": 1}}},
		},
		"description": "Routing rules, first match wins; or a weighted split. fallback is tried in order when the chosen model keeps failing."}
	g.defs["routes"] = named(ref("route"))
	return nil
}

func (g *gen) defaults() error {
	props, err := g.keys("defaults", spec.DefaultsKeys, defaultsDocs, func(k string) obj {
		if k == "timeout" {
			return ref("duration")
		}
		return ref(k)
	})
	if err != nil {
		return err
	}
	g.defs["defaults"] = obj{"type": []string{"object", "null"}, "additionalProperties": false, "properties": props}
	return nil
}
