package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// callRecord is how one call was served.
type callRecord struct {
	model    string
	attempts int
	usage    providers.Usage
	cached   bool
	reason   string
	meta     map[string]string
	// key is the call's content hash (its cache key), recorded as the step record's
	// inputs hash so runs diff can tell that inputs, prompt, params or model changed.
	key string
	out encoded // the output as recorded (see encoded)
	// call is the call as executed, kept only when the run is traced (for its span).
	call *steps.Call
}

func redactMeta(fl *Flow, m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = fl.Redact(v)
	}
	return out
}

// buildCall evaluates a node's inputs, prompt, params and schema in scope, within the
// run's context and the step's timeout:. scope is the caller's own (the step's, or an
// item's copy of it): the inputs are evaluated in it, not in copies.
func (w *walker) buildCall(n *Node, scope map[string]any, item int) (*steps.Call, error) {
	ctx, cancel := w.evalContext(n)
	defer cancel()
	// The call, its environment and its inputs' evaluation budget in one allocation.
	box := &struct {
		call   steps.Call
		env    stepEnv
		budget evalBudget
	}{call: steps.Call{StepID: n.ID, Item: item, Inputs: make(map[string]any, len(n.Kind.Inputs))}, env: w.env.stepEnv(n, item)}
	call := &box.call
	call.Env = &box.env
	for _, f := range n.Kind.Inputs {
		var v any
		var err error
		t := n.Inputs[f.Name]
		if t != nil {
			if v, err = t.evalOwned(ctx, scope, &box.budget); err != nil {
				return nil, err
			}
		}
		cv, err := steps.Coerce(f, v)
		if err != nil {
			pos, path := n.Spec.Pos, "steps."+n.ID+".with."+f.Name
			if t != nil {
				pos = t.Pos
			}
			return nil, &ExprError{Pos: pos, Path: path, Src: srcOf(t), Err: err}
		}
		if cv != nil {
			call.Inputs[f.Name] = cv
		}
	}
	if n.System != nil || n.User != nil || n.Msgs != nil {
		p, err := evalPrompt(ctx, n, scope)
		if err != nil {
			return nil, err
		}
		call.Prompt = p
	}
	var err error
	if call.Params, err = evalMap(ctx, n.Params, scope); err != nil {
		return nil, err
	}
	if call.OutputSchema, err = evalMap(ctx, n.Schema, scope); err != nil {
		return nil, err
	}
	return call, nil
}

func srcOf(t *Template) string {
	if t == nil {
		return ""
	}
	return t.src
}

func evalMap(ctx context.Context, t *Template, scope map[string]any) (map[string]any, error) {
	if t == nil {
		return nil, nil
	}
	v, err := t.EvalContext(ctx, scope)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok && v != nil {
		return nil, &ExprError{Pos: t.Pos, Path: t.Path, Err: fmt.Errorf("expected a mapping, got %s", spec.DescribeValue(v))}
	}
	return m, nil
}

func evalPrompt(ctx context.Context, n *Node, scope map[string]any) (*steps.Prompt, error) {
	p := &steps.Prompt{}
	for _, x := range []struct {
		t   *Template
		dst *string
	}{{n.System, &p.System}, {n.User, &p.User}} {
		if x.t == nil {
			continue
		}
		v, err := x.t.EvalContext(ctx, scope)
		if err != nil {
			return nil, err
		}
		*x.dst = stringify(v)
	}
	if n.Msgs != nil {
		v, err := n.Msgs.EvalContext(ctx, scope)
		if err != nil {
			return nil, err
		}
		list, ok := v.([]any)
		if !ok {
			return nil, &ExprError{Pos: n.Msgs.Pos, Path: n.Msgs.Path, Err: fmt.Errorf("expected a list of messages, got %s", spec.DescribeValue(v))}
		}
		for i, e := range list {
			m, _ := e.(map[string]any)
			role, _ := m["role"].(string)
			if role == "" {
				return nil, &ExprError{Pos: n.Msgs.Pos, Path: fmt.Sprintf("%s[%d]", n.Msgs.Path, i), Err: errors.New("message needs role and content")}
			}
			p.Messages = append(p.Messages, providers.Message{Role: role, Content: stringify(m["content"])})
		}
	}
	return p, nil
}

// callOnce builds and executes one call of n (item ≥ 0 inside for_each), trying route
// candidates in order, reusing the cache, retrying retryable failures.
func (w *walker) callOnce(n *Node, scope map[string]any, item int, each map[string]any) (any, callRecord, error) {
	if each != nil {
		scope = withEach(scope, each)
	}
	call, err := w.buildCall(n, scope, item)
	if err != nil {
		return nil, callRecord{}, err
	}
	res, cr, err := w.execute(n, call, scope)
	if w.spans != nil {
		cr.call = call
	}
	if err != nil {
		return nil, cr, err
	}
	return res, cr, nil
}

func withEach(scope, each map[string]any) map[string]any {
	s := make(map[string]any, len(scope)+1)
	for k, v := range scope {
		s[k] = v
	}
	s["each"] = each
	return s
}

func (w *walker) execute(n *Node, call *steps.Call, scope map[string]any) (any, callRecord, error) {
	models, err := w.candidates(n, call, scope)
	if err != nil {
		return nil, callRecord{}, err
	}
	if len(models) == 0 {
		models = []*steps.Model{nil}
	}
	var cr callRecord
	var lastErr error
	for i, m := range models {
		call.Model = m
		// Only a split route's first choice is timed (its arm's statistics).
		split := i == 0 && n.Spec.Route != nil && len(w.fl.Routes[n.Spec.Route.Name].Spec.Split) > 0
		var start time.Time
		if split {
			start = time.Now()
		}
		out, rec, err := w.executeWith(n, call)
		if split {
			w.countArm(n.Spec.Route.Name, m, rec, err, time.Since(start))
		}
		cr.attempts += rec.attempts
		cr.usage = cr.usage.Add(rec.usage)
		cr.key = rec.key
		if rec.meta != nil {
			cr.meta = rec.meta
		}
		if err == nil {
			rec.attempts, rec.usage = cr.attempts, cr.usage
			if rec.meta == nil {
				rec.meta = cr.meta
			}
			if i > 0 {
				rec.reason = fmt.Sprintf("fell back after: %s", w.fl.Redact(lastErr.Error()))
			}
			return out, rec, nil
		}
		lastErr = err
		if m != nil {
			cr.model = m.Ref()
		}
		if i+1 < len(models) && canFallBack(err) {
			w.emitFallback(n, call.Item, models[i+1], err)
			continue
		}
		break
	}
	return nil, cr, lastErr
}

// executeWith runs a call on one model: cache lookup, execution with retries, cache fill.
func (w *walker) executeWith(n *Node, call *steps.Call) (any, callRecord, error) {
	var cr callRecord
	if call.Model != nil {
		cr.model = call.Model.Ref()
	}
	useCache, _, _ := w.fl.cachePolicy(n, call)
	useCache = useCache && !w.opts.NoCache
	if se, ok := call.Env.(*stepEnv); ok {
		se.storeParts = useCache // a part's answer is kept where the whole call's would be
	}
	var key string
	ctx := w.ctx
	// Recorded runs keep the key of model calls as their inputs hash (runs diff); other
	// uncached calls skip the hashing, which costs a JSON encoding per call.
	if useCache || w.rec != nil && n.Kind.Task != "" {
		key = w.fl.CacheKey(n, call)
		cr.key = key
	}
	if useCache {
		if e, ok, err := w.opts.Store.CacheGet(ctx, key, w.opts.Now()); err == nil && ok {
			if out, enc, ok := w.fromCache(e); ok {
				cr.cached, cr.out = true, enc
				return out, cr, nil
			}
		}
	}
	var out any
	err := w.guarded(n, call.Model, call.Item, []*steps.Call{call}, func(ctx context.Context, pol attemptPolicy, onRetry retryHook) error {
		res, attempts, err := withRetry(ctx, pol, onRetry, func(ctx context.Context) (steps.Result, error) {
			defer endStream(call)
			return w.opts.Executor.Execute(ctx, n.Impl, call)
		})
		cr.attempts, cr.usage, cr.meta = attempts, res.Usage, res.Meta
		if res.ModelRef != "" {
			cr.model = res.ModelRef
		}
		// What the call paid counts even when it then failed (a failed JSON repair, a
		// retried attempt that was billed).
		w.addUsage(res.Usage)
		w.observe(call, res.Usage.USD, err == nil)
		if err != nil {
			return err
		}
		var cacheable bool
		if out, cr.out, cacheable, err = roundTrip(w, res.Output, n.Kind.FreshOutput, useCache || w.rec != nil); err != nil {
			return err
		}
		if useCache && cacheable {
			w.cachePut(n, call, key, cr.out.data, cr.model)
		}
		return nil
	})
	if err != nil {
		return nil, cr, err
	}
	return out, cr, nil
}

// retryHook tells the run's hooks and the call's span about each failed attempt of a
// call of step n (for item) that will be retried. It is a value, not a closure: a
// closure was an allocation of every call. The zero retryHook tells nobody.
type retryHook struct {
	w    *walker
	n    *Node
	item int
}

// retrying reports that attempt a failed with err and the next starts after wait.
func (h retryHook) retrying(a int, err error, wait time.Duration) {
	if h.w == nil {
		return
	}
	e := Event{Type: EventRetry, RunID: h.w.runID, StepID: h.n.ID, Item: h.item, Attempt: a, Err: errors.New(h.w.fl.Redact(err.Error())), Elapsed: wait}
	h.w.hooks.emit(e)
	h.w.spanEvent(h.n, h.item, e)
}

// guarded runs body for calls (one, or a batch sent together) on model m with what every
// paid call needs: the budget reservation; an execution slot, held until body returns so
// a result is cached before the next call starts and a crash never loses a paid answer;
// and the step's retry:, which then bounds the provider client to one HTTP attempt per
// engine attempt.
func (w *walker) guarded(n *Node, m *steps.Model, item int, calls []*steps.Call, body func(ctx context.Context, pol attemptPolicy, onRetry retryHook) error) error {
	unreserve, err := w.reserve(n, calls...)
	if err != nil {
		return err
	}
	defer unreserve()
	var cc *callContext // the first call's own, when it is the item's
	if se, ok := firstEnv(calls); ok && se.item == item {
		cc = &se.ctx
	}
	return w.slotted(n, m, item, cc, body)
}

// slotted is guarded without the budget reservation, for callers that hold their own
// (an asynchronous batch keeps its reservation until its answers are counted). The
// attempts run in cc (nil: a new one), which reports rate-limiter waits on item.
func (w *walker) slotted(n *Node, m *steps.Model, item int, cc *callContext, body func(ctx context.Context, pol attemptPolicy, onRetry retryHook) error) error {
	sl := w.acquire(w.ctx, m, n.Kind.Task)
	defer sl.release()
	pol, ctx := w.policy(n), w.callCtx(n, item)
	if pol.explicit {
		ctx = providers.WithRetry(ctx, providers.RetryPolicy{Attempts: 1})
	}
	if cc == nil {
		cc = new(callContext)
	}
	*cc = callContext{Context: ctx, at: retryHook{w: w, n: n, item: item}}
	return body(cc, pol, cc.at)
}

// callContext is the context a call's attempts run in: the step's (or its span's),
// answering providers.RateWaitKey itself, so that the provider clients' rate-limiter
// waits are reported on the step and item (EventRateWait). It lives in the call's own
// allocation (stepEnv.ctx): providers.WithRateWait's context and closure were two
// allocations of every call.
type callContext struct {
	context.Context
	at retryHook // the run, step and item the waits are reported on
}

// Value answers providers.RateWaitKey with c, and any other key as its parent does.
func (c *callContext) Value(key any) any {
	if _, ok := key.(providers.RateWaitKey); ok {
		return providers.RateWaiter(c)
	}
	return c.Context.Value(key)
}

// RateWait reports that an attempt of the call waits d for the provider's rate limiter.
func (c *callContext) RateWait(d time.Duration) {
	h := c.at
	e := Event{Type: EventRateWait, RunID: h.w.runID, StepID: h.n.ID, Item: h.item, Elapsed: d}
	h.w.hooks.emit(e)
	h.w.spanEvent(h.n, h.item, e)
}

// emitFallback reports that a call moves to the route's next model after err.
func (w *walker) emitFallback(n *Node, item int, next *steps.Model, err error) {
	e := Event{Type: EventFallback, RunID: w.runID, StepID: n.ID, Item: item, Model: next.Ref(), Reason: w.fl.Redact(err.Error())}
	w.hooks.emit(e)
	w.spanEvent(n, item, e)
}

func (w *walker) policy(n *Node) attemptPolicy {
	p := attemptPolicy{attempts: 1, timeout: n.Spec.Timeout}
	if p.timeout == 0 {
		p.timeout = w.fl.Spec.Defaults.Timeout
	}
	r := n.Spec.Retry
	if r == nil {
		r = w.fl.Spec.Defaults.Retry
	}
	if r != nil {
		p.attempts, p.backoff, p.explicit = max(r.Attempts, 1), r.Backoff, true
	}
	return p
}

// slot is what acquire took, for release to give back (a value: returning a closure
// was an allocation of every call).
type slot struct {
	sem  chan struct{} // the global slot's semaphore; nil when none was taken
	psem chan struct{} // the provider slot's, when one was taken
}

// release gives the slots back.
func (s slot) release() {
	if s.sem == nil {
		return
	}
	<-s.sem
	if s.psem != nil {
		<-s.psem
	}
}

// acquire takes, for model calls, a slot of the provider's concurrency limit for task,
// then a global execution slot. The provider slot comes first so that calls queued
// behind a busy provider hold no global slot that calls to other providers or tasks
// could use; every caller takes them in this order, so they cannot deadlock. Nothing
// is held when ctx ends first.
func (w *walker) acquire(ctx context.Context, m *steps.Model, task providers.Task) slot {
	var psem chan struct{}
	if m != nil {
		psem = w.env.providerSem(m.ProviderName, task)
	}
	if psem != nil {
		select {
		case psem <- struct{}{}:
		default: // the provider is busy: let another step start meanwhile
			unblock := w.sched.block()
			select {
			case psem <- struct{}{}:
				unblock()
			case <-ctx.Done():
				unblock()
				return slot{}
			}
		}
	}
	select {
	case w.sem <- struct{}{}: // a free slot, without the cost of a two-way select
	default:
		select {
		case w.sem <- struct{}{}:
		case <-ctx.Done():
			if psem != nil {
				<-psem
			}
			return slot{}
		}
	}
	return slot{sem: w.sem, psem: psem}
}

// candidates lists the models to try for a call, first choice first.
func (w *walker) candidates(n *Node, call *steps.Call, scope map[string]any) ([]*steps.Model, error) {
	if n.Kind.Task == "" {
		return nil, nil
	}
	var refs []string
	switch {
	case n.Spec.Model != nil:
		refs = []string{n.Spec.Model.Name}
	case n.Spec.Route != nil:
		r := w.fl.Routes[n.Spec.Route.Name]
		first, err := w.route(r, call, scope)
		if err != nil {
			return nil, err
		}
		refs = append(refs, first)
		for _, f := range r.Spec.Fallback {
			if !containsString(refs, f.Name) {
				refs = append(refs, f.Name)
			}
		}
	case n.Kind.ModelOptional:
		return nil, nil
	default:
		refs = []string{localProvider + ":"}
	}
	var out []*steps.Model
	for _, ref := range refs {
		m, err := w.env.model(ref)
		if err != nil {
			if len(out) > 0 {
				continue // a fallback that cannot start is skipped
			}
			return nil, err
		}
		m.Gateway = gatewayFor(n)
		out = append(out, m)
	}
	return out, nil
}

// gatewayFor maps a step's own cache: to AI Gateway's cache headers, so a step that opts
// out of aiflow's cache is not served from the gateway's either, and a TTL applies to
// both. Providers without a gateway ignore it.
func gatewayFor(n *Node) *providers.GatewayOptions {
	c := n.Spec.Cache
	switch {
	case c == nil:
		return nil
	case c.Mode == spec.CacheOff:
		return &providers.GatewayOptions{SkipCache: true}
	case c.Mode == spec.CacheTTL && c.TTL > 0:
		return &providers.GatewayOptions{CacheTTL: c.TTL}
	}
	return nil
}

// ArmStats is what one arm of a split route served in a run.
type ArmStats struct {
	Calls   int           `json:"calls"`
	Cached  int           `json:"cached"`
	Failed  int           `json:"failed"`
	USD     float64       `json:"usd"`
	Elapsed time.Duration `json:"elapsed_ns"` // summed over the arm's calls
}

// countArm adds a call of a split route's chosen arm to the run's per-arm statistics.
func (w *walker) countArm(route string, m *steps.Model, rec callRecord, err error, took time.Duration) {
	if m == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.arms == nil {
		w.arms = map[string]map[string]*ArmStats{}
	}
	if w.arms[route] == nil {
		w.arms[route] = map[string]*ArmStats{}
	}
	a := w.arms[route][m.Ref()]
	if a == nil {
		a = &ArmStats{}
		w.arms[route][m.Ref()] = a
	}
	a.Calls++
	a.USD += rec.usage.USD
	a.Elapsed += took
	if rec.cached {
		a.Cached++
	}
	if err != nil {
		a.Failed++
	}
}

// route picks the first choice of a route: a weighted split (deterministic for seed and
// input) or the first rule whose condition holds.
func (w *walker) route(r *RouteNode, call *steps.Call, scope map[string]any) (string, error) {
	input := callInput(call)
	if len(r.Spec.Split) > 0 {
		return splitArm(r.Spec.Split, w.opts.Seed, input), nil
	}
	rs := map[string]any{"input": input, "vars": scope["vars"], "run": scope["run"],
		"budget": map[string]any{"spent": w.spent(), "left": w.budgetLeft()}}
	for i, rule := range r.Spec.Rules {
		cond := r.Conds[i]
		if cond == nil {
			return rule.Use.Name, nil
		}
		v, err := cond.EvalContext(w.ctx, rs)
		if err != nil {
			return "", err
		}
		if b, _ := v.(bool); b {
			return rule.Use.Name, nil
		}
	}
	return "", fmt.Errorf("route %q: no rule matched and there is no default rule", r.Spec.Name)
}

func (w *walker) spent() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.usage.USD
}

// callInput is the text a route condition calls input: the prompt, or the text inputs.
func callInput(call *steps.Call) string {
	if p := call.Prompt; p != nil {
		var parts []string
		if p.System != "" {
			parts = append(parts, p.System)
		}
		for _, m := range p.Messages {
			parts = append(parts, m.Content)
		}
		if p.User != "" {
			parts = append(parts, p.User)
		}
		return strings.Join(parts, "\n")
	}
	if s, ok := call.Inputs["text"].(string); ok {
		return s
	}
	b, _ := json.Marshal(call.Inputs)
	return string(b)
}

// splitArm picks an arm with probability proportional to its weight, the same arm for the
// same seed and input.
func splitArm(arms []*spec.SplitArm, seed int64, input string) string {
	sorted := append([]*spec.SplitArm(nil), arms...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Model.Name < sorted[j].Model.Name })
	total := 0
	for _, a := range sorted {
		total += a.Weight
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%s", seed, input)
	x := int(mix64(h.Sum64()) % uint64(total))
	for _, a := range sorted {
		if x < a.Weight {
			return a.Model.Name
		}
		x -= a.Weight
	}
	return sorted[len(sorted)-1].Model.Name
}

// mix64 is the splitmix64 finaliser: it spreads FNV's low-entropy high bits evenly.
func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// fanOut runs a for_each step: one call per item (or per batch), results in input order.
func (w *walker) fanOut(n *Node, st *stepState, scope map[string]any, start time.Time) {
	items, err := forEachItems(w.ctx, n, scope)
	if err != nil {
		w.fail(n, st, err, start)
		return
	}
	outs := make([]any, len(items))
	encs := make([]encoded, len(items))
	limit := n.Spec.Parallelism
	if limit <= 0 {
		limit = w.opts.Parallelism
	}
	itemSem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	var usage providers.Usage
	cached, attempts := 0, 0
	model := ""
	groups := batches(len(items), n.Spec.Batch)
	run := func(g []int, buf *itemScope) {
		defer wg.Done()
		defer func() { <-itemSem }()
		results, recs, err := w.runItemsIn(n, scope, items, g, buf)
		mu.Lock()
		defer mu.Unlock()
		for i, idx := range g {
			if i < len(results) {
				outs[idx] = results[i]
			}
			if i < len(recs) { // a failed item's record comes without a result
				encs[idx] = recs[i].out
				usage = usage.Add(recs[i].usage)
				attempts += recs[i].attempts
				if recs[i].cached {
					cached++
				}
				if recs[i].model != "" {
					model = recs[i].model
				}
			}
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	// Groups go to at most limit goroutines, each running one group after another: a
	// goroutine per group grew a fresh stack through the expression evaluator for every
	// item, copying stacks was half an item's cost. A worker gives its slot back when
	// its group is done and then waits for the next, so whenever a slot is free and
	// every worker has started, one of them is about to take a group.
	work := make(chan []int)
	worker := func(g []int) {
		var buf itemScope // reused by the items this worker runs
		for ok := true; ok; g, ok = <-work {
			run(g, &buf)
		}
	}
	workers := 0
	for _, g := range groups {
		// The slot is taken before looking for a failure, so a group waiting for one
		// does not start after the group it waited on failed.
		itemSem <- struct{}{}
		mu.Lock()
		stop := firstErr != nil && !n.Spec.ContinueOnError
		mu.Unlock()
		if stop || w.ctx.Err() != nil {
			<-itemSem
			break
		}
		wg.Add(1)
		select {
		case work <- g: // an idle worker
		default:
			if workers < limit {
				workers++
				go worker(g)
			} else {
				work <- g // a worker has given its slot back and is on its way
			}
		}
	}
	close(work)
	unblock := w.sched.block() // the items hold slots of their own
	wg.Wait()
	unblock()
	st.result.Items, st.result.Cached, st.result.Usage, st.result.Attempts, st.result.Model = len(items), cached, usage, attempts, model
	if firstErr == nil && w.ctx.Err() != nil {
		firstErr = w.ctx.Err()
	}
	if firstErr != nil {
		w.fail(n, st, firstErr, start)
		return
	}
	st.output = outs
	if w.rec != nil { // the record's bytes: items without any would be encoded again
		st.out = w.listRecord(outs, encs)
	}
	w.succeed(n, st, len(items) > 0 && cached == len(items), start)
}

// batches splits the indexes 0…n-1 into groups of size (one item each when size ≤ 1),
// all slices of one array.
func batches(n, size int) [][]int {
	if size <= 1 {
		size = 1
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	out := make([][]int, 0, (n+size-1)/size)
	for i := 0; i < n; i += size {
		out = append(out, all[i:min(i+size, n):min(i+size, n)])
	}
	return out
}

// positions is 0, 1, 2, …: the positions of a group's items when all are pending,
// shared read-only instead of built for every group.
var positions = func() []int {
	p := make([]int, 64)
	for i := range p {
		p[i] = i
	}
	return p
}()

// itemScope is a for_each worker's expression scope for its items, reused from one item
// to the next: the step's scope copied once, with an each map whose value and index
// are set per item. A copy of the scope and a new each map per item were four
// allocations of every item. A step whose expressions could return the scope or each
// as a whole (Refs.Whole) gets fresh ones.
type itemScope struct {
	scope map[string]any
	each  map[string]any
	// outs and recs hold a group's results until the worker has taken them (results),
	// instead of two slices per group.
	outs []any
	recs []callRecord
}

// results returns cleared slices for a group of n items: b's own, when b is not nil.
func (b *itemScope) results(n int) ([]any, []callRecord) {
	if b == nil {
		return make([]any, n), make([]callRecord, n)
	}
	if cap(b.outs) < n {
		b.outs, b.recs = make([]any, n), make([]callRecord, n)
	}
	b.outs, b.recs = b.outs[:n], b.recs[:n]
	clear(b.outs)
	clear(b.recs)
	return b.outs, b.recs
}

// forItem is the scope for item idx of n (with value v) built in b, or nil when n needs
// a fresh one.
func (b *itemScope) forItem(n *Node, scope map[string]any, v any, idx int) map[string]any {
	if b == nil || n.Refs == nil || n.Refs.Whole {
		return nil
	}
	if b.scope == nil {
		b.scope = make(map[string]any, len(scope)+1)
		for k, x := range scope {
			if k != evalKey {
				b.scope[k] = x
			}
		}
		b.each = make(map[string]any, 2)
		b.scope["each"] = b.each
	}
	b.each["value"], b.each["index"] = v, idx
	return b.scope
}

// runItems executes the items idxs of a for_each step, in one batch call when the step
// supports it. Finished items are recorded one by one so a resume reuses them.
func (w *walker) runItems(n *Node, scope map[string]any, items []any, idxs []int) ([]any, []callRecord, error) {
	return w.runItemsIn(n, scope, items, idxs, nil)
}

// runItemsIn is runItems with the items' scope built in buf (nil: a fresh one each);
// the results it returns are then buf's, valid until the next call with buf.
func (w *walker) runItemsIn(n *Node, scope map[string]any, items []any, idxs []int, buf *itemScope) ([]any, []callRecord, error) {
	outs, recs := buf.results(len(idxs))
	var pending []int    // positions in idxs still to execute
	prev := w.prev[n.ID] // a resumed run's records of this step's items
	if len(prev) == 0 && len(idxs) <= len(positions) {
		pending = positions[:len(idxs)]
	} else {
		for i, idx := range idxs {
			if rec, ok := prev[idx]; ok {
				if out, enc, err := w.fromStepRecord(rec); err == nil {
					outs[i], recs[i] = out, callRecord{cached: true, model: rec.Model, out: enc}
					w.endItemSpan(n, idx, w.opts.Now(), recs[i], out, nil)
					w.hooks.emit(Event{Type: EventItemDone, RunID: w.runID, StepID: n.ID, Item: idx, Items: len(items)})
					continue
				}
			}
			pending = append(pending, i)
		}
	}
	if as, ok := n.Impl.(steps.AsyncBatchStep); ok && n.Spec.BatchAsync && len(pending) > 0 && !w.planning {
		return w.runAsyncBatch(n, as, scope, items, idxs, pending, outs, recs)
	}
	bs, isBatch := n.Impl.(steps.BatchStep)
	if isBatch && len(pending) > 1 {
		return w.runBatch(n, bs, scope, items, idxs, pending, outs, recs)
	}
	for _, i := range pending {
		idx := idxs[i]
		start := w.opts.Now()
		w.startSpan(n, idx, start)
		var out any
		var cr callRecord
		var err error
		if s := buf.forItem(n, scope, items[idx], idx); s != nil {
			out, cr, err = w.callOnce(n, s, idx, nil)
		} else {
			out, cr, err = w.callOnce(n, scope, idx, map[string]any{"value": items[idx], "index": idx})
		}
		if err != nil {
			// The failed item is recorded, and its record returned, with what it paid and
			// how often it tried: runs show and the step's totals count it.
			recs[i] = cr
			w.recordFailedItem(n, idx, cr, err, start)
			return outs[:i], recs[:i+1], fmt.Errorf("item %d: %w", idx, err)
		}
		outs[i], recs[i] = out, cr
		w.recordItem(n, idx, out, cr, start, len(items))
		w.syncItems()
	}
	return outs, recs, nil
}

// recordFailedItem stores a for_each item that failed, with its model, attempts and the
// usage it paid, so runs show lists it in place of leaving the item out.
func (w *walker) recordFailedItem(n *Node, idx int, cr callRecord, err error, start time.Time) {
	w.putStep(store.StepRecord{RunID: w.runID, StepID: n.ID, Item: idx, Status: StatusFailed, Error: w.fl.Redact(err.Error()), Model: cr.model, InputsHash: cr.key,
		Attempts: cr.attempts, Usage: toStoreUsage(cr.usage), StartedAt: start, FinishedAt: w.opts.Now(), Meta: redactMeta(w.fl, cr.meta)})
	w.endItemSpan(n, idx, start, cr, nil, err)
}

// syncItems writes the queued records now when the run asks for it (SyncItems).
func (w *walker) syncItems() {
	if w.opts.SyncItems && w.rec != nil {
		w.rec.sync()
	}
}

func (w *walker) recordItem(n *Node, idx int, out any, cr callRecord, start time.Time, total int) {
	status := StatusSucceeded
	if cr.cached {
		status = StatusCached
	}
	end := w.opts.Now()
	if w.rec != nil {
		r := store.StepRecord{RunID: w.runID, StepID: n.ID, Item: idx, Status: status, Model: cr.model, Attempts: cr.attempts, InputsHash: cr.key,
			Usage: toStoreUsage(cr.usage), StartedAt: start, FinishedAt: end, Reason: cr.reason, Meta: redactMeta(w.fl, cr.meta)}
		w.setOutput(&r, out, cr.out)
		w.putStep(r)
	}
	w.endItemSpan(n, idx, start, cr, out, nil)
	w.hooks.emit(Event{Type: EventItemDone, RunID: w.runID, StepID: n.ID, Item: idx, Items: total, Model: cr.model, Usage: cr.usage, Time: end})
}

// firstEnv is the environment of the first of calls, when it is the walker's own.
func firstEnv(calls []*steps.Call) (*stepEnv, bool) {
	if len(calls) == 0 {
		return nil, false
	}
	se, ok := calls[0].Env.(*stepEnv)
	return se, ok
}

// runRecorded returns once the run is in the store (a new run is created by the
// recorder's first write), or with the reason it could not be recorded: nothing is
// then paid for or changed outside the process by a run that leaves no record.
func (w *walker) runRecorded() error {
	if w.rec == nil {
		return nil
	}
	if err := w.rec.awaitCreated(); err != nil {
		return fmt.Errorf("recording run: %w", err)
	}
	return nil
}
