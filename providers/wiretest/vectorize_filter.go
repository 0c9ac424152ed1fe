package wiretest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// vzFilter is a compiled metadata filter: every clause must hold.
type vzFilter []vzClause

type vzClause struct {
	key string
	ops []vzOp
}

type vzOp struct {
	op  string
	val any   // $eq $ne and ranges
	set []any // $in $nin
}

// vzCompileFilter validates a filter the way Vectorize documents it: compact JSON under
// 2048 bytes; keys non-empty, at most 512 characters, without '"', not starting with '$',
// '.' only between path segments; a bare value means $eq; operators $eq $ne (string,
// number, boolean, null), $in $nin (arrays of those), $lt $lte $gt $gte (a number or a
// string); several operators on one key only as one lower plus one upper bound.
func vzCompileFilter(raw json.RawMessage) (vzFilter, string) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, ""
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, "filter is not valid JSON"
	}
	if compact.Len() >= vzMaxFilterBytes {
		return nil, fmt.Sprintf("filter is %d bytes as compact JSON, the limit is %d", compact.Len(), vzMaxFilterBytes-1)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, "filter must be a JSON object of metadata properties"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var f vzFilter
	for _, k := range keys {
		c, msg := vzCompileClause(k, m[k])
		if msg != "" {
			return nil, msg
		}
		f = append(f, c)
	}
	return f, ""
}

func vzCompileClause(key string, v any) (vzClause, string) {
	if msg := vzCheckFilterKey(key); msg != "" {
		return vzClause{}, msg
	}
	c := vzClause{key: key}
	switch t := v.(type) {
	case map[string]any:
		return c.compileOps(t)
	case []any:
		return c, fmt.Sprintf("filter %q: an array needs an operator ($in or $nin)", key)
	default:
		c.ops = []vzOp{{op: "$eq", val: v}}
		return c, ""
	}
}

// vzCheckFilterKey applies the key rules.
func vzCheckFilterKey(key string) string {
	switch {
	case key == "" || utf8.RuneCountInString(key) > 512:
		return fmt.Sprintf("filter key %q must be 1 to 512 characters", key)
	case strings.Contains(key, `"`):
		return fmt.Sprintf("filter key %q may not contain '\"'", key)
	case strings.HasPrefix(key, "$"):
		return fmt.Sprintf("filter key %q may not start with '$'", key)
	}
	for _, seg := range strings.Split(key, ".") {
		if seg == "" {
			return fmt.Sprintf("filter key %q: '.' only separates nested properties", key)
		}
	}
	return ""
}

func (c vzClause) compileOps(ops map[string]any) (vzClause, string) {
	if len(ops) == 0 {
		return c, fmt.Sprintf("filter %q: empty operator object", c.key)
	}
	names := make([]string, 0, len(ops))
	for op := range ops {
		names = append(names, op)
	}
	sort.Strings(names)
	for _, op := range names {
		o, msg := vzCompileOp(c.key, op, ops[op])
		if msg != "" {
			return c, msg
		}
		c.ops = append(c.ops, o)
	}
	if len(c.ops) > 1 && !vzBounds(names) {
		return c, fmt.Sprintf("filter %q: operators %s cannot be combined (only a lower bound with an upper bound)", c.key, strings.Join(names, ", "))
	}
	return c, ""
}

// vzBounds reports whether ops is exactly one lower bound and one upper bound.
func vzBounds(ops []string) bool {
	if len(ops) != 2 {
		return false
	}
	lower := func(s string) bool { return s == "$gt" || s == "$gte" }
	upper := func(s string) bool { return s == "$lt" || s == "$lte" }
	return lower(ops[0]) && upper(ops[1]) || upper(ops[0]) && lower(ops[1])
}

func vzCompileOp(key, op string, v any) (vzOp, string) {
	bad := func(want string) (vzOp, string) {
		return vzOp{}, fmt.Sprintf("filter %q: %s takes %s, got %s", key, op, want, vzJSONType(v))
	}
	switch op {
	case "$eq", "$ne":
		if !vzScalar(v) {
			return bad("a string, number, boolean or null")
		}
		return vzOp{op: op, val: v}, ""
	case "$in", "$nin":
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			return bad("a non-empty array")
		}
		for _, e := range list {
			if !vzScalar(e) {
				return bad("an array of strings, numbers, booleans or nulls")
			}
		}
		return vzOp{op: op, set: list}, ""
	case "$lt", "$lte", "$gt", "$gte":
		switch v.(type) {
		case string, float64:
			return vzOp{op: op, val: v}, ""
		}
		return bad("a number or a string")
	}
	return vzOp{}, fmt.Sprintf("filter %q: unknown operator %q (supported: $eq, $ne, $in, $nin, $lt, $lte, $gt, $gte)", key, op)
}

func vzScalar(v any) bool {
	switch v.(type) {
	case nil, string, float64, bool:
		return true
	}
	return false
}

func vzJSONType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	}
	return "an object"
}

// match reports whether vec passes every clause. A clause only sees vectors that its
// property's metadata index covered when they were written.
func (f vzFilter) match(vec *vzVector, metaIdx map[string]string) bool {
	for _, c := range f {
		if _, ok := metaIdx[c.key]; !ok || !vec.indexed[c.key] {
			return false
		}
		val, _ := vzLookup(vec.Metadata, c.key)
		for _, o := range c.ops {
			if !o.holds(val) {
				return false
			}
		}
	}
	return true
}

// holds applies one operator to a stored value. Strings compare on their indexed prefix;
// values of different types are never equal and never ordered.
func (o vzOp) holds(val any) bool {
	switch o.op {
	case "$eq":
		return vzEqual(val, o.val)
	case "$ne":
		return !vzEqual(val, o.val)
	case "$in", "$nin":
		in := false
		for _, e := range o.set {
			in = in || vzEqual(val, e)
		}
		return in == (o.op == "$in")
	}
	cmp, ok := vzCompare(val, o.val)
	if !ok {
		return false
	}
	switch o.op {
	case "$lt":
		return cmp < 0
	case "$lte":
		return cmp <= 0
	case "$gt":
		return cmp > 0
	}
	return cmp >= 0
}

func vzEqual(a, b any) bool {
	if sa, ok := a.(string); ok {
		sb, ok := b.(string)
		return ok && vzPrefixOf(sa) == vzPrefixOf(sb)
	}
	return a == b
}

// vzCompare orders two numbers or two strings (bytewise, on the indexed prefix).
func vzCompare(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		switch {
		case !ok:
			return 0, false
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case string:
		y, ok := b.(string)
		return strings.Compare(vzPrefixOf(x), vzPrefixOf(y)), ok
	}
	return 0, false
}

// vzPrefixOf cuts s to the bytes a string metadata index covers.
func vzPrefixOf(s string) string {
	if len(s) <= vzIndexedPrefix {
		return s
	}
	return s[:vzIndexedPrefix]
}
