package dataset

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aiflow/aiflow/spec"
)

// ParseMap parses --map flags, each var=column, into var → column.
func ParseMap(flags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range flags {
		v, c, ok := strings.Cut(f, "=")
		v, c = strings.TrimSpace(v), strings.TrimSpace(c)
		if !ok || v == "" || c == "" {
			return nil, fmt.Errorf("--map %q: want var=column", f)
		}
		if prev, dup := out[v]; dup && prev != c {
			return nil, fmt.Errorf("--map: var %q mapped twice (to %q and %q)", v, prev, c)
		}
		out[v] = c
	}
	return out, nil
}

// ResolveMap decides which column feeds which var: every column named like a var feeds
// it, and explicit (from --map) adds or overrides pairs. A --map naming a var the flow
// does not declare, or a column the dataset does not have, is an error, so nothing runs
// with a typo. Columns that match no var are ignored. When cols is empty (no row of a
// JSONL file parses), columns are not checked.
func ResolveMap(vars []string, cols []string, explicit map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for _, c := range cols {
		if slices.Contains(vars, c) {
			out[c] = c
		}
	}
	var errs []string
	names := make([]string, 0, len(explicit))
	for v := range explicit {
		names = append(names, v)
	}
	sort.Strings(names)
	for _, v := range names {
		c := explicit[v]
		if !slices.Contains(vars, v) {
			errs = append(errs, fmt.Sprintf("--map %s=%s: the flow has no var %q%s (vars: %s)", v, c, v, spec.DidYouMean(v, vars), orNone(vars)))
			continue
		}
		if len(cols) > 0 && !slices.Contains(cols, c) {
			errs = append(errs, fmt.Sprintf("--map %s=%s: the dataset has no column %q%s (columns: %s)", v, c, c, spec.DidYouMean(c, cols), orNone(cols)))
			continue
		}
		out[v] = c
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return out, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
