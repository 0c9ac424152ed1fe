package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

// runAsyncBatch serves the pending items of a batch through the provider's asynchronous
// batch API (`batch: {size: N, async: true}`): cached items are taken from the cache, the
// rest are submitted as one batch, whose job is recorded in the run store before the run
// waits; a resumed run finds that record and polls the same batch instead of paying for
// its items again. Answers are cached and recorded item by item, as ordinary calls are;
// an item the provider failed is recorded as failed with the provider's message.
func (w *walker) runAsyncBatch(n *Node, as steps.AsyncBatchStep, scope map[string]any, items []any, idxs, pending []int, outs []any, recs []callRecord) ([]any, []callRecord, error) {
	start := w.opts.Now()
	calls, models, err := w.batchCalls(n, scope, items, idxs, pending)
	if err != nil {
		return nil, nil, err
	}
	if len(models) == 0 || models[0] == nil {
		return nil, nil, errors.New("an asynchronous batch needs a model")
	}
	// The batch goes to the first candidate: a fallback would pay for the items again
	// once the first provider has them.
	m := models[0]
	todo, keys := w.batchFromCache(n, calls, pending, idxs, m, outs, recs, len(items))
	if len(todo) == 0 {
		return outs, recs, nil
	}
	ab, ok := m.Provider.(providers.AsyncBatcher)
	if !ok {
		return nil, nil, fmt.Errorf("provider %s (%s) has no asynchronous batch API; write batch: N instead", m.ProviderName, m.ProviderKind)
	}
	batch := make([]*steps.Call, len(todo))
	reqs := make([]providers.BatchRequest, len(todo))
	batchIdx := make([]int, len(todo))
	itemKeys := make([]string, len(todo))
	sum := sha256.New()
	fmt.Fprintf(sum, "%s\x00", m.Ref())
	for j, t := range todo {
		call := calls[t]
		batch[j], batchIdx[j] = call, idxs[pending[t]]
		r, err := as.BatchRequest(call)
		if err != nil {
			return nil, nil, fmt.Errorf("item %d: %w", batchIdx[j], err)
		}
		r.ID = "item-" + strconv.Itoa(batchIdx[j])
		reqs[j] = r
		itemKeys[j] = w.fl.CacheKey(n, call)
		fmt.Fprintf(sum, "%d\x00%s\x00", batchIdx[j], itemKeys[j])
	}
	key := hex.EncodeToString(sum.Sum(nil))
	// The batch's estimated cost stays reserved against the budget until its answers
	// are counted: it is being paid for while the run waits.
	unreserve, err := w.reserve(n, batch...)
	if err != nil {
		return nil, nil, err
	}
	defer unreserve()
	job, key, resumed, err := w.submitBatch(n, ab, m, reqs, batchIdx, itemKeys, key)
	if err != nil {
		for j, t := range todo {
			cr := callRecord{model: m.Ref(), attempts: 1}
			recs[pending[t]] = cr
			w.recordFailedItem(n, batchIdx[j], cr, err, start)
		}
		return outs, recs, fmt.Errorf("batch of items %d–%d: %w", batchIdx[0], batchIdx[len(batchIdx)-1], err)
	}
	state, err := w.pollBatch(n, ab, job, len(reqs), resumed)
	if err != nil {
		return outs, recs, fmt.Errorf("batch %s of items %d–%d: %w", job.ID, batchIdx[0], batchIdx[len(batchIdx)-1], err)
	}
	byID := make(map[string]providers.BatchResult, len(state.Results))
	for _, r := range state.Results {
		byID[r.ID] = r
	}
	var firstErr error
	for j, t := range todo {
		i := pending[t]
		r, ok := byID[reqs[j].ID]
		if !ok {
			r.Err = fmt.Errorf("batch %s ended (%s) without an answer for this item", job.ID, state.Status)
		}
		res, err := as.BatchResult(batch[j], r)
		cr := callRecord{model: m.Ref(), attempts: 1, usage: res.Usage, meta: res.Meta}
		if err := w.takeBatchItem(n, batch[j], keys[t], res, err, cr, i, batchIdx[j], start, len(items), outs, recs); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if w.recordsBatches() {
		_ = w.opts.Store.SetBatchStatus(context.WithoutCancel(w.ctx), w.runID, n.ID, key, store.BatchCollected)
	}
	return outs, recs, firstErr
}

// batchPrice is the fraction of the synchronous price a call of n on m costs: the
// provider's published batch discount for a step with an async batch, else 1.
func (fl *Flow) batchPrice(n *Node, m *steps.Model) float64 {
	if !n.Spec.BatchAsync || m == nil {
		return 1
	}
	if pn, ok := fl.Providers[m.ProviderName]; ok && pn.Info.BatchDiscount > 0 {
		return pn.Info.BatchDiscount
	}
	return 1
}

// batchNote says in a plan what an async batch costs on the step's first candidate.
func (fl *Flow) batchNote(n *Node, m *steps.Model) string {
	if !n.Spec.BatchAsync || m == nil {
		return ""
	}
	if p := fl.batchPrice(n, m); p < 1 {
		return fmt.Sprintf("async batches of up to %d items via %s's batch API: estimated at its published batch price, %.0f %% of the standard price", n.Spec.Batch, m.ProviderKind, p*100)
	}
	return fmt.Sprintf("async batches of up to %d items via %s's batch API: %s publishes no batch discount, so standard prices", n.Spec.Batch, m.ProviderKind, m.ProviderKind)
}

// submitBatch returns the job of the batch recorded under key by an earlier process of
// this run, or of one that holds the same requests for these items and more (the earlier
// process recorded some of its items before it was killed) — resumed is then true and
// key the recorded batch's — or submits the batch and records its job before
// returning. The submission holds an execution slot (under the step's retry: as any
// call); waiting for the answers holds none.
//
// A recorded run writes that a submission is under way before anything is sent, so that
// no later process of the run sends the same items again when this one stops (or cannot
// record the job) after the provider accepted them: the batch is paid for either way.
func (w *walker) submitBatch(n *Node, ab providers.AsyncBatcher, m *steps.Model, reqs []providers.BatchRequest, idxs []int, itemKeys []string, key string) (job providers.BatchJob, usedKey string, resumed bool, err error) {
	if w.recordsBatches() {
		rec, err := w.recordedBatch(n, m, idxs, itemKeys, key)
		switch {
		case err == nil && rec.Status == store.BatchSubmitting:
			return job, rec.Key, false, fmt.Errorf("an earlier process of this run was submitting a batch of these items to %s and stopped before it recorded the batch, so the provider may have it and be charging for it; aiflow will not submit it again and risk paying twice (that process's error names the batch if it was accepted); to submit the items anyway, start a new run", m.Ref())
		case err == nil:
			if err := json.Unmarshal(rec.Job, &job); err != nil {
				return job, key, false, fmt.Errorf("reading the recorded batch: %w", err)
			}
			return job, rec.Key, true, nil
		case !errors.Is(err, store.ErrNotFound):
			// Not knowing whether the batch was sent, sending it again could pay twice.
			return job, key, false, err
		}
		intent := store.Batch{RunID: w.runID, StepID: n.ID, Key: key, Provider: m.ProviderName, Model: m.ID,
			Items: idxs, ItemKeys: itemKeys, Status: store.BatchSubmitting}
		if err := w.opts.Store.PutBatch(w.ctx, intent); err != nil {
			return job, key, false, fmt.Errorf("recording the batch before submitting it (nothing was sent): %w", err)
		}
	}
	err = w.slotted(n, m, idxs[0], nil, func(ctx context.Context, pol attemptPolicy, onRetry retryHook) error {
		_, _, err := withRetry(ctx, pol, onRetry, func(ctx context.Context) (steps.Result, error) {
			var err error
			job, err = ab.SubmitBatch(ctx, n.Kind.Task, m.ID, reqs)
			return steps.Result{}, err
		})
		return err
	})
	if err != nil {
		if w.recordsBatches() {
			// The provider refused the batch: nothing to resume, a resume may send it.
			if derr := w.opts.Store.DeleteBatch(context.WithoutCancel(w.ctx), w.runID, n.ID, key); derr != nil {
				err = errors.Join(err, derr)
			}
		}
		return job, key, false, fmt.Errorf("submitting the batch to %s: %w", m.Ref(), err)
	}
	if !w.recordsBatches() {
		return job, key, false, nil
	}
	if err := w.recordJob(n, m, job, idxs, itemKeys, key); err != nil {
		return job, key, false, fmt.Errorf("batch %s was submitted to %s and is paid for, but recording it failed, so this run cannot collect it; a resume will not submit it again: %w", job.ID, m.Ref(), err)
	}
	return job, key, false, nil
}

// recordJob records a submitted batch's job, trying a few times: the batch is paid for
// whether or not this process sees it end, so the record is written even when the run is
// being cancelled, and a passing failure (a busy or briefly full disk) must not lose it.
func (w *walker) recordJob(n *Node, m *steps.Model, job providers.BatchJob, idxs []int, itemKeys []string, key string) error {
	b, err := json.Marshal(job)
	if err != nil {
		return err
	}
	rec := store.Batch{RunID: w.runID, StepID: n.ID, Key: key, Provider: m.ProviderName, Model: m.ID, Job: b, Items: idxs, ItemKeys: itemKeys}
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err = w.opts.Store.PutBatch(context.WithoutCancel(w.ctx), rec)
		if err == nil || attempt == 3 {
			return err
		}
		time.Sleep(wait)
		wait *= 4
	}
}

// recordedBatch finds the batch this run already submitted for these requests: the one
// recorded under key, else one of the step's on the same model whose requests include
// every one of these (same item, same request). ErrNotFound when there is none.
func (w *walker) recordedBatch(n *Node, m *steps.Model, idxs []int, itemKeys []string, key string) (store.Batch, error) {
	rec, err := w.opts.Store.GetBatch(w.ctx, w.runID, n.ID, key)
	if !errors.Is(err, store.ErrNotFound) || w.opts.Resume == "" {
		return rec, err
	}
	all, err := w.opts.Store.Batches(w.ctx, w.runID)
	if err != nil {
		return store.Batch{}, err
	}
	for _, b := range all {
		if b.StepID != n.ID || b.Provider != m.ProviderName || b.Model != m.ID || len(b.ItemKeys) != len(b.Items) {
			continue
		}
		has := make(map[int]string, len(b.Items))
		for i, idx := range b.Items {
			has[idx] = b.ItemKeys[i]
		}
		covered := true
		for j, idx := range idxs {
			if k, ok := has[idx]; !ok || k != itemKeys[j] {
				covered = false
				break
			}
		}
		if covered {
			return b, nil
		}
	}
	return store.Batch{}, store.ErrNotFound
}

// pollBatch waits for the job to end: it polls after the step's batch.poll (default
// providers.BatchPollDefault), doubling the wait after each poll up to
// providers.BatchPollMax, and gives up when the run is cancelled or the step's timeout
// passes. A poll that fails with a retryable error is tried again at the next wait.
func (w *walker) pollBatch(n *Node, ab providers.AsyncBatcher, job providers.BatchJob, items int, resumed bool) (providers.BatchState, error) {
	ctx, cancel := w.ctx, context.CancelFunc(func() {})
	if t := w.policy(n).timeout; t > 0 {
		ctx, cancel = context.WithTimeout(ctx, t)
	}
	defer cancel()
	wait := n.Spec.BatchPoll
	if wait <= 0 {
		wait = w.opts.BatchPoll
	}
	if wait <= 0 {
		wait = providers.BatchPollDefault
	}
	counts := &BatchCounts{ID: job.ID, Status: "submitted", Items: items, Queued: items, Resumed: resumed}
	w.hooks.emit(Event{Type: EventBatch, RunID: w.runID, StepID: n.ID, Item: -1, Batch: counts, Elapsed: wait})
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			if w.ctx.Err() == nil && ctx.Err() == context.DeadlineExceeded {
				return providers.BatchState{}, fmt.Errorf("still %s at the step's timeout (%s); resume the run to keep waiting without paying again", counts.Status, w.policy(n).timeout)
			}
			return providers.BatchState{}, ctx.Err()
		case <-timer.C:
		}
		st, err := ab.PollBatch(ctx, job)
		if err != nil && !providers.IsRetryable(err) {
			if ctx.Err() != nil {
				continue // reported by the select
			}
			if d, ok := ctx.Deadline(); ok && w.ctx.Err() == nil && time.Until(d) < wait {
				// The poll gave up because the step's timeout was near (a rate
				// limiter will not start a wait it cannot finish).
				return st, fmt.Errorf("still %s at the step's timeout (%s; last poll: %v); resume the run to keep waiting without paying again", counts.Status, w.policy(n).timeout, err)
			}
			return st, fmt.Errorf("polling: %w", err)
		}
		if err == nil {
			counts = &BatchCounts{ID: job.ID, Status: st.Status, Items: items, Queued: st.Queued, Running: st.Running,
				Done: st.Done, Failed: st.Failed, Resumed: resumed}
			if st.Ended {
				w.hooks.emit(Event{Type: EventBatch, RunID: w.runID, StepID: n.ID, Item: -1, Batch: counts})
				return st, nil
			}
		}
		wait = min(wait*2, providers.BatchPollMax)
		w.hooks.emit(Event{Type: EventBatch, RunID: w.runID, StepID: n.ID, Item: -1, Batch: counts, Elapsed: wait})
		timer.Reset(wait)
	}
}

// recordsBatches reports whether this run records its asynchronous batches, to resume
// them by polling: not when it has no store, nor when it is ephemeral (a dataset row),
// which has no run record to hang them on and is never resumed.
func (w *walker) recordsBatches() bool { return w.opts.Store != nil && !w.opts.Ephemeral }
