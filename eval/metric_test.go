package eval

import (
	"context"
	"errors"
	"regexp"
	"testing"
)

type fakeGrader struct{}

func (fakeGrader) Judge(_ context.Context, _ *Metric, _ Row, actual, _ string) (float64, string, error) {
	if actual == "" {
		return 0, "", errors.New("empty answer")
	}
	return 0.75, "mostly right", nil
}

func (fakeGrader) Similarity(_ context.Context, _ *Metric, _ Row, a, b string) (float64, error) {
	if a == b {
		return 1, nil
	}
	return 0.5, nil
}

func TestMetricScore(t *testing.T) {
	schema, err := CompileSchema(map[string]any{"type": "object", "required": []any{"label"}})
	if err != nil {
		t.Fatal(err)
	}
	row := Row{Input: map[string]any{"answer": "Paris", "n": "41", "src": "data/tides.md"},
		Outputs:   map[string]any{"text": "  paris!  ", "sources": []any{"data/tides.md", "data/bees.md"}, "n": 42.0, "json": `{"label":"x"}`},
		LatencyMS: 120, CostUSD: 0.002}
	for _, tc := range []struct {
		name string
		m    Metric
		want Score
	}{
		{"exact fails on case", Metric{Kind: Exact, Actual: "outputs.text", Expected: "row.answer"}, Score{}},
		{"normalized passes", Metric{Kind: Normalized, Actual: "outputs.text", Expected: "row.answer"}, Score{Value: 1, Pass: true}},
		{"contains in a list", Metric{Kind: Contains, Actual: "outputs.sources", Expected: "row.src"}, Score{Value: 1, Pass: true}},
		{"contains in a list, missing", Metric{Kind: Contains, Actual: "outputs.sources", Expected: `"data/sun.md"`}, Score{}},
		{"regex", Metric{Kind: Regex, Actual: "outputs.text", Pattern: regexp.MustCompile(`(?i)^\s*paris`)}, Score{Value: 1, Pass: true}},
		{"json schema of a JSON text", Metric{Kind: JSONSchema, Actual: "outputs.json", Schema: schema}, Score{Value: 1, Pass: true}},
		{"json schema, invalid", Metric{Kind: JSONSchema, Actual: "outputs.text", Schema: schema}, Score{Detail: "not JSON"}},
		{"numeric within tolerance, CSV string expected", Metric{Kind: Numeric, Actual: "outputs.n", Expected: "row.n", Tolerance: 1}, Score{Value: 1, Pass: true}},
		{"numeric relative, outside", Metric{Kind: Numeric, Actual: "outputs.n", Expected: "row.n", Tolerance: 0.01, Relative: true}, Score{}},
		{"latency under max", Metric{Kind: Latency, Max: 200}, Score{Value: 120, Pass: true}},
		{"cost over max", Metric{Kind: Cost, Max: 0.001}, Score{Value: 0.002}},
		{"similarity", Metric{Kind: Similarity, Actual: "outputs.text", Expected: "row.answer", Model: "m", Min: 0.4}, Score{Value: 0.5, Pass: true}},
		{"judge", Metric{Kind: Judge, Actual: "outputs.text", Model: "m", Rubric: "r", Min: 0.8}, Score{Value: 0.75, Detail: "mostly right"}},
		{"judge error", Metric{Kind: Judge, Actual: "outputs.missing ?? ''", Model: "m", Rubric: "r"}, Score{Error: "judge: empty answer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m
			if err := m.Compile(); err != nil {
				t.Fatal(err)
			}
			got := m.Score(context.Background(), row, fakeGrader{})
			if len(tc.want.Detail) > 0 && len(got.Detail) >= len(tc.want.Detail) {
				got.Detail = got.Detail[:len(tc.want.Detail)]
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMetricCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		m    Metric
		want string
	}{
		{Metric{Kind: "bleu"}, `unknown metric type "bleu"`},
		{Metric{Kind: Exact}, "exact needs expected:"},
		{Metric{Kind: Judge, Model: "m"}, "judge needs rubric:"},
		{Metric{Kind: Exact, Expected: "row.("}, "expected:"},
	} {
		if err := tc.m.Compile(); err == nil || len(err.Error()) < len(tc.want) || err.Error()[:len(tc.want)] != tc.want {
			t.Errorf("Compile(%+v) = %v, want %q…", tc.m, err, tc.want)
		}
	}
}

func TestSummarizeThresholds(t *testing.T) {
	rate, mean := 0.9, 0.5
	m := &Metric{Name: "m", Kind: Exact, MinPassRate: &rate, MaxMean: &mean}
	s := Summarize(m, []Score{{Value: 1, Pass: true}, {Value: 1, Pass: true}, {}, {Error: "x"}})
	if s.N != 4 || s.Passed != 2 || s.Errors != 1 || s.PassRate != 0.5 || s.Mean != 0.5 || len(s.Failed) != 1 {
		t.Errorf("summary %+v: want 4 rows, 2 passed, 1 error, one threshold failure (pass rate)", s)
	}
}
