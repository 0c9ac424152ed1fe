package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/local"
	"github.com/aiflow/aiflow/spec"
	"gopkg.in/yaml.v3"
)

// apertiumCommand is the apertium command checked when a flow's local provider names none
// and by aiflow models; the CLI golden tests point it at a stand-in so that their output
// does not depend on the pairs this machine has.
var apertiumCommand = "apertium"

// varRef matches a value that is exactly one var: "${ vars.target_lang }".
var varRef = regexp.MustCompile(`^\$\{\s*vars\.([A-Za-z_][A-Za-z0-9_]*)\s*\}$`)

// translationWarnings warns about translate steps that may run on the local Apertium
// model for a language pair that is not installed, so validate and plan say so before a
// run fails on it. A from/to that is a literal or exactly one var is checked. At validate
// (vars nil) every model of the step's route counts, and a var's default and every value
// its enum allows; at plan, vars are the values the run would use (planVars), which also
// pick the route's rule when its condition reads only vars. Anything computed is left to
// the run.
func translationWarnings(ctx context.Context, fl *engine.Flow, vars map[string]any) spec.Diagnostics {
	var diags spec.Diagnostics
	pairs := map[[2]string]pairsResult{} // by apertium command and data directory
	for _, id := range fl.Order {
		n := fl.Nodes[id]
		if n.Kind.Task != providers.TaskTranslate {
			continue
		}
		bin, datadir, ok := apertiumCandidate(fl, n, vars)
		if !ok {
			continue
		}
		key := [2]string{bin, datadir}
		res, seen := pairs[key]
		if !seen {
			res.modes, res.err = local.ApertiumPairs(ctx, bin, datadir)
			pairs[key] = res
		}
		path := "steps." + id
		if res.err != nil {
			diags = append(diags, spec.Diagnostic{Severity: spec.Warning, Pos: n.Spec.Pos, Path: path,
				Summary: "this translate step may run on local/apertium, which will fail here: " + res.err.Error()})
			continue
		}
		froms, fromVal := stepValues(fl, n, "from", "en", vars)
		tos, toVal := stepValues(fl, n, "to", "", vars)
		for _, to := range tos {
			for _, from := range froms {
				problem := local.ApertiumPairProblem(from.value, to.value, res.modes)
				if problem == "" {
					continue
				}
				at, where := toVal, "to"
				if to.origin == "" && from.origin != "" {
					at, where = fromVal, "from"
				}
				what := fmt.Sprintf("translating %s to %s", from.value, to.value)
				if o := strings.TrimSpace(from.origin + " " + to.origin); o != "" {
					what += " " + o
				}
				d := spec.Diagnostic{Severity: spec.Warning, Pos: n.Spec.Pos, Path: path,
					Summary: what + " on local/apertium will fail: " + problem}
				if at != nil {
					d.Pos, d.Path = at.Pos, path+".with."+where
				}
				diags = append(diags, d)
			}
		}
	}
	return diags
}

type pairsResult struct {
	modes []string
	err   error
}

// candidateValue is one value a from/to may take, with where it comes from when a var
// gives it ("vars.target_lang allows fr").
type candidateValue struct{ value, origin string }

// apertiumCandidate reports whether the step may run on the local provider's Apertium
// model, and the command and data directory that provider uses (literal settings only).
func apertiumCandidate(fl *engine.Flow, n *engine.Node, vars map[string]any) (bin, datadir string, ok bool) {
	candidates := n.Candidates
	if c, chosen := routeChoice(fl, n, vars); chosen {
		candidates = []string{c}
	}
	for _, c := range candidates {
		prov, id, _ := strings.Cut(c, ":")
		pn, found := fl.Providers[prov]
		if !found || pn.Info.Name != local.Kind || id != "" && id != local.ModelApertium {
			continue
		}
		bin, datadir = apertiumCommand, ""
		if s, lit := literalSetting(pn, "apertium"); lit {
			bin = s
		}
		if s, lit := literalSetting(pn, "apertium_datadir"); lit {
			datadir = s
		}
		return bin, datadir, true
	}
	return "", "", false
}

func literalSetting(pn *engine.ProviderNode, key string) (string, bool) {
	t, ok := pn.Settings[key]
	if !ok || t == nil || !t.IsLiteral() {
		return "", false
	}
	v, err := t.Eval(nil)
	s, isString := v.(string)
	return s, err == nil && isString && s != ""
}

// routeChoice is the model a routed step uses with these var values, when its route's
// rules decide on vars alone; ok is false at validate (vars nil) or when they cannot tell.
func routeChoice(fl *engine.Flow, n *engine.Node, vars map[string]any) (string, bool) {
	if vars == nil || n.Spec.Route == nil {
		return "", false
	}
	r, ok := fl.Routes[n.Spec.Route.Name]
	if !ok || len(r.Spec.Split) > 0 {
		return "", false
	}
	for i, rule := range r.Spec.Rules {
		if i < len(r.Conds) && r.Conds[i] != nil {
			v, err := r.Conds[i].Eval(map[string]any{"vars": vars})
			if err != nil {
				return "", false
			}
			if b, isBool := v.(bool); !isBool || !b {
				continue
			}
		}
		ref := rule.Use.Name
		if m, alias := fl.Models[ref]; alias {
			return m.Provider + ":" + m.ID, true
		}
		if !strings.Contains(ref, ":") {
			ref += ":"
		}
		return ref, true
	}
	return "", false
}

// planVars are the var values a run would start from: the given ones, else the literal
// defaults (a default computed by an expression is left out).
func planVars(fl *engine.Flow, given map[string]any) map[string]any {
	vars := map[string]any{}
	for _, vr := range fl.Spec.Vars {
		if vr.Default == nil || vr.Default.Node == nil || strings.Contains(vr.Default.Node.Value, "${") {
			continue
		}
		var v any
		if vr.Default.Node.Decode(&v) == nil {
			vars[vr.Name] = v
		}
	}
	for k, v := range given {
		vars[k] = v
	}
	return vars
}

// stepValues lists the values the step's with.<key> may take (see translationWarnings)
// and the setting itself, nil when the key is absent and def applies.
func stepValues(fl *engine.Flow, n *engine.Node, key, def string, vars map[string]any) ([]candidateValue, *spec.Value) {
	var val *spec.Value
	for _, s := range n.Spec.With {
		if s.Key == key {
			val = s.Value
		}
	}
	if val == nil {
		if def == "" {
			return nil, nil
		}
		return []candidateValue{{value: def}}, nil
	}
	if val.Node == nil || val.Node.Kind != yaml.ScalarNode {
		return nil, val
	}
	raw := val.Node.Value
	if !strings.Contains(raw, "${") {
		return []candidateValue{{value: raw}}, val
	}
	m := varRef.FindStringSubmatch(strings.TrimSpace(raw))
	if m == nil {
		return nil, val // computed: left to the run
	}
	name := m[1]
	if vars != nil {
		if v, ok := vars[name].(string); ok {
			return []candidateValue{{value: v, origin: fmt.Sprintf("(vars.%s is %s)", name, v)}}, val
		}
		return nil, val
	}
	var out []candidateValue
	add := func(v, origin string) {
		for _, c := range out {
			if c.value == v {
				return
			}
		}
		out = append(out, candidateValue{value: v, origin: origin})
	}
	for _, vr := range fl.Spec.Vars {
		if vr.Name != name {
			continue
		}
		if vr.Default != nil && vr.Default.Node != nil && vr.Default.Node.Kind == yaml.ScalarNode && !strings.Contains(vr.Default.Node.Value, "${") {
			add(vr.Default.Node.Value, fmt.Sprintf("(the default of vars.%s)", name))
		}
		for _, e := range vr.Enum {
			if s, ok := e.(string); ok {
				add(s, fmt.Sprintf("(vars.%s allows %s)", name, s))
			}
		}
	}
	return out, val
}

// apertiumPairsNote is what aiflow models says about the local translator: the installed
// pairs, or that apertium is not installed.
func apertiumPairsNote(ctx context.Context) (pairs []string, note string) {
	modes, err := local.ApertiumPairs(ctx, apertiumCommand, "")
	switch {
	case errors.Is(err, local.ErrApertiumMissing):
		return nil, "apertium not installed (apt-get install apertium apertium-eng-spa)"
	case err != nil:
		return nil, "apertium pairs unknown: " + err.Error()
	case len(modes) == 0:
		return []string{}, "apertium installed, no pairs (e.g. apt-get install apertium-eng-spa)"
	}
	modes = slices.Clone(modes)
	return modes, "apertium pairs installed: " + strings.Join(modes, ", ")
}
