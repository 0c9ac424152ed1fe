package infra

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
)

// Actions a plan gives a resource.
const (
	ActionNoop    = "no-op"
	ActionCreate  = "create"
	ActionAdopt   = "adopt" // exists but is not in state: apply records it
	ActionUpdate  = "update"
	ActionReplace = "replace"
	ActionDestroy = "destroy"
)

// Plan is what Apply would do to the flow's resources, as data (`-o json` prints it).
type Plan struct {
	// Flow is the flow file's path and Name the flow's name, the same two keys with the
	// same meanings as in engine.Plan and the run documents.
	Flow      string    `json:"flow"`
	Name      string    `json:"name"`
	Resources []*Change `json:"resources"`
	// Changes is true when Apply would change anything.
	Changes bool `json:"changes"`
}

// Change is the plan for one resource.
type Change struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Backend string `json:"backend,omitempty"`
	Action  string `json:"action"`
	// ID is the backend's identifier, recorded or found.
	ID string `json:"id,omitempty"`
	// Reason says why, when the action alone does not (e.g. deleted outside aiflow).
	Reason string `json:"reason,omitempty"`
	// Attributes are the desired values that differ from the current ones; for a
	// create, every desired value.
	Attributes []AttrChange `json:"attributes"`
	// Drift lists real values that differ from the recorded ones.
	Drift []AttrChange `json:"drift"`
	// Info describes the real resource (e.g. "42 vectors"), for people.
	Info string `json:"info,omitempty"`

	res   *resource
	state *store.ResourceState
	real  realState
}

// AttrChange is one attribute's old and new value.
type AttrChange struct {
	Name              string `json:"name"`
	Before            any    `json:"before"`
	After             any    `json:"after"`
	ForcesReplacement bool   `json:"forces_replacement,omitempty"`
}

// kindOrder is the order resources are created in; destroys run in reverse.
var kindOrder = map[string]int{"database": 0, "vector-index": 1, "ai-gateway": 2, "prompt": 3}

// NewPlan refreshes every resource the flow declares, and every resource recorded for this
// flow, and says what Apply would do. It changes nothing.
func NewPlan(ctx context.Context, fl *engine.Flow, st *store.Store, opts Options) (*Plan, error) {
	e, err := newEnv(fl, st, opts)
	if err != nil {
		return nil, err
	}
	defer e.close()
	p, err := e.plan(ctx)
	return p, e.redact(err)
}

func (e *env) plan(ctx context.Context) (*Plan, error) {
	states, err := e.st.ListResources(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]*store.ResourceState{}
	for i := range states {
		byName[states[i].Name] = &states[i]
	}
	p := &Plan{Flow: e.fl.Spec.File, Name: e.fl.Spec.Name, Resources: []*Change{}}
	names := make([]string, 0, len(e.fl.Resources))
	for name := range e.fl.Resources {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		return lessResource(e.fl.Resources[names[i]].Spec.Kind, names[i], e.fl.Resources[names[j]].Spec.Kind, names[j])
	})
	var errs []error
	for _, name := range names {
		c, err := e.planResource(ctx, e.fl.Resources[name], byName[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("resource %q: %w", name, err))
			continue
		}
		p.Resources = append(p.Resources, c)
	}
	for i := len(states) - 1; i >= 0; i-- {
		s := states[i]
		if _, declared := e.fl.Resources[s.Name]; !declared && ownedBy(s, e.fl) {
			p.Resources = append(p.Resources, destroyChange(s))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sortDestroys(p.Resources)
	for _, c := range p.Resources {
		p.Changes = p.Changes || c.Action != ActionNoop
	}
	return p, nil
}

func lessResource(k1, n1, k2, n2 string) bool {
	if kindOrder[k1] != kindOrder[k2] {
		return kindOrder[k1] < kindOrder[k2]
	}
	return n1 < n2
}

// sortDestroys puts destroys last, in reverse creation order (prompts before databases).
func sortDestroys(cs []*Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		di, dj := cs[i].Action == ActionDestroy, cs[j].Action == ActionDestroy
		if di != dj {
			return dj
		}
		if di {
			return lessResource(cs[j].Kind, cs[j].Name, cs[i].Kind, cs[i].Name)
		}
		return false
	})
}

// flowName identifies the flow that owns a resource in state.
func flowName(fl *engine.Flow) string {
	if fl.Spec.Name != "" {
		return fl.Spec.Name
	}
	return fl.Spec.File
}

// ownedBy reports whether state s was recorded by this flow (flows can share a state
// directory; each destroys only its own resources).
func ownedBy(s store.ResourceState, fl *engine.Flow) bool {
	owner, _ := s.Attributes[attrFlow].(string)
	return owner == flowName(fl)
}

// attrFlow is the state attribute naming the flow that applied a resource.
const attrFlow = "flow"

func destroyChange(s store.ResourceState) *Change {
	st := s
	return &Change{Name: s.Name, Kind: s.Kind, Backend: s.Backend, Action: ActionDestroy, ID: s.ID, Reason: "no longer declared in the flow",
		Attributes: []AttrChange{}, Drift: []AttrChange{}, state: &st}
}

// planResource compares desired, recorded and real state of one declared resource.
func (e *env) planResource(ctx context.Context, rn *engine.ResourceNode, st *store.ResourceState) (*Change, error) {
	r, err := e.resource(rn)
	if err != nil {
		return nil, err
	}
	return e.planEvaluated(ctx, r, st)
}

// planEvaluated plans an evaluated resource.
func (e *env) planEvaluated(ctx context.Context, r *resource, st *store.ResourceState) (*Change, error) {
	real, err := r.k.refresh(ctx, e, r, st)
	if err != nil {
		return nil, err
	}
	c := &Change{Name: r.name, Kind: r.kind, Backend: r.backend, Attributes: []AttrChange{}, Drift: []AttrChange{}, res: r, state: st, real: real, Info: real.info}
	c.ID = real.id
	if c.ID == "" && st != nil {
		c.ID = st.ID
	}
	switch {
	case !real.exists && st != nil && forcedChange(r, st):
		// The recorded resource lives elsewhere (another backend or account).
		c.Action = ActionReplace
		for _, k := range sortedKeys(r.attrs) {
			if before := norm(st.Attributes[k]); !reflect.DeepEqual(before, r.attrs[k]) {
				c.Attributes = append(c.Attributes, AttrChange{Name: k, Before: before, After: r.attrs[k], ForcesReplacement: slices.Contains(r.force, k)})
			}
		}
	case !real.exists:
		c.Action = ActionCreate
		c.Attributes = created(r.attrs)
		if st != nil {
			c.Reason = "recorded in state but missing: deleted outside aiflow"
			c.Drift = []AttrChange{{Name: "exists", Before: true, After: false}}
		}
	default:
		e.diff(c, r, st, real)
	}
	return c, nil
}

// diff sets the action of an existing resource from desired ≠ current and drift.
func (e *env) diff(c *Change, r *resource, st *store.ResourceState, real realState) {
	current := map[string]any{}
	if st != nil {
		for k, v := range st.Attributes {
			current[k] = norm(v)
		}
	} else {
		for k, v := range r.attrs {
			current[k] = v // unknown to the backend: assume as desired
		}
	}
	for _, k := range sortedKeys(real.attrs) { // sorted: drift is listed in a stable order
		v := norm(real.attrs[k])
		if st != nil {
			if old, ok := current[k]; !reflect.DeepEqual(old, v) {
				if !ok {
					old = nil
				}
				c.Drift = append(c.Drift, AttrChange{Name: k, Before: old, After: v})
			}
		}
		current[k] = v
	}
	forced := false
	for _, k := range sortedKeys(r.attrs) {
		want, have := r.attrs[k], current[k]
		if reflect.DeepEqual(want, have) {
			continue
		}
		f := slices.Contains(r.force, k)
		forced = forced || f
		c.Attributes = append(c.Attributes, AttrChange{Name: k, Before: have, After: want, ForcesReplacement: f})
	}
	switch {
	case forced:
		c.Action = ActionReplace
	case len(c.Attributes) > 0:
		c.Action = ActionUpdate
	case st == nil:
		c.Action = ActionAdopt
		c.Reason = "exists but is not in state; apply records it"
	default:
		c.Action = ActionNoop
	}
}

// forcedChange reports whether an attribute that forces replacement differs between
// desired and recorded state.
func forcedChange(r *resource, st *store.ResourceState) bool {
	for _, k := range r.force {
		if !reflect.DeepEqual(r.attrs[k], norm(st.Attributes[k])) {
			return true
		}
	}
	return false
}

func created(attrs map[string]any) []AttrChange {
	out := []AttrChange{}
	for _, k := range sortedKeys(attrs) {
		if attrs[k] != nil {
			out = append(out, AttrChange{Name: k, After: attrs[k]})
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
