package vectorize

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/aiflow/aiflow/providers"
)

// Vectorize limits (Cloudflare's limits page of 2026-08-05; wire doc §6).
const (
	MaxDimensions     = 1536
	MaxIDBytes        = 64
	MaxNameBytes      = 64 // index and namespace names
	MaxMetadataBytes  = 10 << 10
	MaxTopK           = 100
	MaxTopKWithValues = 50 // with returnValues or returnMetadata "all"
	MaxFilterBytes    = 2047
	maxBatchVectors   = 5000
	maxBatchBytes     = 64 << 20 // Vectorize accepts uploads of up to 100 MB
	getChunk          = 100
	deleteChunk       = 1000
	defaultTopK       = 5
)

// metrics are the distance metrics aiflow and Vectorize share, under the same names.
var metrics = []string{"cosine", "euclidean", "dot-product"}

// checkSpec validates what Open and Describe need from an IndexSpec.
func checkSpec(spec providers.IndexSpec) error {
	if err := checkIndexName(spec.Name); err != nil {
		return err
	}
	if spec.Dimensions < 1 || spec.Dimensions > MaxDimensions {
		return fmt.Errorf("vectorize index %q: dimensions must be from 1 to %d, got %d", spec.Name, MaxDimensions, spec.Dimensions)
	}
	if !contains(metrics, spec.Metric) {
		return fmt.Errorf("vectorize index %q: metric %q is not one of %s", spec.Name, spec.Metric, strings.Join(metrics, ", "))
	}
	for prop, typ := range spec.MetadataIndexes {
		if typ != "string" && typ != "number" && typ != "boolean" {
			return fmt.Errorf("vectorize index %q: metadata index %q has type %q; want string, number or boolean", spec.Name, prop, typ)
		}
		if err := checkFilterKey(prop); err != nil {
			return fmt.Errorf("vectorize index %q: metadata index %w", spec.Name, err)
		}
	}
	return nil
}

// checkIndexName keeps a name within Vectorize's length and safe inside a URL path.
func checkIndexName(name string) error {
	if name == "" || len(name) > MaxNameBytes || strings.ContainsAny(name, "/?#% ") {
		return fmt.Errorf("vectorize index name %q: want 1 to %d bytes without '/', '?', '#', '%%' or spaces", name, MaxNameBytes)
	}
	return nil
}

// wireVector is one NDJSON line of an upsert.
type wireVector struct {
	ID        string         `json:"id"`
	Values    []float32      `json:"values"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	Namespace string         `json:"namespace,omitempty"`
}

// encodeVector checks one vector against the limits and returns its NDJSON line.
func encodeVector(v providers.Vector, dims int) ([]byte, error) {
	if err := checkID(v.ID); err != nil {
		return nil, err
	}
	if len(v.Values) != dims {
		return nil, fmt.Errorf("vector %q has %d dimensions, the index has %d", v.ID, len(v.Values), dims)
	}
	for i, x := range v.Values {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("vector %q: value %d is %v; Vectorize stores finite numbers only", v.ID, i, x)
		}
	}
	if len(v.Namespace) > MaxNameBytes {
		return nil, fmt.Errorf("vector %q: namespace is %d bytes, Vectorize's limit is %d", v.ID, len(v.Namespace), MaxNameBytes)
	}
	if err := checkMetadata(v.ID, v.Metadata); err != nil {
		return nil, err
	}
	line, err := json.Marshal(wireVector{ID: v.ID, Values: v.Values, Metadata: v.Metadata, Namespace: v.Namespace})
	if err != nil {
		return nil, fmt.Errorf("vector %q: encoding: %w", v.ID, err)
	}
	return line, nil
}

// checkID applies Vectorize's id rules: 1 to 64 bytes.
func checkID(id string) error {
	if id == "" {
		return fmt.Errorf("vector id is empty")
	}
	if len(id) > MaxIDBytes {
		return fmt.Errorf("vector id %q is %d bytes, Vectorize's limit is %d", id, len(id), MaxIDBytes)
	}
	return nil
}

// checkMetadata bounds a vector's metadata to 10 KiB of JSON with no '.' in any key.
func checkMetadata(id string, m map[string]any) error {
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("vector %q: metadata is not JSON: %w", id, err)
	}
	if len(b) > MaxMetadataBytes {
		return fmt.Errorf("vector %q: metadata is %d bytes of JSON, Vectorize's limit is %d", id, len(b), MaxMetadataBytes)
	}
	if key := dottedKey(m); key != "" {
		return fmt.Errorf("vector %q: metadata key %q contains '.', which Vectorize reserves for nested filter paths", id, key)
	}
	return nil
}

// dottedKey returns the first key, at any depth, that contains '.'.
func dottedKey(m map[string]any) string {
	for _, k := range sortedKeys(m) {
		if strings.Contains(k, ".") {
			return k
		}
		if sub, ok := m[k].(map[string]any); ok {
			if bad := dottedKey(sub); bad != "" {
				return k + "." + bad
			}
		}
	}
	return ""
}

// filterOps are the operators Vectorize accepts.
var filterOps = []string{"$eq", "$ne", "$in", "$nin", "$lt", "$lte", "$gt", "$gte"}

// checkFilter validates a filter before it is sent: size, keys, operators, and that every
// property has a metadata index (Vectorize silently matches nothing otherwise).
func checkFilter(f map[string]any, indexed map[string]string) error {
	if len(f) == 0 {
		return nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("filter is not JSON: %w", err)
	}
	if len(b) > MaxFilterBytes {
		return fmt.Errorf("filter is %d bytes of compact JSON, Vectorize's limit is %d", len(b), MaxFilterBytes)
	}
	for _, key := range sortedKeys(f) {
		if err := checkFilterKey(key); err != nil {
			return fmt.Errorf("filter %w", err)
		}
		if _, ok := indexed[key]; !ok {
			return fmt.Errorf("filter on %q: the property has no metadata index, so Vectorize would match nothing; add it to metadata_indexes (indexed: %s)", key, describeIndexed(indexed))
		}
		if err := checkClause(key, f[key]); err != nil {
			return err
		}
	}
	return nil
}

// checkFilterKey applies the key rules: 1 to 512 characters, no '"', not starting with '$',
// '.' only between nested property names.
func checkFilterKey(key string) error {
	switch {
	case key == "" || utf8.RuneCountInString(key) > 512:
		return fmt.Errorf("key %q: want 1 to 512 characters", key)
	case strings.Contains(key, `"`):
		return fmt.Errorf("key %q: '\"' is not allowed", key)
	case strings.HasPrefix(key, "$"):
		return fmt.Errorf("key %q: keys are metadata properties; operators (%s) go inside one, and $and/$or do not exist", key, strings.Join(filterOps, " "))
	}
	for _, seg := range strings.Split(key, ".") {
		if seg == "" {
			return fmt.Errorf("key %q: '.' only separates nested property names", key)
		}
	}
	return nil
}

// checkClause checks the value of one filter key: a scalar ($eq) or an operator object.
func checkClause(key string, v any) error {
	ops, ok := v.(map[string]any)
	if !ok {
		if !isScalar(v) {
			return fmt.Errorf("filter on %q: want a string, number, boolean, null or an operator object, got %T", key, v)
		}
		return nil
	}
	if len(ops) == 0 {
		return fmt.Errorf("filter on %q: empty operator object", key)
	}
	names := sortedKeys(ops)
	for _, op := range names {
		if err := checkOperand(op, ops[op]); err != nil {
			return fmt.Errorf("filter on %q: %w", key, err)
		}
	}
	if len(names) > 1 && !lowerAndUpper(names) {
		return fmt.Errorf("filter on %q: Vectorize combines operators on one property only as a lower and an upper bound, got %s", key, strings.Join(names, " "))
	}
	return nil
}

func checkOperand(op string, v any) error {
	switch op {
	case "$eq", "$ne":
		if !isScalar(v) {
			return fmt.Errorf("%s takes a string, number, boolean or null, got %T", op, v)
		}
	case "$in", "$nin":
		list, ok := asList(v)
		if !ok || len(list) == 0 {
			return fmt.Errorf("%s takes a non-empty list, got %T", op, v)
		}
		for _, e := range list {
			if !isScalar(e) {
				return fmt.Errorf("%s takes strings, numbers, booleans or nulls, got %T", op, e)
			}
		}
	case "$lt", "$lte", "$gt", "$gte":
		if _, isNum := number(v); !isNum {
			if _, isStr := v.(string); !isStr {
				return fmt.Errorf("%s takes a number or a string, got %T", op, v)
			}
		}
	default:
		return fmt.Errorf("unknown operator %q (Vectorize has %s)", op, strings.Join(filterOps, " "))
	}
	return nil
}

func lowerAndUpper(ops []string) bool {
	if len(ops) != 2 {
		return false
	}
	lower := func(s string) bool { return s == "$gt" || s == "$gte" }
	upper := func(s string) bool { return s == "$lt" || s == "$lte" }
	return lower(ops[0]) && upper(ops[1]) || upper(ops[0]) && lower(ops[1])
}

func isScalar(v any) bool {
	switch v.(type) {
	case nil, string, bool, int, int32, int64, float32, float64:
		return true
	}
	return false
}

// asList accepts the list shapes YAML and JSON decoding produce.
func asList(v any) ([]any, bool) {
	switch t := v.(type) {
	case []any:
		return t, true
	case []string:
		out := make([]any, len(t))
		for i, s := range t {
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

func describeIndexed(m map[string]string) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+" ("+m[k]+")")
	}
	return strings.Join(parts, ", ")
}

// batch is one upload body: NDJSON lines [from, to) of an Upsert call.
type batch struct {
	body     []byte
	from, to int
}

// splitBatches groups NDJSON lines into upload bodies of at most size lines and
// maxBatchBytes bytes (a single longer line still goes, alone).
func splitBatches(lines [][]byte, size int) []batch {
	var out []batch
	for from := 0; from < len(lines); {
		to, n := from, 0
		for to < len(lines) && to-from < size && (to == from || n+len(lines[to])+1 <= maxBatchBytes) {
			n += len(lines[to]) + 1
			to++
		}
		body := make([]byte, 0, n)
		for _, l := range lines[from:to] {
			body = append(append(body, l...), '\n')
		}
		out = append(out, batch{body: body, from: from, to: to})
		from = to
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
