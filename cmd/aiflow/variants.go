package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/spec"
)

// variantFlags collects --variant STEP=NAME.
func parseVariantFlags(flags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range flags {
		step, name, ok := strings.Cut(f, "=")
		if !ok || step == "" || name == "" {
			return nil, fmt.Errorf("--variant %q: want STEP=NAME", f)
		}
		out[step] = name
	}
	return out, nil
}

// loadFlowVariants is loadFlow with steps switched to the chosen variants (step → name)
// before compiling, so the engine sees an ordinary flow and the step cache keys each
// variant by its own content.
func loadFlowVariants(path string, allowRead []string, chosen map[string]string) (*engine.Flow, spec.Diagnostics) {
	if len(chosen) == 0 {
		return loadFlow(path, allowRead)
	}
	roots, err := spec.NewReadRoots(filepath.Dir(path), allowRead...)
	if err != nil {
		return nil, spec.Diagnostics{{Severity: spec.Error, Pos: spec.Pos{File: path}, Summary: "invalid --allow-read", Detail: err.Error()}}
	}
	f, diags := spec.ParseFileIn(path, roots)
	if diags.HasErrors() || f == nil {
		return nil, diags
	}
	steps := make([]string, 0, len(chosen))
	for s := range chosen {
		steps = append(steps, s)
	}
	sort.Strings(steps)
	for _, s := range steps {
		if err := f.SelectVariant(s, chosen[s]); err != nil {
			diags.Errorf(spec.Pos{File: path}, "steps."+s+".variants", "--variant %s=%s: %v", s, chosen[s], err)
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	fl, more := engine.Compile(f, engine.Options{})
	return fl, append(diags, more...).Sort()
}
