package infra

import (
	"context"
	"fmt"
	"strings"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
)

// StaleError says which resources a run needs that are missing or differ from the flow.
type StaleError struct {
	Changes []*Change
	// Problems are other reasons the resources cannot serve a run (e.g. a prompt
	// without an active version).
	Problems []string
}

// Error lists the resources and ends with what to do.
func (e *StaleError) Error() string {
	var b strings.Builder
	b.WriteString("the flow's resources are not ready")
	for _, c := range e.Changes {
		fmt.Fprintf(&b, "\n  %s %s (%s) %s", actionSymbol[c.Action], c.Name, c.Kind, actionVerb[c.Action])
		if len(c.Drift) > 0 {
			b.WriteString(" (changed outside aiflow)")
		}
	}
	for _, p := range e.Problems {
		b.WriteString("\n  " + p)
	}
	b.WriteString("\nrun aiflow apply")
	return b.String()
}

// Check verifies, before a run, that every resource the flow declares exists and matches
// it; it returns a *StaleError otherwise. A missing local vector index is created here
// and recorded, as apply would (the engine used to create it on first use, unrecorded,
// so the next plan offered to adopt it); a local resource that exists but is not in
// state is recorded too. A remote resource that exists but is not in state passes
// (apply would only record it). Resources no longer declared do not matter to a run.
func Check(ctx context.Context, fl *engine.Flow, st *store.Store, opts Options) error {
	if st == nil {
		return fmt.Errorf("checking resources needs a state store")
	}
	e, err := newEnv(fl, st, opts)
	if err != nil {
		return err
	}
	defer e.close()
	p, err := e.plan(ctx)
	if err != nil {
		return e.redact(err)
	}
	stale := &StaleError{}
	var record []*Change
	for _, c := range p.Resources {
		switch {
		case c.Action == ActionDestroy:
		case c.Action == ActionAdopt && c.res.external() && !c.real.exists:
			stale.Problems = append(stale.Problems, fmt.Sprintf("%s (%s) is %s", c.Name, c.Kind, c.Reason))
		case c.Action == ActionCreate && c.Kind == "vector-index" && c.Backend == "local",
			c.Action == ActionAdopt && isLocal(c.Kind, c.Backend):
			record = append(record, c)
		case c.Action != ActionNoop && c.Action != ActionAdopt:
			stale.Changes = append(stale.Changes, c)
		case c.Kind == "prompt":
			if _, err := e.activePrompt(ctx, c.Name); err != nil {
				stale.Problems = append(stale.Problems, e.fl.Redact(err.Error()))
			}
		}
	}
	if len(stale.Changes) > 0 || len(stale.Problems) > 0 {
		return stale
	}
	if len(record) > 0 {
		unlock, err := e.st.LockState(e.opts.StateDir, e.opts.lockWait())
		if err != nil {
			return fmt.Errorf("another aiflow is changing resources in this state directory: %w", err)
		}
		defer unlock()
		for _, c := range record {
			if err := e.execute(ctx, c); err != nil {
				return e.redact(fmt.Errorf("resource %q (%s): %w", c.Name, c.Action, err))
			}
		}
	}
	return nil
}
