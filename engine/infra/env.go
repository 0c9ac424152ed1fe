package infra

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
)

// env is what one Plan, Apply or Destroy shares: the flow, evaluated vars, opened
// providers and backends. It is used by one goroutine.
type env struct {
	fl  *engine.Flow
	key string // flowKey(fl): the flow part of its resources' state keys
	// viewOnly is set by NewPlan: a resource that cannot be refreshed is planned from
	// its record, with the reason, instead of failing the plan; and NoRefresh applies.
	viewOnly bool
	// others maps kind/name of the local resources other flows record to their flow.
	others  map[string]string
	st      *store.Store
	opts    Options
	scope   map[string]any
	provs   map[string]providers.Provider
	dbs     map[string]providers.DatabaseBackend // by backend + provider
	closers []func() error
}

func newEnv(fl *engine.Flow, st *store.Store, opts Options) (*env, error) {
	if opts.StateDir == "" {
		if st == nil {
			return nil, fmt.Errorf("no state directory given")
		}
		opts.StateDir = st.Dir()
	}
	e := &env{fl: fl, key: flowKey(fl), st: st, opts: opts, provs: map[string]providers.Provider{}, dbs: map[string]providers.DatabaseBackend{}}
	vars, err := e.vars()
	if err != nil {
		return nil, err
	}
	e.scope = map[string]any{"vars": vars, "run": map[string]any{"id": "", "started_at": ""}, "resources": e.resourceRefs()}
	return e, nil
}

func (e *env) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// vars resolves var values: given ones, else their defaults.
func (e *env) vars() (map[string]any, error) {
	out := map[string]any{}
	comp := engine.NewCompiler(&engine.Funcs{Dir: e.fl.Spec.Dir, Roots: e.fl.Spec.Reads})
	for _, v := range e.fl.Spec.Vars {
		if x, ok := e.opts.Vars[v.Name]; ok {
			// A value that does not convert stays as given: the engine reports bad vars
			// with their position; a resource setting that uses one fails on its value.
			out[v.Name] = coerceVar(v.Type, x)
			continue
		}
		if v.Default == nil {
			continue
		}
		t, _, diags := comp.Compile(v.Default)
		if diags.HasErrors() {
			return nil, fmt.Errorf("var %s: %w", v.Name, diags.Err())
		}
		x, err := t.Eval(map[string]any{"vars": out})
		if err != nil {
			return nil, fmt.Errorf("var %s: %w", v.Name, err)
		}
		out[v.Name] = x
	}
	return out, nil
}

// coerceVar converts a command-line string to the var's declared type, when it can.
func coerceVar(typ string, v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	s = strings.TrimSpace(s)
	switch typ {
	case "integer":
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
	case "number":
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	case "boolean":
		if b, err := strconv.ParseBool(s); err == nil {
			return b
		}
	}
	return v
}

// resourceRefs is what ${ resources.x } gives inside resource settings, as in steps.
func (e *env) resourceRefs() map[string]any {
	out := map[string]any{}
	for name, rn := range e.fl.Resources {
		ref := map[string]any{"name": name, "kind": rn.Spec.Kind}
		for k, t := range rn.Settings {
			if t.IsLiteral() {
				ref[k], _ = t.Eval(nil)
			}
		}
		out[name] = ref
	}
	return out
}

// settings evaluates a resource's settings.
func (e *env) settings(rn *engine.ResourceNode) (map[string]any, error) {
	out := map[string]any{}
	for k, t := range rn.Settings {
		v, err := t.Eval(e.scope)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// providerSettings evaluates the settings of the providers: entry name.
func (e *env) providerSettings(name string) (*engine.ProviderNode, map[string]any, error) {
	pn, ok := e.fl.Providers[name]
	if !ok {
		return nil, nil, fmt.Errorf("provider %q is not declared under providers:", name)
	}
	out := map[string]any{}
	for k, t := range pn.Settings {
		v, err := t.Eval(e.scope)
		if err != nil {
			return nil, nil, fmt.Errorf("provider %q: %s", name, e.fl.Redact(err.Error()))
		}
		out[k] = v
	}
	return pn, out, nil
}

// account reads the Cloudflare account of a workers-ai provider entry.
func (e *env) account(name string) (*providers.CloudflareAccount, error) {
	if name == "" {
		return nil, fmt.Errorf("set provider: to a workers-ai provider entry (its account_id and api_token are used)")
	}
	pn, s, err := e.providerSettings(name)
	if err != nil {
		return nil, err
	}
	if pn.Info.Name != "workers-ai" {
		return nil, fmt.Errorf("provider %q is a %s provider; Cloudflare resources need a workers-ai one", name, pn.Info.Name)
	}
	a := &providers.CloudflareAccount{}
	a.ID, _ = s["account_id"].(string)
	a.Token, _ = s["api_token"].(string)
	a.BaseURL, _ = s["base_url"].(string)
	if a.ID == "" || a.Token == "" {
		return nil, fmt.Errorf("provider %q: account_id and api_token are required", name)
	}
	return a, nil
}

// provider opens a providers: entry once (vector-index backends such as vectorize call
// through it).
func (e *env) provider(name string) (providers.Provider, error) {
	if p, ok := e.provs[name]; ok {
		return p, nil
	}
	pn, s, err := e.providerSettings(name)
	if err != nil {
		return nil, err
	}
	p, err := pn.Info.New(providers.Config{Name: name, Kind: pn.Info.Name, Settings: s, HTTPClient: e.opts.HTTPClient,
		Retry: e.opts.Retry, StateDir: e.opts.StateDir})
	if err != nil {
		return nil, fmt.Errorf("provider %q: %s", name, e.fl.Redact(err.Error()))
	}
	e.provs[name] = p
	e.closers = append(e.closers, p.Close)
	return p, nil
}

// redact hides every env() value read so far.
func (e *env) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := e.fl.Redact(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (r *redactedError) Error() string { return r.msg }
func (r *redactedError) Unwrap() error { return r.err }

// norm passes v through JSON, as the state store does, so that desired, recorded and
// real values compare equal when they mean the same.
func norm(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return string(b)
	}
	return out
}

// str reads a string setting; a resource reference gives its name.
func str(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case map[string]any:
		s, _ := x["name"].(string)
		return s
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
