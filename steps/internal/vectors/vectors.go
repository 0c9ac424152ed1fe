// Package vectors converts vectors given as step inputs (lists of numbers, usually []any
// of float64 after a JSON round trip) to the []float32 the vector-index contract takes.
package vectors

import (
	"errors"
	"fmt"
	"math"

	"github.com/aiflow/aiflow/spec"
)

// Floats converts one vector: []any of numbers, []float64 or []float32. It rejects empty
// vectors and values that are not finite float32 numbers.
func Floats(v any) ([]float32, error) {
	var out []float32
	switch x := v.(type) {
	case []float32:
		out = x
	case []float64:
		out = make([]float32, len(x))
		for i, f := range x {
			out[i] = float32(f)
		}
	case []any:
		out = make([]float32, len(x))
		for i, e := range x {
			switch f := e.(type) {
			case float64:
				out[i] = float32(f)
			case int:
				out[i] = float32(f)
			default:
				return nil, fmt.Errorf("expected a list of numbers, element %d is %s", i, spec.DescribeValue(e))
			}
		}
	case float64, int:
		return nil, errors.New("expected a list of numbers, got a number")
	default:
		return nil, fmt.Errorf("expected a list of numbers, got %s", spec.DescribeValue(v))
	}
	return out, checkFinite(out)
}

func checkFinite(v []float32) error {
	if len(v) == 0 {
		return errors.New("a vector is empty")
	}
	for i, f := range v {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return fmt.Errorf("element %d is not a finite float32 number", i)
		}
	}
	return nil
}
