package localindex

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
)

// Filter operators, Vectorize's set.
const allowedOps = "$eq, $ne, $in, $nin, $lt, $lte, $gt, $gte"

// filter is a compiled metadata filter; every clause must hold. Semantics follow
// Vectorize: a bare value means $eq, top-level keys are ANDed, dotted keys reach into
// nested objects, and types never coerce ("2" ≠ 2). A missing property counts as null, so
// {"$eq": null}, $ne and $nin match it while ranges never do.
type filter []clause

type clause struct {
	key  string
	path []string
	ops  []fop
}

type fop struct {
	op  string
	val fval
	set []fval
}

type fkind uint8

const (
	kNull fkind = iota
	kString
	kNumber
	kBool
	kOther // objects and arrays: stored values no operator matches
)

type fval struct {
	kind fkind
	s    string
	n    float64
	b    bool
}

// compileFilter checks m and compiles it; a nil or empty filter matches everything.
func compileFilter(m map[string]any) (filter, error) {
	var f filter
	for _, key := range sortedKeys(m) {
		c, err := compileClause(key, m[key])
		if err != nil {
			return nil, err
		}
		f = append(f, c)
	}
	return f, nil
}

func compileClause(key string, v any) (clause, error) {
	switch {
	case key == "" || len(key) > 512 || strings.Contains(key, `"`):
		return clause{}, fmt.Errorf("filter key %q: keys must be 1 to 512 characters without '\"'", key)
	case strings.HasPrefix(key, "$"):
		return clause{}, fmt.Errorf("filter key %q: top-level keys are metadata properties; put operators (%s) inside one, e.g. {\"year\": {\"$gte\": 2020}}", key, allowedOps)
	}
	c := clause{key: key, path: strings.Split(key, ".")}
	ops, isObj := v.(map[string]any)
	if !isObj {
		val, err := scalar(key, "$eq", v)
		if err != nil {
			return clause{}, err
		}
		c.ops = []fop{{op: "$eq", val: val}}
		return c, nil
	}
	if len(ops) == 0 {
		return clause{}, fmt.Errorf("filter %q: empty operator object (allowed: %s)", key, allowedOps)
	}
	for _, op := range sortedKeys(ops) {
		o, err := compileOp(key, op, ops[op])
		if err != nil {
			return clause{}, err
		}
		c.ops = append(c.ops, o)
	}
	return c, checkCombination(key, c.ops)
}

func compileOp(key, op string, v any) (fop, error) {
	switch op {
	case "$eq", "$ne":
		val, err := scalar(key, op, v)
		return fop{op: op, val: val}, err
	case "$in", "$nin":
		set, err := scalarList(key, op, v)
		return fop{op: op, set: set}, err
	case "$lt", "$lte", "$gt", "$gte":
		val, err := scalar(key, op, v)
		if err == nil && val.kind != kNumber && val.kind != kString {
			err = fmt.Errorf("filter %q: %s needs a number or a string, got %s", key, op, describe(v))
		}
		return fop{op: op, val: val}, err
	}
	if !strings.HasPrefix(op, "$") {
		return fop{}, fmt.Errorf("filter %q: %q is not an operator (allowed: %s); write nested properties as a dotted key such as %q", key, op, allowedOps, key+"."+op)
	}
	return fop{}, fmt.Errorf("filter %q: unknown operator %q (allowed: %s)", key, op, allowedOps)
}

// checkCombination enforces Vectorize's rule: one operator per key, except that one
// lower bound ($gt, $gte) may be combined with one upper bound ($lt, $lte).
func checkCombination(key string, ops []fop) error {
	if len(ops) == 1 {
		return nil
	}
	var lower, upper int
	for _, o := range ops {
		switch o.op {
		case "$gt", "$gte":
			lower++
		case "$lt", "$lte":
			upper++
		}
	}
	if len(ops) == 2 && lower == 1 && upper == 1 {
		return nil
	}
	return fmt.Errorf("filter %q: only a lower bound ($gt or $gte) may be combined with an upper bound ($lt or $lte); use separate queries or $in for other combinations", key)
}

func scalar(key, op string, v any) (fval, error) {
	val, ok := toFval(v)
	if !ok || val.kind == kOther {
		return fval{}, fmt.Errorf("filter %q: %s needs a string, number, boolean or null, got %s", key, op, describe(v))
	}
	return val, nil
}

func scalarList(key, op string, v any) ([]fval, error) {
	rv := reflect.ValueOf(v)
	if v == nil || rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, fmt.Errorf("filter %q: %s needs an array, got %s", key, op, describe(v))
	}
	set := make([]fval, rv.Len())
	for i := range set {
		val, err := scalar(key, op, rv.Index(i).Interface())
		if err != nil {
			return nil, err
		}
		set[i] = val
	}
	return set, nil
}

func describe(v any) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprintf("%T %v", v, v)
}

// toFval converts a filter operand or a stored metadata value.
func toFval(v any) (fval, bool) {
	switch x := v.(type) {
	case nil:
		return fval{kind: kNull}, true
	case string:
		return fval{kind: kString, s: x}, true
	case bool:
		return fval{kind: kBool, b: x}, true
	case float64:
		return number(x)
	case json.Number:
		n, err := x.Float64()
		return fval{kind: kNumber, n: n}, err == nil
	case map[string]any, []any:
		return fval{kind: kOther}, true
	}
	rv := reflect.ValueOf(v)
	switch {
	case rv.CanInt():
		return number(float64(rv.Int()))
	case rv.CanUint():
		return number(float64(rv.Uint()))
	case rv.CanFloat():
		return number(rv.Float())
	}
	return fval{kind: kOther}, false
}

func number(n float64) (fval, bool) {
	return fval{kind: kNumber, n: n}, !math.IsNaN(n) && !math.IsInf(n, 0)
}

// match reports whether metadata satisfies every clause.
func (f filter) match(meta map[string]any) bool {
	for i := range f {
		if !f[i].holds(meta) {
			return false
		}
	}
	return true
}

func (c *clause) holds(meta map[string]any) bool {
	v := c.lookup(meta)
	for _, o := range c.ops {
		if !o.holds(v) {
			return false
		}
	}
	return true
}

// lookup finds the key itself, or else follows its dotted path; missing is null.
func (c *clause) lookup(meta map[string]any) fval {
	if v, ok := meta[c.key]; ok {
		val, _ := toFval(v)
		return val
	}
	if len(c.path) < 2 {
		return fval{kind: kNull}
	}
	var cur any = meta
	for _, p := range c.path {
		m, ok := cur.(map[string]any)
		if !ok {
			return fval{kind: kNull}
		}
		if cur, ok = m[p]; !ok {
			return fval{kind: kNull}
		}
	}
	val, _ := toFval(cur)
	return val
}

func (o *fop) holds(v fval) bool {
	switch o.op {
	case "$eq":
		return v == o.val
	case "$ne":
		return v != o.val
	case "$in", "$nin":
		in := false
		for _, s := range o.set {
			if v == s {
				in = true
				break
			}
		}
		return in == (o.op == "$in")
	}
	if v.kind != o.val.kind {
		return false
	}
	c := compare(v, o.val)
	switch o.op {
	case "$lt":
		return c < 0
	case "$lte":
		return c <= 0
	case "$gt":
		return c > 0
	default: // $gte
		return c >= 0
	}
}

func compare(a, b fval) int {
	if a.kind == kString {
		return strings.Compare(a.s, b.s)
	}
	switch {
	case a.n < b.n:
		return -1
	case a.n > b.n:
		return 1
	}
	return 0
}
