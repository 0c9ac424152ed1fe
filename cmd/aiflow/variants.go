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

// selectVariants recompiles the flow with run's --variant choices (a no-op without them).
func selectVariants(fs *flowState, a runArgs, v view) int {
	if len(a.variant) == 0 {
		return exitOK
	}
	chosen, err := parseVariantFlags(a.variant)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	fl, diags := loadFlowVariants(a.flow, a.allowRead, chosen)
	if fl == nil {
		return v.fail(errInvalidFlow, fmt.Errorf("invalid flow %s", a.flow), diags)
	}
	fs.fl = fl
	return exitOK
}

// variantLabels records the --variant choices with the run ("variant.STEP": NAME), so
// runs show and runs diff say which variant ran.
func variantLabels(labels map[string]string, flags []string) map[string]string {
	chosen, _ := parseVariantFlags(flags)
	for step, name := range chosen {
		labels["variant."+step] = name
	}
	return labels
}
