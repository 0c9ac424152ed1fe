package infra

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
)

// Confirm is asked, with the plan, before Apply or Destroy changes anything; returning
// false cancels without an error. A nil Confirm approves.
type Confirm func(*Plan) bool

// ErrCancelled is returned when Confirm declined the plan.
var ErrCancelled = errors.New("cancelled: nothing was changed")

// Apply takes the state lock, plans, asks confirm when the plan has changes, carries it
// out in order (databases, indexes, gateways, prompts; destroys last) and records each
// resource right after it is done. On an error it stops; what was done stays recorded.
func Apply(ctx context.Context, fl *engine.Flow, st *store.Store, opts Options, confirm Confirm) (*Plan, error) {
	return run(ctx, fl, st, opts, confirm, (*env).plan)
}

// Destroy takes the state lock and removes every resource recorded for this flow (those
// it declares and those it no longer declares), after confirm.
func Destroy(ctx context.Context, fl *engine.Flow, st *store.Store, opts Options, confirm Confirm) (*Plan, error) {
	return run(ctx, fl, st, opts, confirm, (*env).destroyPlan)
}

func run(ctx context.Context, fl *engine.Flow, st *store.Store, opts Options, confirm Confirm, plan func(*env, context.Context) (*Plan, error)) (*Plan, error) {
	if st == nil {
		return nil, errors.New("apply and destroy need a state store")
	}
	e, err := newEnv(fl, st, opts)
	if err != nil {
		return nil, err
	}
	defer e.close()
	unlock, err := e.st.LockState(e.opts.StateDir, e.opts.lockWait())
	if err != nil {
		return nil, fmt.Errorf("another aiflow is changing resources in this state directory: %w", err)
	}
	defer unlock()
	p, err := plan(e, ctx)
	if err != nil {
		return nil, e.redact(err)
	}
	if !p.Changes {
		return p, nil
	}
	if confirm != nil && !confirm(p) {
		return p, ErrCancelled
	}
	for _, c := range p.Resources {
		if err := e.execute(ctx, c); err != nil {
			return p, e.redact(fmt.Errorf("resource %q (%s): %w", c.Name, c.Action, err))
		}
	}
	return p, nil
}

// destroyPlan lists every resource of this flow that is in state, in destroy order.
func (e *env) destroyPlan(ctx context.Context) (*Plan, error) {
	states, err := e.st.ListResources(ctx)
	if err != nil {
		return nil, err
	}
	p := &Plan{Flow: e.fl.Spec.File, Name: e.fl.Spec.Name, Resources: []*Change{}}
	for _, s := range states {
		if s.Flow == e.key {
			c := destroyChange(s)
			c.Reason = ""
			p.Resources = append(p.Resources, c)
		}
	}
	sortDestroys(p.Resources)
	p.Changes = len(p.Resources) > 0
	return p, nil
}

// execute carries out one change and records it.
func (e *env) execute(ctx context.Context, c *Change) error {
	switch c.Action {
	case ActionNoop:
		return nil
	case ActionDestroy:
		return e.destroy(ctx, *c.state)
	case ActionReplace:
		if c.state != nil {
			if err := e.destroy(ctx, *c.state); err != nil {
				return err
			}
		} else if err := c.res.k.destroy(ctx, e, e.stateFor(c, c.real.id)); err != nil {
			return err
		}
		c.real = realState{}
	}
	id, err := c.res.k.apply(ctx, e, c)
	if id != "" || err == nil {
		if rerr := e.record(ctx, c, id); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return err
}

// destroy removes a resource and forgets it (its migrations too).
func (e *env) destroy(ctx context.Context, s store.ResourceState) error {
	k, ok := kinds[s.Kind]
	if !ok {
		return fmt.Errorf("resource kind %q cannot be destroyed", s.Kind)
	}
	if err := k.destroy(ctx, e, s); err != nil {
		return err
	}
	if err := e.st.DeleteResource(ctx, s.Flow, s.Name); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// stateFor is the state Apply records for a change.
func (e *env) stateFor(c *Change, id string) store.ResourceState {
	attrs := map[string]any{attrFlow: e.key, attrFile: filepath.Base(e.fl.Spec.File)}
	for k, v := range c.res.attrs {
		attrs[k] = v
	}
	return store.ResourceState{Flow: e.key, Name: c.Name, Kind: c.Kind, Backend: c.res.backend, ID: id, Attributes: attrs}
}

func (e *env) record(ctx context.Context, c *Change, id string) error {
	s := e.stateFor(c, id)
	if c.Kind == "database" {
		applied, err := e.st.AppliedMigrations(ctx, e.key, c.Name)
		if err != nil {
			return err
		}
		if applied != nil {
			ms := make([]any, len(applied))
			for i, a := range applied {
				ms[i] = a
			}
			s.Attributes["migrations"] = ms
		}
	}
	return e.st.PutResource(ctx, s)
}
