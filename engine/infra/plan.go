package infra

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"sort"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
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
	// Refreshed is false when the plan was made from the recorded state alone
	// (Options.NoRefresh).
	Refreshed bool `json:"refreshed"`
}

// Unrefreshed counts the resources that could not be refreshed.
func (p *Plan) Unrefreshed() int {
	n := 0
	for _, c := range p.Resources {
		if c.RefreshError != "" {
			n++
		}
	}
	return n
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
	// RefreshError says why the real resource could not be read; the change was then
	// planned from the recorded state.
	RefreshError string `json:"refresh_error,omitempty"`

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
var kindOrder = map[string]int{"database": 0, "vector-index": 1, "ai-gateway": 2, "prompt": 3, "bucket": 4}

// NewPlan refreshes every resource the flow declares, and every resource recorded for this
// flow, and says what Apply would do. It changes nothing: not the resources, not the
// state (records an older aiflow left are claimed by Apply, not here). st may be nil
// when there is no state directory yet (opts.StateDir then names where it would be):
// nothing is recorded, and the plan does not create the directory.
func NewPlan(ctx context.Context, fl *engine.Flow, st *store.Store, opts Options) (*Plan, error) {
	e, err := newEnv(fl, st, opts)
	if err != nil {
		return nil, err
	}
	defer e.close()
	e.viewOnly = true
	p, err := e.plan(ctx)
	return p, e.redact(err)
}

func (e *env) plan(ctx context.Context) (*Plan, error) {
	states, err := e.ownStates(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]*store.ResourceState{}
	for i := range states {
		byName[states[i].Name] = &states[i]
	}
	p := &Plan{Flow: e.fl.Spec.File, Name: e.fl.Spec.Name, Resources: []*Change{}, Refreshed: !(e.viewOnly && e.opts.NoRefresh)}
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
		if _, declared := e.fl.Resources[s.Name]; !declared {
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

// flowKey identifies the flow that owns a resource in state: its name:, else its file's
// base name. Both survive moving the folder; flows sharing a state directory (those of
// one folder) must have different names, which ownStates checks.
func flowKey(fl *engine.Flow) string {
	if fl.Spec.Name != "" {
		return fl.Spec.Name
	}
	return filepath.Base(fl.Spec.File)
}

// legacyKeys are the owners an older aiflow may have recorded for this flow's resources:
// none (a record from before resources were keyed by flow) and, for a flow without
// name:, its file path as given.
func legacyKeys(fl *engine.Flow) []string {
	keys := []string{""}
	if fl.Spec.Name == "" && fl.Spec.File != "" {
		keys = append(keys, fl.Spec.File)
		if abs, err := filepath.Abs(fl.Spec.File); err == nil {
			keys = append(keys, abs)
		}
	}
	return keys
}

// Attributes every record carries: the flow that applied it and that flow's file name.
const (
	attrFlow = "flow"
	attrFile = "file"
)

// ownStates returns this flow's records, ordered by name. A record an older aiflow left
// unowned (or under the flow's file path) for a resource this flow declares is claimed
// first: it becomes this flow's record. Another flow file beside this one that has the
// same name is an error, since the two would share each other's records.
func (e *env) ownStates(ctx context.Context) ([]store.ResourceState, error) {
	e.others = map[string]string{}
	if e.st == nil {
		return nil, nil
	}
	all, err := e.st.ListResources(ctx)
	if err != nil {
		return nil, err
	}
	own := map[string]bool{}
	for _, s := range all {
		if s.Flow == e.key {
			own[s.Name] = true
		}
	}
	claimed := false
	for i, s := range all {
		if _, declared := e.fl.Resources[s.Name]; !declared || own[s.Name] || s.Flow == e.key || !slices.Contains(legacyKeys(e.fl), s.Flow) {
			continue
		}
		own[s.Name] = true
		if e.viewOnly {
			all[i].Flow = e.key // a plan only looks: the record is this flow's from here on
			continue
		}
		if err := e.st.ClaimResource(ctx, s.Flow, e.key, s.Name); err != nil {
			return nil, err
		}
		claimed = true
	}
	if claimed {
		if all, err = e.st.ListResources(ctx); err != nil {
			return nil, err
		}
	}
	var out []store.ResourceState
	for _, s := range all {
		if s.Flow != e.key {
			if isLocal(s.Kind, s.Backend) {
				e.others[s.Kind+"/"+s.Name] = s.Flow
			}
			continue
		}
		if err := e.sameName(s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// sameName fails when s was applied by another flow file of this folder that is still
// there and has this flow's name.
func (e *env) sameName(s store.ResourceState) error {
	file, _ := s.Attributes[attrFile].(string)
	own := filepath.Base(e.fl.Spec.File)
	if file == "" || file == own || e.fl.Spec.File == "" {
		return nil
	}
	other := filepath.Join(e.fl.Spec.Dir, file)
	f, diags := spec.ParseFile(other)
	if f == nil || diags.HasErrors() || flowKey(&engine.Flow{Spec: f}) != e.key {
		return nil // gone, renamed, or now named differently: the record is this flow's
	}
	return fmt.Errorf("flows %s and %s share the state directory %s and are both named %q: their resources would be recorded as one flow's; give each a different name:",
		own, file, e.opts.StateDir, e.key)
}

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

// isLocal reports whether a resource lives under the state directory, by name (a local
// database or vector index): two flows' resources of one name would be one.
func isLocal(kind, backend string) bool {
	return backend == "local" && (kind == "database" || kind == "vector-index")
}

// planEvaluated plans an evaluated resource.
func (e *env) planEvaluated(ctx context.Context, r *resource, st *store.ResourceState) (*Change, error) {
	if owner, ok := e.others[r.kind+"/"+r.name]; ok && st == nil && isLocal(r.kind, r.backend) {
		if owner == "" {
			owner = "an older aiflow"
		}
		return nil, fmt.Errorf("the local %s %q in %s is recorded for flow %q; local resources of flows that share a state directory need different names (or give each flow its own -state-dir)",
			r.kind, r.name, e.opts.StateDir, owner)
	}
	var real realState
	var refreshErr string
	if e.viewOnly && e.opts.NoRefresh {
		real = recorded(st)
	} else {
		var err error
		if real, err = r.k.refresh(ctx, e, r, st); err != nil {
			if !e.viewOnly || ctx.Err() != nil || !unreachable(err) {
				return nil, err
			}
			real, refreshErr = recorded(st), e.fl.Redact(err.Error())
		}
	}
	c := &Change{Name: r.name, Kind: r.kind, Backend: r.backend, Attributes: []AttrChange{}, Drift: []AttrChange{}, res: r, state: st, real: real, Info: real.info,
		RefreshError: refreshErr}
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
	case !real.exists && r.external():
		// aiflow never creates what is managed outside it: apply checks and records it.
		c.Action = ActionAdopt
		c.Reason = "managed outside aiflow: apply checks that it exists and records it"
		if refreshErr == "" && !(e.viewOnly && e.opts.NoRefresh) {
			c.Reason = "managed outside aiflow and not found: create it there; apply fails until it exists"
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

// unreachable reports whether err says the backend could not be reached or is
// unavailable for now (network errors, timeouts, 5xx and 429 answers), as opposed to a
// mistake in the flow or its credentials, which still fails the plan.
func unreachable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || providers.IsRetryable(err)
}

// recorded is the real state as the record has it, for a plan without refresh: the
// resource exists when it is recorded, with the recorded attributes (so no drift).
func recorded(st *store.ResourceState) realState {
	if st == nil {
		return realState{}
	}
	return realState{exists: true, id: st.ID}
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
