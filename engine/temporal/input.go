// Package temporal runs flows on Temporal: a tiny deterministic workflow walks the
// compiled DAG, and activities execute each step with the engine's own semantics
// (engine.Session) against the shared run store. The workflow never sees outputs or
// secrets: outputs stay in the run store (claim-check), env() is read by activities.
package temporal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/spec"
)

// WorkflowName is the workflow type every aiflow run is started as.
const WorkflowName = "aiflow.Run"

// DefaultTaskQueue is the task queue of the workflow and of steps that call no provider.
const DefaultTaskQueue = "aiflow"

// Bundle is what a worker needs to rebuild a run's flow: its source, the values it was
// started with, and every file it reads, so a worker on another machine needs neither the
// flow's directory nor a shared disk. It travels packed (Pack) in the workflow input, once
// in the run's history; activities carry only its hash, and a worker without it asks the
// run's workflow (QueryBundle) once and keeps it by hash. Secrets never enter it: env()
// is read by each worker.
type Bundle struct {
	FlowFile  string            `json:"flow_file"`
	Source    []byte            `json:"source"`
	Vars      map[string]any    `json:"vars,omitempty"`
	Seed      int64             `json:"seed,omitempty"`
	NoCache   bool              `json:"no_cache,omitempty"`
	BudgetUSD float64           `json:"budget_usd,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	// AllowRead are the extra roots file() and glob() may read (--allow-read).
	AllowRead []string `json:"allow_read,omitempty"`
	// Files are the files the run reads (CollectFiles), and Roots the directories it may
	// read from (the flow's own first), resolved on the submitting machine. A bundle
	// without Roots is read as its flow's directory on the worker's disk (older runs).
	Files []BundleFile `json:"files,omitempty"`
	Roots []string     `json:"roots,omitempty"`
}

// Ref names a run and its bundle; it is the first argument of every activity.
type Ref struct {
	RunID    string `json:"run_id"`
	StateDir string `json:"state_dir"`
	// Bundle is the bundle as a blob in the state's blob store: runs started before
	// bundles travelled in the workflow input.
	Bundle blob.Blob `json:"bundle"`
	// BundleHash names the packed bundle of the workflow input.
	BundleHash string `json:"bundle_hash,omitempty"`
	// Inline is the packed bundle itself, given to local activities only (their inputs
	// are not recorded in history): a worker then never has to ask for it.
	Inline []byte `json:"inline,omitempty"`
}

// PlanStep is one step as the workflow walks it: only the shape of the DAG and how each
// step is executed, decided at submit from the compiled flow.
type PlanStep struct {
	ID      string   `json:"id"`
	Deps    []string `json:"deps,omitempty"`
	ForEach bool     `json:"for_each,omitempty"`
	// Batch is the number of items one activity executes (1 without batch:).
	Batch int `json:"batch,omitempty"`
	// Cheap steps (transform, chunk) run whole in a local activity.
	Cheap bool   `json:"cheap,omitempty"`
	Queue string `json:"queue,omitempty"`
	// Timeout bounds one activity: the step's timeout: times its attempts, plus slack.
	Timeout time.Duration `json:"timeout,omitempty"`
	// ContinueOnError keeps executing items after one failed.
	ContinueOnError bool `json:"continue_on_error,omitempty"`
}

// Input is the workflow's argument.
type Input struct {
	Ref Ref `json:"ref"`
	// Bundle is the packed bundle (Pack), named by Ref.BundleHash.
	Bundle      []byte     `json:"bundle,omitempty"`
	Steps       []PlanStep `json:"steps"`
	BudgetUSD   float64    `json:"budget_usd,omitempty"`
	Parallelism int        `json:"parallelism,omitempty"`
	// ChildActivities is the most item activities one workflow schedules for a step
	// before the step's items go to child workflows (0: DefaultChildActivities).
	ChildActivities int `json:"child_activities,omitempty"`
}

// cheapKinds are step kinds that call no provider and do no I/O worth an activity's round
// trip (about 43 ms against about 1 ms for a local activity).
var cheapKinds = map[string]bool{"transform": true, "chunk": true}

// QueueFor is the task queue of activities calling provider kind prov: one per provider
// kind, so a worker's TaskQueueActivitiesPerSecond on it bounds all workers together.
func QueueFor(base, prov string) string {
	if prov == "" {
		return base
	}
	return base + "-" + prov
}

// Plan builds the workflow input's steps from a compiled flow.
func Plan(fl *engine.Flow, base string) []PlanStep {
	if base == "" {
		base = DefaultTaskQueue
	}
	out := make([]PlanStep, 0, len(fl.Order))
	for _, id := range fl.Order {
		n := fl.Nodes[id]
		p := PlanStep{ID: id, Deps: append([]string(nil), n.Deps...), ForEach: n.ForEach != nil, Batch: max(n.Spec.Batch, 1),
			Cheap: cheapKinds[n.Spec.Uses], ContinueOnError: n.Spec.ContinueOnError, Queue: base}
		if !p.Cheap {
			p.Queue = QueueFor(base, providerKind(fl, n))
		}
		p.Timeout = activityTimeout(n.Spec)
		out = append(out, p)
	}
	return out
}

// providerKind is the kind of the provider of the step's first candidate model, "" for a
// step without one.
func providerKind(fl *engine.Flow, n *engine.Node) string {
	for _, c := range n.Candidates {
		prov, _, ok := strings.Cut(c, ":")
		if m, isAlias := fl.Models[c]; isAlias {
			prov, ok = m.Provider, true
		}
		if !ok {
			continue
		}
		if p, found := fl.Providers[prov]; found {
			return p.Info.Name
		}
		return prov
	}
	return ""
}

// activityTimeout is a start-to-close timeout that lets the engine's own attempts run:
// retries stay in the engine (with its Retry-After, fallbacks and usage accounting);
// Temporal's retry policy only replaces a lost worker.
func activityTimeout(s *spec.Step) time.Duration {
	if s.Timeout <= 0 {
		return time.Hour
	}
	attempts := 1
	if s.Retry != nil && s.Retry.Attempts > 1 {
		attempts = s.Retry.Attempts
	}
	return time.Duration(attempts)*s.Timeout + time.Duration(attempts)*time.Minute
}

// Refuse names what a Temporal run cannot do, at submit: resources kept on this machine
// (backend: local indexes and buckets) unless the state is local to the workers too, and
// secret vars given on the command line (they would be written to the bundle; give them a
// default of env(NAME) instead, which workers read).
func Refuse(fl *engine.Flow, vars map[string]any, sharedState bool) error {
	var diags spec.Diagnostics
	if sharedState {
		for _, name := range sortedKeys(fl.Resources) {
			r := fl.Resources[name]
			if localResource(r) {
				diags.Errorf(r.Spec.Pos, "resources."+name, "resource %q is kept on this machine (backend: local); workers of a Temporal run on other machines cannot reach it", name)
				diags[len(diags)-1].Detail = "use a remote backend: Vectorize for vector indexes, D1 for databases, R2 for buckets"
			}
		}
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if v := fl.Spec.VarByName(k); v != nil && v.Secret {
			diags.Errorf(v.Pos, "vars."+k, "secret var %q cannot be passed to a Temporal run: its value would be stored for the workers", k)
			diags[len(diags)-1].Detail = fmt.Sprintf("give it a default of env(NAME) (default: ${ env(\"%s\") }) so each worker reads it from its own environment", strings.ToUpper(k))
		}
	}
	return diags.Err()
}

// localResource reports whether r keeps its data on this machine: a vector index,
// database or bucket whose backend is local, the default.
func localResource(r *engine.ResourceNode) bool {
	switch r.Spec.Kind {
	case "vector-index", "database", "bucket":
	default:
		return false
	}
	if r.Spec.Setting("backend") == nil {
		return true
	}
	b, ok := r.Literal("backend")
	return ok && b == "local"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// WriteBundle stores b in the blob store of stateDir.
func WriteBundle(stateDir string, b Bundle) (blob.Blob, error) {
	data, err := json.Marshal(b)
	if err != nil {
		return blob.Blob{}, fmt.Errorf("encoding run bundle: %w", err)
	}
	bl, err := blob.NewStore(engine.BlobDir(stateDir)).PutBytes(data, "bundle.json", "application/json")
	if err != nil {
		return blob.Blob{}, fmt.Errorf("writing run bundle: %w", err)
	}
	return bl, nil
}

// ReadBundle loads a bundle written by WriteBundle.
func ReadBundle(stateDir string, b blob.Blob) (Bundle, error) {
	if stateDir == "" {
		return Bundle{}, errors.New("run bundle: no state directory")
	}
	r, err := blob.NewStore(engine.BlobDir(stateDir)).Open(b)
	if err != nil {
		return Bundle{}, fmt.Errorf("reading run bundle: %w", err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return Bundle{}, fmt.Errorf("reading run bundle: %w", err)
	}
	var out Bundle
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		return Bundle{}, fmt.Errorf("decoding run bundle: %w", err)
	}
	return out, nil
}
