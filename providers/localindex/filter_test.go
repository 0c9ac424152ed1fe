package localindex

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var filterDocs = map[string]map[string]any{
	"a": {"source": "a.md", "page": 3.0, "draft": false, "pandas": map[string]any{"nice": 42.0}},
	"b": {"source": "b.md", "page": 10.0, "draft": true},
	"c": {"source": "net/http", "page": 7.0, "year": "2021"},
	"d": {"source": "neu", "page": nil},
	"e": {},
}

func matchingDocs(t *testing.T, f map[string]any) []string {
	t.Helper()
	cf, err := compileFilter(f)
	if err != nil {
		t.Fatalf("compileFilter(%v): %v", f, err)
	}
	var ids []string
	for id, meta := range filterDocs {
		if cf.match(meta) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func TestFilterSemantics(t *testing.T) {
	tests := []struct {
		name   string
		filter map[string]any
		want   []string
	}{
		{"bare value is $eq", map[string]any{"source": "a.md"}, []string{"a"}},
		{"$eq number", map[string]any{"page": map[string]any{"$eq": 3}}, []string{"a"}},
		{"$eq bool", map[string]any{"draft": true}, []string{"b"}},
		{"$eq null matches null and missing", map[string]any{"page": nil}, []string{"d", "e"}},
		{"$ne matches missing", map[string]any{"draft": map[string]any{"$ne": true}}, []string{"a", "c", "d", "e"}},
		{"no type coercion", map[string]any{"year": 2021}, nil},
		{"$in", map[string]any{"source": map[string]any{"$in": []any{"a.md", "neu", 3}}}, []string{"a", "d"}},
		{"$in typed slice", map[string]any{"page": map[string]any{"$in": []int{7, 10}}}, []string{"b", "c"}},
		{"$nin", map[string]any{"source": map[string]any{"$nin": []string{"a.md", "b.md"}}}, []string{"c", "d", "e"}},
		{"$nin with null excludes missing", map[string]any{"page": map[string]any{"$nin": []any{nil, 3}}}, []string{"b", "c"}},
		{"range pair", map[string]any{"page": map[string]any{"$gte": 3, "$lt": 10}}, []string{"a", "c"}},
		{"$gt", map[string]any{"page": map[string]any{"$gt": 7}}, []string{"b"}},
		{"$lte", map[string]any{"page": map[string]any{"$lte": 7.0}}, []string{"a", "c"}},
		{"string prefix range", map[string]any{"source": map[string]any{"$gte": "net", "$lt": "neu"}}, []string{"c"}},
		{"range skips other types", map[string]any{"year": map[string]any{"$gt": 2000}}, nil},
		{"dotted path", map[string]any{"pandas.nice": 42}, []string{"a"}},
		{"keys are ANDed", map[string]any{"draft": false, "page": map[string]any{"$lt": 5}}, []string{"a"}},
		{"empty filter", map[string]any{}, []string{"a", "b", "c", "d", "e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, matchingDocs(t, tt.filter), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	tests := []struct {
		name   string
		filter map[string]any
		want   string
	}{
		{"unknown operator", map[string]any{"year": map[string]any{"$gtee": 1}}, `unknown operator "$gtee" (allowed: $eq, $ne, $in, $nin, $lt, $lte, $gt, $gte)`},
		{"top-level operator", map[string]any{"$or": []any{}}, `filter key "$or": top-level keys are metadata properties`},
		{"nested object", map[string]any{"pandas": map[string]any{"nice": 42}}, `write nested properties as a dotted key such as "pandas.nice"`},
		{"two lower bounds", map[string]any{"p": map[string]any{"$gt": 1, "$gte": 2}}, "only a lower bound"},
		{"eq with range", map[string]any{"p": map[string]any{"$eq": 1, "$lt": 2}}, "only a lower bound"},
		{"$in needs array", map[string]any{"p": map[string]any{"$in": "a"}}, "$in needs an array"},
		{"$in of objects", map[string]any{"p": map[string]any{"$in": []any{map[string]any{}}}}, "$in needs a string, number, boolean or null"},
		{"range of bool", map[string]any{"p": map[string]any{"$lt": true}}, "$lt needs a number or a string"},
		{"bare array", map[string]any{"p": []any{1}}, "$eq needs a string, number, boolean or null"},
		{"empty operators", map[string]any{"p": map[string]any{}}, "empty operator object"},
		{"empty key", map[string]any{"": 1}, "keys must be 1 to 512 characters"},
		{"quote in key", map[string]any{`a"b`: 1}, "without '\"'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileFilter(tt.filter)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// refMatch is a brute-force reading of Vectorize's filter rules, written independently of
// compileFilter, to check it against.
func refMatch(f, meta map[string]any) bool {
	for key, cond := range f {
		v, present := meta[key]
		if !present && strings.Contains(key, ".") {
			v, present = refNested(meta, strings.Split(key, "."))
		}
		if !present {
			v = nil
		}
		ops, isOps := cond.(map[string]any)
		if !isOps {
			ops = map[string]any{"$eq": cond}
		}
		for op, arg := range ops {
			if !refOp(op, arg, v) {
				return false
			}
		}
	}
	return true
}

func refNested(m map[string]any, path []string) (any, bool) {
	v, ok := m[path[0]]
	if !ok || len(path) == 1 {
		return v, ok
	}
	sub, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	return refNested(sub, path[1:])
}

func refNum(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

func refEq(stored, arg any) bool {
	if an, ok := refNum(arg); ok {
		sn, ok := stored.(float64)
		return ok && sn == an
	}
	switch a := arg.(type) {
	case nil:
		return stored == nil
	case string:
		s, ok := stored.(string)
		return ok && s == a
	case bool:
		b, ok := stored.(bool)
		return ok && b == a
	}
	return false
}

func refOp(op string, arg, stored any) bool {
	switch op {
	case "$eq":
		return refEq(stored, arg)
	case "$ne":
		return !refEq(stored, arg)
	case "$in", "$nin":
		found := false
		for _, a := range arg.([]any) {
			found = found || refEq(stored, a)
		}
		return found == (op == "$in")
	}
	var c int
	if an, ok := refNum(arg); ok {
		sn, ok := stored.(float64)
		if !ok {
			return false
		}
		c = cmpFloat(sn, an)
	} else {
		s, ok := stored.(string)
		if !ok {
			return false
		}
		c = strings.Compare(s, arg.(string))
	}
	return map[string]bool{"$lt": c < 0, "$lte": c <= 0, "$gt": c > 0, "$gte": c >= 0}[op]
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func randScalar(r *rand.Rand) any {
	switch r.IntN(5) {
	case 0:
		return []string{"x", "y", "z", "xy"}[r.IntN(4)]
	case 1:
		return float64(r.IntN(6))
	case 2:
		return r.IntN(6)
	case 3:
		return r.IntN(2) == 0
	}
	return nil
}

func randMeta(r *rand.Rand) map[string]any {
	m := map[string]any{}
	for _, k := range []string{"s", "n", "b", "m"} {
		if r.IntN(4) > 0 {
			v := randScalar(r)
			if i, ok := v.(int); ok {
				v = float64(i) // stored metadata is JSON: numbers are float64
			}
			m[k] = v
		}
	}
	if r.IntN(3) == 0 {
		m["o"] = map[string]any{"p": float64(r.IntN(4))}
	}
	return m
}

func randFilter(r *rand.Rand) map[string]any {
	f := map[string]any{}
	for range 1 + r.IntN(2) {
		key := []string{"s", "n", "b", "m", "o.p", "absent"}[r.IntN(6)]
		switch op := []string{"bare", "$eq", "$ne", "$in", "$nin", "range", "range2"}[r.IntN(7)]; op {
		case "bare":
			f[key] = randScalar(r)
		case "$in", "$nin":
			f[key] = map[string]any{op: []any{randScalar(r), randScalar(r)}}
		case "range", "range2":
			lo, hi := []string{"$gt", "$gte"}[r.IntN(2)], []string{"$lt", "$lte"}[r.IntN(2)]
			a, b := float64(r.IntN(6)), float64(r.IntN(6))
			if r.IntN(2) == 0 {
				f[key] = map[string]any{lo: []string{"x", "y"}[r.IntN(2)], hi: []string{"xz", "z"}[r.IntN(2)]}
			} else if op == "range" {
				f[key] = map[string]any{lo: a, hi: b}
			} else {
				f[key] = map[string]any{[]string{lo, hi}[r.IntN(2)]: a}
			}
		default:
			f[key] = map[string]any{op: randScalar(r)}
		}
	}
	return f
}

func TestFilterMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	metas := make([]map[string]any, 300)
	for i := range metas {
		metas[i] = randMeta(r)
	}
	matched := 0
	for i := range 400 {
		f := randFilter(r)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			cf, err := compileFilter(f)
			if err != nil {
				t.Fatalf("compileFilter(%v): %v", f, err)
			}
			for _, m := range metas {
				got, want := cf.match(m), refMatch(f, m)
				if got != want {
					t.Fatalf("filter %v on %v: got %v, reference %v", f, m, got, want)
				}
				if got {
					matched++
				}
			}
		})
	}
	if total := 400 * len(metas); matched < total/10 || matched > total*9/10 {
		t.Errorf("%d of %d filter evaluations matched: the random cases do not exercise both outcomes", matched, total)
	}
}
