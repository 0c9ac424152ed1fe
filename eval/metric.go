package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Metric kinds.
const (
	Exact      = "exact"      // actual equals expected
	Normalized = "normalized" // equal after lower-casing, dropping punctuation and collapsing spaces
	Contains   = "contains"   // actual (text, or a list) contains expected
	Regex      = "regex"      // actual matches pattern:
	JSONSchema = "json_schema"
	Numeric    = "numeric"    // |actual − expected| ≤ tolerance (relative: a fraction of expected)
	Similarity = "similarity" // cosine of the embeddings of actual and expected (model:), pass ≥ min
	Judge      = "judge"      // a model grades actual against rubric:, 0..1, pass ≥ min
	Latency    = "latency"    // the row's latency in ms, pass ≤ max
	Cost       = "cost"       // the row's cost in USD, pass ≤ max
)

// Kinds lists every metric kind.
var Kinds = []string{Exact, Normalized, Contains, Regex, JSONSchema, Numeric, Similarity, Judge, Latency, Cost}

// Metric is one declared metric.
type Metric struct {
	Name string
	Kind string
	// Actual and Expected are expr-lang expressions over outputs, row (the dataset row)
	// and vars; Actual defaults to the flow's only output.
	Actual, Expected         string
	actualProg, expectedProg *vm.Program
	Pattern                  *regexp.Regexp
	Schema                   *jsonschema.Schema
	Tolerance                float64
	Relative                 bool
	Min                      float64 // similarity, judge: a row passes at or above it
	Max                      float64 // latency (ms), cost (USD): a row passes at or below it; 0 = no limit
	Model                    string  // similarity, judge
	Rubric                   string  // judge
	// Thresholds on the whole dataset; nil when not declared.
	MinPassRate, MinMean, MaxMean *float64
}

// Env is the scope of Actual and Expected.
func Env() map[string]any {
	return map[string]any{"outputs": map[string]any{}, "row": map[string]any{}, "vars": map[string]any{}}
}

// Compile compiles Actual and Expected and checks the kind's settings.
func (m *Metric) Compile() error {
	if !contains(Kinds, m.Kind) {
		return fmt.Errorf("unknown metric type %q (want one of %s)", m.Kind, strings.Join(Kinds, ", "))
	}
	var err error
	if m.Actual != "" {
		if m.actualProg, err = expr.Compile(m.Actual, expr.Env(Env())); err != nil {
			return fmt.Errorf("actual: %w", err)
		}
	}
	if m.Expected != "" {
		if m.expectedProg, err = expr.Compile(m.Expected, expr.Env(Env())); err != nil {
			return fmt.Errorf("expected: %w", err)
		}
	}
	needsExpected := map[string]bool{Exact: true, Normalized: true, Contains: true, Numeric: true, Similarity: true}
	switch {
	case needsExpected[m.Kind] && m.Expected == "":
		return fmt.Errorf("%s needs expected: (e.g. expected: row.answer)", m.Kind)
	case m.Kind == Regex && m.Pattern == nil:
		return fmt.Errorf("regex needs pattern:")
	case m.Kind == JSONSchema && m.Schema == nil:
		return fmt.Errorf("json_schema needs schema:")
	case (m.Kind == Similarity || m.Kind == Judge) && m.Model == "":
		return fmt.Errorf("%s needs model: (a models: alias or provider:model of the flow)", m.Kind)
	case m.Kind == Judge && m.Rubric == "":
		return fmt.Errorf("judge needs rubric: (what a good answer does)")
	}
	return nil
}

// CompileSchema compiles a JSON Schema given as a decoded YAML/JSON value.
func CompileSchema(doc any) (*jsonschema.Schema, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("metric.schema.json", v); err != nil {
		return nil, err
	}
	return c.Compile("metric.schema.json")
}

// Row is what a metric scores: one dataset result.
type Row struct {
	Input     map[string]any
	Vars      map[string]any
	Outputs   map[string]any
	LatencyMS float64
	CostUSD   float64
}

// Grader runs the model-backed metrics (cached generate and embed calls).
type Grader interface {
	Judge(ctx context.Context, m *Metric, r Row, actual, expected string) (score float64, reason string, err error)
	Similarity(ctx context.Context, m *Metric, r Row, actual, expected string) (float64, error)
}

// Score is one metric's score on one row.
type Score struct {
	Value  float64 `json:"value"`
	Pass   bool    `json:"pass"`
	Error  string  `json:"error,omitempty"`
	Detail string  `json:"detail,omitempty"`
}

func fail(format string, args ...any) Score { return Score{Error: fmt.Sprintf(format, args...)} }

func boolScore(ok bool) Score {
	if ok {
		return Score{Value: 1, Pass: true}
	}
	return Score{}
}

// Score scores one row.
func (m *Metric) Score(ctx context.Context, r Row, g Grader) Score {
	scope := map[string]any{"outputs": orEmpty(r.Outputs), "row": orEmpty(r.Input), "vars": orEmpty(r.Vars)}
	var actual, expected any
	switch {
	case m.actualProg != nil:
		v, err := expr.Run(m.actualProg, scope)
		if err != nil {
			return fail("actual: %v", err)
		}
		actual = v
	case len(r.Outputs) == 1:
		for _, v := range r.Outputs {
			actual = v
		}
	default:
		actual = r.Outputs
	}
	if m.expectedProg != nil {
		v, err := expr.Run(m.expectedProg, scope)
		if err != nil {
			return fail("expected: %v", err)
		}
		expected = v
	}
	switch m.Kind {
	case Exact:
		return boolScore(equal(actual, expected))
	case Normalized:
		return boolScore(normalize(text(actual)) == normalize(text(expected)))
	case Contains:
		return boolScore(containsValue(actual, expected))
	case Regex:
		return boolScore(m.Pattern.MatchString(text(actual)))
	case JSONSchema:
		v := actual
		if s, ok := actual.(string); ok {
			var err error
			if v, err = jsonschema.UnmarshalJSON(strings.NewReader(s)); err != nil {
				return Score{Detail: "not JSON: " + err.Error()}
			}
		} else {
			b, _ := json.Marshal(actual)
			v, _ = jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
		}
		if err := m.Schema.Validate(v); err != nil {
			return Score{Detail: firstLine(err.Error())}
		}
		return boolScore(true)
	case Numeric:
		a, aok := number(actual)
		e, eok := number(expected)
		if !aok || !eok {
			return fail("numeric: %s and %s are not both numbers", text(actual), text(expected))
		}
		tol := m.Tolerance
		if m.Relative {
			tol *= math.Abs(e)
		}
		return boolScore(math.Abs(a-e) <= tol)
	case Latency:
		return Score{Value: r.LatencyMS, Pass: m.Max == 0 || r.LatencyMS <= m.Max}
	case Cost:
		return Score{Value: r.CostUSD, Pass: m.Max == 0 || r.CostUSD <= m.Max}
	case Similarity:
		sim, err := g.Similarity(ctx, m, r, text(actual), text(expected))
		if err != nil {
			return fail("similarity: %v", err)
		}
		return Score{Value: sim, Pass: sim >= m.Min}
	case Judge:
		s, reason, err := g.Judge(ctx, m, r, text(actual), text(expected))
		if err != nil {
			return fail("judge: %v", err)
		}
		return Score{Value: s, Pass: s >= m.Min, Detail: reason}
	}
	return fail("unknown metric type %q", m.Kind)
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// text renders a value for text metrics: strings as they are, the rest as JSON.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// equal compares as JSON values do, so 1 and 1.0 and "a" from CSV and YAML agree.
func equal(a, b any) bool {
	if x, ok := number(a); ok {
		if y, ok := number(b); ok {
			_, as := a.(string)
			_, bs := b.(string)
			if as == bs {
				return x == y
			}
		}
	}
	return reflect.DeepEqual(canon(a), canon(b))
}

func canon(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	json.Unmarshal(b, &out)
	return out
}

// normalize lower-cases s, drops punctuation and collapses whitespace.
func normalize(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		case unicode.IsSpace(r):
			space = true
		}
	}
	return b.String()
}

// containsValue: a list contains an element equal to expected (or, for strings, one
// that contains it); a text contains expected as a substring.
func containsValue(actual, expected any) bool {
	if list, ok := actual.([]any); ok {
		for _, e := range list {
			if equal(e, expected) || strings.Contains(text(e), text(expected)) && text(expected) != "" {
				return true
			}
		}
		return false
	}
	return strings.Contains(text(actual), text(expected))
}
