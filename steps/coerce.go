package steps

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/spec"
)

// Coerce checks v against the field's type and converts what converts losslessly (an
// integer-valued number to an int, a numeric string to a number, "30s" to a Duration).
// A nil v yields the field's default.
func Coerce(f Field, v any) (any, error) {
	if v == nil {
		return f.Default, nil
	}
	out, ok := coerce(f.Type, v)
	if !ok {
		return nil, fmt.Errorf("expected %s, got %s", article(f.Type), spec.DescribeValue(v))
	}
	if len(f.Enum) > 0 {
		s := fmt.Sprint(out)
		for _, e := range f.Enum {
			if e == s {
				return out, nil
			}
		}
		return nil, fmt.Errorf("%q is not one of %s%s", s, spec.QuoteList(f.Enum), spec.DidYouMean(s, f.Enum))
	}
	return out, nil
}

func article(t Type) string {
	switch t {
	case Int:
		return "an integer"
	case Any:
		return "any value"
	case List:
		return "a list"
	case Strings:
		return "a list of strings"
	case Object:
		return "an object"
	case Resource:
		return "a resource reference such as ${ resources.kb }"
	case Blob:
		return `a blob (binary value) such as ${ blob("photo.png") } or another step's image output`
	case Duration:
		return "a duration such as 30s"
	case Bool:
		return "true or false"
	}
	return "a " + string(t)
}

func coerce(t Type, v any) (any, bool) {
	switch t {
	case Any:
		return v, true
	case String:
		switch x := v.(type) {
		case string:
			return x, true
		case int, float64, bool:
			return fmt.Sprint(x), true
		}
	case Int:
		switch x := v.(type) {
		case int:
			return x, true
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int(x), true
			}
		case string:
			if i, err := strconv.Atoi(x); err == nil {
				return i, true
			}
		}
	case Number:
		switch x := v.(type) {
		case int:
			return float64(x), true
		case float64:
			return x, true
		case string:
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				return f, true
			}
		}
	case Bool:
		switch x := v.(type) {
		case bool:
			return x, true
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, true
			}
		}
	case List:
		if l, ok := v.([]any); ok {
			return l, true
		}
	case Strings:
		switch x := v.(type) {
		case []any:
			out := make([]string, len(x))
			for i, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, false
				}
				out[i] = s
			}
			return out, true
		case []string:
			return x, true
		}
	case Object:
		if m, ok := v.(map[string]any); ok {
			return m, true
		}
	case Duration:
		switch x := v.(type) {
		case string:
			d, err := spec.ParseDuration(x)
			return d, err == nil
		case time.Duration:
			return x, true
		}
	case Blob:
		if b, ok := blob.FromValue(v); ok {
			return b.Value(), true
		}
	case Resource:
		if r, ok := v.(ResourceRef); ok {
			return r, true
		}
		if m, ok := v.(map[string]any); ok {
			if name, ok := m["name"].(string); ok {
				kind, _ := m["kind"].(string)
				return ResourceRef{Name: name, Kind: kind}, true
			}
		}
	}
	return nil, false
}
