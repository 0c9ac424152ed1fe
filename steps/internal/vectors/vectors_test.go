package vectors

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFloats(t *testing.T) {
	tests := []struct {
		name    string
		in      any
		want    []float32
		wantErr string
	}{
		{"json numbers", []any{1.5, 2.0, 3}, []float32{1.5, 2, 3}, ""},
		{"float64s", []float64{0.25}, []float32{0.25}, ""},
		{"float32s", []float32{1}, []float32{1}, ""},
		{"number", 1.0, nil, "expected a list of numbers, got a number"},
		{"string element", []any{"a"}, nil, `expected a list of numbers, element 0 is the string "a"`},
		{"empty", []any{}, nil, "a vector is empty"},
		{"overflow", []any{1e300}, nil, "element 0 is not a finite float32 number"},
		{"nan", []float64{math.NaN()}, nil, "element 0 is not a finite float32 number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Floats(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
