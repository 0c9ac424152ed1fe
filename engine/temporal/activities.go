package temporal

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
)

// heartbeatTimeout is how long a step activity may go without a heartbeat before
// Temporal hands it to another worker; activities heartbeat at a third of it.
const heartbeatTimeout = 30 * time.Second

// Activities execute the pieces of a run against the run store. One value serves every
// run a worker is handed; it caches compiled flows (by bundle) and open stores (by
// state directory).
type Activities struct {
	// Compile compiles a flow from its file path, source and extra read roots (the
	// CLI's registries); required.
	Compile func(file string, source []byte, allowRead []string) (*engine.Flow, error)
	// Options adds what the CLI gives a local run (databases, prompts, HTTP client) to
	// opts for flow fl; may be nil.
	Options func(fl *engine.Flow, st *store.Store, stateDir string, opts *engine.RunOptions)
	// StateDir, when set, replaces the state directory runs were submitted with (a
	// worker whose state lives elsewhere on its machine).
	StateDir string
	// StateURL, when set, is the PostgreSQL database the worker keeps run records and
	// the cache in (store.Options.URL). It is the worker's own (its --state-url or
	// AIFLOW_STATE_URL), never part of a run's input: it holds a password.
	StateURL string
	// Client asks a run's workflow for its bundle when this worker has not seen it yet
	// (NewWorkers sets it).
	Client client.Client
	// BundleDir is where bundles are unpacked, one directory per bundle hash (default:
	// aiflow-bundles under the system's temporary directory).
	BundleDir string

	rates *rateLimits // set by NewWorkers: the shared limits of provider queues

	mu     sync.Mutex
	flows  map[[32]byte]*flowEntry
	stores map[string]*store.Store
	// sessions keeps what the sessions of a run read once for all its pieces.
	sessions *engine.SessionCache
	// reads counts the step records the activities' sessions read from run stores.
	reads atomic.Int64
}

// RecordsRead is the number of step records a's activities have read from run stores so
// far: about one per item executed plus a few per step, so a fan-out's reads grow with
// its items, not with their square. (A function, not a method: every exported method of
// Activities is registered as an activity.)
func RecordsRead(a *Activities) int64 { return a.reads.Load() }

type flowEntry struct {
	fl     *engine.Flow
	bundle Bundle
	use    bundleUse // its unpacked files, kept from SweepBundles while in use
}

// Close closes the stores the activities opened.
func (a *Activities) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for _, st := range a.stores {
		errs = append(errs, st.Close())
	}
	a.stores = nil
	return errors.Join(errs...)
}

func (a *Activities) stateDir(ref Ref) string {
	if a.StateDir != "" {
		return a.StateDir
	}
	return ref.StateDir
}

// open compiles (or reuses) the run's flow and opens a session on its run.
func (a *Activities) open(ctx context.Context, ref Ref) (*engine.Session, error) {
	dir := a.stateDir(ref)
	a.mu.Lock()
	if a.flows == nil {
		a.flows, a.stores, a.sessions = map[[32]byte]*flowEntry{}, map[string]*store.Store{}, engine.NewSessionCache()
	}
	cache := a.sessions
	key := sha256.Sum256([]byte(ref.Bundle.SHA256 + "\x00" + ref.BundleHash + "\x00" + dir))
	fe := a.flows[key]
	st := a.stores[dir]
	a.mu.Unlock()
	if st == nil {
		var err error
		if st, err = store.OpenWith(dir, store.Options{URL: a.StateURL}); err != nil {
			return nil, fmt.Errorf("opening run store: %w", err)
		}
		a.mu.Lock()
		if prev := a.stores[dir]; prev != nil {
			st.Close()
			st = prev
		} else {
			a.stores[dir] = st
		}
		a.mu.Unlock()
	}
	if fe == nil {
		var err error
		if fe, err = a.compile(ctx, ref, dir); err != nil {
			return nil, err
		}
		a.mu.Lock()
		a.flows[key] = fe
		a.mu.Unlock()
	}
	fe.use.touch(time.Now())
	b := fe.bundle
	opts := engine.RunOptions{Store: st, StateDir: dir, RunID: ref.RunID, Vars: b.Vars, Seed: b.Seed, NoCache: b.NoCache, BudgetUSD: b.BudgetUSD,
		Engine: "temporal", Labels: b.Labels, SyncItems: true}
	if a.Options != nil {
		a.Options(fe.fl, st, dir, &opts)
	}
	opts.HTTPClient = a.rates.client(ctx, st, opts.HTTPClient)
	s, err := fe.fl.OpenCachedSession(ctx, opts, cache)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", ref.RunID, err)
	}
	return s, nil
}

// compile builds run ref's flow from its bundle: the one given inline, or asked of the
// run's workflow once (then kept by hash with the compiled flow), or, for runs started
// before bundles travelled with the workflow, read from the state's blob store.
func (a *Activities) compile(ctx context.Context, ref Ref, dir string) (*flowEntry, error) {
	var b Bundle
	var err error
	switch {
	case ref.BundleHash == "":
		b, err = ReadBundle(dir, ref.Bundle)
	case ref.Inline != nil:
		b, err = Unpack(ref.Inline, ref.BundleHash)
	case a.Client == nil:
		err = errNoBundle
	default:
		var v converter.EncodedValue
		v, err = a.Client.QueryWorkflow(ctx, WorkflowID(ref.RunID), "", QueryBundle)
		if err == nil {
			var data []byte
			if err = v.Get(&data); err == nil {
				b, err = Unpack(data, ref.BundleHash)
			}
		}
		if err != nil {
			err = fmt.Errorf("asking run %s for its bundle: %w", ref.RunID, err)
		}
	}
	if err != nil {
		return nil, err
	}
	file, allow := b.FlowFile, b.AllowRead
	var unpacked string
	if len(b.Roots) > 0 {
		unpacked = filepath.Join(a.bundleDir(), ref.BundleHash)
		if file, allow, err = materialize(unpacked, b); err != nil {
			return nil, err
		}
	}
	fl, err := a.Compile(file, b.Source, allow)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("compiling %s: %v", b.FlowFile, err), "InvalidFlow", err)
	}
	fl.Spec.File = b.FlowFile // the run is recorded under the flow's own path
	fe := &flowEntry{fl: fl, bundle: b}
	fe.use.dir = unpacked
	return fe, nil
}

// done closes a session, counting what it read.
func (a *Activities) done(s *engine.Session) error {
	a.reads.Add(int64(s.RecordsRead()))
	return s.Close()
}

// heartbeat reports progress every third of the heartbeat timeout until stop is called,
// so a long provider call is not mistaken for a lost worker. Outside an activity (tests)
// it does nothing.
func heartbeat(ctx context.Context) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(heartbeatTimeout / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

// RunStep executes a whole step and records it.
func (a *Activities) RunStep(ctx context.Context, ref Ref, stepID string) (engine.StepResult, error) {
	defer heartbeat(ctx)()
	s, err := a.open(ctx, ref)
	if err != nil {
		return engine.StepResult{}, err
	}
	res, err := s.RunStep(ctx, stepID)
	if cerr := a.done(s); err == nil && cerr != nil {
		err = fmt.Errorf("recording step %q: %w", stepID, cerr)
	}
	return res, err
}

// Prepare evaluates a for_each step's when: and item list.
func (a *Activities) Prepare(ctx context.Context, ref Ref, stepID string) (engine.StepPlan, error) {
	s, err := a.open(ctx, ref)
	if err != nil {
		return engine.StepPlan{}, err
	}
	p, err := s.Prepare(ctx, stepID)
	if cerr := a.done(s); err == nil && cerr != nil {
		err = fmt.Errorf("recording step %q: %w", stepID, cerr)
	}
	return p, err
}

// ExecItems executes items idxs of a for_each step and returns a summary; the outputs
// stay in the run store.
func (a *Activities) ExecItems(ctx context.Context, ref Ref, stepID string, idxs []int) (engine.ItemsSummary, error) {
	defer heartbeat(ctx)()
	s, err := a.open(ctx, ref)
	if err != nil {
		return engine.ItemsSummary{}, err
	}
	sum, err := s.ExecItems(ctx, stepID, idxs)
	if cerr := a.done(s); err == nil && cerr != nil {
		err = fmt.Errorf("recording step %q: %w", stepID, cerr)
	}
	return sum, err
}

// Finish assembles and records a for_each step from its item records.
func (a *Activities) Finish(ctx context.Context, ref Ref, stepID string, total int, stopped string) (engine.StepResult, error) {
	s, err := a.open(ctx, ref)
	if err != nil {
		return engine.StepResult{}, err
	}
	res, err := s.Finish(ctx, stepID, total, stopped)
	if cerr := a.done(s); err == nil && cerr != nil {
		err = fmt.Errorf("recording step %q: %w", stepID, cerr)
	}
	return res, err
}

// Outcome is what a run ends with: its result and, when it failed, the error the local
// engine would have returned (redacted), so the CLI prints the same either way.
type Outcome struct {
	Result *engine.RunResult `json:"result"`
	Error  string            `json:"error,omitempty"`
}

// FinishRun evaluates the outputs and records the end of the run. A failed run is an
// outcome, not an activity error.
func (a *Activities) FinishRun(ctx context.Context, ref Ref) (Outcome, error) {
	s, err := a.open(ctx, ref)
	if err != nil {
		return Outcome{}, err
	}
	defer a.done(s)
	res, err := s.FinishRun(ctx)
	if res == nil {
		return Outcome{}, err
	}
	out := Outcome{Result: res}
	if err != nil {
		out.Error = s.Redact(err.Error())
	}
	return out, nil
}
