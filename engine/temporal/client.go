package temporal

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aiflow/aiflow/engine"
)

// Conn says where the Temporal frontend is and how to reach it. Empty fields fall back
// to TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and TEMPORAL_API_KEY, then to localhost:7233
// and the default namespace.
type Conn struct {
	Address   string
	Namespace string
	TaskQueue string
	TLS       bool
	APIKey    string
	// Logger receives the SDK's log lines; nil discards them.
	Logger *slog.Logger
}

func (c Conn) resolved() Conn {
	if c.Address == "" {
		c.Address = os.Getenv("TEMPORAL_ADDRESS")
	}
	if c.Address == "" {
		c.Address = client.DefaultHostPort
	}
	if c.Namespace == "" {
		c.Namespace = os.Getenv("TEMPORAL_NAMESPACE")
	}
	if c.Namespace == "" {
		c.Namespace = client.DefaultNamespace
	}
	if c.APIKey == "" {
		c.APIKey = os.Getenv("TEMPORAL_API_KEY")
	}
	if c.TaskQueue == "" {
		c.TaskQueue = DefaultTaskQueue
	}
	return c
}

// Dial connects to the Temporal frontend.
func Dial(ctx context.Context, c Conn) (client.Client, error) {
	c = c.resolved()
	opts := client.Options{HostPort: c.Address, Namespace: c.Namespace, Logger: logger(c.Logger)}
	if c.TLS || c.APIKey != "" {
		opts.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey)
	}
	cl, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connecting to Temporal at %s (namespace %s): %w", c.Address, c.Namespace, err)
	}
	return cl, nil
}

func logger(l *slog.Logger) log.Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return log.NewStructuredLogger(l)
}

// WorkflowID is the Temporal workflow id of run runID.
func WorkflowID(runID string) string { return "aiflow-" + runID }

// Submission is one run to start.
type Submission struct {
	Flow        *engine.Flow
	Bundle      Bundle
	RunID       string
	StateDir    string
	Parallelism int
}

// Start packs the run's bundle into its workflow input and starts the workflow; it
// returns the workflow run.
func Start(ctx context.Context, cl client.Client, c Conn, sub Submission) (client.WorkflowRun, error) {
	c = c.resolved()
	in, err := NewInput(sub, c.TaskQueue)
	if err != nil {
		return nil, err
	}
	run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: WorkflowID(sub.RunID), TaskQueue: c.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE}, WorkflowName, in)
	if err != nil {
		return nil, fmt.Errorf("starting workflow: %w", err)
	}
	return run, nil
}

// NewInput is the workflow input of submission sub: its plan and its packed bundle.
func NewInput(sub Submission, queue string) (Input, error) {
	data, hash, err := Pack(sub.Bundle)
	if err != nil {
		return Input{}, err
	}
	return Input{Ref: Ref{RunID: sub.RunID, StateDir: sub.StateDir, BundleHash: hash}, Bundle: data, Steps: Plan(sub.Flow, queue),
		BudgetUSD: budgetOf(sub.Flow, sub.Bundle.BudgetUSD), Parallelism: sub.Parallelism}, nil
}

// budgetOf is the run's budget: the override when > 0, else the flow's budget:.
func budgetOf(fl *engine.Flow, override float64) float64 {
	if override > 0 {
		return override
	}
	if b := fl.Spec.Budget; b != nil {
		return b.USD
	}
	return 0
}

// Wait follows a started run to its end and returns its outcome.
func Wait(ctx context.Context, run client.WorkflowRun) (*Outcome, error) {
	var out Outcome
	if err := run.Get(ctx, &out); err != nil {
		return nil, fmt.Errorf("workflow %s: %w", run.GetID(), err)
	}
	if out.Result == nil {
		return nil, errors.New("workflow returned no result")
	}
	return &out, nil
}

// WorkerOptions configure a worker process.
type WorkerOptions struct {
	// RatePerSecond bounds the requests per second to a provider kind, for all workers
	// together: each request waits for a slot in the run store the workers share (see
	// rateLimits), and the kind's queue dispatches at most that many activities per
	// second (Temporal's TaskQueueActivitiesPerSecond); 0: unbounded.
	RatePerSecond map[string]float64
	// Providers are the provider kinds whose queues this worker serves.
	Providers []string
	// MaxConcurrentActivities bounds the activities this worker executes at once.
	MaxConcurrentActivities int
}

// WorkflowRegistry is anything workflows are registered on: a worker, a replayer
// (worker.WorkflowReplayer) or the SDK's test environment.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// RegisterWorkflows registers the run's workflow and the child workflow of a big
// fan-out's slices under their type names on r. Workers, replayers and test
// environments all register through it, so a replay checks exactly the workflows a
// worker runs: one a worker ran but the replayer lacks fails the replay.
func RegisterWorkflows(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
	r.RegisterWorkflowWithOptions(ItemsWorkflow, workflow.RegisterOptions{Name: ItemsWorkflowName})
}

// NewWorkers builds the workers of one process: one on the base queue (the workflow,
// local activities and steps without a provider) and one per provider kind's queue.
func NewWorkers(cl client.Client, c Conn, acts *Activities, o WorkerOptions) []worker.Worker {
	c = c.resolved()
	acts.rates = &rateLimits{base: c.TaskQueue, perSecond: o.RatePerSecond}
	if acts.Client == nil {
		acts.Client = cl
	}
	register := func(w worker.Worker) {
		w.RegisterActivity(acts)
	}
	base := worker.New(cl, c.TaskQueue, worker.Options{MaxConcurrentActivityExecutionSize: o.MaxConcurrentActivities})
	RegisterWorkflows(base)
	register(base)
	out := []worker.Worker{base}
	provs := append([]string(nil), o.Providers...)
	sort.Strings(provs)
	for _, p := range provs {
		q := QueueFor(c.TaskQueue, p)
		if q == c.TaskQueue {
			continue
		}
		w := worker.New(cl, q, worker.Options{TaskQueueActivitiesPerSecond: o.RatePerSecond[p], MaxConcurrentActivityExecutionSize: o.MaxConcurrentActivities,
			DisableWorkflowWorker: true})
		register(w)
		out = append(out, w)
	}
	return out
}

// Serve runs the workers until ctx is done.
func Serve(ctx context.Context, ws []worker.Worker) error {
	for i, w := range ws {
		if err := w.Start(); err != nil {
			for _, s := range ws[:i] {
				s.Stop()
			}
			return fmt.Errorf("starting worker: %w", err)
		}
	}
	<-ctx.Done()
	for _, w := range ws {
		w.Stop()
	}
	return nil
}
