package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

// runBatch serves the pending items of a batch in one provider call, after taking what it
// can from the cache. Items are cached and recorded one by one.
func (w *walker) runBatch(n *Node, bs steps.BatchStep, scope map[string]any, items []any, idxs, pending []int, outs []any, recs []callRecord) ([]any, []callRecord, error) {
	start := w.opts.Now()
	calls, models, err := w.batchCalls(n, scope, items, idxs, pending)
	if err != nil {
		return nil, nil, err
	}
	if len(models) == 0 {
		models = []*steps.Model{nil}
	}
	var lastErr error
	var paid providers.Usage // by the batch's failed attempts, on every model tried
	var tried int            // attempts on every model tried
	var failModel string
	var todo []int
	for mi, m := range models {
		var keys []string
		todo, keys = w.batchFromCache(n, calls, pending, idxs, m, outs, recs, len(items))
		if len(todo) == 0 {
			return outs, recs, nil
		}
		batch := make([]*steps.Call, len(todo))
		for j, t := range todo {
			batch[j] = calls[t]
		}
		before, beforeAttempts := paid, tried
		failed, attempts, err := w.execBatch(n, bs, batch, m, func(results []steps.Result, attempts int, extra providers.Usage) error {
			var firstErr error
			for j, t := range todo {
				i := pending[t]
				cr := callRecord{attempts: beforeAttempts + attempts, usage: results[j].Usage, meta: results[j].Meta}
				if m != nil {
					cr.model = m.Ref()
				}
				if j == 0 { // what the failed attempts paid is recorded on the batch's first item
					cr.usage = cr.usage.Add(before).Add(extra)
				}
				if err := w.takeBatchItem(n, calls[t], keys[t], results[j], nil, cr, i, idxs[i], start, len(items), outs, recs); err != nil && firstErr == nil {
					firstErr = err
				}
			}
			w.syncItems()
			return firstErr
		})
		paid, tried = paid.Add(failed), tried+attempts
		if m != nil {
			failModel = m.Ref()
		}
		if err == nil {
			return outs, recs, nil
		}
		var oe *outputError
		if errors.As(err, &oe) {
			return outs, recs, oe.err
		}
		lastErr = err
		if mi+1 < len(models) && canFallBack(err) {
			w.emitFallback(n, idxs[pending[0]], models[mi+1], err)
			continue
		}
		break
	}
	// Every item of the failed batch is recorded as failed, with the model, the attempts
	// and (on its first item) what the batch paid, as a failed single item is.
	for j, t := range todo {
		i := pending[t]
		cr := callRecord{model: failModel, attempts: tried}
		if j == 0 {
			cr.usage = paid
		}
		recs[i] = cr
		w.recordFailedItem(n, idxs[i], cr, lastErr, start)
	}
	return outs, recs, fmt.Errorf("batch of items %d–%d: %w", idxs[pending[0]], idxs[pending[len(pending)-1]], lastErr)
}

// batchCalls builds the calls of a batch's pending items (positions in idxs) and the
// models that may serve them, in fallback order.
func (w *walker) batchCalls(n *Node, scope map[string]any, items []any, idxs, pending []int) ([]*steps.Call, []*steps.Model, error) {
	calls := make([]*steps.Call, 0, len(pending))
	for _, i := range pending {
		idx := idxs[i]
		call, err := w.buildCall(n, withEach(scope, map[string]any{"value": items[idx], "index": idx}), idx)
		if err != nil {
			return nil, nil, fmt.Errorf("item %d: %w", idx, err)
		}
		calls = append(calls, call)
	}
	models, err := w.candidates(n, calls[0], scope)
	return calls, models, err
}

// takeBatchItem takes one batch item's answer (res, or the provider's err for it):
// counts what it paid, records it as done (cached under key when it may be) or as
// failed, and returns the item's error naming its index. i is its position in outs and
// recs, idx its index in the for_each, cr its call record so far.
func (w *walker) takeBatchItem(n *Node, call *steps.Call, key string, res steps.Result, err error, cr callRecord, i, idx int, start time.Time, total int, outs []any, recs []callRecord) error {
	w.addUsage(res.Usage)
	w.observe(call, res.Usage.USD, true)
	var out any
	var enc encoded
	var cacheable bool
	if err == nil {
		out, enc, cacheable, err = roundTrip(w, res.Output, false, true) // FreshOutput promises nothing of RunBatch
	}
	if err != nil {
		recs[i] = cr
		w.recordFailedItem(n, idx, cr, err, start)
		return fmt.Errorf("item %d: %w", idx, err)
	}
	cr.out = enc
	outs[i], recs[i] = out, cr
	if cacheable {
		w.cachePut(n, call, key, enc.data, cr.model)
	}
	w.recordItem(n, idx, out, cr, start, total)
	return nil
}

// batchFromCache fills cached items and returns the positions (in calls) still to run and
// the cache key of every call ("" when not cached). The keys are looked up in one query.
func (w *walker) batchFromCache(n *Node, calls []*steps.Call, pending, idxs []int, m *steps.Model, outs []any, recs []callRecord, total int) ([]int, []string) {
	var todo []int
	keys := make([]string, len(calls))
	var lookup []string
	for t, call := range calls {
		call.Model = m
		if use, _, _ := w.fl.cachePolicy(n, call); use && !w.opts.NoCache {
			keys[t] = w.fl.CacheKey(n, call)
			lookup = append(lookup, keys[t])
		}
	}
	var found map[string]store.CacheEntry
	if len(lookup) > 0 {
		found, _ = w.opts.Store.CacheGetMany(w.ctx, lookup, w.opts.Now()) // an unreadable cache is a miss
	}
	for t := range calls {
		if e, ok := found[keys[t]]; ok && keys[t] != "" {
			if out, enc, ok := w.fromCache(e); ok {
				i := pending[t]
				outs[i], recs[i] = out, callRecord{cached: true, model: e.Model, out: enc}
				w.recordItem(n, idxs[i], out, recs[i], w.opts.Now(), total)
				continue
			}
		}
		todo = append(todo, t)
	}
	return todo, keys
}

// execBatch sends a batch in one call, under the same budget, slot and retry rules as a
// single call, and hands the results to keep while the slot is still held, so they are
// cached before another call starts. An error from keep comes back as an *outputError:
// it is not the provider's, and no fallback model can mend it. A batch that fails after
// paying returns, with its error, results carrying what it paid (steps.BatchStep): that
// usage, summed over the attempts that failed, is added to the run as it is paid and
// returned in paid (on success it reaches keep as extra), with the attempts made.
func (w *walker) execBatch(n *Node, bs steps.BatchStep, batch []*steps.Call, m *steps.Model, keep func(results []steps.Result, attempts int, extra providers.Usage) error) (paid providers.Usage, attempts int, err error) {
	err = w.guarded(n, m, batch[0].Item, batch, func(ctx context.Context, pol attemptPolicy, onRetry retryHook) error {
		var results []steps.Result
		res, made, err := withRetry(ctx, pol, onRetry, func(ctx context.Context) (steps.Result, error) {
			var err error
			results, err = bs.RunBatch(ctx, batch)
			if err == nil && len(results) != len(batch) {
				err = fmt.Errorf("step returned %d results for %d items", len(results), len(batch))
			}
			if err != nil {
				var u providers.Usage
				for _, r := range results {
					u = u.Add(r.Usage)
				}
				results = nil
				return steps.Result{Usage: u}, err
			}
			return steps.Result{}, nil
		})
		attempts = made
		// res.Usage is what the failed attempts paid; a success's usage is in results.
		w.addUsage(res.Usage)
		w.observe(batch[0], res.Usage.USD/float64(len(batch)), false)
		if err != nil {
			paid = res.Usage
			return err
		}
		if err := keep(results, made, res.Usage); err != nil {
			return &outputError{err: err}
		}
		return nil
	})
	return paid, attempts, err
}

// outputError is a failure handling a provider's results (not of the provider itself).
type outputError struct{ err error }

func (e *outputError) Error() string { return e.err.Error() }
func (e *outputError) Unwrap() error { return e.err }
