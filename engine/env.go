package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// runEnv holds what a run opens lazily and shares between steps: provider connections and
// vector indexes. Only what a step actually uses is opened, so an offline flow never needs
// a cloud credential.
type runEnv struct {
	fl   *Flow
	opts RunOptions
	w    *walker

	mu        sync.Mutex
	provs     map[string]*provSlot
	indexes   map[string]*indexSlot
	dbs       map[string]*dbSlot
	vars      map[string]any
	providerR *providers.Registry
	parts     parts // answers to parts of calls (steps.PartCache)
}

type provSlot struct {
	once sync.Once
	p    providers.Provider
	// limit is the provider's declared concurrency, applied per task: generate calls
	// queued at the limit must not starve embeddings on the same provider (providers
	// rate-limit tasks separately too). sems holds one semaphore per task, under runEnv.mu.
	limit int
	sems  map[providers.Task]chan struct{}
	err   error
}

type indexSlot struct {
	once sync.Once
	idx  providers.VectorIndex
	spec providers.IndexSpec
	err  error
}

func newRunEnv(fl *Flow, opts RunOptions, w *walker) *runEnv {
	return &runEnv{fl: fl, opts: opts, w: w, provs: map[string]*provSlot{}, indexes: map[string]*indexSlot{}, dbs: map[string]*dbSlot{}, providerR: fl.opts.Providers}
}

// close releases what the run opened. Slots hold a value only when opening it succeeded
// (a failed open leaves them nil, never a typed nil), so every value here is live.
func (e *runEnv) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.indexes {
		if s.idx != nil {
			s.idx.Close()
		}
	}
	for _, s := range e.dbs {
		if s.db != nil {
			s.db.Close()
		}
	}
	for _, s := range e.provs {
		if s.p != nil && e.opts.Pool == nil { // pooled providers outlive the run
			s.p.Close()
		}
	}
}

func (e *runEnv) slot(name string) *provSlot {
	if e.opts.Pool != nil {
		return e.opts.Pool.slot(name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.provs[name]
	if !ok {
		s = &provSlot{}
		e.provs[name] = s
	}
	return s
}

// provider opens the providers: entry name once per run.
func (e *runEnv) provider(name string) (providers.Provider, error) {
	pn, ok := e.fl.Providers[name]
	if !ok {
		return nil, fmt.Errorf("unknown provider %q", name)
	}
	s := e.slot(name)
	s.once.Do(func() {
		open := func() (providers.Provider, error) {
			cfg, err := e.providerConfig(pn)
			if err != nil {
				return nil, fmt.Errorf("provider %q: %w", name, err)
			}
			p, err := pn.Info.New(cfg)
			if err != nil {
				return nil, fmt.Errorf("provider %q (%s): %s", name, pn.Info.Name, e.fl.Redact(err.Error()))
			}
			return p, nil
		}
		var p providers.Provider
		var err error
		if e.opts.WrapProvider != nil {
			p, err = e.opts.WrapProvider(name, pn.Info.Name, open)
		} else {
			p, err = open()
		}
		if err != nil {
			s.err = err
			return
		}
		s.p = p
		if l, ok := s.p.(providers.Limiter); ok && l.Limits().Concurrency > 0 {
			mu := e.slotMu()
			mu.Lock()
			s.limit = l.Limits().Concurrency
			mu.Unlock()
		}
	})
	return s.p, s.err
}

func (e *runEnv) providerConfig(pn *ProviderNode) (providers.Config, error) {
	scope := map[string]any{"vars": e.w.vars, "run": e.w.runInfo}
	cfg := providers.Config{Name: pn.Spec.Name, Kind: pn.Info.Name, Settings: map[string]any{}, HTTPClient: e.opts.HTTPClient, StateDir: e.opts.StateDir, Debug: e.opts.Debug, Retry: pn.Retry}
	for k, t := range pn.Settings {
		v, err := t.Eval(scope)
		if err != nil {
			return cfg, err
		}
		cfg.Settings[k] = v
	}
	return cfg, nil
}

// slotMu guards provider slots' limits and semaphores: the run's own, or the pool's
// when providers are shared between runs.
func (e *runEnv) slotMu() sync.Locker {
	if e.opts.Pool != nil {
		return &e.opts.Pool.mu
	}
	return &e.mu
}

// providerSem is the semaphore bounding the provider's calls for task, or nil when the
// provider declares no limit.
func (e *runEnv) providerSem(name string, task providers.Task) chan struct{} {
	s := e.slot(name)
	mu := e.slotMu()
	mu.Lock()
	defer mu.Unlock()
	if s.limit <= 0 {
		return nil
	}
	sem, ok := s.sems[task]
	if !ok {
		if s.sems == nil {
			s.sems = map[providers.Task]chan struct{}{}
		}
		sem = make(chan struct{}, s.limit)
		s.sems[task] = sem
	}
	return sem
}

// model resolves an alias, provider:id or bare provider name to a bound model, opening
// its provider (when planning, the provider is not opened).
func (e *runEnv) model(ref string) (*steps.Model, error) {
	m, err := e.fl.modelRef(ref)
	if err != nil || e.w.planning {
		return m, err
	}
	if m.Provider, err = e.provider(m.ProviderName); err != nil {
		return nil, err
	}
	return m, nil
}

// modelRef resolves an alias, provider:id or bare provider name without opening anything.
func (fl *Flow) modelRef(ref string) (*steps.Model, error) {
	m := &steps.Model{}
	if a, ok := fl.Models[ref]; ok {
		m.Alias, m.ProviderName, m.ID = a.Name, a.Provider, a.ID
	} else if prov, id, found := strings.Cut(ref, ":"); found {
		m.ProviderName, m.ID = prov, id
	} else {
		m.ProviderName = ref
	}
	pn, ok := fl.Providers[m.ProviderName]
	if !ok {
		return nil, fmt.Errorf("unknown provider %q", m.ProviderName)
	}
	m.ProviderKind = pn.Info.Name
	return m, nil
}

// stepEnv is the steps.Env one call sees.
type stepEnv struct {
	e      *runEnv
	n      *Node
	item   int
	stream bool
	// storeParts keeps the answers to parts of the call in the run store's cache too
	// (steps.PartCache): set from the call's own cache policy when it is executed.
	storeParts bool
	tokens     streamRedactor // secrets split across tokens are redacted too
	ctx        callContext    // the context the call's attempts run in (slotted)
}

func (e *runEnv) stepEnv(n *Node, item int) stepEnv {
	return stepEnv{e: e, n: n, item: item, stream: e.w.streams[n.ID], tokens: streamRedactor{secrets: e.fl.secrets}}
}

func (s *stepEnv) Emit(ev steps.Event) {
	if ev.Kind == "token" {
		s.emitToken(s.tokens.write(ev.Text))
	}
}

// endStream releases the streamed text held back in case it was the start of a secret;
// it is called when an attempt of the call returns.
func (s *stepEnv) endStream() { s.emitToken(s.tokens.flush()) }

func (s *stepEnv) emitToken(text string) {
	if text != "" {
		s.e.w.hooks.emit(Event{Type: EventToken, RunID: s.e.w.runID, StepID: s.n.ID, Item: s.item, Text: text, Stream: s.stream})
	}
}

func (s *stepEnv) VectorIndex(ctx context.Context, name string) (providers.VectorIndex, providers.IndexSpec, error) {
	return s.e.vectorIndex(ctx, name)
}

func (s *stepEnv) IndexEmbedder(ctx context.Context, name string) (*steps.Model, error) {
	rn, ok := s.e.fl.Resources[name]
	if !ok {
		return nil, fmt.Errorf("unknown resource %q", name)
	}
	if set := rn.Spec.Setting("model"); set != nil {
		return s.e.model(set.Value.Scalar())
	}
	return s.e.model(localProvider + ":")
}

// vectorIndex opens a vector-index resource once per run. The local backend creates a
// missing index; other backends need `aiflow apply`.
func (e *runEnv) vectorIndex(ctx context.Context, name string) (providers.VectorIndex, providers.IndexSpec, error) {
	rn, ok := e.fl.Resources[name]
	if !ok || rn.Spec.Kind != "vector-index" {
		return nil, providers.IndexSpec{}, fmt.Errorf("%q is not a vector-index resource", name)
	}
	e.mu.Lock()
	s, ok := e.indexes[name]
	if !ok {
		s = &indexSlot{}
		e.indexes[name] = s
	}
	e.mu.Unlock()
	s.once.Do(func() {
		is, settings, err := e.indexSpec(rn)
		if err != nil {
			s.err = err
			return
		}
		s.spec = is
		info, ok := providers.LookupIndexBackend(is.Backend)
		if !ok {
			s.err = fmt.Errorf("resource %q: vector-index backend %q is not available (known: %s)", name, is.Backend, strings.Join(providers.IndexBackendNames(), ", "))
			return
		}
		cfg := providers.IndexBackendConfig{StateDir: e.opts.StateDir, Settings: settings}
		if pname, _ := settings["provider"].(string); pname != "" {
			if cfg.Provider, err = e.provider(pname); err != nil {
				s.err = err
				return
			}
		}
		backend, err := info.New(cfg)
		if err != nil {
			s.err = fmt.Errorf("resource %q: %w", name, err)
			return
		}
		// Keep the index only when it opened: a backend may return a typed nil with its
		// error, which close would otherwise call Close on.
		idx, err := backend.Open(ctx, is, is.Backend == "local")
		if err != nil {
			s.err = fmt.Errorf("resource %q: %w", name, err)
			return
		}
		s.idx = idx
	})
	return s.idx, s.spec, s.err
}

// indexSpec evaluates a vector-index resource's settings.
func (e *runEnv) indexSpec(rn *ResourceNode) (providers.IndexSpec, map[string]any, error) {
	scope := map[string]any{"vars": e.w.vars, "run": e.w.runInfo}
	settings := map[string]any{}
	for k, t := range rn.Settings {
		v, err := t.Eval(scope)
		if err != nil {
			return providers.IndexSpec{}, nil, err
		}
		settings[k] = v
	}
	return IndexSpecFrom(rn.Spec.Name, settings), settings, nil
}

// IndexSpecFrom builds an IndexSpec from evaluated resource settings, with defaults
// (backend local, metric cosine).
func IndexSpecFrom(name string, settings map[string]any) providers.IndexSpec {
	is := providers.IndexSpec{Name: name, Backend: "local", Metric: "cosine", Settings: settings}
	if s, ok := settings["backend"].(string); ok && s != "" {
		is.Backend = s
	}
	if s, ok := settings["metric"].(string); ok && s != "" {
		is.Metric = s
	}
	if d, ok := settings["dimensions"].(int); ok {
		is.Dimensions = d
	}
	if s, ok := settings["ann"].(string); ok && s != "none" {
		is.ANN = s
	}
	if m, ok := settings["metadata_indexes"].(map[string]any); ok {
		is.MetadataIndexes = map[string]string{}
		for k, v := range m {
			is.MetadataIndexes[k] = fmt.Sprint(v)
		}
	}
	return is
}

// resourceScope is what ${ resources.x } gives: a reference steps open through Env,
// with the literal settings beside it. The resource's own name and kind win over
// settings of those names (a prompt's name: is its name in the prompt table), since a
// step given the reference opens the resource by them.
func (fl *Flow) resourceScope() map[string]any {
	out := map[string]any{}
	for name, rn := range fl.Resources {
		ref := map[string]any{}
		for k, t := range rn.Settings {
			if t.IsLiteral() {
				ref[k], _ = t.Eval(nil)
			}
		}
		ref["name"], ref["kind"] = name, rn.Spec.Kind
		out[name] = ref
	}
	return out
}

func (s *stepEnv) Model(_ context.Context, ref string) (*steps.Model, error) { return s.e.model(ref) }

// RecordTurn numbers turns itself, per step and item, continuing across attempts, so a
// retried agent step appends rather than colliding with its earlier attempt's turns.
func (s *stepEnv) RecordTurn(ctx context.Context, t steps.Turn) error {
	w := s.e.w
	key := fmt.Sprintf("%s\x00%d", s.n.ID, s.item)
	w.mu.Lock()
	if w.turns == nil {
		w.turns = map[string]int{}
	}
	idx := w.turns[key]
	w.turns[key] = idx + 1
	w.mu.Unlock()
	if w.opts.Ephemeral {
		return nil
	}
	return w.opts.Store.AppendTurn(context.WithoutCancel(ctx), store.Turn{RunID: w.runID, StepID: s.n.ID, Item: s.item, Index: idx, Role: t.Role,
		Content: w.fl.Redact(t.Content), ToolName: t.ToolName, ToolCallID: t.ToolCallID, Arguments: w.fl.secrets.redactJSON(t.Arguments), Usage: toStoreUsage(t.Usage)})
}

// Invoke builds a one-off step of kind uses and runs it with inputs.
func (s *stepEnv) Invoke(ctx context.Context, uses string, inputs map[string]any, model string) (steps.Result, error) {
	e := s.e
	kind, ok := e.fl.opts.Steps.Lookup(uses)
	if !ok {
		return steps.Result{}, fmt.Errorf("unknown step kind %q%s", uses, spec.DidYouMean(uses, e.fl.opts.Steps.Names()))
	}
	impl, diags := kind.New(&spec.Step{ID: s.n.ID + "." + uses, Uses: uses, Keys: map[string]spec.Pos{}})
	if diags.HasErrors() {
		return steps.Result{}, diags.Err()
	}
	call := &steps.Call{StepID: s.n.ID, Item: s.item, Inputs: map[string]any{}, Env: s}
	for _, f := range kind.Inputs {
		v, err := steps.Coerce(f, inputs[f.Name])
		if err != nil {
			return steps.Result{}, err
		}
		if v != nil {
			call.Inputs[f.Name] = v
		}
	}
	for k := range inputs {
		if _, ok := kind.Input(k); !ok {
			return steps.Result{}, fmt.Errorf("%s takes no input %q%s", uses, k, spec.DidYouMean(k, kind.InputNames()))
		}
	}
	if kind.Task != "" {
		if model == "" {
			model = localProvider
		}
		m, err := e.model(model)
		if err != nil {
			return steps.Result{}, err
		}
		call.Model = m
	}
	res, err := e.opts.Executor.Execute(ctx, impl, call)
	e.w.addUsage(res.Usage) // paid for even when the call failed
	return res, err
}

func (s *stepEnv) RunFlow(ctx context.Context, path string, vars map[string]any) (map[string]any, error) {
	e := s.e
	sub, subCtx, err := e.fl.subFlowForRun(ctx, s.n.Spec, path)
	if err != nil {
		return nil, err
	}
	opts := e.opts
	opts.Vars, opts.Resume, opts.RunID = vars, "", ""
	// The sub-flow draws on this run's budget (not a fresh copy of --budget) and passes
	// what it pays up as it pays it, so a kill inside it loses none of it; its own
	// budget:, if any, applies as well.
	opts.BudgetUSD, opts.parent = 0, e.w
	res, err := sub.Run(subCtx, opts)
	if err != nil {
		return nil, fmt.Errorf("sub-flow %s: %w", path, err)
	}
	return res.Outputs, nil
}

type dbSlot struct {
	once sync.Once
	db   providers.Database
	err  error
}

// Database opens the database resource name once per run (RunOptions.OpenDatabase).
func (s *stepEnv) Database(ctx context.Context, name string) (providers.Database, error) {
	e := s.e
	if rn, ok := e.fl.Resources[name]; !ok || rn.Spec.Kind != "database" {
		return nil, fmt.Errorf("%q is not a database resource", name)
	}
	if e.opts.OpenDatabase == nil {
		return nil, fmt.Errorf("database %q: this run cannot open databases", name)
	}
	e.mu.Lock()
	slot, ok := e.dbs[name]
	if !ok {
		slot = &dbSlot{}
		e.dbs[name] = slot
	}
	e.mu.Unlock()
	slot.once.Do(func() {
		db, err := e.opts.OpenDatabase(context.WithoutCancel(ctx), name)
		if err != nil {
			slot.err = err
			return
		}
		slot.db = db
	})
	return slot.db, slot.err
}
