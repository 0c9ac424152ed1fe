package engine

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// Options configure compiling a flow: which step kinds and providers exist.
type Options struct {
	Steps     *steps.Registry
	Providers *providers.Registry
	// LookupEnv reads environment variables for env(); nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	subflows  *subFlowSet // compiled sub-flow files, shared by a flow and its sub-flows
	chain     callChain   // the flow steps that led to this flow, when it is a sub-flow
}

// Flow is a compiled, validated flow: every expression compiled, every reference resolved,
// the dependency graph built. It is immutable and safe to plan and run many times.
type Flow struct {
	Spec      *spec.Flow
	Nodes     map[string]*Node
	Order     []string // topological order, stable (file order among independent steps)
	Outputs   []*OutputNode
	Providers map[string]*ProviderNode
	Models    map[string]*spec.Model
	Routes    map[string]*RouteNode
	Resources map[string]*ResourceNode
	funcs     *Funcs
	compiler  *Compiler
	opts      Options
	secrets   *secretSet
	walk      *walkPlan // the scheduler's view of Order (graph)
}

// Node is one compiled step.
type Node struct {
	ID      string
	Spec    *spec.Step
	Kind    steps.Kind
	Impl    steps.Step
	Inputs  map[string]*Template
	System  *Template
	User    *Template
	Msgs    *Template
	Params  *Template
	Schema  *Template
	When    *Template
	ForEach *Template
	Deps    []string // sorted step ids this step waits for
	Refs    *Refs
	// Candidates are the models the step may use, in preference order (for plan and checks).
	Candidates []string
}

// OutputNode is a compiled flow output.
type OutputNode struct {
	Name string
	T    *Template
	Refs *Refs
}

// ProviderNode is a compiled providers: entry.
type ProviderNode struct {
	Spec     *spec.Provider
	Info     providers.Info
	Settings map[string]*Template
	Retry    providers.RetryPolicy // the entry's retry:, zero for the client's defaults
}

// RouteNode is a compiled route.
type RouteNode struct {
	Spec  *spec.Route
	Conds []*Template // parallel to Spec.Rules; nil for a default rule
}

// ResourceNode is a compiled resource.
type ResourceNode struct {
	Spec     *spec.Resource
	Settings map[string]*Template
}

// literal is the value of setting key when the flow writes it without expressions, so
// validate and plan can judge it before anything runs; false when unset or computed.
func (rn *ResourceNode) literal(key string) (any, bool) {
	t, ok := rn.Settings[key]
	if !ok || !t.IsLiteral() {
		return nil, false
	}
	v, _ := t.Eval(nil)
	return v, true
}

// localProvider is the name under which the embedded engine is always available.
const localProvider = "local"

// Compile checks a parsed flow against the step and provider catalogues and compiles it.
// It returns every problem it finds, sorted; the Flow is nil when there are errors.
func Compile(f *spec.Flow, opts Options) (*Flow, spec.Diagnostics) {
	fl, diags, _ := compileFlow(f, opts)
	return fl, diags
}

// compileFlow compiles f and also returns how many levels of literal sub-flows nest
// below it.
func compileFlow(f *spec.Flow, opts Options) (*Flow, spec.Diagnostics, int) {
	if opts.subflows == nil {
		opts.subflows = newSubFlowSet()
	}
	if opts.Steps == nil {
		opts.Steps = steps.Default()
	}
	if opts.Providers == nil {
		opts.Providers = providers.Default()
	}
	c := &checker{opts: opts, diags: nil}
	c.secrets = newSecretSet()
	c.funcs = &Funcs{Dir: f.Dir, Roots: f.Reads, LookupEnv: opts.LookupEnv, OnEnv: c.secrets.onEnv}
	c.compiler = NewCompiler(c.funcs)
	fl := &Flow{Spec: f, Nodes: map[string]*Node{}, Providers: map[string]*ProviderNode{}, Models: map[string]*spec.Model{},
		Routes: map[string]*RouteNode{}, Resources: map[string]*ResourceNode{}, funcs: c.funcs, compiler: c.compiler, opts: opts, secrets: c.secrets}
	c.flow = fl
	c.providers(f)
	for _, m := range f.Models {
		fl.Models[m.Name] = m
		c.modelTarget(m)
	}
	c.resources(f)
	c.routes(f)
	for _, s := range f.Steps {
		c.step(s)
	}
	for _, o := range f.Outputs {
		t, refs, d := c.compiler.Compile(o.Value)
		c.diags.Add(d)
		c.checkRefs(refs, nil, "outputs."+o.Name)
		fl.Outputs = append(fl.Outputs, &OutputNode{Name: o.Name, T: t, Refs: refs})
	}
	c.vars(f)
	c.checkStepFields()
	c.graph()
	c.checkSubDepth()
	c.envWarnings()
	diags := c.diags.Sort()
	if diags.HasErrors() {
		return nil, diags, c.subDepth
	}
	return fl, diags, c.subDepth
}

type checker struct {
	opts     Options
	flow     *Flow
	diags    spec.Diagnostics
	compiler *Compiler
	funcs    *Funcs
	secrets  *secretSet
	envRefs  map[string]spec.Pos
	// warnedModels are models already reported as missing from the catalogue.
	warnedModels map[string]bool
	subDepth     int   // levels of literal sub-flows below this flow
	deepest      *Node // the step through which they nest deepest
}

func (c *checker) errf(pos spec.Pos, path, detail, format string, args ...any) {
	c.diags = append(c.diags, spec.Diagnostic{Severity: spec.Error, Pos: pos, Path: path, Summary: fmt.Sprintf(format, args...), Detail: detail})
}

func (c *checker) noteEnv(refs *Refs) {
	if c.envRefs == nil {
		c.envRefs = map[string]spec.Pos{}
	}
	for k, p := range refs.Env {
		if _, ok := c.envRefs[k]; !ok {
			c.envRefs[k] = p
		}
	}
}

func (c *checker) lookupEnv(name string) (string, bool) {
	if c.opts.LookupEnv != nil {
		return c.opts.LookupEnv(name)
	}
	return os.LookupEnv(name)
}

// envWarnings warns about env() variables that are unset now; at run time they are errors.
func (c *checker) envWarnings() {
	names := make([]string, 0, len(c.envRefs))
	for n := range c.envRefs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := c.lookupEnv(n); !ok {
			c.diags = append(c.diags, spec.Diagnostic{Severity: spec.Warning, Pos: c.envRefs[n], Summary: fmt.Sprintf("environment variable %s is not set", n),
				Detail: "a step that needs it will fail at run time; export it or put it in the environment of aiflow"})
		}
	}
}

func (c *checker) providers(f *spec.Flow) {
	for _, p := range f.Providers {
		path := "providers." + p.Name
		info, ok := c.opts.Providers.Lookup(p.Kind)
		if !ok {
			if p.Kind != "" {
				c.errf(p.KindPos, path+".kind", "known kinds: "+strings.Join(c.opts.Providers.Names(), ", "),
					"unknown provider kind %q%s", p.Kind, spec.DidYouMean(p.Kind, c.opts.Providers.Names()))
			}
			continue
		}
		pn := &ProviderNode{Spec: p, Info: info, Settings: map[string]*Template{}}
		c.flow.Providers[p.Name] = pn
		var allowed []string
		for _, sf := range info.Settings {
			allowed = append(allowed, sf.Name)
		}
		for _, s := range p.Settings {
			sp := path + "." + s.Key
			if s.Key == "retry" { // every provider's HTTP retry policy, read by the engine
				pn.Retry = c.providerRetry(s.Value, sp)
				continue
			}
			field, known := settingField(info, s.Key)
			if !known {
				sorted := append([]string(nil), allowed...)
				sort.Strings(sorted)
				c.errf(s.KeyPos, sp, "settings of "+p.Kind+": "+strings.Join(sorted, ", "),
					"unknown setting %q%s", s.Key, spec.DidYouMean(s.Key, allowed))
				continue
			}
			t, refs, d := c.compiler.Compile(s.Value)
			c.diags.Add(d)
			c.checkRefs(refs, nil, sp)
			c.noteEnv(refs)
			if field.Secret && len(refs.Env) == 0 {
				c.errf(s.Value.Pos, sp, `write it as ${ env("NAME") } and keep the value in the environment`,
					"secret %s must come from env()", s.Key)
			}
			if t.IsLiteral() {
				v, _ := t.Eval(nil)
				if err := checkSetting(field, v); err != nil {
					c.errf(s.Value.Pos, sp, field.Doc, "%v", err)
				}
			}
			pn.Settings[s.Key] = t
		}
		for _, sf := range info.Settings {
			if sf.Required && p.Setting(sf.Name) == nil {
				c.errf(p.Pos, path+"."+sf.Name, sf.Doc, "missing required setting %s", sf.Name)
			}
		}
	}
	if _, ok := c.flow.Providers[localProvider]; !ok {
		if info, ok := c.opts.Providers.Lookup("local"); ok && f.ProviderByName(localProvider) == nil {
			c.flow.Providers[localProvider] = &ProviderNode{Spec: &spec.Provider{Name: localProvider, Kind: "local"}, Info: info, Settings: map[string]*Template{}}
		}
	}
}

// providerRetry reads a provider's retry: {attempts, backoff, max_backoff}.
func (c *checker) providerRetry(v *spec.Value, path string) providers.RetryPolicy {
	var rp providers.RetryPolicy
	m, ok := v.Plain().(map[string]any)
	if !ok || v.HasExpr() {
		c.errf(v.Pos, path, "e.g. retry: { attempts: 3, backoff: 200ms, max_backoff: 10s }", "retry must be a literal mapping")
		return rp
	}
	for k, x := range m {
		switch k {
		case "attempts":
			n, ok := x.(int)
			if !ok || n < 1 || n > 20 {
				c.errf(v.Pos, path+".attempts", "", "attempts must be an integer from 1 to 20, got %s", spec.DescribeValue(x))
			}
			rp.Attempts = n
		case "backoff", "max_backoff":
			s, _ := x.(string)
			d, err := spec.ParseDuration(s)
			if err != nil || s == "" {
				c.errf(v.Pos, path+"."+k, "use a duration such as 200ms or 10s", "invalid %s %s", k, spec.DescribeValue(x))
			}
			if k == "backoff" {
				rp.Backoff = d
			} else {
				rp.MaxBackoff = d
			}
		default:
			c.errf(v.Pos, path+"."+k, "retry takes attempts, backoff, max_backoff", "unknown key %q%s", k, spec.DidYouMean(k, []string{"attempts", "backoff", "max_backoff"}))
		}
	}
	return rp
}

// checkSetting checks a literal provider setting against its declared type.
func checkSetting(f providers.SettingField, v any) error {
	if v == nil {
		return nil
	}
	ok := true
	switch f.Type {
	case "string":
		_, ok = v.(string)
	case "int", "integer":
		_, ok = v.(int)
	case "number":
		switch v.(type) {
		case int, float64:
		default:
			ok = false
		}
	case "bool", "boolean":
		_, ok = v.(bool)
	case "object":
		_, ok = v.(map[string]any)
	case "duration":
		s, isStr := v.(string)
		if _, err := spec.ParseDuration(s); !isStr || err != nil {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("expected %s for %s, got %s", f.Type, f.Name, spec.DescribeValue(v))
	}
	return nil
}

func settingField(info providers.Info, key string) (providers.SettingField, bool) {
	for _, sf := range info.Settings {
		if sf.Name == key {
			return sf, true
		}
	}
	return providers.SettingField{}, false
}

func (c *checker) providerNames() []string {
	var names []string
	for n := range c.flow.Providers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (c *checker) modelTarget(m *spec.Model) {
	if _, ok := c.flow.Providers[m.Provider]; ok {
		return
	}
	if c.flow.Spec.ProviderByName(m.Provider) != nil {
		return // its kind was already reported
	}
	c.errf(m.Pos, "models."+m.Name, declared("providers", c.providerNames()),
		"unknown provider %q%s", m.Provider, spec.DidYouMean(m.Provider, c.providerNames()))
}

func (c *checker) vars(f *spec.Flow) {
	for _, v := range f.Vars {
		if v.Default != nil && v.Default.HasExpr() {
			_, refs, d := c.compiler.Compile(v.Default)
			c.diags.Add(d)
			c.noteEnv(refs)
			if len(refs.Steps) > 0 || len(refs.Each) > 0 {
				c.errf(v.Default.Pos, v.Default.Path, "defaults are evaluated before any step runs", "a var default cannot refer to steps")
			}
		}
	}
}

// checkRefs reports references to unknown steps, vars and resources; node is the step
// making them, or nil for flow-level values.
func (c *checker) checkRefs(refs *Refs, node *Node, path string) {
	f := c.flow.Spec
	for _, id := range refs.StepIDs() {
		pos := refs.Steps[id][0]
		target := f.StepByID(id)
		switch {
		case target == nil:
			c.errf(pos, path, "", "unknown step %q%s", id, spec.DidYouMean(id, c.stepIDs()))
		case node != nil && id == node.ID:
			c.errf(pos, path, "use each for for_each items, or split the step in two", "step %q refers to its own output", id)
		default:
			c.checkOutputFields(target, refs.Outputs[id], pos, path)
		}
	}
	for name, ps := range refs.Vars {
		if f.VarByName(name) == nil {
			var vars []string
			for _, v := range f.Vars {
				vars = append(vars, v.Name)
			}
			c.errf(ps[0], path, declared("vars", vars), "unknown var %q%s", name, spec.DidYouMean(name, vars))
		}
	}
	for name, ps := range refs.Resources {
		if f.ResourceByName(name) == nil {
			var res []string
			for _, r := range f.Resources {
				res = append(res, r.Name)
			}
			c.errf(ps[0], path, declared("resources", res), "unknown resource %q%s", name, spec.DidYouMean(name, res))
		}
	}
	if len(refs.Each) > 0 && (node == nil || node.Spec.ForEach == nil || strings.HasSuffix(path, ".for_each")) {
		c.errf(refs.Each[0], path, "each.value and each.index exist only in a step with for_each", "each used outside for_each")
	}
}

func (c *checker) stepIDs() []string {
	ids := make([]string, 0, len(c.flow.Spec.Steps))
	for _, s := range c.flow.Spec.Steps {
		ids = append(ids, s.ID)
	}
	return ids
}

func declared(what string, names []string) string {
	if len(names) == 0 {
		return "the flow declares no " + what
	}
	sort.Strings(names)
	return "declared " + what + ": " + strings.Join(names, ", ")
}

func (c *checker) checkOutputFields(target *spec.Step, fields []string, pos spec.Pos, path string) {
	kind, ok := c.opts.Steps.Lookup(target.Uses)
	if !ok || len(kind.Outputs) == 0 {
		return
	}
	var names []string
	for _, o := range kind.Outputs {
		names = append(names, o.Name)
	}
	for _, f := range fields {
		found := false
		for _, n := range names {
			if n == f {
				found = true
			}
		}
		if !found {
			c.errf(pos, path, fmt.Sprintf("%s steps output %s", target.Uses, strings.Join(names, ", ")),
				"step %q has no output %q%s", target.ID, f, spec.DidYouMean(f, names))
		}
	}
}
