package spec

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Keys accepted at each level; they feed unknown-key errors and schema.json.
var (
	TopKeys    = []string{"aiflow", "name", "description", "vars", "providers", "models", "routes", "resources", "steps", "outputs", "budget", "defaults", "state"}
	VarKeys    = []string{"type", "description", "default", "enum", "secret"}
	VarTypes   = []string{"string", "number", "integer", "boolean", "list", "object", "any"}
	RouteKeys  = []string{"rules", "fallback", "split"}
	RuleKeys   = []string{"when", "use"}
	StepKeys   = []string{"uses", "description", "with", "model", "route", "prompt", "params", "output", "tools", "when", "for_each", "batch", "parallelism", "max_items", "needs", "cache", "retry", "timeout", "continue_on_error", "variants"}
	PromptKeys = []string{"system", "user", "messages", "file"}
	OutputKeys = []string{"schema"}
	CacheKeys  = []string{"ttl", "mode"}
	RetryKeys  = []string{"attempts", "backoff"}
	BatchKeys  = []string{"size", "async", "poll"}
	BudgetKeys = []string{"usd"}
	StateKeys  = []string{"backend", "url"}
	// StateBackends are the values of state.backend.
	StateBackends = []string{"sqlite", "postgres"}
	DefaultsKeys  = []string{"cache", "retry", "timeout"}
)

func (p *parser) flow(f *Flow, root *yaml.Node) {
	if root.Kind != yaml.MappingNode {
		p.errf(root, "", "a flow file must be a mapping, got %s", kindName(root))
		return
	}
	seen := map[string]bool{}
	for _, e := range p.fields(root, "", "a mapping", TopKeys) {
		seen[e.key] = true
		switch e.key {
		case "aiflow":
			if v, ok := p.integer(e.v, e.key, 0); ok {
				f.Version = v
				if v != FormatVersion {
					p.errf(e.v, e.key, "unsupported format version %d", v)
					p.diags[len(p.diags)-1].Detail = fmt.Sprintf("this aiflow reads format version %d", FormatVersion)
				}
			}
		case "name":
			f.Name, _ = p.literal(e.v, e.key)
		case "description":
			f.Description, _ = p.str(e.v, e.key)
		case "vars":
			p.vars(f, e)
		case "providers":
			p.providers(f, e)
		case "models":
			p.models(f, e)
		case "routes":
			p.routes(f, e)
		case "resources":
			p.resources(f, e)
		case "steps":
			p.steps(f, e)
		case "outputs":
			for _, o := range p.namedEntries(e, "output name") {
				f.Outputs = append(f.Outputs, &Output{Name: o.key, Value: p.value(o.v, o.path), Pos: p.pos(o.k)})
			}
		case "budget":
			f.Budget = p.budget(e)
		case "defaults":
			p.defaults(f, e)
		case "state":
			f.State = p.state(e)
		}
	}
	if !seen["aiflow"] {
		p.errf(root, "aiflow", "missing format version")
		p.diags[len(p.diags)-1].Detail = `start the file with "aiflow: 1"`
	}
	if !seen["steps"] {
		p.errf(root, "steps", "missing steps")
		p.diags[len(p.diags)-1].Detail = "a flow needs a steps: mapping of step id → step"
	}
}

// namedEntries returns a mapping's pairs whose keys are valid identifiers.
func (p *parser) namedEntries(e kv, what string) []kv {
	ps, _ := p.pairs(e.v, e.path, "a mapping of "+what+" → definition")
	var out []kv
	for _, x := range ps {
		if p.ident(x.k, x.path, what) {
			out = append(out, x)
		}
	}
	return out
}

func (p *parser) vars(f *Flow, e kv) {
	for _, x := range p.namedEntries(e, "var name") {
		v := &Var{Name: x.key, Type: "any", Pos: p.pos(x.k)}
		f.Vars = append(f.Vars, v)
		before := len(p.diags)
		if x.v.Kind != yaml.MappingNode { // shorthand: name: default
			if x.v.Tag != "!!null" {
				v.Default = p.value(x.v, x.path)
				v.Type = inferType(x.v)
			}
			continue
		}
		for _, g := range p.fields(x.v, x.path, "a var definition", VarKeys) {
			switch g.key {
			case "type":
				if s, ok := p.oneOf(g.v, g.path, "type", VarTypes, "allowed types"); ok {
					v.Type = s
				}
			case "description":
				v.Description, _ = p.str(g.v, g.path)
			case "default":
				v.Default = p.value(g.v, g.path)
			case "enum":
				if g.v.Kind != yaml.SequenceNode || len(g.v.Content) == 0 {
					p.errf(g.v, g.path, "expected a non-empty list of allowed values, got %s", kindName(g.v))
					continue
				}
				for i, c := range g.v.Content {
					p.checkNumbers(c, fmt.Sprintf("%s[%d]", g.path, i))
					v.Enum = append(v.Enum, NodeToAny(c))
				}
			case "secret":
				v.Secret, _ = p.boolean(g.v, g.path)
			}
		}
		if len(p.diags) == before { // a default or enum already refused is not checked again
			p.checkVarDefault(v)
		}
	}
}

func inferType(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "object"
	}
	switch n.Tag {
	case "!!int":
		return "integer"
	case "!!float":
		return "number"
	case "!!bool":
		return "boolean"
	case "!!str":
		if strings.Contains(n.Value, "${") {
			return "any"
		}
		return "string"
	}
	return "any"
}

func (p *parser) checkVarDefault(v *Var) {
	if v.Default == nil || v.Default.HasExpr() {
		return
	}
	val := v.Default.Plain()
	if err := CheckVarValue(v, val); err != nil {
		p.diags.Errorf(v.Default.Pos, v.Default.Path, "default %v", err)
	}
}

// CheckVarValue checks a concrete value against a var's type and enum.
func CheckVarValue(v *Var, val any) error {
	if err := checkFinite(v, val); err != nil {
		return err
	}
	if x, ok := val.(float64); ok && v.Type == "integer" {
		if whole, fits := integral(x); whole && !fits {
			return fmt.Errorf("%s is out of range for var %q of type integer (%s)", strconv.FormatFloat(x, 'g', -1, 64), v.Name, int64Range)
		}
	}
	if !TypeAccepts(v.Type, val) {
		return fmt.Errorf("is %s, but var %q has type %s", DescribeValue(val), v.Name, v.Type)
	}
	if len(v.Enum) > 0 {
		for _, e := range v.Enum {
			if fmt.Sprint(e) == fmt.Sprint(val) {
				return nil
			}
		}
		opts := make([]string, len(v.Enum))
		for i, e := range v.Enum {
			opts[i] = fmt.Sprint(e)
		}
		return fmt.Errorf("%q is not one of %s", fmt.Sprint(val), quoteList(opts))
	}
	return nil
}

// TypeAccepts reports whether val is of the var type name.
func TypeAccepts(typ string, val any) bool {
	switch typ {
	case "string":
		_, ok := val.(string)
		return ok
	case "integer":
		switch x := val.(type) {
		case int, int64:
			return true
		case float64:
			whole, fits := integral(x)
			return whole && fits
		}
		return false
	case "number":
		switch val.(type) {
		case int, int64, float64, float32:
			return true
		}
		return false
	case "boolean":
		_, ok := val.(bool)
		return ok
	case "list":
		_, ok := val.([]any)
		return ok
	case "object":
		_, ok := val.(map[string]any)
		return ok
	}
	return true
}

// DescribeValue names a value's type for messages ("a string", "a list", …).
func DescribeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", abbreviate(x, 40))
	case bool:
		return "a boolean"
	case int, int64:
		return "an integer"
	case float64, float32:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

func (p *parser) providers(f *Flow, e kv) {
	for _, x := range p.namedEntries(e, "provider name") {
		pr := &Provider{Name: x.key, Pos: p.pos(x.k)}
		var ok bool
		pr.Kind, pr.KindPos, pr.Settings, ok = p.kindBlock(x, "a provider definition (kind: …)",
			"say which provider this is, e.g. kind: workers-ai, openai, anthropic or local")
		if ok {
			f.Providers = append(f.Providers, pr)
		}
	}
}

// kindBlock reads a mapping whose kind: says what it is and whose other keys belong to that
// kind (providers, resources): the kind, where it was written and the other settings.
func (p *parser) kindBlock(x kv, what, missingDetail string) (string, Pos, []*Setting, bool) {
	ps, ok := p.pairs(x.v, x.path, what)
	if !ok {
		return "", Pos{}, nil, false
	}
	var kind string
	var kindPos Pos
	for _, g := range ps {
		if g.key == "kind" {
			kind, _ = p.literal(g.v, g.path)
			kindPos = p.pos(g.v)
		}
	}
	if kindPos.Line == 0 {
		p.errf(x.k, x.path+".kind", "missing kind")
		p.diags[len(p.diags)-1].Detail = missingDetail
	}
	return kind, kindPos, p.settings(ps, "kind"), true
}

func (p *parser) models(f *Flow, e kv) {
	for _, x := range p.namedEntries(e, "model alias") {
		s, ok := p.literal(x.v, x.path)
		if !ok {
			continue
		}
		m := &Model{Name: x.key, Pos: p.pos(x.v)}
		prov, id, found := strings.Cut(s, ":")
		if !found || prov == "" || id == "" {
			p.errf(x.v, x.path, "model %q must be written provider:model-id", s)
			p.diags[len(p.diags)-1].Detail = `e.g. cf:@cf/meta/llama-3.1-8b-instruct, where "cf" is a name under providers:`
			continue
		}
		m.Provider, m.ID = prov, id
		f.Models = append(f.Models, m)
	}
}

func (p *parser) routes(f *Flow, e kv) {
	for _, x := range p.namedEntries(e, "route name") {
		r := &Route{Name: x.key, Pos: p.pos(x.k)}
		f.Routes = append(f.Routes, r)
		for _, g := range p.fields(x.v, x.path, "a route definition", RouteKeys) {
			switch g.key {
			case "rules":
				p.rules(r, g)
			case "fallback":
				r.Fallback = p.refList(g.v, g.path)
			case "split":
				ps, _ := p.pairs(g.v, g.path, "a mapping of model → weight")
				for _, s := range ps {
					if w, ok := p.integer(s.v, s.path, 0); ok {
						r.Split = append(r.Split, &SplitArm{Model: Ref{Name: s.key, Pos: p.pos(s.k)}, Weight: w})
					}
				}
			}
		}
		if len(r.Rules) == 0 && len(r.Split) == 0 {
			p.errf(x.k, x.path, "route has neither rules nor split")
			p.diags[len(p.diags)-1].Detail = "give rules: [{when: …, use: model}, {use: model}] or split: {model: weight}"
		}
	}
}

func (p *parser) rules(r *Route, g kv) {
	if g.v.Kind != yaml.SequenceNode {
		p.errf(g.v, g.path, "expected a list of rules, got %s", kindName(g.v))
		return
	}
	for i, c := range g.v.Content {
		path := fmt.Sprintf("%s[%d]", g.path, i)
		rule := &RouteRule{Pos: p.pos(c)}
		hasUse := false
		for _, h := range p.fields(c, path, "a rule (when: …, use: …)", RuleKeys) {
			switch h.key {
			case "when":
				rule.When = p.exprValue(h.v, h.path)
			case "use":
				if s, ok := p.literal(h.v, h.path); ok {
					rule.Use, hasUse = Ref{Name: s, Pos: p.pos(h.v)}, true
				}
			}
		}
		if !hasUse && c.Kind == yaml.MappingNode {
			p.errf(c, path+".use", "rule has no use:")
			p.diags[len(p.diags)-1].Detail = "say which model alias the rule selects"
		}
		r.Rules = append(r.Rules, rule)
	}
}

// exprValue reads a condition: either "${ expr }" or a bare expression string.
func (p *parser) exprValue(n *yaml.Node, path string) *Value {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || strings.TrimSpace(n.Value) == "") {
		p.errf(n, path, "expected an expression, got nothing")
		p.diags[len(p.diags)-1].Detail = `write a condition such as vars.lang != "en"`
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		p.errf(n, path, "expected an expression, got %s", kindName(n))
		return nil
	}
	return p.value(n, path)
}

func (p *parser) resources(f *Flow, e kv) {
	for _, x := range p.namedEntries(e, "resource name") {
		r := &Resource{Name: x.key, Pos: p.pos(x.k)}
		var ok bool
		r.Kind, r.KindPos, r.Settings, ok = p.kindBlock(x, "a resource definition (kind: …)", "e.g. kind: vector-index")
		if ok {
			f.Resources = append(f.Resources, r)
		}
	}
}

func (p *parser) steps(f *Flow, e kv) {
	entries := p.namedEntries(e, "step id")
	if len(entries) == 0 && (e.v.Kind == yaml.MappingNode || e.v.Tag == "!!null") && len(p.diags.Errors()) == 0 {
		p.errf(e.v, e.path, "no steps")
		p.diags[len(p.diags)-1].Detail = "a flow needs at least one step"
	}
	for _, x := range entries {
		f.Steps = append(f.Steps, p.step(f, x))
	}
}

func (p *parser) step(f *Flow, x kv) *Step {
	s := &Step{ID: x.key, Pos: p.pos(x.k), Keys: map[string]Pos{}}
	for _, g := range p.fields(x.v, x.path, "a step definition (uses: …)", StepKeys) {
		s.Keys[g.key] = p.pos(g.k)
		switch g.key {
		case "uses":
			s.Uses, _ = p.literal(g.v, g.path)
			s.UsesPos = p.pos(g.v)
		case "description":
			s.Description, _ = p.str(g.v, g.path)
		case "with":
			ps, _ := p.pairs(g.v, g.path, "a mapping of inputs")
			s.With, s.WithPos = p.settings(ps), p.pos(g.v)
		case "model":
			if v, ok := p.literal(g.v, g.path); ok {
				s.Model = &Ref{Name: v, Pos: p.pos(g.v)}
			}
		case "route":
			if v, ok := p.literal(g.v, g.path); ok {
				s.Route = &Ref{Name: v, Pos: p.pos(g.v)}
			}
		case "prompt":
			s.Prompt = p.prompt(f, g)
		case "params":
			if _, ok := p.pairs(g.v, g.path, "a mapping of model parameters"); ok {
				s.Params = p.value(g.v, g.path)
			}
		case "output":
			s.Output = &OutputSpec{Pos: p.pos(g.v)}
			for _, h := range p.fields(g.v, g.path, "an output spec (schema: …)", OutputKeys) {
				if _, ok := p.pairs(h.v, h.path, "a JSON Schema mapping"); ok {
					s.Output.Schema = p.value(h.v, h.path)
				}
			}
		case "tools":
			s.Tools = p.value(g.v, g.path)
		case "when":
			s.When = p.exprValue(g.v, g.path)
		case "for_each":
			s.ForEach = p.value(g.v, g.path)
		case "batch":
			p.batch(s, g)
		case "parallelism":
			s.Parallelism, _ = p.integer(g.v, g.path, 1)
		case "max_items":
			s.MaxItems, _ = p.integer(g.v, g.path, 1)
		case "needs":
			s.Needs = p.refList(g.v, g.path)
		case "cache":
			s.Cache = p.cache(g)
		case "retry":
			s.Retry = p.retry(g)
		case "timeout":
			s.Timeout, _ = p.duration(g.v, g.path)
		case "continue_on_error":
			s.ContinueOnError, _ = p.boolean(g.v, g.path)
		case "variants":
			s.Variants = p.variants(f, g)
		}
	}
	if s.UsesPos.Line == 0 && (x.v.Kind == yaml.MappingNode || x.v.Tag == "!!null") {
		p.errf(x.k, x.path+".uses", "missing uses")
		p.diags[len(p.diags)-1].Detail = "say which step kind runs here, e.g. uses: generate"
	}
	if s.Model != nil && s.Route != nil {
		p.diags.Errorf(s.Route.Pos, x.path+".route", "a step takes model or route, not both")
	}
	if s.Batch > 0 && s.ForEach == nil {
		p.diags.Errorf(s.Keys["batch"], x.path+".batch", "batch needs for_each")
	}
	if s.MaxItems > 0 && s.ForEach == nil {
		p.diags.Errorf(s.Keys["max_items"], x.path+".max_items", "max_items needs for_each")
	}
	return s
}

// VariantKeys are the keys a step variant may override.
var VariantKeys = []string{"description", "model", "route", "prompt", "params", "with"}

// variants decodes a step's variants: name → the keys that differ from the step.
func (p *parser) variants(f *Flow, e kv) []*Variant {
	var out []*Variant
	for _, x := range p.namedEntries(e, "variant name") {
		v := &Variant{Name: x.key, Pos: p.pos(x.k), Keys: map[string]Pos{}}
		for _, g := range p.fields(x.v, x.path, "a variant (the model, route, prompt, params or with: inputs it changes)", VariantKeys) {
			v.Keys[g.key] = p.pos(g.k)
			switch g.key {
			case "description":
				v.Description, _ = p.str(g.v, g.path)
			case "model":
				if s, ok := p.literal(g.v, g.path); ok {
					v.Model = &Ref{Name: s, Pos: p.pos(g.v)}
				}
			case "route":
				if s, ok := p.literal(g.v, g.path); ok {
					v.Route = &Ref{Name: s, Pos: p.pos(g.v)}
				}
			case "prompt":
				v.Prompt = p.prompt(f, g)
			case "params":
				if _, ok := p.pairs(g.v, g.path, "a mapping of model parameters"); ok {
					v.Params = p.value(g.v, g.path)
				}
			case "with":
				ps, _ := p.pairs(g.v, g.path, "a mapping of inputs")
				v.With = p.settings(ps)
			}
		}
		if v.Model != nil && v.Route != nil {
			p.diags.Errorf(v.Route.Pos, x.path+".route", "a variant takes model or route, not both")
		}
		out = append(out, v)
	}
	return out
}

func (p *parser) prompt(f *Flow, g kv) *Prompt {
	pr := &Prompt{Pos: p.pos(g.v)}
	if g.v.Kind == yaml.ScalarNode {
		pr.User = p.value(g.v, g.path)
		return pr
	}
	for _, h := range p.fields(g.v, g.path, "a prompt (a string, or system/user/messages/file)", PromptKeys) {
		switch h.key {
		case "system":
			pr.System = p.value(h.v, h.path)
		case "user":
			pr.User = p.value(h.v, h.path)
		case "messages":
			if h.v.Kind != yaml.SequenceNode && !strings.Contains(h.v.Value, "${") {
				p.errf(h.v, h.path, "expected a list of {role, content} messages, got %s", kindName(h.v))
				continue
			}
			pr.Messages = p.value(h.v, h.path)
		case "file":
			name, ok := p.literal(h.v, h.path)
			if !ok {
				continue
			}
			pr.File, pr.FilePos = name, p.pos(h.v)
			b, err := f.Reads.ReadFile(filepath.Join(f.Dir, name))
			if err != nil {
				p.errf(h.v, h.path, "cannot read prompt file %q", name)
				p.diags[len(p.diags)-1].Detail = unwrapPathError(err).Error() + " (paths are relative to the flow file)"
				continue
			}
			pr.FileText = string(b)
			if _, err := SplitTemplate(pr.FileText); err != nil {
				p.errf(h.v, h.path, "prompt file %q: %v", name, err)
			}
		}
	}
	if pr.File != "" && pr.User != nil {
		p.errf(g.v, g.path, "a prompt takes user or file, not both")
	}
	return pr
}

func (p *parser) cache(g kv) *CachePolicy {
	c := &CachePolicy{Pos: p.pos(g.v)}
	if g.v.Kind == yaml.ScalarNode {
		switch g.v.Value {
		case "off", "false":
			c.Mode = CacheOff
		case "forever", "on", "true":
			c.Mode = CacheForever
		default:
			d, err := ParseDuration(g.v.Value)
			if err != nil {
				p.errf(g.v, g.path, "invalid cache policy %q", g.v.Value)
				p.diags[len(p.diags)-1].Detail = "use off, forever, a duration such as 24h, or {ttl: 24h}"
				return nil
			}
			c.Mode, c.TTL = CacheTTL, d
		}
		return c
	}
	for _, h := range p.fields(g.v, g.path, "a cache policy (off, forever or {ttl: 24h})", CacheKeys) {
		switch h.key {
		case "ttl":
			if d, ok := p.duration(h.v, h.path); ok {
				c.Mode, c.TTL = CacheTTL, d
			}
		case "mode":
			m, _ := p.literal(h.v, h.path)
			if m != CacheOff && m != CacheForever && m != CacheTTL {
				p.errf(h.v, h.path, "unknown cache mode %q", m)
				p.diags[len(p.diags)-1].Detail = "use off, ttl or forever"
				continue
			}
			c.Mode = m
		}
	}
	if c.Mode == "" {
		c.Mode = CacheForever
	}
	if c.Mode == CacheTTL && c.TTL == 0 {
		p.errf(g.v, g.path+".ttl", "cache mode ttl needs a ttl")
	}
	return c
}

// batch decodes `batch: N` (N items per provider call) or `batch: {size: N, async: true,
// poll: 30s}` (N items per request to the provider's asynchronous batch API, first polled
// after poll).
func (p *parser) batch(s *Step, g kv) {
	if g.v.Kind != yaml.MappingNode {
		s.Batch, _ = p.integer(g.v, g.path, 1)
		return
	}
	sized := false // a size key was written (a bad one is reported where it stands)
	for _, h := range p.fields(g.v, g.path, "a batch (a number of items, or {size: N, async: true})", BatchKeys) {
		switch h.key {
		case "size":
			sized = true
			s.Batch, _ = p.integer(h.v, h.path, 1)
		case "async":
			s.BatchAsync, _ = p.boolean(h.v, h.path)
		case "poll":
			if d, ok := p.duration(h.v, h.path); ok {
				if d < time.Second {
					p.errf(h.v, h.path, "poll must be at least 1s, got %s", d)
					continue
				}
				s.BatchPoll = d
			}
		}
	}
	if !sized && g.v.Kind == yaml.MappingNode {
		p.errf(g.k, g.path+".size", "missing size")
		p.diags[len(p.diags)-1].Detail = "say how many for_each items go in one batch, e.g. batch: {size: 100, async: true}"
	}
}

func (p *parser) retry(g kv) *RetryPolicy {
	r := &RetryPolicy{Pos: p.pos(g.v)}
	for _, h := range p.fields(g.v, g.path, "a retry policy (attempts, backoff)", RetryKeys) {
		switch h.key {
		case "attempts":
			if n, ok := p.integer(h.v, h.path, 1); ok {
				if n > 20 {
					p.errf(h.v, h.path, "at most 20 attempts, got %d", n)
					continue
				}
				r.Attempts = n
			}
		case "backoff":
			r.Backoff, _ = p.duration(h.v, h.path)
		}
	}
	return r
}

func (p *parser) budget(e kv) *Budget {
	b := &Budget{Pos: p.pos(e.v)}
	for _, h := range p.fields(e.v, e.path, "a budget (usd: …)", BudgetKeys) {
		if v, ok := p.number(h.v, h.path); ok {
			if v < 0 {
				p.errf(h.v, h.path, "budget must not be negative")
				continue
			}
			b.USD = v
		}
	}
	return b
}

// state reads the state: block. The URL of a shared database holds its password, so a
// literal URL with a password is refused: it must come from ${ env("…") }.
func (p *parser) state(e kv) *State {
	st := &State{Backend: "sqlite", Pos: p.pos(e.v)}
	var backendSet bool
	for _, h := range p.fields(e.v, e.path, "state (backend, url)", StateKeys) {
		switch h.key {
		case "backend":
			if s, ok := p.oneOf(h.v, h.path, "state backend", StateBackends, "backends"); ok {
				st.Backend, backendSet = s, true
			}
		case "url":
			if _, ok := p.str(h.v, h.path); !ok {
				continue
			}
			st.URL = p.value(h.v, h.path)
			if s := h.v.Value; !strings.Contains(s, "${") && hasPassword(s) {
				p.errf(h.v, h.path, "the URL holds a password")
				p.diags[len(p.diags)-1].Detail = `keep it out of the flow file: url: ${ env("AIFLOW_STATE_URL") }`
			}
		}
	}
	switch {
	case st.Backend == "postgres" && st.URL == nil:
		p.errf(e.v, e.path+".url", "missing url for the postgres state backend")
		p.diags[len(p.diags)-1].Detail = `url: ${ env("AIFLOW_STATE_URL") }, a postgres://user@host/db URL`
	case st.Backend == "sqlite" && st.URL != nil && backendSet:
		p.errf(st.URL.Node, e.path+".url", "url does not apply to the sqlite state backend")
		p.diags[len(p.diags)-1].Detail = "the sqlite state is the state directory (--state-dir); use backend: postgres for a URL"
	case st.URL != nil:
		st.Backend = "postgres" // a URL alone means the shared backend
	}
	return st
}

// hasPassword reports whether a literal URL carries a password, in its user info or as
// a password= parameter.
func hasPassword(s string) bool {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return true
		}
	}
	return strings.Contains(strings.ToLower(s), "password=")
}

func (p *parser) defaults(f *Flow, e kv) {
	for _, h := range p.fields(e.v, e.path, "defaults (cache, retry, timeout)", DefaultsKeys) {
		switch h.key {
		case "cache":
			f.Defaults.Cache = p.cache(h)
		case "retry":
			f.Defaults.Retry = p.retry(h)
		case "timeout":
			f.Defaults.Timeout, _ = p.duration(h.v, h.path)
		}
	}
}
