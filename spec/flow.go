// Package spec reads aiflow flow files (format version 1) into Flow values that keep the
// file position of everything, and checks their structure: known keys, scalar types,
// required fields, names, duplicate ids. Meaning that needs the step catalogue or the
// expression language (references, types, cycles) is checked by the engine.
package spec

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// FormatVersion is the only flow file format this build reads.
const FormatVersion = 1

// Flow is one parsed flow file.
type Flow struct {
	File string // path as given to Parse
	Dir  string // directory of File, for relative prompt files and file()
	// Reads are the directories prompt files, file(), glob() and sub-flows may read.
	Reads       *ReadRoots
	Source      []byte // the file's bytes, for hashing and fmt
	Version     int
	Name        string
	Description string
	Vars        []*Var
	Providers   []*Provider
	Models      []*Model
	Routes      []*Route
	Resources   []*Resource
	Steps       []*Step
	Outputs     []*Output
	Budget      *Budget
	Defaults    Defaults
	State       *State // nil when the flow has no state: block (the SQLite default)
	Pos         Pos
	Root        *yaml.Node // the document's root mapping, for fmt
}

// Var is a typed input under `vars:`.
type Var struct {
	Name        string
	Type        string // string, number, integer, boolean, list, object, any
	Description string
	Default     *Value // nil when the var is required
	Enum        []any
	Secret      bool // redacted from the run store and output
	Pos         Pos
}

// Provider is a named connection under `providers:`.
type Provider struct {
	Name     string
	Kind     string
	KindPos  Pos
	Settings []*Setting // every key except kind, in file order
	Pos      Pos
}

// Setting is one key of a provider or resource block whose meaning belongs to its kind.
type Setting struct {
	Key    string
	Value  *Value
	KeyPos Pos
}

// Model is an alias under `models:`: name → provider:model-id.
type Model struct {
	Name     string
	Provider string // the providers: entry
	ID       string // the provider's model id
	Pos      Pos
}

// Route is a routing rule set under `routes:`.
type Route struct {
	Name     string
	Rules    []*RouteRule
	Fallback []Ref // model aliases (or provider:model refs) tried in order
	Split    []*SplitArm
	Pos      Pos
}

// RouteRule picks a model when its condition holds; a rule without When always matches.
type RouteRule struct {
	When *Value // expression, nil for the default rule
	Use  Ref
	Pos  Pos
}

// SplitArm is one weighted arm of an A/B split.
type SplitArm struct {
	Model  Ref
	Weight int
}

// Ref is a name that refers to something else in the file, with where it was written.
type Ref struct {
	Name string
	Pos  Pos
}

// Resource is a Terraform-style resource under `resources:`.
type Resource struct {
	Name     string
	Kind     string // vector-index, database, ai-gateway, prompt
	KindPos  Pos
	Settings []*Setting // every key except kind, in file order
	Pos      Pos
}

// Setting returns the setting named key, or nil.
func (r *Resource) Setting(key string) *Setting { return findSetting(r.Settings, key) }

// Setting returns the setting named key, or nil.
func (p *Provider) Setting(key string) *Setting { return findSetting(p.Settings, key) }

func findSetting(ss []*Setting, key string) *Setting {
	for _, s := range ss {
		if s.Key == key {
			return s
		}
	}
	return nil
}

// Step is one entry under `steps:`.
type Step struct {
	ID          string
	Uses        string
	UsesPos     Pos
	Description string
	With        []*Setting // kind-specific inputs, in file order
	WithPos     Pos
	Model       *Ref
	Route       *Ref
	Prompt      *Prompt
	Params      *Value // mapping
	Output      *OutputSpec
	Tools       *Value // agent tools, checked by the kind
	When        *Value
	ForEach     *Value
	Batch       int
	// BatchAsync sends each batch through the provider's asynchronous batch API
	// (`batch: {size: N, async: true}`) and polls for the answers, every BatchPoll at
	// first (0: the engine's default), backing off.
	BatchAsync  bool
	BatchPoll   time.Duration
	Parallelism int
	// MaxItems caps how many items for_each may give; 0 means DefaultMaxItems.
	MaxItems int
	Needs    []Ref
	Cache    *CachePolicy
	Retry    *RetryPolicy
	Timeout  time.Duration
	// ContinueOnError lets dependents run after this step fails (its output is then null).
	ContinueOnError bool
	Pos             Pos
	// Keys records which top-level step keys were written, with positions (for kind checks).
	Keys map[string]Pos
	// Variants are named alternatives of the step (another model, route, prompt, params
	// or inputs) that aiflow eval --variants compares and run --variant picks.
	Variants []*Variant
}

// Variant is a named alternative of a step: only the keys it sets replace the step's;
// with: inputs replace the step's input of the same name and add the others.
type Variant struct {
	Name        string
	Description string
	Model       *Ref
	Route       *Ref
	Prompt      *Prompt
	Params      *Value
	With        []*Setting
	Pos         Pos
	Keys        map[string]Pos
}

// Variant returns the step's variant called name, or nil.
func (s *Step) Variant(name string) *Variant {
	for _, v := range s.Variants {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// VariantNames lists the step's variants in file order.
func (s *Step) VariantNames() []string {
	out := make([]string, len(s.Variants))
	for i, v := range s.Variants {
		out[i] = v.Name
	}
	return out
}

// SelectVariant makes the step stepID run as its variant name: the variant's keys
// replace the step's (model and route replace each other). Run it before compiling.
func (f *Flow) SelectVariant(stepID, name string) error {
	var s *Step
	var ids []string
	for _, st := range f.Steps {
		ids = append(ids, st.ID)
		if st.ID == stepID {
			s = st
		}
	}
	if s == nil {
		return fmt.Errorf("no step %q%s", stepID, DidYouMean(stepID, ids))
	}
	v := s.Variant(name)
	if v == nil {
		if len(s.Variants) == 0 {
			return fmt.Errorf("step %q declares no variants:", stepID)
		}
		return fmt.Errorf("step %q has no variant %q%s (variants: %s)", stepID, name, DidYouMean(name, s.VariantNames()), strings.Join(s.VariantNames(), ", "))
	}
	if v.Model != nil {
		s.Model, s.Route = v.Model, nil
		delete(s.Keys, "route")
		s.Keys["model"] = v.Keys["model"]
	}
	if v.Route != nil {
		s.Route, s.Model = v.Route, nil
		delete(s.Keys, "model")
		s.Keys["route"] = v.Keys["route"]
	}
	if v.Prompt != nil {
		s.Prompt = v.Prompt
		s.Keys["prompt"] = v.Keys["prompt"]
	}
	if v.Params != nil {
		s.Params = v.Params
		s.Keys["params"] = v.Keys["params"]
	}
	for _, in := range v.With {
		if old := s.Input(in.Key); old != nil {
			*old = *in
		} else {
			s.With = append(s.With, in)
		}
	}
	return nil
}

// DefaultMaxItems is how many items a for_each may give unless the step sets max_items:
// a list that long is far more often a mistake (a range or a split gone wrong) than a
// job, and each item costs a call, a record in the run store and memory for its result.
const DefaultMaxItems = 100_000

// ItemLimit is the most items the step's for_each may give.
func (s *Step) ItemLimit() int {
	if s.MaxItems > 0 {
		return s.MaxItems
	}
	return DefaultMaxItems
}

// Input returns the `with:` setting named key, or nil.
func (s *Step) Input(key string) *Setting { return findSetting(s.With, key) }

// ModelAt returns where the step names its model, for diagnostics about that model: the
// model: key, else the route: key, else the step itself, with the matching dotted path.
func (s *Step) ModelAt() (Pos, string) {
	path := "steps." + s.ID
	switch {
	case s.Model != nil:
		return s.Model.Pos, path + ".model"
	case s.Route != nil:
		return s.Route.Pos, path + ".route"
	}
	return s.Pos, path
}

// Prompt is a step's prompt: inline system/user text, chat messages, or a file.
type Prompt struct {
	System   *Value
	User     *Value
	Messages *Value // list of {role, content}
	File     string // path relative to the flow file
	FileText string // content of File, read at parse time
	FilePos  Pos
	Pos      Pos
}

// OutputSpec asks a step for structured output.
type OutputSpec struct {
	Schema *Value // JSON Schema (mapping)
	Pos    Pos
}

// Cache modes.
const (
	CacheOff     = "off"
	CacheTTL     = "ttl"
	CacheForever = "forever"
)

// CachePolicy says whether and how long a step's result is reused.
type CachePolicy struct {
	Mode string // off, ttl, forever
	TTL  time.Duration
	Pos  Pos
}

// RetryPolicy bounds attempts of a step on retryable errors.
type RetryPolicy struct {
	Attempts int
	Backoff  time.Duration
	Pos      Pos
}

// Budget caps what a run may spend.
type Budget struct {
	USD float64
	Pos Pos
}

// State is the `state:` block: where run records and the step cache are kept. The
// default, sqlite, is state.db in the state directory; postgres is a database many
// machines share (blobs stay in each machine's state directory).
type State struct {
	Backend string // sqlite or postgres
	URL     *Value // postgres only; must come from env() when it holds a password
	Pos     Pos
}

// Defaults apply to every step that does not set its own.
type Defaults struct {
	Cache   *CachePolicy
	Retry   *RetryPolicy
	Timeout time.Duration
}

// Output is one entry under `outputs:`.
type Output struct {
	Name  string
	Value *Value
	Pos   Pos
}

// StepByID returns the step with id, or nil.
func (f *Flow) StepByID(id string) *Step {
	for _, s := range f.Steps {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// ModelByName returns the model alias name, or nil.
func (f *Flow) ModelByName(name string) *Model {
	for _, m := range f.Models {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// ProviderByName returns the provider name, or nil.
func (f *Flow) ProviderByName(name string) *Provider {
	for _, p := range f.Providers {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// RouteByName returns the route name, or nil.
func (f *Flow) RouteByName(name string) *Route {
	for _, r := range f.Routes {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// ResourceByName returns the resource name, or nil.
func (f *Flow) ResourceByName(name string) *Resource {
	for _, r := range f.Resources {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// VarByName returns the var name, or nil.
func (f *Flow) VarByName(name string) *Var {
	for _, v := range f.Vars {
		if v.Name == name {
			return v
		}
	}
	return nil
}
