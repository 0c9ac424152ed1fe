package main

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// yamlUnmarshal decodes YAML into Go data with string map keys (JSON-compatible).
func yamlUnmarshal(b []byte, out *map[string]any) error {
	var raw any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return err
	}
	m, ok := jsonable(raw).(map[string]any)
	if !ok {
		return fmt.Errorf("not a mapping")
	}
	*out = m
	return nil
}

func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	}
	return v
}
