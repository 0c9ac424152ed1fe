package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
)

// walker executes one run of a flow: one goroutine per step waits for its dependencies;
// a semaphore bounds the calls executing at once.
type walker struct {
	fl      *Flow
	opts    RunOptions
	runID   string
	vars    map[string]any
	runInfo map[string]any
	res     map[string]any // resources scope
	states  map[string]*stepState
	sem     chan struct{}
	env     *runEnv
	hooks   hooks
	ctx     context.Context
	cancel  context.CancelFunc
	prev    map[string]map[int]store.StepRecord // resume: step → item → record
	started time.Time
	streams map[string]bool // steps whose text is a flow output
	rec     *recorder
	sched   *scheduler // set by runAll
	// planning is set for the dry evaluation of `aiflow plan`: models are resolved but
	// no provider is opened and nothing is recorded.
	planning bool
	discover bool // planning: list agents' MCP tools

	mu       sync.Mutex
	usage    providers.Usage
	resv     reservations // estimated costs of calls in flight against the run's budget
	arms     map[string]map[string]*ArmStats
	observed map[string]float64 // model → dearest call so far (USD)
	turns    map[string]int     // step/item → next agent turn index
	failures []*StepError

	// spans holds the open step and item spans when RunOptions.Tracer is set (nil
	// otherwise); runSpan is the run's own, traceID its trace.
	spans   *spans
	runSpan Span
	traceID string
}

func (fl *Flow) newWalker(ctx context.Context, opts RunOptions) (*walker, error) {
	w := &walker{fl: fl, opts: opts, sem: make(chan struct{}, opts.Parallelism),
		hooks: hooks(opts.Hooks), prev: map[string]map[int]store.StepRecord{}, started: opts.Now(), streams: map[string]bool{}}
	w.resv = newReservations(&w.mu)
	if opts.Tracer != nil {
		w.spans = &spans{open: map[spanKey]openSpan{}}
	}
	w.ctx, w.cancel = context.WithCancel(ctx)
	w.runID = opts.RunID
	if w.runID == "" {
		w.runID = store.NewRunID()
	}
	given := opts.Vars
	var masked map[string]any // resume: stored vars holding a redacted secret
	if opts.Resume != "" {
		var err error
		if masked, err = w.loadResume(ctx, &given); err != nil {
			return nil, err
		}
	}
	w.runInfo = map[string]any{"id": w.runID, "started_at": w.started.UTC().Format(time.RFC3339), "seed": opts.Seed}
	w.res = fl.resourceScope()
	if opts.Prompts != nil {
		prompts, err := opts.Prompts(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading prompt resources: %w", err)
		}
		for name, p := range prompts {
			ref, _ := w.res[name].(map[string]any)
			if ref == nil {
				ref = map[string]any{}
			}
			for k, v := range p {
				ref[k] = v
			}
			w.res[name] = ref
		}
	}
	fl.noteSecretVars(given) // before checking them: a rejected value is quoted in the error
	vars, err := fl.resolveVars(withMasked(fl, given, masked), map[string]any{"run": w.runInfo, "vars": map[string]any{}})
	if err == nil {
		fl.noteSecretVars(vars)
	}
	if merr := fl.checkMasked(w.runID, masked, vars); merr != nil {
		return nil, merr
	}
	if err != nil {
		return nil, fl.redactErr(err)
	}
	w.vars = vars
	w.env = newRunEnv(fl, opts, w)
	w.states = make(map[string]*stepState, len(fl.Order))
	states := make([]stepState, len(fl.Order)) // one allocation for them all
	for i, id := range fl.Order {
		states[i].done = make(chan struct{})
		w.states[id] = &states[i]
	}
	for _, o := range fl.Outputs {
		for id := range o.Refs.Steps {
			w.streams[id] = true
		}
	}
	return w, nil
}

// loadResume reads the run being resumed: its usage, step records and agent turns, and
// its vars merged under the ones given again. A stored var holding "[REDACTED]" anywhere
// in it (a secret var, or a value with a secret inside) is never reused, since the mark
// would reach the steps in place of the secret: it must be given again, or have a default
// that gives the same value again (checkMaskedDefaults). Those vars come back in masked,
// with their stored values.
func (w *walker) loadResume(ctx context.Context, given *map[string]any) (masked map[string]any, err error) {
	prev, err := w.opts.Store.GetRun(ctx, w.opts.Resume)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	if prev.Status == store.RunSucceeded {
		return nil, fmt.Errorf("resume: run %s already succeeded; nothing to resume", prev.ID)
	}
	w.runID = prev.ID
	// The run's budget and usage continue from what its earlier processes paid for.
	w.usage = providers.Usage(prev.Usage)
	merged := map[string]any{}
	masked = map[string]any{}
	for k, v := range prev.Vars {
		if !holdsMark(v) {
			merged[k] = v
			continue
		}
		if _, ok := (*given)[k]; ok {
			continue
		}
		masked[k] = v
	}
	for k, v := range *given {
		merged[k] = v
	}
	*given = merged
	recs, err := w.opts.Store.Steps(ctx, prev.ID)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	w.turns = map[string]int{}
	for id := range w.fl.Nodes {
		ts, err := w.opts.Store.Turns(ctx, prev.ID, id)
		if err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		for _, t := range ts { // a re-run agent step appends after its earlier turns
			key := fmt.Sprintf("%s\x00%d", t.StepID, t.Item)
			w.turns[key] = max(w.turns[key], t.Index+1)
		}
	}
	w.reuseRecords(recs)
	return masked, nil
}

// reuseRecords keeps an earlier run's records that succeeded (and hold no hidden secret),
// so the steps and items they record are not run again.
func (w *walker) reuseRecords(recs []store.StepRecord) {
	w.observeRecords(recs)
	for _, r := range recs {
		if r.Status != StatusSucceeded && r.Status != StatusCached {
			continue
		}
		if bytes.Contains(r.Output, []byte(redactedMark)) {
			continue // recorded with a secret hidden: run it again for the real value
		}
		if w.prev[r.StepID] == nil {
			w.prev[r.StepID] = map[int]store.StepRecord{}
		}
		w.prev[r.StepID][r.Item] = r
	}
}

// withMasked returns given plus, for the masked vars without a default, their stored
// values: stand-ins that let the other vars resolve, so checkMasked can name every var
// to give again at once. They never reach a step: checkMasked refuses the resume.
func withMasked(fl *Flow, given, masked map[string]any) map[string]any {
	if len(masked) == 0 {
		return given
	}
	out := make(map[string]any, len(given)+len(masked))
	for k, v := range given {
		out[k] = v
	}
	for k, v := range masked {
		if sv := fl.Spec.VarByName(k); sv != nil && sv.Default == nil {
			out[k] = v
		}
	}
	return out
}

// checkMasked accepts, for a resume, a stored var that held a redacted secret and was
// not given again only when it has a default that, evaluated now, redacts to the stored
// value: the input is then the first process's, its secrets (env() values) read again.
// Any other must be given again, since the run cannot know what it was.
func (fl *Flow) checkMasked(runID string, masked, vars map[string]any) error {
	if len(masked) == 0 {
		return nil // not a resume, or nothing hidden: no need to redact every var
	}
	var missing []string
	now := fl.redactVars(vars)
	for k, stored := range masked {
		sv := fl.Spec.VarByName(k)
		if sv == nil {
			continue // no longer declared
		}
		if sv.Default == nil || vars == nil {
			missing = append(missing, k)
			continue
		}
		a, _ := json.Marshal(now[k])
		b, _ := json.Marshal(stored)
		if !bytes.Equal(a, b) {
			missing = append(missing, k)
		}
	}
	return maskedVarsError(runID, missing)
}

// maskedVarsError asks for the vars whose stored values hid a secret to be given again.
func maskedVarsError(runID string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	flags := make([]string, len(names))
	for i, n := range names {
		flags[i] = "--var " + n + "=…"
	}
	return fmt.Errorf("resume: run %s recorded var%s %s with a secret hidden in %s, and the hidden value cannot be reused; pass %s again (or --vars-file)",
		runID, pluralS(len(names)), strings.Join(names, ", "), map[bool]string{true: "it", false: "them"}[len(names) == 1], strings.Join(flags, " "))
}

// holdsMark reports whether "[REDACTED]" appears in any string of v.
func holdsMark(v any) bool {
	return anyString(v, func(x string) bool { return strings.Contains(x, redactedMark) })
}

func (w *walker) close() {
	w.cancel()
	w.env.close()
}

func (w *walker) run(ctx context.Context) (*RunResult, error) {
	st := w.opts.Store
	if w.spans != nil {
		// The run's span joins the walker's context, so every step's span is its child.
		w.ctx, w.runSpan = w.opts.Tracer.Start(w.ctx, SpanStart{RunID: w.runID, Flow: w.fl.Spec.Name, Item: -1, Redact: w.fl.Redact})
		w.traceID = w.runSpan.TraceID()
	}
	if w.opts.Ephemeral {
		// not recorded: w.rec stays nil
	} else if w.opts.Resume != "" {
		if err := st.ReopenRun(ctx, w.runID, w.opts.Labels); err != nil {
			return nil, w.abortSpan(fmt.Errorf("resume: %w", err))
		}
		if w.traceID != "" { // this process's trace replaces the earlier one's
			if err := st.SetRunTraceID(ctx, w.runID, w.traceID); err != nil {
				return nil, w.abortSpan(fmt.Errorf("recording run: %w", err))
			}
		}
	} else {
		// The run is created by the recorder's first write, which a small flow's steps
		// share; a step that works outside the process waits for it (slotted).
		sum := sha256.Sum256(w.fl.Spec.Source)
		w.rec = newCreatingRecorder(st, store.Run{ID: w.runID, Flow: w.fl.Spec.File, FlowName: w.fl.Spec.Name, FlowHash: hex.EncodeToString(sum[:]),
			Status: store.RunRunning, Vars: w.fl.redactVars(w.vars), StartedAt: w.started, Engine: w.opts.Engine, Seed: w.opts.Seed, Labels: w.opts.Labels,
			TraceID: w.traceID}, len(w.fl.Order))
	}
	if !w.opts.Ephemeral {
		if w.rec == nil {
			w.rec = newRecorder(st, w.runID, len(w.fl.Order))
		}
		w.hooks = append(w.hooks[:len(w.hooks):len(w.hooks)], HookFunc(w.rec.onEvent)) // retries and rate waits for the run viewer
	}
	w.hooks.emit(Event{Type: EventRunStart, RunID: w.runID, TraceID: w.traceID})
	w.runAll()
	return w.finish(ctx)
}

// abortSpan ends the run's span, when traced, with err, the reason the run could not
// start, and returns err.
func (w *walker) abortSpan(err error) error {
	if w.runSpan != nil {
		w.runSpan.End(SpanEnd{Status: StatusFailed, Error: w.fl.Redact(err.Error()), ErrorType: errorType(err)})
	}
	return err
}

func (w *walker) finish(ctx context.Context) (*RunResult, error) {
	res := &RunResult{RunID: w.runID, TraceID: w.traceID, Outputs: map[string]any{}, Usage: w.usage, Elapsed: w.opts.Now().Sub(w.started), BudgetUSD: w.budget(), Arms: w.arms,
		Steps: make([]StepResult, 0, len(w.fl.Order))}
	for _, id := range w.fl.Order {
		res.Steps = append(res.Steps, w.states[id].result)
	}
	var scope map[string]any // every step's view: built only for outputs to read
	if len(w.fl.Outputs) > 0 {
		scope = w.scope(nil)
	}
	var outErrs []*StepError
	for _, o := range w.fl.Outputs {
		v, err := o.T.Eval(scope)
		if err != nil {
			if len(w.failures) == 0 {
				outErrs = append(outErrs, &StepError{StepID: "outputs." + o.Name, Pos: o.T.Pos, Err: err})
			}
			v = nil
		}
		res.Outputs[o.Name] = w.fl.secrets.redactValue(v)
	}
	status, errMsg, runErr := w.endStatus(ctx, outErrs)
	u := w.usage
	ended := w.opts.Ephemeral // nothing to record
	if w.rec != nil {
		// The last step records and the run's end go in one transaction.
		var err error
		ended, err = w.rec.closeWith(&store.RunFinish{Status: status, Outputs: res.Outputs, Error: errMsg, Usage: store.Usage(u)})
		if err != nil {
			w.failures = append(w.failures, &StepError{StepID: "(run store)", Err: fmt.Errorf("recording steps: %w", err)})
			// Like a failed step, the store's failure takes the place of the outputs'.
			status, errMsg, runErr = w.endStatus(ctx, nil)
		}
	}
	res.Status = status
	if ended || w.rec != nil && w.rec.notCreated() { // recorded, or nothing to finish
	} else if err := w.opts.Store.FinishRun(context.WithoutCancel(ctx), w.runID, status, res.Outputs, errMsg, store.Usage(u)); err != nil && runErr == nil {
		runErr = fmt.Errorf("recording run: %w", err)
	}
	if w.runSpan != nil {
		w.runSpan.End(SpanEnd{Status: status, Error: errMsg, ErrorType: errorType(runErr), Usage: u, Output: res.Outputs})
	}
	w.hooks.emit(Event{Type: EventRunDone, RunID: w.runID, Usage: u, Elapsed: res.Elapsed, Err: runErr, TraceID: w.traceID})
	return res, runErr
}

// endStatus is how the run ended: cancelled, failed (its steps' failures, then
// outErrs, the outputs that could not be evaluated) or succeeded.
func (w *walker) endStatus(ctx context.Context, outErrs []*StepError) (status, errMsg string, err error) {
	failures := append(w.failures[:len(w.failures):len(w.failures)], outErrs...)
	switch {
	case ctx.Err() != nil:
		return store.RunCancelled, ctx.Err().Error(), ctx.Err()
	case len(failures) > 0:
		re := &RunError{Steps: failures}
		return store.RunFailed, w.fl.Redact(re.Error()), re
	}
	return store.RunSucceeded, "", nil
}

// scope builds the expression scope for node n (nil: every step, for outputs).
func (w *walker) scope(n *Node) map[string]any {
	size := len(w.states)
	if n != nil {
		size = len(n.Deps)
	}
	stepsScope := make(map[string]any, size)
	add := func(id string) {
		if st, ok := w.states[id]; ok {
			stepsScope[id] = st.view()
		}
	}
	if n == nil {
		for id := range w.states {
			add(id)
		}
	} else {
		for _, id := range n.Deps {
			add(id)
		}
	}
	return map[string]any{"vars": w.vars, "run": w.runInfo, "resources": w.res, "steps": stepsScope}
}

// scopeBuf is a scheduler worker's expression scope, reused from one step to the next:
// a fresh scope per step was three allocations of a trivial step's twenty. Every use of
// a step's scope ends before runNode returns (its for_each items included), and a
// step whose expressions could return the scope's own maps (Refs.Whole) gets a fresh one.
type scopeBuf struct {
	scope map[string]any // vars, run, resources, steps (and the evaluation's budget)
	steps map[string]any // the step's dependencies' views
}

// done lets go of what the last step left in the scope: its inputs' evaluation budget
// lives in its call, which is not kept alive until the worker's next step.
func (b *scopeBuf) done() {
	if b.scope != nil {
		delete(b.scope, evalKey)
	}
}

// nodeScope is w.scope(n), built in buf when buf is not nil and n allows it.
func (w *walker) nodeScope(n *Node, buf *scopeBuf) map[string]any {
	if buf == nil || n.Refs == nil || n.Refs.Whole {
		return w.scope(n)
	}
	if buf.scope == nil {
		buf.steps = make(map[string]any, len(n.Deps))
		buf.scope = map[string]any{"vars": w.vars, "run": w.runInfo, "resources": w.res, "steps": buf.steps}
	} else {
		clear(buf.steps)
	}
	for _, id := range n.Deps {
		if st, ok := w.states[id]; ok {
			buf.steps[id] = st.view()
		}
	}
	return buf.scope
}

func (w *walker) runNode(n *Node) { w.runNodeIn(n, nil) }

// runNodeIn runs step n, its expression scope built in buf (nil: a fresh one).
func (w *walker) runNodeIn(n *Node, buf *scopeBuf) {
	st := w.states[n.ID]
	defer close(st.done)
	for _, d := range n.Deps {
		<-w.states[d].done
	}
	start := w.opts.Now()
	st.result = StepResult{ID: n.ID}
	if reason, skip := w.upstream(n); skip {
		w.skip(n, st, reason, false)
		return
	}
	if w.ctx.Err() != nil {
		w.skip(n, st, "run cancelled", false)
		st.status = StatusCancelled
		st.result.Status = StatusCancelled
		return
	}
	w.startSpan(n, -1, start)
	scope := w.nodeScope(n, buf)
	if n.When != nil {
		v, err := n.When.EvalContext(w.ctx, scope)
		if err != nil {
			w.fail(n, st, err, start)
			return
		}
		if b, _ := v.(bool); !b {
			w.skip(n, st, "when: condition is false", true)
			return
		}
	}
	// A step that works outside the process starts once the run is in the store (a new
	// run is created by the recorder's first write): nothing is paid for, sent or
	// recorded elsewhere (an agent's turns, a batch's intent) by a run the store refused.
	if !n.Kind.Local {
		if err := w.runRecorded(); err != nil {
			w.fail(n, st, err, start)
			return
		}
	}
	// The step's start event is dated like its record, unless its when: took a while.
	at := start
	if n.When != nil {
		at = time.Time{}
	}
	w.hooks.emit(Event{Type: EventStepStart, RunID: w.runID, StepID: n.ID, Item: -1, Time: at})
	if n.ForEach != nil {
		w.fanOut(n, st, scope, start)
		return
	}
	if len(w.prev) > 0 { // resuming
		if rec, ok := w.prev[n.ID][-1]; ok {
			w.fromRecord(n, st, rec, start)
			return
		}
	}
	out, cr, err := w.callOnce(n, scope, -1, nil)
	if err != nil {
		st.call = cr.call
		st.result.Model, st.result.Attempts, st.result.Usage = cr.model, cr.attempts, cr.usage // paid for even though it failed
		w.fail(n, st, err, start)
		return
	}
	st.output, st.out, st.call = out, cr.out, cr.call
	st.result.Model, st.result.Attempts, st.result.Usage, st.result.Reason = cr.model, cr.attempts, cr.usage, cr.reason
	st.inputs = cr.key
	st.meta, st.result.Meta = cr.meta, redactMeta(w.fl, cr.meta)
	w.succeed(n, st, cr.cached, start)
}

// upstream decides whether a failed or skipped dependency skips n.
func (w *walker) upstream(n *Node) (string, bool) {
	for _, d := range n.Deps {
		switch w.states[d].status {
		case StatusFailed:
			if !w.fl.Nodes[d].Spec.ContinueOnError {
				return fmt.Sprintf("upstream failed: %s", d), true
			}
		case StatusCancelled:
			return fmt.Sprintf("upstream cancelled: %s", d), true
		case StatusSkipped:
			if n.When == nil {
				return fmt.Sprintf("upstream skipped: %s", d), true
			}
		}
	}
	return "", false
}

func (w *walker) skip(n *Node, st *stepState, reason string, byWhen bool) {
	st.status, st.reason, st.skippedW = StatusSkipped, reason, byWhen
	st.result.Status, st.result.Reason = StatusSkipped, reason
	w.putStep(store.StepRecord{RunID: w.runID, StepID: n.ID, Item: -1, Status: StatusSkipped, Reason: reason, StartedAt: w.opts.Now(), FinishedAt: w.opts.Now()})
	w.closeSpan(n, -1, time.Time{}, SpanEnd{Status: StatusSkipped, Reason: reason})
	w.hooks.emit(Event{Type: EventStepSkip, RunID: w.runID, StepID: n.ID, Item: -1, Reason: reason})
}

func (w *walker) fail(n *Node, st *stepState, err error, start time.Time) {
	var se *StepError
	if !errors.As(err, &se) || se.StepID != n.ID {
		se = &StepError{StepID: n.ID, Pos: n.Spec.Pos, Err: err}
	}
	msg := w.fl.Redact(err.Error())
	st.status, st.err = StatusFailed, err
	st.result.Status, st.result.Error, st.result.Elapsed = StatusFailed, msg, w.opts.Now().Sub(start)
	w.mu.Lock()
	w.failures = append(w.failures, se)
	w.mu.Unlock()
	w.putStep(store.StepRecord{RunID: w.runID, StepID: n.ID, Item: -1, Status: StatusFailed, Error: msg, StartedAt: start, FinishedAt: w.opts.Now(),
		Attempts: st.result.Attempts, Model: st.result.Model, Usage: toStoreUsage(st.result.Usage)})
	w.closeSpan(n, -1, start, stepSpanEnd(st))
	w.hooks.emit(Event{Type: EventStepFail, RunID: w.runID, StepID: n.ID, Item: -1, Err: fmt.Errorf("%s", msg), Elapsed: st.result.Elapsed})
	if w.opts.FailFast {
		w.cancel()
	}
}

func (w *walker) succeed(n *Node, st *stepState, cached bool, start time.Time) {
	st.status = StatusSucceeded
	if cached {
		st.status = StatusCached
	}
	end := w.opts.Now() // one clock read dates the record and the event, and times the step
	st.result.Status, st.result.Elapsed = st.status, end.Sub(start)
	if w.rec != nil { // an ephemeral run records nothing: no record to build
		r := store.StepRecord{RunID: w.runID, StepID: n.ID, Item: -1, Status: st.status, InputsHash: st.inputs, StartedAt: start, FinishedAt: end,
			Model: st.result.Model, Attempts: st.result.Attempts, Usage: toStoreUsage(st.result.Usage), Reason: st.result.Reason, Meta: redactMeta(w.fl, st.meta)}
		w.setOutput(&r, st.output, st.out)
		w.putStep(r)
	}
	if w.spans != nil {
		w.closeSpan(n, -1, start, stepSpanEnd(st))
	}
	typ := EventStepDone
	if cached {
		typ = EventStepCached
	}
	w.hooks.emit(Event{Type: typ, RunID: w.runID, StepID: n.ID, Item: -1, Model: st.result.Model, Usage: st.result.Usage, Elapsed: st.result.Elapsed, Items: st.result.Items, Time: end})
}

func (w *walker) fromRecord(n *Node, st *stepState, rec store.StepRecord, start time.Time) {
	out, enc, err := w.fromStepRecord(rec)
	if err != nil {
		w.fail(n, st, fmt.Errorf("resume: stored output unreadable: %w", err), start)
		return
	}
	st.output, st.out = out, enc
	st.result.Model, st.result.Reason = rec.Model, "from run store"
	w.succeed(n, st, true, start)
}

func (w *walker) putStep(r store.StepRecord) {
	if w.rec != nil {
		w.rec.put(r)
	}
}

// addUsage counts usage paid for by the run, whether or not the call then succeeded,
// against its budget and in its recorded totals (written as it is paid, so a killed run
// keeps it), and likewise in the runs it is a sub-flow of.
func (w *walker) addUsage(u providers.Usage) {
	if u == (providers.Usage{}) {
		return
	}
	w.mu.Lock()
	w.usage = w.usage.Add(u)
	w.mu.Unlock()
	if w.rec != nil {
		w.rec.addUsage(store.Usage(u))
	}
	if w.opts.parent != nil {
		w.opts.parent.addUsage(u)
	} else if w.opts.SharedBudget != nil {
		w.opts.SharedBudget.add(u.USD)
	}
}

func toStoreUsage(u providers.Usage) store.Usage { return store.Usage(u) }

// itemLimitDetail says how to get past the for_each item cap.
const itemLimitDetail = "set max_items: on the step to allow more, or split the list across steps or runs"

// checkItemCount refuses a for_each list longer than the step allows, before anything
// is allocated per item.
func checkItemCount(s *spec.Step, n int) error {
	limit := s.ItemLimit()
	if n <= limit {
		return nil
	}
	if s.MaxItems > 0 {
		return fmt.Errorf("for_each gives %d items, more than the limit of %d (max_items)", n, limit)
	}
	return fmt.Errorf("for_each gives %d items, more than the limit of %d (the default; %s)", n, limit, itemLimitDetail)
}

// forEachItems evaluates n's for_each list and checks its length against the step's
// cap as soon as it is known, so a list of millions fails at once instead of growing
// per-item state. A null list gives no items.
func forEachItems(ctx context.Context, n *Node, scope map[string]any) ([]any, error) {
	v, err := n.ForEach.EvalContext(ctx, scope)
	if err != nil {
		return nil, err
	}
	t := n.ForEach
	items, ok := v.([]any)
	if !ok {
		if v != nil {
			return nil, &ExprError{Pos: t.Pos, Path: t.Path, Src: t.src, Err: fmt.Errorf("for_each needs a list, got %s", spec.DescribeValue(v))}
		}
		return nil, nil
	}
	if err := checkItemCount(n.Spec, len(items)); err != nil {
		return nil, &ExprError{Pos: t.Pos, Path: t.Path, Src: t.src, Err: err}
	}
	return items, nil
}
