package engine

import (
	"encoding/json"
	"maps"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// viaJSON is what a step output became before jsonShaped: a round trip through JSON text.
func viaJSON(t *testing.T, out map[string]any) (any, error) {
	t.Helper()
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v, nil
}

type point struct{ X, Y int }

// TestJSONShapedMatchesRoundTrip: outputs converted directly equal what the JSON round
// trip gives, for the types steps return and for the ones left to encoding/json.
func TestJSONShapedMatchesRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		out  map[string]any
	}{
		{"nil map", nil},
		{"scalars", map[string]any{"f": 1.5, "neg0": math.Copysign(0, -1), "i": 42, "i64": int64(1) << 60, "u": uint(7), "b": true, "s": "héllo", "n": nil}},
		{"float32 not exact at 64 bits", map[string]any{"v": float32(0.1), "w": float32(-3.4028235e38), "tiny": float32(1e-45), "int": float32(16777216)}},
		{"embedding", map[string]any{"vector": []float32{0.1, 0.2, 1, -0.333}, "vectors": []any{[]float32{0.1, 0.2}}, "count": 1}},
		{"typed slices and maps", map[string]any{"ss": []string{"a", "b"}, "fs": []float64{1, 2.5}, "is": []int{1, 2}, "ms": map[string]string{"k": "v"}}},
		{"nil typed slices", map[string]any{"ss": []string(nil), "fs": []float32(nil), "l": []any(nil), "m": map[string]any(nil), "ms": map[string]string(nil)}},
		{"empty lists", map[string]any{"ss": []string{}, "l": []any{}, "m": map[string]any{}}},
		{"nested", map[string]any{"a": []any{map[string]any{"b": []any{1, "x", nil, false}}}}},
		{"shaped but one value", map[string]any{"a": 1.5, "b": "x", "c": []any{2.5, "y", map[string]any{"d": true, "e": 3}, nil}, "f": 4.5, "g": map[string]any{"h": 1.0}}},
		{"list changed late", map[string]any{"l": []any{1.0, 2.0, "z", []any{}, int64(7)}, "m": map[string]any{"x": 1.0, "y": 2.0, "z": 3.0, "w": int32(4)}}},
		{"already shaped", map[string]any{"value": 42.0, "l": []any{"a", 1.5, nil, true, map[string]any{"k": []any{}}}}},
		{"struct falls back", map[string]any{"p": point{1, 2}, "q": &point{3, 4}}},
		{"bytes fall back", map[string]any{"raw": []byte("hi")}},
		{"invalid utf-8 falls back", map[string]any{"s": "a\xffb", "\xfe": 1}},
	}
	w := &walker{fl: &Flow{secrets: newSecretSet()}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := viaJSON(t, tt.out)
			if err != nil {
				t.Fatal(err)
			}
			got, err := jsonShaped(tt.out)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("(-json +direct):\n%s", d)
			}
			// bit for bit: cmp treats 0 and -0 alike
			if wb, gb := mustJSON(t, want), mustJSON(t, got); wb != gb {
				t.Errorf("encodes as %s, want %s", gb, wb)
			}
			// A kind's FreshOutput: the same value, shaped in a map of its own.
			fresh, _, _, err := roundTrip(w, maps.Clone(tt.out), true, true)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, fresh); d != "" {
				t.Errorf("in place (-json +direct):\n%s", d)
			}
			if wb, gb := mustJSON(t, want), mustJSON(t, fresh); wb != gb {
				t.Errorf("in place, encodes as %s, want %s", gb, wb)
			}
		})
	}
	for _, bad := range []map[string]any{{"nan": math.NaN()}, {"inf": []float32{float32(math.Inf(1))}}, {"ch": make(chan int)}, {"ok": 1, "nan": math.NaN()}} {
		_, werr := viaJSON(t, bad)
		_, gerr := jsonShaped(bad)
		_, _, _, ferr := roundTrip(w, maps.Clone(bad), true, true)
		if werr == nil || gerr == nil || ferr == nil {
			t.Fatalf("%v: errors %v, %v and %v, want all", bad, werr, gerr, ferr)
		}
	}
}

// TestShapeInPlace is issue 18: a transform's integer result made the engine copy its
// output map to convert the number, two allocations of every such step. A kind whose
// Run returns a fresh map (FreshOutput) has it shaped in place; values inside it,
// which may be shared, are copied when they change, never written.
func TestShapeInPlace(t *testing.T) {
	w := &walker{fl: &Flow{secrets: newSecretSet()}}
	inner := []any{1, 2.5}
	shared := map[string]any{"n": 3}
	out := map[string]any{"value": 42, "l": inner, "m": shared, "s": "x"}
	got, _, _, err := roundTrip(w, out, true, true)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"value": 42.0, "l": []any{1.0, 2.5}, "m": map[string]any{"n": 3.0}, "s": "x"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("shaped (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("the output map was not shaped in place (-want +got):\n%s", d)
	}
	if inner[0] != 1 || shared["n"] != 3 {
		t.Errorf("values inside the output changed: %v, %v", inner, shared)
	}
	outs := make([]map[string]any, 101) // AllocsPerRun's 100 runs and its warm-up
	for i := range outs {
		outs[i] = map[string]any{"value": 42}
	}
	next := 0
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, _, err := roundTrip(w, outs[next], true, true); err != nil {
			t.Fatal(err)
		}
		next++
	})
	if allocs > 2 { // the float64 and the encoding
		t.Errorf("roundTrip of a fresh transform output: %.0f allocations, want at most 2", allocs)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRoundTripAllocations is issue 18: a transform's output went through JSON text and
// back, a seventh of a small flow's cost per step. Converting it directly allocates the
// result map and its encoding only.
func TestRoundTripAllocations(t *testing.T) {
	w := &walker{fl: &Flow{secrets: newSecretSet()}}
	out := map[string]any{"value": 42}
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, _, err := roundTrip(w, out, false, true); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 4 {
		t.Errorf("roundTrip of a transform output: %.0f allocations, want at most 4", allocs)
	}
}

// TestJSONShapedKeepsShapedValues: an output already in the JSON shape (a chain of
// transforms passing floats on) is returned as it is, without a copy (issue 18); one
// that is not is copied, and the step's own value is left as it was.
func TestJSONShapedKeepsShapedValues(t *testing.T) {
	shaped := map[string]any{"value": 42.0, "l": []any{"a", 1.5, nil, true, map[string]any{"k": []any{}}}}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := jsonShaped(shaped); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("jsonShaped of a shaped output: %.0f allocations, want none", allocs)
	}
	inner := []any{1.0, 2}
	out := map[string]any{"a": 1.0, "l": inner}
	got, err := jsonShaped(out)
	if err != nil {
		t.Fatal(err)
	}
	if inner[1] != 2 {
		t.Errorf("the step's list changed to %v", inner)
	}
	if l := got.(map[string]any)["l"].([]any); l[1] != 2.0 {
		t.Errorf("shaped list %v, want [1 2] as floats", l)
	}
}
