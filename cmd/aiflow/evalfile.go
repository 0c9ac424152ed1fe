package main

import (
	"fmt"
	"path/filepath"
	"regexp"

	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/eval"
	"github.com/aiflow/aiflow/spec"
)

// evalSpec is the eval: section of a flow's test file: what aiflow eval scores.
//
//	eval:
//	  inputs: data/questions.jsonl   # default --inputs, relative to the test file
//	  map: { question: q }           # default --map
//	  vars: { reindex: false }       # every row's vars
//	  setup: { vars: { reindex: true } } # one run before the rows, e.g. to build an index
//	  metrics:
//	    - name: source
//	      type: contains             # exact, normalized, contains, regex, json_schema, numeric,
//	      actual: outputs.sources    #   similarity, judge, latency, cost
//	      expected: row.source
//	      min_pass_rate: 0.8         # thresholds: min_pass_rate, min_mean, max_mean
type evalSpec struct {
	pos     spec.Pos
	inputs  string
	maps    []string
	metrics []*eval.Metric
	pos2    map[*eval.Metric]spec.Pos
	vars    map[string]any // every row's vars (a dataset column mapped to a var wins)
	setup   map[string]any // vars of one run before the rows (e.g. to build an index); nil: none
}

var (
	evalKeys   = []string{"inputs", "map", "vars", "setup", "metrics"}
	metricKeys = []string{"name", "type", "actual", "expected", "pattern", "schema", "tolerance", "relative", "min", "max", "model", "rubric", "min_pass_rate", "min_mean", "max_mean"}
)

func (p *testParser) evalSection(n *yaml.Node, path string) *evalSpec {
	es := &evalSpec{pos: p.pos(n), pos2: map[*eval.Metric]spec.Pos{}}
	p.mapping(n, path, evalKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "inputs":
			if s := p.str(v, path+".inputs"); s != "" {
				es.inputs = s
				if !filepath.IsAbs(s) {
					es.inputs = filepath.Join(filepath.Dir(p.file), s)
				}
			}
		case "map":
			var m map[string]string
			if v.Kind != yaml.MappingNode || v.Decode(&m) != nil {
				p.errf(v, path+".map", "expected a mapping of var → column")
				return
			}
			for k, c := range m {
				es.maps = append(es.maps, k+"="+c)
			}
		case "vars":
			tc := &testCase{vars: map[string]any{}}
			p.vars(v, path+".vars", tc)
			es.vars = tc.vars
		case "setup":
			es.setup = map[string]any{}
			p.mapping(v, path+".setup", []string{"vars"}, func(_ string, _, sv *yaml.Node) {
				tc := &testCase{vars: es.setup}
				p.vars(sv, path+".setup.vars", tc)
			})
		case "metrics":
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				p.errf(v, path+".metrics", "expected a non-empty list of metrics")
				return
			}
			seen := map[string]bool{}
			for i, item := range v.Content {
				m := p.metric(item, fmt.Sprintf("%s.metrics[%d]", path, i))
				if m == nil {
					continue
				}
				if seen[m.Name] {
					p.errf(item, fmt.Sprintf("%s.metrics[%d].name", path, i), "duplicate metric name %q", m.Name)
				}
				seen[m.Name] = true
				es.metrics = append(es.metrics, m)
				es.pos2[m] = p.pos(item)
			}
		}
	})
	if n.Kind == yaml.MappingNode && len(es.metrics) == 0 && len(p.diags.Errors()) == 0 {
		p.errf(n, path+".metrics", "missing metrics: what to score each row with")
	}
	return es
}

func (p *testParser) metric(n *yaml.Node, path string) *eval.Metric {
	m := &eval.Metric{}
	var bad bool
	num := func(v *yaml.Node, key string) *float64 {
		var f float64
		if err := v.Decode(&f); err != nil || v.Kind != yaml.ScalarNode {
			p.errf(v, path+"."+key, "expected a number")
			bad = true
			return nil
		}
		return &f
	}
	p.mapping(n, path, metricKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			m.Name = p.str(v, path+".name")
		case "type":
			m.Kind = p.str(v, path+".type")
		case "actual":
			m.Actual = p.str(v, path+".actual")
		case "expected":
			m.Expected = p.str(v, path+".expected")
		case "pattern":
			re, err := regexp.Compile(p.str(v, path+".pattern"))
			if err != nil {
				p.errf(v, path+".pattern", "invalid regular expression: %v", err)
				bad = true
				return
			}
			m.Pattern = re
		case "schema":
			var doc any
			if err := v.Decode(&doc); err != nil {
				p.errf(v, path+".schema", "%v", err)
				bad = true
				return
			}
			s, err := eval.CompileSchema(jsonable(doc))
			if err != nil {
				p.errf(v, path+".schema", "not a valid JSON Schema: %v", err)
				bad = true
				return
			}
			m.Schema = s
		case "tolerance":
			if f := num(v, key); f != nil {
				m.Tolerance = *f
			}
		case "relative":
			if v.Decode(&m.Relative) != nil {
				p.errf(v, path+".relative", "expected true or false")
			}
		case "min":
			if f := num(v, key); f != nil {
				m.Min = *f
			}
		case "max":
			if f := num(v, key); f != nil {
				m.Max = *f
			}
		case "model":
			m.Model = p.str(v, path+".model")
		case "rubric":
			m.Rubric = p.str(v, path+".rubric")
		case "min_pass_rate":
			m.MinPassRate = num(v, key)
		case "min_mean":
			m.MinMean = num(v, key)
		case "max_mean":
			m.MaxMean = num(v, key)
		}
	})
	if n.Kind != yaml.MappingNode || bad {
		return nil
	}
	if m.Name == "" {
		m.Name = m.Kind
	}
	if m.Min == 0 && (m.Kind == eval.Similarity || m.Kind == eval.Judge) {
		if _, set := findKey(n, "min"); !set {
			m.Min = map[string]float64{eval.Similarity: 0.8, eval.Judge: 0.5}[m.Kind]
		}
	}
	if err := m.Compile(); err != nil {
		p.errf(n, path, "%v", err)
		return nil
	}
	return m
}

func findKey(n *yaml.Node, key string) (*yaml.Node, bool) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1], true
		}
	}
	return nil, false
}
