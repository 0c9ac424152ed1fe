package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// stepTool runs a step of another kind inline (Env.Invoke) with its with: template
// evaluated on the call's arguments. result:, when given, picks what the model reads from
// the step's output; otherwise it reads the whole output as JSON.
type stepTool struct {
	uses      string
	model     string
	with      *tmpl
	result    *tmpl
	resources map[string]bool
}

var stepToolKeys = []string{"uses", "with", "model", "result"}

func decodeStepTool(n node, t *decl, d *spec.Diagnostics) backing {
	f, ok := n.fields(d, "a step tool", stepToolKeys...)
	if !ok {
		return nil
	}
	before := len(*d)
	st := &stepTool{resources: map[string]bool{}}
	if u, ok := f["uses"]; !ok {
		n.errorf(d, "step tool %q needs uses: (the step kind to run)", t.spec.Name)
	} else if st.uses, ok = u.str(d, "uses"); ok {
		checkToolKind(u, st.uses, f, d)
	}
	if m, ok := f["model"]; ok {
		if st.model, ok = m.str(d, "model"); ok && strings.Contains(st.model, "${") {
			m.errorf(d, "model is static in tool templates; give an alias or provider:model-id")
		}
	}
	c := &compiler{scope: []string{"args", "resources"}, resources: st.resources, params: properties(t.spec.Parameters), diags: d}
	if w, ok := f["with"]; ok {
		if w.n.Kind != yaml.MappingNode {
			w.errorf(d, "with must be a mapping, got %s", describe(w.n))
		} else {
			st.with = c.compile(w)
		}
	}
	if r, ok := f["result"]; ok {
		c.scope = append(c.scope, "output")
		st.result = c.compile(r)
	}
	if spec.Diagnostics((*d)[before:]).HasErrors() {
		return nil
	}
	return st
}

// checkToolKind checks uses: and the with: keys against the default registry, and that
// Literal inputs (a query's sql) hold no ${ }: a model's arguments reach a step only
// through inputs that treat them as values. A kind it does not know is only a warning:
// the engine may run with another registry.
func checkToolKind(u node, uses string, f map[string]node, d *spec.Diagnostics) {
	kind, ok := steps.Default().Lookup(uses)
	if !ok {
		d.Warnf(u.pos(), u.path, "step kind %q is not registered%s", uses, spec.DidYouMean(uses, steps.Default().Names()))
		return
	}
	if kind.Accepts("prompt") {
		u.errorf(d, "step kind %q takes a prompt, which a step tool cannot give", uses)
		(*d)[len(*d)-1].Detail = "use kinds that work from inputs alone (search, embed, summarize, translate, classify, transform, flow…)"
	}
	if m, ok := f["model"]; ok && kind.Task == "" {
		m.errorf(d, "step kind %q calls no model", uses)
	}
	w, ok := f["with"]
	if !ok || w.n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(w.n.Content); i += 2 {
		k, v := w.n.Content[i], w.n.Content[i+1]
		f, ok := kind.Input(k.Value)
		if !ok {
			d.Errorf(spec.Pos{File: w.file, Line: k.Line, Col: k.Column}, w.path+"."+k.Value,
				"%s takes no input %q%s", uses, k.Value, spec.DidYouMean(k.Value, kind.InputNames()))
			continue
		}
		if f.Literal && templateHasExpr(v) {
			d.Errorf(spec.Pos{File: w.file, Line: v.Line, Col: v.Column}, w.path+"."+k.Value,
				"%s is written out in tool templates; ${ } is refused", k.Value)
			(*d)[len(*d)-1].Detail = "a model's argument spliced into it could change what it does; pass arguments in an input that binds them (a query's params: [${ args.name }])"
		}
	}
}

// templateHasExpr reports whether a template value holds a ${ } expression anywhere
// ("$${" is a literal "${"; a malformed one counts).
func templateHasExpr(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return templateHasExpr(n.Alias)
	}
	if n.Kind != yaml.ScalarNode {
		for _, c := range n.Content {
			if templateHasExpr(c) {
				return true
			}
		}
		return false
	}
	return n.Tag == "!!str" && spec.TemplateHasExpr(n.Value)
}

func (s *stepTool) note() string {
	if s.model != "" {
		return fmt.Sprintf("step %s (model %s)", s.uses, s.model)
	}
	return "step " + s.uses
}

func (s *stepTool) run(ctx context.Context, env steps.Env, args map[string]any) (toolOut, error) {
	scope := map[string]any{"args": args, "resources": resourceScope(s.resources)}
	inputs := map[string]any{}
	if s.with != nil {
		v, err := s.with.eval(ctx, scope)
		if err != nil {
			return toolOut{}, fmt.Errorf("with: %w", err)
		}
		inputs, _ = v.(map[string]any)
	}
	res, err := env.Invoke(ctx, s.uses, inputs, s.model)
	if err != nil {
		return toolOut{}, err
	}
	var out any = res.Output
	if s.result != nil {
		scope["output"] = res.Output
		if out, err = s.result.eval(ctx, scope); err != nil {
			return toolOut{usage: res.Usage}, fmt.Errorf("result: %w", err)
		}
	}
	return toolOut{text: resultText(out), usage: res.Usage}, nil
}

// flowTool runs another flow file with the call's arguments as its vars; the model reads
// the sub-flow's outputs as JSON.
type flowTool struct{ path string }

func decodeFlowTool(n node, d *spec.Diagnostics) backing {
	p, ok := n.str(d, "flow")
	if !ok {
		return nil
	}
	switch ext := strings.ToLower(filepath.Ext(p)); {
	case strings.Contains(p, "${"):
		n.errorf(d, "flow is static in tools; give the file's path")
	case ext != ".yaml" && ext != ".yml":
		n.errorf(d, "flow %q is not a flow file", p)
		(*d)[len(*d)-1].Detail = "give a .yaml or .yml file, relative to this flow's file"
	default:
		return &flowTool{path: p}
	}
	return nil
}

func (f *flowTool) note() string { return "flow " + f.path }

func (f *flowTool) run(ctx context.Context, env steps.Env, args map[string]any) (toolOut, error) {
	out, err := env.RunFlow(ctx, f.path, args)
	if err != nil {
		return toolOut{}, err
	}
	if out == nil {
		out = map[string]any{}
	}
	return toolOut{text: resultText(out)}, nil
}
