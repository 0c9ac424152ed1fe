package engine

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// generalKeys are step keys every kind accepts.
var generalKeys = map[string]bool{"uses": true, "description": true, "with": true, "when": true, "for_each": true,
	"needs": true, "cache": true, "retry": true, "timeout": true, "continue_on_error": true, "parallelism": true, "max_items": true, "variants": true}

func (c *checker) step(s *spec.Step) {
	path := "steps." + s.ID
	kind, known := c.opts.Steps.Lookup(s.Uses)
	if !known && s.Uses != "" {
		c.errf(s.UsesPos, path+".uses", "known kinds: "+strings.Join(c.opts.Steps.Names(), ", "),
			"unknown step kind %q%s", s.Uses, spec.DidYouMean(s.Uses, c.opts.Steps.Names()))
	}
	// A step of an unknown kind still joins the graph with what it refers to, so that
	// its references and a cycle through it are reported in the same pass.
	n := &Node{ID: s.ID, Spec: s, Kind: kind, Inputs: map[string]*Template{}}
	c.flow.Nodes[s.ID] = n
	all := newRefs()
	compile := func(v *spec.Value) *Template {
		if v == nil {
			return nil
		}
		t, refs, d := c.compiler.Compile(v)
		c.diags.Add(d)
		all.merge(refs)
		c.checkRefs(refs, n, v.Path)
		return t
	}
	if known {
		for key, pos := range s.Keys {
			if !generalKeys[key] && !kind.Accepts(key) {
				c.errf(pos, path+"."+key, acceptedKeys(kind), "step kind %s does not take %s", kind.Name, key)
			}
		}
		c.inputs(n, kind, all)
	} else {
		for _, in := range s.With {
			n.Inputs[in.Key] = compile(in.Value)
		}
	}
	if s.Prompt != nil {
		n.System, n.User, n.Msgs = compile(s.Prompt.System), compile(s.Prompt.User), compile(s.Prompt.Messages)
		if s.Prompt.FileText != "" {
			v := &spec.Value{Node: scalarNode(s.Prompt.FileText), Path: path + ".prompt.file", Pos: s.Prompt.FilePos}
			n.User = compile(v)
		}
	}
	n.Params, n.Schema = compile(s.Params), nil
	if known {
		c.checkParams(n)
	}
	if s.Output != nil && s.Output.Schema != nil {
		n.Schema = compile(s.Output.Schema)
	}
	if s.ForEach != nil {
		t, refs, d := c.compiler.Compile(s.ForEach)
		c.diags.Add(d)
		all.merge(refs)
		c.checkRefs(refs, n, s.ForEach.Path)
		n.ForEach = t
		if t.IsLiteral() {
			if v, _ := t.Eval(nil); v != nil {
				if l, isList := v.([]any); !isList {
					c.errf(s.ForEach.Pos, s.ForEach.Path, "write a list, or ${ expr } that gives one (e.g. ${ steps.chunks.output.items })",
						"for_each needs a list, got %s", spec.DescribeValue(v))
				} else if err := checkItemCount(s, len(l)); err != nil {
					c.errf(s.ForEach.Pos, s.ForEach.Path, itemLimitDetail, "%v", err)
				}
			}
		}
	}
	if s.When != nil {
		t, refs, d := c.compiler.CompileCondition(s.When)
		c.diags.Add(d)
		all.merge(refs)
		c.checkRefs(refs, n, s.When.Path)
		n.When = t
	}
	for _, r := range s.Needs {
		if c.flow.Spec.StepByID(r.Name) == nil {
			var ids []string
			for _, x := range c.flow.Spec.Steps {
				ids = append(ids, x.ID)
			}
			c.errf(r.Pos, path+".needs", "", "unknown step %q%s", r.Name, spec.DidYouMean(r.Name, ids))
		} else if r.Name == s.ID {
			c.errf(r.Pos, path+".needs", "", "step %q needs itself", s.ID)
		}
	}
	n.Refs = all
	c.noteEnv(all)
	if !known {
		return
	}
	c.models(n)
	c.checkPublished(n)
	c.variants(n)
	impl, d := kind.New(s)
	c.diags.Add(d)
	n.Impl = impl
	c.checkModels(n)
	c.checkAsyncBatch(n)
	c.subFlows(n)
}

// checkAsyncBatch refuses `batch: {async: true}` on a kind that cannot go through a batch
// API, or with a candidate provider that has none for the step's task.
func (c *checker) checkAsyncBatch(n *Node) {
	s := n.Spec
	if !s.BatchAsync {
		return
	}
	path, pos := "steps."+s.ID+".batch", s.Keys["batch"]
	if _, ok := n.Impl.(steps.AsyncBatchStep); !ok {
		c.errf(pos, path, "the kinds that can: embed, generate", "step kind %s cannot go through an asynchronous batch", n.Kind.Name)
		return
	}
	seen := map[string]bool{}
	for _, ref := range n.Candidates {
		prov, id, _ := strings.Cut(ref, ":")
		pn, ok := c.flow.Providers[prov]
		if !ok {
			continue
		}
		if list := pn.Info.BatchModels[n.Kind.Task]; list != nil && containsTask(pn.Info.AsyncBatch, n.Kind.Task) && !containsString(list, id) {
			c.errf(pos, path, "models it batches for "+string(n.Kind.Task)+": "+strings.Join(list, ", "),
				"provider %s (%s) has no asynchronous batches for model %q", prov, pn.Info.Name, id)
		}
		if seen[prov] {
			continue
		}
		seen[prov] = true
		if !containsTask(pn.Info.AsyncBatch, n.Kind.Task) {
			var kinds []string
			for _, name := range c.opts.Providers.Names() {
				if info, ok := c.opts.Providers.Lookup(name); ok && containsTask(info.AsyncBatch, n.Kind.Task) {
					kinds = append(kinds, name)
				}
			}
			c.errf(pos, path, "provider kinds with a batch API for "+string(n.Kind.Task)+": "+strings.Join(kinds, ", ")+"; or write batch: N",
				"provider %s (%s) has no asynchronous batch API for %s", prov, pn.Info.Name, n.Kind.Task)
		}
	}
}

func containsTask(list []providers.Task, t providers.Task) bool {
	for _, x := range list {
		if x == t {
			return true
		}
	}
	return false
}

// subFlower is implemented by steps that run other flow files (flow steps, agent tools).
type subFlower interface {
	SubFlows() []string
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func acceptedKeys(k steps.Kind) string {
	keys := []string{}
	for key := range generalKeys {
		keys = append(keys, key)
	}
	keys = append(keys, k.Keys...)
	sort.Strings(keys)
	return k.Name + " steps take: " + strings.Join(keys, ", ")
}

func (c *checker) inputs(n *Node, kind steps.Kind, all *Refs) {
	s := n.Spec
	path := "steps." + s.ID + ".with"
	for _, in := range s.With {
		field, ok := kind.Input(in.Key)
		if !ok {
			c.errf(in.KeyPos, path+"."+in.Key, inputsDetail(kind), "unknown input %q for %s%s", in.Key, kind.Name, spec.DidYouMean(in.Key, kind.InputNames()))
			continue
		}
		t, refs, d := c.compiler.Compile(in.Value)
		c.diags.Add(d)
		all.merge(refs)
		c.checkRefs(refs, n, in.Value.Path)
		if field.Required && in.Value.Node.Tag == "!!null" {
			c.errf(in.Value.Pos, in.Value.Path, field.Doc, "required input %q is null", in.Key)
		} else if t.IsLiteral() {
			v, _ := t.Eval(nil)
			if _, err := steps.Coerce(field, v); err != nil {
				c.errf(in.Value.Pos, in.Value.Path, fieldDetail(field), "%v", err)
			}
		}
		n.Inputs[in.Key] = t
	}
	for _, f := range kind.Inputs {
		if f.Required && s.Input(f.Name) == nil {
			pos := s.WithPos
			if pos.Line == 0 {
				pos = s.Pos
			}
			c.errf(pos, path+"."+f.Name, f.Doc, "missing required input %q for %s", f.Name, kind.Name)
		}
	}
}

func inputsDetail(k steps.Kind) string {
	if len(k.Inputs) == 0 {
		return k.Name + " takes no inputs under with:"
	}
	return k.Name + " takes: " + strings.Join(k.InputNames(), ", ")
}

func fieldDetail(f steps.Field) string {
	if len(f.Enum) > 0 {
		return "allowed: " + strings.Join(f.Enum, ", ")
	}
	return f.Doc
}

// models resolves the step's model or route and checks every candidate can serve its task.
func (c *checker) models(n *Node) {
	s, task := n.Spec, n.Kind.Task
	path := "steps." + s.ID
	if task == "" {
		return // a model: here is already reported as a key the kind does not take
	}
	switch {
	case s.Model != nil:
		if ref, ok := c.resolveModel(s.Model, path+".model"); ok {
			n.Candidates = []string{ref}
			c.checkServes(ref, task, s.Model.Pos, path+".model", n)
		}
	case s.Route != nil:
		r, ok := c.flow.Routes[s.Route.Name]
		if !ok {
			var names []string
			for k := range c.flow.Routes {
				names = append(names, k)
			}
			c.errf(s.Route.Pos, path+".route", declared("routes", names), "unknown route %q%s", s.Route.Name, spec.DidYouMean(s.Route.Name, names))
			return
		}
		for _, ref := range routeTargets(r.Spec) {
			m, ok := c.resolveModel(&ref, "routes."+r.Spec.Name)
			if !ok {
				continue
			}
			if !containsString(n.Candidates, m) {
				n.Candidates = append(n.Candidates, m)
			}
			c.checkServes(m, task, ref.Pos, "routes."+r.Spec.Name, n)
		}
	case n.Kind.ModelOptional:
		return
	default:
		if task == providers.TaskGenerate {
			c.errf(s.Pos, path+".model", "the local provider has no text-generation model; "+c.servers(task),
				"step %q needs a model or route", s.ID)
			return
		}
		n.Candidates = []string{localProvider + ":"}
		c.checkServes(n.Candidates[0], task, s.Pos, path, n)
	}
}

// checkModels lets a step check itself against the provider kinds of its candidates.
func (c *checker) checkModels(n *Node) {
	mc, ok := n.Impl.(steps.ModelChecker)
	if !ok {
		return
	}
	seen := map[string]bool{}
	for _, ref := range n.Candidates {
		prov, id, _ := strings.Cut(ref, ":")
		pn, ok := c.flow.Providers[prov]
		if !ok || seen[pn.Info.Name] {
			continue
		}
		seen[pn.Info.Name] = true
		c.diags.Add(mc.CheckModel(pn.Info.Name, id))
	}
}

func routeTargets(r *spec.Route) []spec.Ref {
	var out []spec.Ref
	for _, rule := range r.Rules {
		out = append(out, rule.Use)
	}
	for _, a := range r.Split {
		out = append(out, a.Model)
	}
	return append(out, r.Fallback...)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// resolveModel turns an alias or provider:id into provider:id.
func (c *checker) resolveModel(ref *spec.Ref, path string) (string, bool) {
	if m, ok := c.flow.Models[ref.Name]; ok {
		return m.Provider + ":" + m.ID, true
	}
	if prov, id, found := strings.Cut(ref.Name, ":"); found {
		if _, ok := c.flow.Providers[prov]; ok {
			return prov + ":" + id, true
		}
		c.errf(ref.Pos, path, declared("providers", c.providerNames()),
			"unknown provider %q in model %q%s", prov, ref.Name, spec.DidYouMean(prov, c.providerNames()))
		return "", false
	}
	if _, ok := c.flow.Providers[ref.Name]; ok {
		return ref.Name + ":", true // a provider's default model
	}
	var aliases []string
	for k := range c.flow.Models {
		aliases = append(aliases, k)
	}
	c.errf(ref.Pos, path, declared("models", aliases)+`; or write provider:model-id`, "unknown model %q%s", ref.Name, spec.DidYouMean(ref.Name, aliases))
	return "", false
}

func (c *checker) checkServes(ref string, task providers.Task, pos spec.Pos, path string, n *Node) {
	prov, _, _ := strings.Cut(ref, ":")
	pn, ok := c.flow.Providers[prov]
	if !ok {
		return
	}
	if !pn.Info.Serves(task) {
		c.errf(pos, path, c.servers(task), "%s step %q cannot run on provider %q (kind %s): it does not serve %s",
			n.Kind.Name, n.ID, prov, pn.Info.Name, task)
		return
	}
	if ids, closed := pn.Info.Models[task]; closed {
		_, id, _ := strings.Cut(ref, ":")
		if id == "" || slices.Contains(ids, id) {
			return
		}
		served := fmt.Sprintf("provider %q (kind %s) serves %s with %s", prov, pn.Info.Name, task, quoteList(ids))
		if m, published := catalog.Lookup(pn.Info.Name, id); published {
			if m.Task == task { // another task's model is reported by checkPublished
				c.errf(pos, path, served, "aiflow has no request form for %s model %q", task, id)
			}
		} else {
			c.errf(pos, path, served, "unknown %s model %q%s", pn.Info.Name, id, spec.DidYouMean(id, ids))
		}
		return
	}
	c.catalogued(ref, pn.Info.Name, pos, path)
}

// quoteList renders ids as "a", "b" or "c".
func quoteList(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = strconv.Quote(id)
	}
	switch len(q) {
	case 0:
		return "no model"
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// catalogued warns once per model that the embedded catalogue does not know: it may be
// new (providers add models faster than aiflow ships), but its price and context window
// are unknown to plan and budgets.
func (c *checker) catalogued(ref, kind string, pos spec.Pos, path string) {
	prov, id, _ := strings.Cut(ref, ":")
	if id == "" || len(catalog.ByProvider(kind)) == 0 || c.warnedModels[ref] {
		return
	}
	if p := c.flow.Spec.ProviderByName(prov); p != nil && p.Setting("base_url") != nil && kind == "openai" {
		return // an OpenAI-compatible server serves models of its own
	}
	if _, ok := catalog.Lookup(kind, id); ok {
		return
	}
	if c.warnedModels == nil {
		c.warnedModels = map[string]bool{}
	}
	c.warnedModels[ref] = true
	var ids []string
	for _, m := range catalog.ByProvider(kind) {
		ids = append(ids, m.ID)
	}
	c.diags = append(c.diags, spec.Diagnostic{Severity: spec.Warning, Pos: pos, Path: path,
		Summary: fmt.Sprintf("model %q is not in the %s catalogue%s", id, kind, spec.DidYouMean(id, ids)),
		Detail:  "it is sent as written; plan cannot price it and no context-window check applies (aiflow models lists the catalogue)"})
}

// servers says which provider kinds can serve task.
func (c *checker) servers(task providers.Task) string {
	var kinds []string
	for _, name := range c.opts.Providers.Names() {
		if info, _ := c.opts.Providers.Lookup(name); info.Serves(task) {
			kinds = append(kinds, name)
		}
	}
	if len(kinds) == 0 {
		return fmt.Sprintf("no registered provider serves %s", task)
	}
	return fmt.Sprintf("providers that serve %s: %s", task, strings.Join(kinds, ", "))
}

func (c *checker) routes(f *spec.Flow) {
	var rc *Compiler
	if len(f.Routes) > 0 {
		rc = c.routeCompiler()
	}
	for _, r := range f.Routes {
		rn := &RouteNode{Spec: r}
		for i, rule := range r.Rules {
			var t *Template
			if rule.When != nil {
				var refs *Refs
				var d spec.Diagnostics
				t, refs, d = rc.CompileCondition(rule.When)
				c.diags.Add(explainRouteInput(d, rule.When))
				if len(refs.Steps) > 0 {
					c.errf(rule.When.Pos, rule.When.Path, "route conditions see input, vars, run and budget", "a route condition cannot refer to steps")
				}
				c.checkRefs(refs, nil, rule.When.Path)
			} else if i != len(r.Rules)-1 {
				c.errf(rule.Pos, fmt.Sprintf("routes.%s.rules[%d]", r.Name, i), "rules after it can never match; put the rule without when: last",
					"rule without when must be last")
			}
			rn.Conds = append(rn.Conds, t)
		}
		total := 0
		for _, a := range r.Split {
			total += a.Weight
		}
		if len(r.Split) > 0 && total == 0 {
			c.errf(r.Pos, "routes."+r.Name+".split", "give at least one arm a positive weight", "split weights sum to zero")
		}
		c.flow.Routes[r.Name] = rn
	}
}

// Resource kinds and their settings.
var resourceSettings = map[string][]string{
	"vector-index": {"backend", "dimensions", "metric", "metadata_indexes", "model", "ann", "provider", "wait_for_mutation", "batch_size", "rate_limit", "description"},
	"database":     {"backend", "migrations", "provider", "description"},
	"ai-gateway":   {"provider", "cache_ttl", "rate_limit", "logging", "description"},
	"prompt":       {"database", "name", "system", "model", "params", "description"},
	"bucket":       {"backend", "bucket_name", "provider", "endpoint", "access_key_id", "secret_access_key", "force_destroy", "description"},
}

func (c *checker) resources(f *spec.Flow) {
	var kinds []string
	for k := range resourceSettings {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, r := range f.Resources {
		path := "resources." + r.Name
		allowed, ok := resourceSettings[r.Kind]
		if !ok {
			if r.Kind != "" {
				c.errf(r.KindPos, path+".kind", "known kinds: "+strings.Join(kinds, ", "), "unknown resource kind %q%s", r.Kind, spec.DidYouMean(r.Kind, kinds))
			}
			continue
		}
		rn := &ResourceNode{Spec: r, Settings: map[string]*Template{}}
		for _, s := range r.Settings {
			if !containsString(allowed, s.Key) {
				c.errf(s.KeyPos, path+"."+s.Key, r.Kind+" settings: "+strings.Join(allowed, ", "), "unknown setting %q%s", s.Key, spec.DidYouMean(s.Key, allowed))
				continue
			}
			t, refs, d := c.compiler.Compile(s.Value)
			c.diags.Add(d)
			c.checkRefs(refs, nil, path+"."+s.Key)
			c.noteEnv(refs)
			rn.Settings[s.Key] = t
		}
		if r.Kind == "vector-index" {
			c.vectorIndex(rn, path)
		}
		if r.Kind == "bucket" {
			c.bucket(rn, path)
		}
		c.remoteName(rn, path)
		c.flow.Resources[r.Name] = rn
	}
}

// remoteNameRule is the name pattern a Cloudflare API publishes for a resource that
// aiflow creates under the resource's name, so that validate refuses a name the API
// would refuse only at apply time.
type remoteNameRule struct {
	service string         // what the name names, for the message
	re      *regexp.Regexp // the published pattern
	max     int            // longest name in bytes; 0: no published limit
	accept  string         // what would be accepted, in words
}

var (
	// Cloudflare OpenAPI (cloudflare/api-schemas openapi.json), components.schemas
	// "vectorize_index-name": pattern ^([a-z]+[a-z0-9_-]*[a-z0-9]+)$; the 64-byte limit is
	// https://developers.cloudflare.com/vectorize/platform/limits/ ("Index name length").
	vectorizeName = remoteNameRule{"Vectorize index", regexp.MustCompile(`^([a-z]+[a-z0-9_-]*[a-z0-9]+)$`), 64,
		"2 to 64 characters: lowercase letters, digits, - and _, starting with a letter and ending with a letter or digit"}
	// Cloudflare OpenAPI, components.schemas "d1_database-name":
	// pattern ^[a-zA-Z0-9][a-zA-Z0-9_-]*$ (no published length limit).
	d1Name = remoteNameRule{"D1 database", regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]*$`), 0,
		"letters, digits, - and _, starting with a letter or digit"}
	// Cloudflare OpenAPI, AI Gateway (aig-config-*) path parameter gateway_id:
	// pattern ^[a-z0-9_]+(?:-[a-z0-9_]+)*$, minLength 1, maxLength 64.
	// cloudflare-go v6.10.0 ai_search.InstanceReadResponse.ID: "AI Search instance ID.
	// Lowercase alphanumeric, hyphens, and underscores." (no published length limit).
	aiSearchName = remoteNameRule{"AI Search instance", regexp.MustCompile(`^[a-z0-9_-]+$`), 0,
		"lowercase letters, digits, - and _"}
	gatewayName = remoteNameRule{"AI Gateway", regexp.MustCompile(`^[a-z0-9_]+(?:-[a-z0-9_]+)*$`), 64,
		"1 to 64 characters: lowercase letters, digits and _, in words joined by single -"}
)

// remoteName checks the resource name against the pattern of the service that will
// hold it: a vector-index with backend vectorize, a database with backend d1, and
// every ai-gateway. Local backends take any name.
func (c *checker) remoteName(rn *ResourceNode, path string) {
	v, _ := rn.literal("backend")
	backend, _ := v.(string)
	var rule remoteNameRule
	switch {
	case rn.Spec.Kind == "vector-index" && backend == "vectorize":
		rule = vectorizeName
	case rn.Spec.Kind == "vector-index" && backend == aiSearchBackend:
		rule = aiSearchName
	case rn.Spec.Kind == "database" && backend == "d1":
		rule = d1Name
	case rn.Spec.Kind == "ai-gateway":
		rule = gatewayName
	default:
		return
	}
	name := rn.Spec.Name
	if rule.max > 0 && len(name) > rule.max {
		c.errf(rn.Spec.Pos, path, rule.accept, "resource name %q is %d bytes; %s names are at most %d", name, len(name), rule.service, rule.max)
		return
	}
	if !rule.re.MatchString(name) {
		c.errf(rn.Spec.Pos, path, rule.accept, "resource name %q is not a valid %s name", name, rule.service)
	}
}

// aiSearchBackend is the vector-index backend that reads an existing Cloudflare AI
// Search instance (providers/aisearch).
const aiSearchBackend = "ai-search"

// aiSearchOnly are the vector-index settings an ai-search index takes: AI Search embeds,
// chunks and indexes its own data source, so the index-shaping settings do not apply.
var aiSearchOnly = []string{"backend", "provider", "description"}

// aiSearchIndex checks a vector-index with backend ai-search: it needs a provider (the
// account the instance lives in) and takes none of the settings that shape an index.
func (c *checker) aiSearchIndex(rn *ResourceNode, path string) {
	r := rn.Spec
	for _, s := range r.Settings {
		if !containsString(aiSearchOnly, s.Key) {
			c.errf(s.KeyPos, path+"."+s.Key, "ai-search settings: "+strings.Join(aiSearchOnly, ", "),
				"%s does not apply to backend ai-search: the AI Search instance embeds and indexes its own data source", s.Key)
		}
	}
	if r.Setting("provider") == nil {
		c.errf(r.Pos, path+".provider", "e.g. provider: cf (a workers-ai provider entry, whose account holds the instance)", "backend ai-search needs a provider")
	}
}

func (c *checker) vectorIndex(rn *ResourceNode, path string) {
	r := rn.Spec
	lit := rn.literal
	if v, _ := lit("backend"); v == aiSearchBackend {
		c.aiSearchIndex(rn, path)
		return
	}
	if v, ok := lit("dimensions"); ok {
		if d, isInt := v.(int); !isInt || d < 1 || d > 4096 {
			c.errf(r.Setting("dimensions").Value.Pos, path+".dimensions", "an integer from 1 to 4096", "invalid dimensions %v", v)
		}
	} else if r.Setting("dimensions") == nil {
		c.errf(r.Pos, path+".dimensions", "e.g. dimensions: 768 (bge-base), 384 (bge-small) or the local embedder's 768", "missing dimensions")
	}
	if v, ok := lit("metric"); ok {
		if s, _ := v.(string); s != "cosine" && s != "euclidean" && s != "dot-product" {
			c.errf(r.Setting("metric").Value.Pos, path+".metric", "allowed: cosine, euclidean, dot-product", "unknown metric %v%s", v, spec.DidYouMean(fmt.Sprint(v), []string{"cosine", "euclidean", "dot-product"}))
		}
	}
	if v, ok := lit("backend"); ok {
		if s, _ := v.(string); s != "local" && s != "vectorize" {
			c.errf(r.Setting("backend").Value.Pos, path+".backend", "allowed: local, vectorize, ai-search", "unknown backend %v%s", v, spec.DidYouMean(fmt.Sprint(v), []string{"local", "vectorize", aiSearchBackend}))
		}
	}
	if v, ok := lit("ann"); ok {
		if s, _ := v.(string); s != "hnsw" && s != "none" {
			c.errf(r.Setting("ann").Value.Pos, path+".ann", "allowed: hnsw, none", "unknown ann index %v", v)
		}
	}
	if s := r.Setting("model"); s != nil && s.Value.Node != nil {
		ref := &spec.Ref{Name: s.Value.Scalar(), Pos: s.Value.Pos}
		if m, ok := c.resolveModel(ref, path+".model"); ok {
			c.checkServes(m, providers.TaskEmbed, ref.Pos, path+".model", &Node{ID: r.Name, Kind: steps.Kind{Name: "vector-index"}})
		}
	}
}
