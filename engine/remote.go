package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
)

// Session executes single steps of one recorded run, for a driver that walks the DAG
// itself (the Temporal workflow): each call opens a session against the shared run
// store, runs one piece of one step with the walker's own semantics (cache, routing,
// fallbacks, retries, budget, records) and closes it. Everything a later piece needs
// travels through the store, never through the driver: a session rebuilds the states
// of finished steps from their records, the way a resume does.
type Session struct {
	w *walker
	// items holds every item record of each for_each step (failed ones too), by index.
	items map[string]map[int]store.StepRecord
	// whole holds each step's whole-step record (Item -1).
	whole map[string]store.StepRecord
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
}

// ItemsSummary is the small result of executing some items of a for_each step: outputs
// stay in the run store (claim-check), only counts, usage and the first failure return.
type ItemsSummary struct {
	Done     int             `json:"done"`
	Cached   int             `json:"cached"`
	Attempts int             `json:"attempts"`
	Usage    providers.Usage `json:"usage"`
	// Error is the first item failure (redacted), already recorded; empty on success.
	Error string `json:"error,omitempty"`
	// Retryable tells whether the failure was of a kind worth another attempt.
	Retryable bool `json:"retryable,omitempty"`
}

// OpenSession opens run opts.RunID for step-by-step execution, creating its run record
// (status running) when it does not exist yet. opts.Resume is ignored.
func (fl *Flow) OpenSession(ctx context.Context, opts RunOptions) (*Session, error) {
	if opts.Store == nil {
		return nil, errors.New("session: no run store")
	}
	if opts.RunID == "" {
		return nil, errors.New("session: no run id")
	}
	fl.defaults(&opts, "temporal")
	opts.Resume, opts.Ephemeral = "", false
	prev, err := opts.Store.GetRun(ctx, opts.RunID)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("session: %w", err)
	}
	if exists {
		opts.Resume = opts.RunID
		if prev.Status == store.RunSucceeded {
			// A finished run (an activity retried after it recorded its end): read it
			// again without reopening it.
			opts.Resume = ""
		}
	}
	w, err := fl.newWalker(ctx, opts)
	if err != nil {
		return nil, err
	}
	if exists {
		w.started = prev.StartedAt
		w.runInfo["started_at"] = prev.StartedAt.UTC().Format(time.RFC3339)
		w.usage = providers.Usage(prev.Usage)
	} else {
		sum := sha256.Sum256(fl.Spec.Source)
		if err := opts.Store.CreateRun(ctx, store.Run{ID: w.runID, Flow: fl.Spec.File, FlowName: fl.Spec.Name, FlowHash: hex.EncodeToString(sum[:]),
			Status: store.RunRunning, Vars: fl.redactVars(w.vars), StartedAt: w.started, Engine: opts.Engine, Seed: opts.Seed, Labels: opts.Labels}); err != nil {
			w.close()
			return nil, fmt.Errorf("recording run: %w", err)
		}
	}
	s := &Session{w: w, items: map[string]map[int]store.StepRecord{}, whole: map[string]store.StepRecord{}}
	if exists {
		if err := s.load(ctx); err != nil {
			w.close()
			return nil, err
		}
	}
	w.rec = newRecorder(opts.Store, w.runID, len(w.fl.Order))
	return s, nil
}

// load rebuilds the state of every step that has its final record.
func (s *Session) load(ctx context.Context) error {
	w := s.w
	recs, err := w.opts.Store.Steps(ctx, w.runID)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	for _, r := range recs {
		if _, ok := w.fl.Nodes[r.StepID]; !ok {
			continue
		}
		if r.Item >= 0 {
			if s.items[r.StepID] == nil {
				s.items[r.StepID] = map[int]store.StepRecord{}
			}
			s.items[r.StepID][r.Item] = r
			continue
		}
		if r.Status == StatusRunning {
			continue
		}
		s.whole[r.StepID] = r
	}
	for id, r := range s.whole {
		n, st := w.fl.Nodes[id], w.states[id]
		st.status, st.reason = r.Status, r.Reason
		st.result = StepResult{ID: id, Status: r.Status, Reason: r.Reason, Error: r.Error, Model: r.Model, Attempts: r.Attempts,
			Usage: providers.Usage(r.Usage), Elapsed: r.FinishedAt.Sub(r.StartedAt), Meta: r.Meta}
		if its := s.items[id]; n.ForEach != nil {
			st.result.Items = len(its)
			for _, ir := range its {
				if ir.Status == StatusCached {
					st.result.Cached++
				}
			}
		}
		switch r.Status {
		case StatusSucceeded, StatusCached:
			out, enc, err := w.fromStepRecord(r)
			if err != nil {
				return fmt.Errorf("session: step %q: stored output unreadable: %w", id, err)
			}
			st.output, st.out = out, enc
		case StatusSkipped:
			st.skippedW = r.Reason == "when: condition is false"
		case StatusFailed:
			st.err = errors.New(r.Error)
			w.failures = append(w.failures, &StepError{StepID: id, Pos: n.Spec.Pos, Err: st.err})
		}
		close(st.done)
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

func (s *Session) node(stepID string) (*Node, error) {
	n, ok := s.w.fl.Nodes[stepID]
	if !ok {
		return nil, fmt.Errorf("session: flow has no step %q", stepID)
	}
	for _, d := range n.Deps {
		if _, done := s.whole[d]; !done {
			return nil, fmt.Errorf("session: step %q needs %q, which has not finished in run %s", stepID, d, s.w.runID)
		}
	}
	return n, nil
}

// RunStep executes a whole step (all its items, if it has for_each) and records it, as
// the local engine would: upstream skips, when:, cache, routing and retries included.
// A step already recorded is left as it is.
func (s *Session) RunStep(ctx context.Context, stepID string) (StepResult, error) {
	n, err := s.node(stepID)
	if err != nil {
		return StepResult{}, err
	}
	st := s.w.states[stepID]
	if _, done := s.whole[stepID]; done {
		return st.result, nil
	}
	s.w.runNode(n)
	return st.result, nil
}

// Prepare decides whether a for_each step runs and over how many items: it records the
// skip of a step an upstream failure or its when: skips, and the failure of a when: or
// for_each expression.
func (s *Session) Prepare(ctx context.Context, stepID string) (StepPlan, error) {
	n, err := s.node(stepID)
	if err != nil {
		return StepPlan{}, err
	}
	w, st := s.w, s.w.states[stepID]
	if r, done := s.whole[stepID]; done {
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
	items, err := forEachItems(ctx, n, scope)
	if err != nil {
		w.fail(n, st, err, start)
		return StepPlan{Failed: true, Error: st.result.Error}, nil
	}
	w.hooks.emit(Event{Type: EventStepStart, RunID: w.runID, StepID: n.ID, Item: -1})
	return StepPlan{Items: len(items)}, nil
}

// ExecItems executes the items idxs of a for_each step (one batch call when the step
// batches), recording each. Items recorded by an earlier attempt are reused, so a retried
// activity pays only for what is missing. An item failure is recorded and returned in the
// summary; the error is for failures of the machinery (store, flow), worth retrying.
func (s *Session) ExecItems(ctx context.Context, stepID string, idxs []int) (ItemsSummary, error) {
	n, err := s.node(stepID)
	if err != nil {
		return ItemsSummary{}, err
	}
	if n.ForEach == nil {
		return ItemsSummary{}, fmt.Errorf("session: step %q has no for_each", stepID)
	}
	w := s.w
	scope := w.scope(n)
	items, err := forEachItems(ctx, n, scope)
	if err != nil {
		return ItemsSummary{}, fmt.Errorf("session: step %q: %w", stepID, err)
	}
	for _, i := range idxs {
		if i < 0 || i >= len(items) {
			return ItemsSummary{}, fmt.Errorf("session: step %q has %d items, no item %d", stepID, len(items), i)
		}
	}
	_, recs, ierr := w.runItems(n, scope, items, idxs)
	var sum ItemsSummary
	for _, r := range recs {
		sum.Usage = sum.Usage.Add(r.usage)
		sum.Attempts += r.attempts
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
	n, err := s.node(stepID)
	if err != nil {
		return StepResult{}, err
	}
	w, st := s.w, s.w.states[stepID]
	if _, done := s.whole[stepID]; done {
		return st.result, nil
	}
	start := w.opts.Now()
	st.result = StepResult{ID: n.ID, Items: total}
	its := s.items[stepID]
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
