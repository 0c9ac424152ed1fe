package setting_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers/internal/setting"
)

func TestCheckKeys(t *testing.T) {
	known := []string{"b_key", "a_key"}
	cases := []struct {
		name, prefix string
		m            map[string]any
		want         string
	}{
		{"all known", "", map[string]any{"a_key": 1, "b_key": nil}, ""},
		{"empty", "", nil, ""},
		{"unknown", "", map[string]any{"c": 1}, "unknown setting c (known: b_key, a_key)"},
		{"unknown sorted and prefixed, known in order", "gw.", map[string]any{"z": 1, "a_key": 1, "c": 2},
			"unknown setting gw.c, gw.z (known: b_key, a_key)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, errText(setting.CheckKeys(tc.prefix, tc.m, known))); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// reading is one call of a reader and what it returned.
type reading struct {
	Value any
	Err   string
}

func TestReaders(t *testing.T) {
	read := map[string]func(map[string]any, string) reading{
		"string": func(m map[string]any, k string) reading {
			v, err := setting.String(m, k)
			return reading{v, errText(err)}
		},
		"bool": func(m map[string]any, k string) reading {
			v, err := setting.Bool(m, k)
			return reading{v, errText(err)}
		},
		"int": func(m map[string]any, k string) reading { v, err := setting.Int(m, k); return reading{v, errText(err)} },
		"duration": func(m map[string]any, k string) reading {
			v, err := setting.Duration(m, k)
			return reading{v, errText(err)}
		},
	}
	cases := []struct {
		name, reader string
		value        any
		want         reading
	}{
		{"string", "string", "x", reading{"x", ""}},
		{"string missing", "string", nil, reading{"", ""}},
		{"string given a number", "string", 12, reading{"", "setting k: want a string, got int"}},
		{"bool", "bool", true, reading{true, ""}},
		{"bool missing", "bool", nil, reading{false, ""}},
		{"bool given a string", "bool", "yes", reading{false, "setting k: want true or false, got string"}},
		{"int", "int", 7, reading{7, ""}},
		{"int from uint64", "int", uint64(9), reading{9, ""}},
		{"int from a whole float", "int", 3.0, reading{3, ""}},
		{"int missing", "int", nil, reading{0, ""}},
		{"int given a fraction", "int", 1.5, reading{0, "setting k: want an integer, got 1.5"}},
		{"int given a string", "int", "3", reading{0, "setting k: want an integer, got 3"}},
		{"duration string", "duration", "90s", reading{90 * time.Second, ""}},
		{"duration value", "duration", time.Minute, reading{time.Minute, ""}},
		{"duration seconds", "duration", 1.5, reading{1500 * time.Millisecond, ""}},
		{"duration int seconds", "duration", int64(2), reading{2 * time.Second, ""}},
		{"duration missing", "duration", nil, reading{time.Duration(0), ""}},
		{"duration bad string", "duration", "soon", reading{time.Duration(0), `setting k: time: invalid duration "soon"`}},
		{"duration given a bool", "duration", true, reading{time.Duration(0), `setting k: want a duration like "1h" or seconds, got bool`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]any{}
			if tc.value != nil {
				m["k"] = tc.value
			}
			if diff := cmp.Diff(tc.want, read[tc.reader](m, "k")); diff != "" {
				t.Errorf("reading (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConversions(t *testing.T) {
	type conv struct {
		Int     int
		IntOK   bool
		Float   float64
		FloatOK bool
	}
	cases := []struct {
		name string
		v    any
		want conv
	}{
		{"int", 4, conv{4, true, 4, true}},
		{"int32", int32(-2), conv{-2, true, -2, true}},
		{"uint32", uint32(5), conv{5, true, 5, true}},
		{"whole float64", 8.0, conv{8, true, 8, true}},
		{"fractional float32", float32(0.5), conv{0, false, 0.5, true}},
		{"string", "1", conv{}},
		{"bool", true, conv{}},
		{"nil", nil, conv{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got conv
			got.Int, got.IntOK = setting.ToInt(tc.v)
			got.Float, got.FloatOK = setting.ToFloat(tc.v)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("conversions (-want +got):\n%s", diff)
			}
		})
	}
}
