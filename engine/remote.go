package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

// Session executes single steps of one recorded run, for a driver that walks the DAG
// itself (the Temporal workflow): each call opens a session against the shared run
// store, runs one piece of one step with the walker's own semantics (cache, routing,
// fallbacks, retries, budget, records) and closes it. Everything a later piece needs
// travels through the store, never through the driver. A session reads only what its
// piece needs — the final records of the step's dependencies, the step's own record and
// the items it executes — so the work of a fan-out's N item pieces grows with N, not N²;
// a SessionCache shared by a worker's sessions keeps what never changes once recorded.
type Session struct {
	w     *walker
	cache *SessionCache
	// whole holds the whole-step record (Item -1) of each finished step read so far.
	whole map[string]store.StepRecord
	// reads counts the step records read from the store.
	reads int
}

// StepPlan is what Prepare found out about a step before anything is paid for.
type StepPlan struct {
	// Done is set when the step already has its final record (skipped, or run by an
	// earlier attempt): there is nothing left to execute.
	Done bool `json:"done,omitempty"`
	// Skipped is set when an upstream step or the step's when: skipped it; the skip
	// is recorded.
	Skipped bool   `json:"skipped,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Items is the number of for_each items (0 for a step without for_each).
	Items int `json:"items"`
	// Failed is set when evaluating when: or for_each failed; the failure is recorded.
	Failed bool   `json:"failed,omitempty"`
	Error  string `json:"error,omitempty"`
	// ItemUSD is the budget's estimate of one item's call: the dearest item's, so that a
	// driver reserving ItemUSD per item before executing it never commits more than the
	// budget (one number whatever the item count keeps a workflow's history small). Set
	// only when the run has a budget and the step calls a model.
	ItemUSD float64 `json:"item_usd,omitempty"`
	// Model is the model the estimate is for; Priced tells whether the catalogue prices
	// it (otherwise the estimate is the dearest model's of its task until a call of it
	// is paid, as the local engine estimates). Basis says so in words.
	Model  string `json:"model,omitempty"`
	Priced bool   `json:"priced,omitempty"`
	Basis  string `json:"basis,omitempty"`
}

// ItemsSummary is the small result of executing some items of a for_each step: outputs
// stay in the run store (claim-check), only counts, usage and the first failure return.
type ItemsSummary struct {
	Done     int             `json:"done"`
	Cached   int             `json:"cached"`
	Attempts int             `json:"attempts"`
	Usage    providers.Usage `json:"usage"`
	// DearestUSD is the dearest item paid in this piece, so a driver can estimate the
	// next items of a model the catalogue does not price from what they really cost.
	DearestUSD float64 `json:"dearest_usd,omitempty"`
	// Error is the first item failure (redacted), already recorded; empty on success.
	Error string `json:"error,omitempty"`
	// Retryable tells whether the failure was of a kind worth another attempt.
	Retryable bool `json:"retryable,omitempty"`
}

// SessionCache keeps, for the sessions of one worker, what they would otherwise read
// again from the run store for every piece: each run's start, the final records (and
// decoded outputs) of finished steps — final records never change, so another worker
// writing to the same run cannot make them stale — and each for_each step's item list,
// evaluated once from those. It holds the most recent runs only. Safe for concurrent use.
type SessionCache struct {
	mu    sync.Mutex
	runs  map[string]*runCache
	order []string // run ids, oldest first
}

// sessionCacheRuns bounds the runs a SessionCache keeps.
const sessionCacheRuns = 16

type runCache struct {
	started time.Time
	whole   map[string]cachedStep
	items   map[string][]any
}

type cachedStep struct {
	rec store.StepRecord
	out any
	enc encoded
}

// NewSessionCache returns an empty cache.
func NewSessionCache() *SessionCache { return &SessionCache{runs: map[string]*runCache{}} }

// run returns the cache of run id, creating it (and forgetting the oldest run) when add
// is set; nil for a nil cache.
func (c *SessionCache) run(id string, add bool) *runCache {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rc := c.runs[id]
	if rc == nil && add {
		rc = &runCache{whole: map[string]cachedStep{}, items: map[string][]any{}}
		c.runs[id] = rc
		c.order = append(c.order, id)
		if len(c.order) > sessionCacheRuns {
			delete(c.runs, c.order[0])
			c.order = c.order[1:]
		}
	}
	return rc
}

// runStarted is when run id started, as a session of it read from the store; zero when
// unknown. Sessions of one run open at once, so it is read under the lock it is set under.
func (c *SessionCache) runStarted(id string) time.Time {
	if c == nil {
		return time.Time{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if rc := c.runs[id]; rc != nil {
		return rc.started
	}
	return time.Time{}
}

func (c *SessionCache) step(runID, stepID string) (cachedStep, bool) {
	if c == nil {
		return cachedStep{}, false
	}
	rc := c.run(runID, false)
	if rc == nil {
		return cachedStep{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, ok := rc.whole[stepID]
	return cs, ok
}

func (c *SessionCache) putStep(runID, stepID string, cs cachedStep) {
	if rc := c.run(runID, c != nil); rc != nil {
		c.mu.Lock()
		rc.whole[stepID] = cs
		c.mu.Unlock()
	}
}

func (c *SessionCache) forEach(runID, stepID string) ([]any, bool) {
	rc := c.run(runID, false)
	if rc == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := rc.items[stepID]
	return l, ok
}

func (c *SessionCache) putForEach(runID, stepID string, items []any) {
	if rc := c.run(runID, c != nil); rc != nil {
		c.mu.Lock()
		rc.items[stepID] = items
		c.mu.Unlock()
	}
}

// OpenSession opens run opts.RunID for step-by-step execution, creating its run record
// (status running) when it does not exist yet. opts.Resume is ignored.
func (fl *Flow) OpenSession(ctx context.Context, opts RunOptions) (*Session, error) {
	return fl.OpenCachedSession(ctx, opts, nil)
}

// OpenCachedSession is OpenSession sharing what sessions read with the others of cache
// (nil: none). The session's vars are opts.Vars, as the run was submitted with.
func (fl *Flow) OpenCachedSession(ctx context.Context, opts RunOptions, cache *SessionCache) (*Session, error) {
	if opts.Store == nil {
		return nil, errors.New("session: no run store")
	}
	if opts.RunID == "" {
		return nil, errors.New("session: no run id")
	}
	fl.defaults(&opts, "temporal")
	opts.Resume, opts.Ephemeral = "", false
	var started time.Time
	var usage providers.Usage
	exists := false
	if t := cache.runStarted(opts.RunID); !t.IsZero() {
		exists, started = true, t
	} else {
		prev, err := opts.Store.GetRun(ctx, opts.RunID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("session: %w", err)
		}
		if err == nil {
			exists, started, usage = true, prev.StartedAt, providers.Usage(prev.Usage)
			if rc := cache.run(opts.RunID, cache != nil); rc != nil {
				cache.mu.Lock()
				rc.started = started
				cache.mu.Unlock()
			}
		}
	}
	w, err := fl.newWalker(ctx, opts)
	if err != nil {
		return nil, err
	}
	if exists {
		w.started = started
		w.runInfo["started_at"] = started.UTC().Format(time.RFC3339)
		w.usage = usage
	} else {
		sum := sha256.Sum256(fl.Spec.Source)
		if err := opts.Store.CreateRun(ctx, store.Run{ID: w.runID, Flow: fl.Spec.File, FlowName: fl.Spec.Name, FlowHash: hex.EncodeToString(sum[:]),
			Status: store.RunRunning, Vars: fl.redactVars(w.vars), StartedAt: w.started, Engine: opts.Engine, Seed: opts.Seed, Labels: opts.Labels}); err != nil {
			w.close()
			return nil, fmt.Errorf("recording run: %w", err)
		}
	}
	w.rec = newRecorder(opts.Store, w.runID, len(w.fl.Order))
	return &Session{w: w, cache: cache, whole: map[string]store.StepRecord{}}, nil
}

// RecordsRead is the number of step records the session has read from the run store.
func (s *Session) RecordsRead() int { return s.reads }

// loadStep reads step id's whole-step record, from the cache when it is there, and
// when it is final sets the step's state from it; it reports whether it was.
func (s *Session) loadStep(ctx context.Context, id string) (bool, error) {
	if _, ok := s.whole[id]; ok {
		return true, nil
	}
	w := s.w
	cs, ok := s.cache.step(w.runID, id)
	if !ok {
		r, err := w.opts.Store.GetStep(ctx, w.runID, id, store.WholeStep)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("session: %w", err)
		}
		s.reads++
		if r.Status == StatusRunning || r.Status == store.StepPending {
			return false, nil
		}
		cs.rec = r
		if r.Status == StatusSucceeded || r.Status == StatusCached {
			if cs.out, cs.enc, err = w.fromStepRecord(r); err != nil {
				return false, fmt.Errorf("session: step %q: stored output unreadable: %w", id, err)
			}
		}
		s.cache.putStep(w.runID, id, cs)
	}
	s.setFinal(id, cs)
	return true, nil
}

// setFinal sets the state of a step that has its final record.
func (s *Session) setFinal(id string, cs cachedStep) {
	w, r := s.w, cs.rec
	s.whole[id] = r
	n, st := w.fl.Nodes[id], w.states[id]
	st.status, st.reason = r.Status, r.Reason
	st.result = StepResult{ID: id, Status: r.Status, Reason: r.Reason, Error: r.Error, Model: r.Model, Attempts: r.Attempts,
		Usage: providers.Usage(r.Usage), Elapsed: r.FinishedAt.Sub(r.StartedAt), Meta: r.Meta}
	if l, ok := cs.out.([]any); ok && n.ForEach != nil {
		st.result.Items = len(l)
	}
	switch r.Status {
	case StatusSucceeded, StatusCached:
		st.output, st.out = cs.out, cs.enc
	case StatusSkipped:
		st.skippedW = r.Reason == "when: condition is false"
	case StatusFailed:
		st.err = errors.New(r.Error)
		w.failures = append(w.failures, &StepError{StepID: id, Pos: n.Spec.Pos, Err: st.err})
	}
	close(st.done)
}

// loadAll rebuilds the state of every step that has its final record, with the item
// counts of for_each steps, for the end of the run.
func (s *Session) loadAll(ctx context.Context) error {
	w := s.w
	recs, err := w.opts.Store.Steps(ctx, w.runID)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	s.reads += len(recs)
	items := map[string]int{}
	cached := map[string]int{}
	for _, r := range recs {
		if _, ok := w.fl.Nodes[r.StepID]; !ok || r.Item < 0 {
			continue
		}
		items[r.StepID]++
		if r.Status == StatusCached {
			cached[r.StepID]++
		}
	}
	for _, r := range recs {
		if _, ok := w.fl.Nodes[r.StepID]; !ok || r.Item >= 0 || r.Status == StatusRunning || r.Status == store.StepPending {
			continue
		}
		if _, done := s.whole[r.StepID]; done {
			continue
		}
		cs := cachedStep{rec: r}
		if r.Status == StatusSucceeded || r.Status == StatusCached {
			if cs.out, cs.enc, err = w.fromStepRecord(r); err != nil {
				return fmt.Errorf("session: step %q: stored output unreadable: %w", r.StepID, err)
			}
		}
		s.setFinal(r.StepID, cs)
	}
	for id := range s.whole {
		if st := w.states[id]; w.fl.Nodes[id].ForEach != nil {
			st.result.Items, st.result.Cached = items[id], cached[id]
		}
	}
	return nil
}

// loadItems makes the recorded items idxs of step stepID that succeeded available for
// reuse, as a resume reuses them, so a retried piece pays only for what is missing.
func (s *Session) loadItems(ctx context.Context, stepID string, idxs []int) error {
	w := s.w
	var recs []store.StepRecord
	for _, i := range idxs {
		r, err := w.opts.Store.GetStep(ctx, w.runID, stepID, i)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("session: %w", err)
		}
		s.reads++
		recs = append(recs, r)
	}
	s.reuse(recs)
	return nil
}

// reuse keeps the records that succeeded (and hold no hidden secret) for runItems.
func (s *Session) reuse(recs []store.StepRecord) { s.w.reuseRecords(recs) }

// loadTurns continues the numbering of step stepID's agent turns after an earlier
// attempt's.
func (s *Session) loadTurns(ctx context.Context, stepID string) error {
	w := s.w
	ts, err := w.opts.Store.Turns(ctx, w.runID, stepID)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.turns == nil {
		w.turns = map[string]int{}
	}
	for _, t := range ts {
		key := fmt.Sprintf("%s\x00%d", t.StepID, t.Item)
		w.turns[key] = max(w.turns[key], t.Index+1)
	}
	return nil
}

// Close flushes the records written in the session.
func (s *Session) Close() error {
	defer s.w.close()
	if s.w.rec == nil {
		return nil
	}
	err := s.w.rec.close()
	s.w.rec = nil
	return err
}

// RunID is the session's run.
func (s *Session) RunID() string { return s.w.runID }

// node returns step stepID after loading the final records of its dependencies and its
// own, if it has one (done).
func (s *Session) node(ctx context.Context, stepID string) (n *Node, done bool, err error) {
	n, ok := s.w.fl.Nodes[stepID]
	if !ok {
		return nil, false, fmt.Errorf("session: flow has no step %q", stepID)
	}
	for _, d := range n.Deps {
		ok, err := s.loadStep(ctx, d)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return nil, false, fmt.Errorf("session: step %q needs %q, which has not finished in run %s", stepID, d, s.w.runID)
		}
	}
	done, err = s.loadStep(ctx, stepID)
	return n, done, err
}

// items evaluates step n's for_each list, or takes it from the cache.
func (s *Session) items(ctx context.Context, n *Node, scope map[string]any) ([]any, error) {
	if l, ok := s.cache.forEach(s.w.runID, n.ID); ok {
		return l, nil
	}
	l, err := forEachItems(ctx, n, scope)
	if err == nil {
		s.cache.putForEach(s.w.runID, n.ID, l)
	}
	return l, err
}

// RunStep executes a whole step (all its items, if it has for_each) and records it, as
// the local engine would: upstream skips, when:, cache, routing and retries included.
// A step already recorded is left as it is.
func (s *Session) RunStep(ctx context.Context, stepID string) (StepResult, error) {
	n, done, err := s.node(ctx, stepID)
	if err != nil {
		return StepResult{}, err
	}
	st := s.w.states[stepID]
	if done {
		return st.result, nil
	}
	if n.ForEach != nil {
		// Items an earlier attempt recorded are reused.
		have, err := s.w.opts.Store.StepItems(ctx, s.w.runID, stepID, 0, 0)
		if err != nil {
			return StepResult{}, fmt.Errorf("session: %w", err)
		}
		var idxs []int
		for _, r := range have {
			if r.Status == StatusSucceeded || r.Status == StatusCached {
				idxs = append(idxs, r.Item)
			}
		}
		if err := s.loadItems(ctx, stepID, idxs); err != nil {
			return StepResult{}, err
		}
	}
	if err := s.loadTurns(ctx, stepID); err != nil {
		return StepResult{}, err
	}
	s.w.runNode(n)
	return st.result, nil
}

// Prepare decides whether a for_each step runs and over how many items: it records the
// skip of a step an upstream failure or its when: skips, and the failure of a when: or
// for_each expression. For a run with a budget it estimates an item's call.
func (s *Session) Prepare(ctx context.Context, stepID string) (StepPlan, error) {
	n, done, err := s.node(ctx, stepID)
	if err != nil {
		return StepPlan{}, err
	}
	w, st := s.w, s.w.states[stepID]
	if done {
		r := s.whole[stepID]
		return StepPlan{Done: true, Skipped: r.Status == StatusSkipped, Reason: r.Reason, Failed: r.Status == StatusFailed, Error: r.Error}, nil
	}
	start := w.opts.Now()
	st.result = StepResult{ID: n.ID}
	if reason, skip := w.upstream(n); skip {
		w.skip(n, st, reason, false)
		return StepPlan{Skipped: true, Reason: reason}, nil
	}
	scope := w.scope(n)
	if n.When != nil {
		v, err := n.When.EvalContext(ctx, scope)
		if err != nil {
			w.fail(n, st, err, start)
			return StepPlan{Failed: true, Error: st.result.Error}, nil
		}
		if b, _ := v.(bool); !b {
			w.skip(n, st, "when: condition is false", true)
			return StepPlan{Skipped: true, Reason: "when: condition is false"}, nil
		}
	}
	if n.ForEach == nil {
		return StepPlan{}, nil
	}
	items, err := s.items(ctx, n, scope)
	if err != nil {
		w.fail(n, st, err, start)
		return StepPlan{Failed: true, Error: st.result.Error}, nil
	}
	w.hooks.emit(Event{Type: EventStepStart, RunID: w.runID, StepID: n.ID, Item: -1})
	plan := StepPlan{Items: len(items)}
	if w.budgeted() {
		s.estimateItems(n, scope, items, &plan)
	}
	return plan, nil
}

// estimateItems sets plan's estimate of one item's call: the dearest item's, as the
// budget would estimate it before sending it. An item whose call cannot be built is
// left out; it fails when executed, before paying.
func (s *Session) estimateItems(n *Node, scope map[string]any, items []any, plan *StepPlan) {
	w := s.w
	for i, it := range items {
		call, err := w.buildCall(n, withEach(scope, map[string]any{"value": it, "index": i}), i)
		if err != nil {
			continue
		}
		models, err := w.candidates(n, call, withEach(scope, map[string]any{"value": it, "index": i}))
		if err != nil || len(models) == 0 || models[0] == nil {
			continue
		}
		call.Model = models[0]
		est, basis := w.estimate(n, []*steps.Call{call})
		if est >= plan.ItemUSD {
			plan.ItemUSD, plan.Model, plan.Basis = est, call.Model.Ref(), basis
			plan.Priced = estimateCall(n.Kind.Task, call).Priced
		}
	}
}

// ExecItems executes the items idxs of a for_each step (one batch call when the step
// batches), recording each. Items recorded by an earlier attempt are reused, so a retried
// activity pays only for what is missing. An item failure is recorded and returned in the
// summary; the error is for failures of the machinery (store, flow), worth retrying.
func (s *Session) ExecItems(ctx context.Context, stepID string, idxs []int) (ItemsSummary, error) {
	n, _, err := s.node(ctx, stepID)
	if err != nil {
		return ItemsSummary{}, err
	}
	if n.ForEach == nil {
		return ItemsSummary{}, fmt.Errorf("session: step %q has no for_each", stepID)
	}
	w := s.w
	scope := w.scope(n)
	items, err := s.items(ctx, n, scope)
	if err != nil {
		return ItemsSummary{}, fmt.Errorf("session: step %q: %w", stepID, err)
	}
	for _, i := range idxs {
		if i < 0 || i >= len(items) {
			return ItemsSummary{}, fmt.Errorf("session: step %q has %d items, no item %d", stepID, len(items), i)
		}
	}
	if err := s.loadItems(ctx, stepID, idxs); err != nil {
		return ItemsSummary{}, err
	}
	if err := s.loadTurns(ctx, stepID); err != nil {
		return ItemsSummary{}, err
	}
	_, recs, ierr := w.runItems(n, scope, items, idxs)
	var sum ItemsSummary
	for _, r := range recs {
		sum.Usage = sum.Usage.Add(r.usage)
		sum.Attempts += r.attempts
		sum.DearestUSD = max(sum.DearestUSD, r.usage.USD)
		if r.cached {
			sum.Cached++
		}
	}
	sum.Done = len(recs)
	if ierr != nil {
		sum.Done--
		sum.Error, sum.Retryable = w.fl.Redact(ierr.Error()), retryable(ierr)
	}
	return sum, nil
}

// Finish assembles a for_each step's output from its item records and records the step:
// failed when an item failed or is missing (stopped says why, e.g. the budget), cached
// when every item was.
func (s *Session) Finish(ctx context.Context, stepID string, total int, stopped string) (StepResult, error) {
	n, done, err := s.node(ctx, stepID)
	if err != nil {
		return StepResult{}, err
	}
	w, st := s.w, s.w.states[stepID]
	if done {
		return st.result, nil
	}
	recs, err := w.opts.Store.Steps(ctx, w.runID)
	if err != nil {
		return StepResult{}, fmt.Errorf("session: %w", err)
	}
	s.reads += len(recs)
	its := map[int]store.StepRecord{}
	for _, r := range recs {
		if r.StepID == stepID && r.Item >= 0 {
			its[r.Item] = r
		}
	}
	start := w.opts.Now()
	st.result = StepResult{ID: n.ID, Items: total}
	outs := make([]any, total)
	encs := make([]encoded, total)
	var failed []int
	var missing []int
	cached := 0
	for i := 0; i < total; i++ {
		r, ok := its[i]
		if ok {
			st.result.Usage = st.result.Usage.Add(providers.Usage(r.Usage))
			st.result.Attempts += r.Attempts
			if r.Model != "" {
				st.result.Model = r.Model
			}
			if r.StartedAt.Before(start) && !r.StartedAt.IsZero() {
				start = r.StartedAt
			}
		}
		switch {
		case !ok:
			missing = append(missing, i)
		case r.Status == StatusFailed:
			failed = append(failed, i)
		default:
			out, enc, err := w.fromStepRecord(r)
			if err != nil {
				return StepResult{}, fmt.Errorf("session: step %q item %d: stored output unreadable: %w", stepID, i, err)
			}
			outs[i], encs[i] = out, enc
			if r.Status == StatusCached {
				cached++
			}
		}
	}
	st.result.Cached = cached
	switch {
	case len(failed) > 0:
		sort.Ints(failed)
		w.fail(n, st, fmt.Errorf("item %d: %s", failed[0], its[failed[0]].Error), start)
	case len(missing) > 0:
		why := stopped
		if why == "" {
			why = "not executed"
		}
		w.fail(n, st, fmt.Errorf("%d of %d items %s (first: item %d)", len(missing), total, why, missing[0]), start)
	default:
		st.output, st.out = outs, w.listRecord(outs, encs)
		w.succeed(n, st, total > 0 && cached == total, start)
	}
	return st.result, nil
}

// FinishRun evaluates the flow's outputs from the recorded steps and records the run's
// end, like the end of a local run.
func (s *Session) FinishRun(ctx context.Context) (*RunResult, error) {
	w := s.w
	prev, err := w.opts.Store.GetRun(ctx, w.runID)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	w.usage = providers.Usage(prev.Usage)
	if err := s.loadAll(ctx); err != nil {
		return nil, err
	}
	for _, id := range w.fl.Order {
		if _, done := s.whole[id]; !done {
			st := w.states[id]
			st.status, st.result = StatusCancelled, StepResult{ID: id, Status: StatusCancelled, Reason: "not run"}
		}
	}
	if w.rec != nil {
		if err := w.rec.close(); err != nil {
			return nil, fmt.Errorf("recording steps: %w", err)
		}
		w.rec = nil
	}
	return w.finish(ctx)
}

// Retryable reports whether err is worth another attempt: a timeout, or a provider error
// marked retryable. Invalid requests, unknown models and unaccepted licences are not.
func Retryable(err error) bool { return retryable(err) }

// Literal is the value of setting key when the flow writes it without expressions.
func (rn *ResourceNode) Literal(key string) (any, bool) { return rn.literal(key) }

// Redact hides every secret the session's flow has read in s.
func (s *Session) Redact(msg string) string { return s.w.fl.Redact(msg) }
