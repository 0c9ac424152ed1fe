// Package setting reads the loosely typed values of a provider entry's settings, as
// YAML and JSON decoding produce them, into Go values. Every error names the setting,
// as "setting <key>: …", so that a provider can return it as it is.
package setting

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// CheckKeys rejects the keys of m outside known, naming each as prefix+key and
// listing the known ones in their given order.
func CheckKeys(prefix string, m map[string]any, known []string) error {
	var bad []string
	for k := range m {
		if !slices.Contains(known, k) {
			bad = append(bad, prefix+k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("unknown setting %s (known: %s)", strings.Join(bad, ", "), strings.Join(known, ", "))
}

// String returns m[key] as a string; a missing or null key is "".
func String(m map[string]any, key string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("setting %s: want a string, got %T", key, v)
	}
	return s, nil
}

// Bool returns m[key] as a boolean; a missing or null key is false.
func Bool(m map[string]any, key string) (bool, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("setting %s: want true or false, got %T", key, v)
	}
	return b, nil
}

// Int returns m[key] as an int: any Go integer, or a float with no fraction. A
// missing or null key is 0.
func Int(m map[string]any, key string) (int, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return 0, nil
	}
	n, ok := ToInt(v)
	if !ok {
		return 0, fmt.Errorf("setting %s: want an integer, got %v", key, v)
	}
	return n, nil
}

// Duration returns m[key] as a duration: a Go duration string ("1h", "90s"), a
// time.Duration, or a number of seconds. A missing or null key is 0.
func Duration(m map[string]any, key string) (time.Duration, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return 0, nil
	}
	switch x := v.(type) {
	case string:
		d, err := time.ParseDuration(x)
		if err != nil {
			return 0, fmt.Errorf("setting %s: %w", key, err)
		}
		return d, nil
	case time.Duration:
		return x, nil
	}
	if f, ok := ToFloat(v); ok {
		return time.Duration(f * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("setting %s: want a duration like \"1h\" or seconds, got %T", key, v)
}

// ToInt converts any Go integer, or a float with no fraction, to an int; ok is false
// for anything else.
func ToInt(v any) (n int, ok bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int32:
		return int(x), true
	case int64:
		return int(x), true
	case uint:
		return int(x), true
	case uint32:
		return int(x), true
	case uint64:
		return int(x), true
	}
	if f, ok := ToFloat(v); ok && f == float64(int(f)) {
		return int(f), true
	}
	return 0, false
}

// ToFloat converts any Go integer or float to a float64; ok is false for anything else.
func ToFloat(v any) (f float64, ok bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}
