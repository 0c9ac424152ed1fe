package schemagen

import (
	"github.com/aiflow/aiflow/providers"
)

// settingSchema maps a provider setting's declared type to a schema. The engine compiles
// settings as templates, so each also takes an expression. "object" settings are left
// open: some (rate_limit) also take a number.
func settingSchema(f providers.SettingField) obj {
	if f.Secret {
		return obj{"type": "string", "pattern": envPattern}
	}
	switch f.Type {
	case "int":
		return orExpr(obj{"type": "integer"})
	case "bool":
		return orExpr(obj{"type": "boolean"})
	case "duration":
		return orExpr(ref("duration"))
	case "string":
		return ref("text")
	}
	return obj{}
}

func (g *gen) providers() error {
	reg := g.opts.Providers
	names := reg.Names()
	var kinds []any
	for _, name := range names {
		info, _ := reg.Lookup(name)
		props := obj{"kind": obj{"const": name, "description": info.Summary}, "retry": ref("providerRetry")}
		var required []string
		for _, f := range info.Settings {
			doc := f.Doc
			if f.Secret {
				doc += ` Secret: write it as ${ env("NAME") }.`
			}
			props[f.Name] = described(settingSchema(f), doc)
			if f.Required {
				required = append(required, f.Name)
			}
		}
		def := obj{"type": "object", "additionalProperties": false, "properties": props, "description": info.Summary}
		if len(required) > 0 {
			def["required"] = required
		}
		g.defs["provider."+name] = def
		kinds = append(kinds, kindCase(name, "provider."+name))
	}
	g.defs["provider"] = obj{"type": "object", "required": []string{"kind"},
		"properties": obj{"kind": obj{"enum": names, "description": "The provider kind."}},
		"allOf":      kinds,
		"description": `A named connection: kind plus the kind's settings. Secrets come only from ${ env("NAME") }. ` +
			`The local provider is always available without an entry.`}
	g.defs["providers"] = named(ref("provider"))
	return nil
}

// kindCase applies the definition def to objects whose kind is name.
func kindCase(name, def string) obj {
	return kindCaseOn("kind", name, def)
}

func kindCaseOn(key, name, def string) obj {
	return obj{"if": obj{"properties": obj{key: obj{"const": name}}, "required": []string{key}}, "then": ref(def)}
}
