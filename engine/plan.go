package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

// Plan actions for a step.
const (
	ActionRun     = "run"                 // will call its model or do its side effect
	ActionCached  = "cached"              // every call is in the cache
	ActionCompute = "compute"             // pure and local: recomputed, costs nothing
	ActionSkip    = "skip"                // its when: is false
	ActionRuntime = "decided at run time" // depends on outputs known only when the run gets there
)

// Plan is what a run would do, as data: `aiflow plan -o json` prints it; `run` executes
// the flow. Steps are in execution order.
type Plan struct {
	Flow      string        `json:"flow"`
	Name      string        `json:"name,omitempty"`
	Steps     []PlannedStep `json:"steps"`
	Resources []PlannedRes  `json:"resources"`
	Total     Estimate      `json:"total"`
	BudgetUSD float64       `json:"budget_usd,omitempty"`
	// Changes is true when anything would call a model, write, or change.
	Changes  bool     `json:"changes"`
	Warnings []string `json:"warnings,omitempty"`
}

// PlannedStep is one step of a plan.
type PlannedStep struct {
	ID         string   `json:"id"`
	Uses       string   `json:"uses"`
	Needs      []string `json:"needs"`
	Level      int      `json:"level"` // steps of one level can run in parallel
	Action     string   `json:"action"`
	Reason     string   `json:"reason,omitempty"`
	Model      string   `json:"model,omitempty"`
	Candidates []string `json:"candidates,omitempty"`
	// Models is how a routed for_each's items are spread over models, when they go to
	// more than one (Model is then empty).
	Models   []ModelShare `json:"models,omitempty"`
	Items    int          `json:"items,omitempty"`  // for_each items, when known
	CachedN  int          `json:"cached,omitempty"` // items (or 1) found in the cache
	CacheAge string       `json:"cache_age,omitempty"`
	Cache    string       `json:"cache"`
	Estimate Estimate     `json:"estimate"`
	Partial  bool         `json:"estimate_partial,omitempty"` // inputs unknown: output tokens only
	// BatchPrice is, for a step with an async batch, the fraction of the standard price
	// its calls are estimated at (the provider's published batch discount; 1 for none).
	BatchPrice float64  `json:"batch_price,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
	// Notes are what the step says about itself (an agent's tools, a sub-flow's path).
	Notes []string `json:"notes,omitempty"`
}

// ModelShare is how many items of a step go to one model.
type ModelShare struct {
	Model string `json:"model"`
	Items int    `json:"items"`
}

// planNoter is implemented by steps with more to show in a plan (agent tools, sub-flows).
type planNoter interface {
	PlanNotes() []string
}

// toolDiscoverer is implemented by steps whose tools are only known by asking a server
// (an agent's MCP tools): planning with DiscoverTools starts the servers to list them.
type toolDiscoverer interface {
	DiscoverPlanNotes(ctx context.Context) ([]string, error)
}

// discoverTimeout bounds how long planning waits for a step's tool servers.
const discoverTimeout = 20 * time.Second

// PlannedRes is a resource the flow declares.
type PlannedRes struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Action string `json:"action"`
}

// PlanOptions configure planning. Store, when set, is read for cache hits.
type PlanOptions struct {
	Store     *store.Store
	Vars      map[string]any
	Seed      int64
	StateDir  string
	BudgetUSD float64
	Now       func() time.Time
	// DiscoverTools starts agents' MCP servers to list their tools in the plan.
	DiscoverTools bool
}

// Plan works out, without calling any model or writing anything, what a run would do:
// it evaluates every step whose inputs are known, runs pure steps (chunk, transform) to
// learn their outputs, looks model calls up in the cache, and prices the rest from the
// model catalogue.
func (fl *Flow) Plan(ctx context.Context, opts PlanOptions) (*Plan, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w, err := fl.newWalker(ctx, RunOptions{Vars: opts.Vars, Store: opts.Store, StateDir: opts.StateDir, Seed: opts.Seed,
		Parallelism: 1, Executor: InProcess{}, Now: opts.Now, BudgetUSD: opts.BudgetUSD})
	if err != nil {
		return nil, err
	}
	w.planning, w.discover = true, opts.DiscoverTools
	defer w.close()
	p := &Plan{Flow: fl.Spec.File, Name: fl.Spec.Name, Steps: []PlannedStep{}, Resources: []PlannedRes{}, BudgetUSD: w.budget(), Total: Estimate{Priced: true}}
	known := map[string]bool{}
	level := map[string]int{}
	for _, id := range fl.Order {
		n := fl.Nodes[id]
		l := 0
		for _, d := range n.Deps {
			l = max(l, level[d]+1)
		}
		level[id] = l
		ps := w.planStep(ctx, n, known)
		ps.Level = l
		if ps.Action == ActionRun || ps.Action == ActionRuntime {
			p.Changes = true
		}
		p.Total = p.Total.add(ps.Estimate)
		for _, warn := range ps.Warnings {
			p.Warnings = append(p.Warnings, id+": "+warn)
		}
		p.Steps = append(p.Steps, ps)
	}
	if p.BudgetUSD > 0 && p.Total.USD > p.BudgetUSD {
		p.Warnings = append(p.Warnings, fmt.Sprintf("estimated cost $%.6f exceeds the budget of $%.6f: the run will stop before the call that would cross it", p.Total.USD, p.BudgetUSD))
	}
	for _, r := range fl.Spec.Resources {
		p.Resources = append(p.Resources, PlannedRes{Name: r.Name, Kind: r.Kind, Action: "use"})
	}
	return p, nil
}

// planStep decides one step's action; known records which steps' outputs are known (and
// put into the walker's states) for the steps after it.
func (w *walker) planStep(ctx context.Context, n *Node, known map[string]bool) PlannedStep {
	ps := PlannedStep{ID: n.ID, Uses: n.Kind.Name, Needs: append([]string{}, n.Deps...), Cache: w.fl.planCache(n), Estimate: Estimate{Priced: true}}
	ps.Candidates = trimRefs(n.Candidates)
	if pn, ok := n.Impl.(planNoter); ok {
		ps.Notes = pn.PlanNotes()
	}
	if td, ok := n.Impl.(toolDiscoverer); ok && w.discover {
		dctx, cancel := context.WithTimeout(ctx, discoverTimeout)
		notes, err := td.DiscoverPlanNotes(dctx)
		cancel()
		if err != nil {
			ps.Warnings = append(ps.Warnings, "listing tools: "+w.fl.Redact(err.Error()))
		} else if len(notes) > 0 {
			ps.Notes = notes
		}
	}
	if len(ps.Candidates) == 1 {
		ps.Model = ps.Candidates[0]
	}
	if n.Spec.BatchAsync && len(n.Candidates) > 0 {
		if m, err := w.fl.modelRef(n.Candidates[0]); err == nil {
			ps.BatchPrice = w.fl.batchPrice(n, m)
			ps.Notes = append(ps.Notes, w.fl.batchNote(n, m))
		}
	}
	st := w.states[n.ID]
	setKnown := func(out any, status string) {
		st.output, st.status = out, status
		known[n.ID] = true
	}
	for _, d := range n.Deps {
		if !known[d] {
			ps.Action, ps.Reason = ActionRun, fmt.Sprintf("inputs known after %s runs", d)
			if n.When != nil {
				ps.Action, ps.Reason = ActionRuntime, fmt.Sprintf("when: depends on %s", d)
			}
			w.partialEstimate(n, &ps)
			return ps
		}
		if ds := w.states[d]; ds.status == StatusSkipped && n.When == nil {
			ps.Action, ps.Reason = ActionSkip, "upstream skipped: "+d
			setKnown(nil, StatusSkipped)
			return ps
		}
	}
	scope := w.scope(n)
	if n.When != nil {
		v, err := n.When.EvalContext(ctx, scope)
		if err != nil {
			ps.Action, ps.Reason = ActionRuntime, w.fl.Redact(err.Error())
			return ps
		}
		if b, _ := v.(bool); !b {
			ps.Action, ps.Reason = ActionSkip, "when: condition is false"
			setKnown(nil, StatusSkipped)
			return ps
		}
	}
	calls, err := w.planCalls(n, scope)
	if err != nil {
		ps.Action, ps.Reason = ActionRuntime, w.fl.Redact(err.Error())
		return ps
	}
	if n.ForEach != nil {
		ps.Items = len(calls)
	}
	outs, action := w.planExecute(ctx, n, calls, &ps)
	ps.Action = action
	if action == ActionCached || action == ActionCompute {
		if n.ForEach != nil {
			setKnown(outs, StatusSucceeded)
		} else if len(outs) == 1 {
			setKnown(outs[0], StatusSucceeded)
		}
	}
	return ps
}

func trimRefs(refs []string) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = strings.TrimSuffix(r, ":")
	}
	return out
}

// planCalls builds the step's calls (one per for_each item) with models resolved.
func (w *walker) planCalls(n *Node, scope map[string]any) ([]*steps.Call, error) {
	var items []any
	single := n.ForEach == nil
	if !single {
		l, err := forEachItems(w.ctx, n, scope)
		if err != nil {
			return nil, err
		}
		items = l
	}
	build := func(s map[string]any, item int) (*steps.Call, error) {
		call, err := w.buildCall(n, s, item)
		if err != nil {
			return nil, err
		}
		models, err := w.candidates(n, call, s)
		if err != nil {
			return nil, err
		}
		if len(models) > 0 {
			call.Model = models[0]
		}
		return call, nil
	}
	if single {
		c, err := build(scope, -1)
		return []*steps.Call{c}, err
	}
	calls := make([]*steps.Call, len(items))
	for i, it := range items {
		c, err := build(withEach(scope, map[string]any{"value": it, "index": i}), i)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		calls[i] = c
	}
	return calls, nil
}

// planExecute looks calls up in the cache, runs them when the step is pure, and prices
// what is left.
func (w *walker) planExecute(ctx context.Context, n *Node, calls []*steps.Call, ps *PlannedStep) ([]any, string) {
	outs := make([]any, len(calls))
	pure := n.Kind.Task == "" && deterministic(n, nil)
	missing := 0
	var oldest time.Time
	share := map[string]int{}
	for i, call := range calls {
		if call.Model != nil {
			ps.Model = call.Model.Ref()
			if share[ps.Model] == 0 {
				ps.Models = append(ps.Models, ModelShare{Model: ps.Model})
			}
			share[ps.Model]++
		}
		if out, at, ok := w.planCacheHit(n, call); ok {
			outs[i] = out
			ps.CachedN++
			if oldest.IsZero() || at.Before(oldest) {
				oldest = at
			}
			continue
		}
		if pure {
			res, err := w.opts.Executor.Execute(ctx, n.Impl, call)
			if err != nil {
				ps.Reason = w.fl.Redact(err.Error())
				return nil, ActionRuntime
			}
			b, _ := json.Marshal(res.Output)
			var out any
			json.Unmarshal(b, &out)
			outs[i] = out
			continue
		}
		missing++
		if n.Kind.Task == "" || w.fl.externalIndex(call.Inputs["index"]) {
			continue // no model call, or an index that embeds the query itself
		}
		est := estimateCall(n.Kind.Task, call)
		est.USD *= w.fl.batchPrice(n, call.Model)
		ps.Estimate = ps.Estimate.add(est)
		if call.Model == nil {
			continue // a search step without model: embeds with its index's embedder, if at all
		}
		if w := contextWarning(est, call.Model.Ref()); w != "" {
			ps.Warnings = append(ps.Warnings, w)
		}
	}
	if len(ps.Models) > 1 {
		ps.Model = ""
		for i := range ps.Models {
			ps.Models[i].Items = share[ps.Models[i].Model]
		}
	} else {
		ps.Models = nil
	}
	if !oldest.IsZero() {
		ps.CacheAge = w.opts.Now().Sub(oldest).Round(time.Second).String()
	}
	switch {
	case missing == 0 && ps.CachedN == len(calls) && len(calls) > 0:
		ps.Reason = "every call is in the cache"
		return outs, ActionCached
	case missing == 0:
		ps.Reason = "pure step, no model call"
		return outs, ActionCompute
	}
	if ps.CachedN > 0 {
		ps.Reason = fmt.Sprintf("%d of %d calls cached", ps.CachedN, len(calls))
	} else if use, _, why := w.fl.cachePolicy(n, calls[0]); !use {
		ps.Reason = why
	}
	return nil, ActionRun
}

// contextWarning says when a call may not fit its model's context window. The texts of a
// batched call (an embed of many chunks) are each a separate input: the longest one
// counts, not their sum.
func contextWarning(est Estimate, model string) string {
	if est.ContextWindow <= 0 {
		return ""
	}
	if est.largestText > 0 && est.largestText < est.InputTokens { // several texts
		if est.largestText+est.OutputTokens > est.ContextWindow {
			return fmt.Sprintf("the longest text, of about %d tokens, may exceed the %d-token context window of %s",
				est.largestText, est.ContextWindow, model)
		}
		return ""
	}
	if est.InputTokens+est.OutputTokens > est.ContextWindow {
		return fmt.Sprintf("input of about %d tokens (+%d output) may exceed the %d-token context window of %s",
			est.InputTokens, est.OutputTokens, est.ContextWindow, model)
	}
	return ""
}

// planCacheHit looks a call up in the cache without counting a hit (CachePeek).
func (w *walker) planCacheHit(n *Node, call *steps.Call) (any, time.Time, bool) {
	if w.opts.Store == nil {
		return nil, time.Time{}, false
	}
	use, _, _ := w.fl.cachePolicy(n, call)
	if !use {
		return nil, time.Time{}, false
	}
	e, ok, err := w.opts.Store.CachePeek(context.Background(), w.fl.CacheKey(n, call), w.opts.Now())
	if err != nil || !ok {
		return nil, time.Time{}, false
	}
	out, err := store.DecodeValue(e.Value)
	if err != nil {
		return nil, time.Time{}, false
	}
	return out, e.CreatedAt, true
}

// partialEstimate prices a step whose inputs are unknown: output tokens only.
func (w *walker) partialEstimate(n *Node, ps *PlannedStep) {
	if n.Kind.Task == "" || len(n.Candidates) == 0 {
		return
	}
	m, err := w.fl.modelRef(n.Candidates[0])
	if err != nil {
		return
	}
	params := map[string]any{}
	if n.Params != nil && n.Params.IsLiteral() {
		v, _ := n.Params.Eval(nil)
		params, _ = v.(map[string]any)
	}
	ps.Estimate = estimateCall(n.Kind.Task, &steps.Call{Model: m, Params: params, Inputs: map[string]any{}})
	ps.Estimate.USD *= w.fl.batchPrice(n, m)
	ps.Partial = true
}

func (fl *Flow) planCache(n *Node) string {
	if c := n.Spec.Cache; c != nil {
		if c.Mode == "ttl" {
			return "ttl " + c.TTL.String()
		}
		return c.Mode
	}
	if n.Kind.Task == "" {
		if n.Kind.CacheByDefault {
			return "forever"
		}
		return "off"
	}
	if !n.Kind.Deterministic {
		if _, ok := n.Impl.(determinism); !ok {
			return "off (not deterministic)"
		}
		return "if temperature is 0"
	}
	return "forever"
}

// externalIndex reports whether v refers to a vector-index managed outside aiflow (an
// AI Search instance): it embeds a text query itself, so a search on it makes no
// embedding call for plan to count.
func (fl *Flow) externalIndex(v any) bool {
	ref, ok := v.(steps.ResourceRef)
	if !ok {
		return false
	}
	rn, ok := fl.Resources[ref.Name]
	if !ok || rn.Spec.Kind != "vector-index" {
		return false
	}
	v, _ = rn.literal("backend")
	name, _ := v.(string)
	info, ok := providers.LookupIndexBackend(name)
	return ok && info.External
}
