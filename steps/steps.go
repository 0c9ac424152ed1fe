// Package steps defines what a step kind is (the `uses:` catalogue) and the registry the
// engine reads it from. Each kind lives in its own package under steps/ and registers a
// Kind in init; adding a kind never touches the engine.
package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"sync"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
)

// Type is the static type of a step input or output field.
type Type string

// Field types. The engine checks literal inputs against them at validate time and
// coerces evaluated inputs at run time.
const (
	String   Type = "string"
	Int      Type = "integer"
	Number   Type = "number"
	Bool     Type = "boolean"
	List     Type = "list"
	Strings  Type = "list<string>"
	Object   Type = "object"
	Any      Type = "any"
	Duration Type = "duration"
	Resource Type = "resource" // a ${ resources.x } reference
	Blob     Type = "blob"     // a binary value (see package blob), passed by reference
)

// Field documents one input (under with:) or output field of a kind.
type Field struct {
	Name     string
	Type     Type
	Required bool
	// Literal inputs must be written out in the flow: ${ } is refused at validate, in
	// steps (by the kind's New) and in agent tool templates, because a value spliced into
	// them could change what they do (a query's sql; its values go in params).
	Literal bool
	Default any
	Enum    []string
	Doc     string
}

// Kind describes a step kind to the registry.
type Kind struct {
	Name    string
	Summary string
	// Task is the model task the kind needs, or "" for kinds that call no model.
	Task providers.Task
	// ModelOptional means the kind only sometimes needs a model (search embeds a text
	// query but not a vector): without model: or route: the engine routes none and the
	// step finds its own (e.g. the index's embedder).
	ModelOptional bool
	// Inputs are the keys accepted under with:.
	Inputs []Field
	// Outputs are the fields of steps.<id>.output.
	Outputs []Field
	// Params are the keys accepted under params: (model parameters), checked at
	// validate so that a typo or an unsupported key fails before anything is paid.
	// Nil means the kind takes no params: key or does not declare them.
	Params []Field
	// Keys lists the optional top-level step keys (beyond uses, with, when, for_each, needs,
	// cache, retry, timeout, description, continue_on_error) that the kind accepts:
	// model, route, prompt, params, output, tools, batch, parallelism.
	Keys []string
	// CacheByDefault caches a kind that calls no model (costly pure work such as chunking)
	// unless the step says cache: off.
	CacheByDefault bool
	// Version is part of every cache key; bump it when the kind's results change.
	Version string
	// Deterministic is false when the same inputs may give different outputs (sampling).
	// The engine also asks Step.Deterministic when the step implements it.
	Deterministic bool
	// Local means the kind's steps do nothing outside the process: no network, no file
	// written, nothing paid. The engine may run them before the run's record is
	// committed, so a small flow of such steps costs one commit; any other step waits
	// for that record first.
	Local bool
	// FreshOutput promises that Run returns a new Result.Output map on every call and
	// keeps no reference to it, so the engine may convert its top-level values to the
	// JSON shape (numbers as float64) in place instead of copying the map. Values
	// inside it may be shared: those are never changed.
	FreshOutput bool
	// New checks the static parts of a step and returns the runnable step. No I/O.
	New func(*spec.Step) (Step, spec.Diagnostics)
}

// Step is a configured step of some kind. Run must be safe to call concurrently (for_each
// items run in parallel) and must depend only on its Call: no hidden state, so that an
// executor on another machine gets the same result.
type Step interface {
	Run(ctx context.Context, call *Call) (Result, error)
}

// ModelChecker is implemented by steps whose static parts must follow rules of the API
// that serves them, e.g. the tool schemas a provider accepts: validate then reports the
// mistake at its line instead of the provider refusing the request at run time. The
// engine calls CheckModel once per provider kind among the step's candidate models.
type ModelChecker interface {
	CheckModel(providerKind, modelID string) spec.Diagnostics
}

// BatchStep is implemented by kinds that can serve several for_each items in one provider
// call (`batch: N`). Results are in call order. A batch that fails after paying returns,
// with its error, results (of any number) whose Usage adds up to what it paid; the engine
// counts it against the run's usage and budget and records it on the failed items.
type BatchStep interface {
	RunBatch(ctx context.Context, calls []*Call) ([]Result, error)
}

// AsyncBatchStep is implemented by kinds whose calls can go through a provider's
// asynchronous batch API (`batch: {size: N, async: true}`): the step turns each call into
// the provider request, and the provider's answer (collected later, perhaps by another
// process resuming the run) back into the call's result. Neither method does I/O.
type AsyncBatchStep interface {
	BatchRequest(call *Call) (providers.BatchRequest, error)
	BatchResult(call *Call, r providers.BatchResult) (Result, error)
}

// Call is one execution of a step: every input resolved.
type Call struct {
	StepID string
	Item   int // for_each index, -1 when the step does not fan out
	// Inputs are the with: values, evaluated, with defaults applied.
	Inputs map[string]any
	// Prompt is the evaluated prompt, for kinds that take one.
	Prompt *Prompt
	// Params are the evaluated params: (model parameters).
	Params map[string]any
	// OutputSchema is the evaluated output.schema, when given.
	OutputSchema map[string]any
	// Model is the model the engine routed this call to (nil for kinds without a task).
	Model *Model
	// Env gives access to the run's resources and event stream.
	Env Env
}

// Prompt is an evaluated prompt.
type Prompt struct {
	System   string              `json:"system,omitempty"`
	User     string              `json:"user,omitempty"`
	Messages []providers.Message `json:"messages,omitempty"`
}

// Model is a resolved model: which configured provider serves it and the model id.
type Model struct {
	Alias        string // flow alias, or "" when written provider:id directly
	ProviderName string // the providers: entry
	ProviderKind string
	ID           string
	Provider     providers.Provider
	// Gateway holds per-step AI Gateway options when the provider goes through a gateway.
	Gateway *providers.GatewayOptions
}

// Ref renders "provider:model-id", or just the provider when it uses its default model.
func (m *Model) Ref() string {
	if m.ID == "" {
		return m.ProviderName
	}
	return m.ProviderName + ":" + m.ID
}

// Env is what a running step may reach besides its inputs.
type Env interface {
	// VectorIndex opens the vector-index resource name.
	VectorIndex(ctx context.Context, name string) (providers.VectorIndex, providers.IndexSpec, error)
	// Embedder returns the model that embeds text for the vector-index resource name.
	IndexEmbedder(ctx context.Context, name string) (*Model, error)
	// Emit sends an event (streamed tokens, progress) to the run's hooks.
	Emit(ev Event)
	// Invoke runs a step of another kind inline, with inputs as under with: and an
	// optional model reference (alias or provider:id; "" for the kind's default). Agent
	// tools backed by a step template use it. Its usage is added to the run's.
	Invoke(ctx context.Context, uses string, inputs map[string]any, model string) (Result, error)
	// RunFlow runs another flow file (path relative to this flow) as a sub-flow with the
	// given vars and returns its outputs. Sub-flows share this run's state directory.
	RunFlow(ctx context.Context, path string, vars map[string]any) (map[string]any, error)
	// RecordTurn appends one agent turn (message, tool call or tool result) to the run
	// store; the engine fills the run, step and item.
	RecordTurn(ctx context.Context, t Turn) error
	// Model resolves a model reference (alias, provider:id or provider) of this flow.
	Model(ctx context.Context, ref string) (*Model, error)
}

// Turn is one agent turn as recorded in the run store.
type Turn struct {
	Index      int
	Role       string // user, assistant, tool
	Content    string
	ToolName   string
	ToolCallID string
	Arguments  json.RawMessage
	Usage      providers.Usage
}

// Event is something a step reports while it runs.
type Event struct {
	Kind string // "token"
	Text string
}

// Result is what one call produced.
type Result struct {
	Output map[string]any
	// Usage is what the call paid for. A step that fails after paying (a repair turn that
	// still broke the schema) returns it with the error, and the engine counts it against
	// the run's usage and budget.
	Usage providers.Usage
	Meta  providers.Meta
	// ModelRef is "provider:model" of the model that answered, when one did.
	ModelRef string
}

// ResourceRef is what `${ resources.name }` evaluates to. Steps with a Resource input
// receive it and open the resource through Env.
type ResourceRef struct {
	Name string `json:"name" expr:"name"`
	Kind string `json:"kind" expr:"kind"`
}

// MarshalJSON keeps resource references readable in cache keys and the run store.
func (r ResourceRef) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"resource": r.Name, "kind": r.Kind})
}

// Registry maps `uses:` names to kinds. Fill it at init, read it afterwards.
type Registry struct {
	mu    sync.RWMutex
	kinds map[string]Kind
}

// NewRegistry returns an empty registry; tests register only what they need.
func NewRegistry() *Registry { return &Registry{kinds: map[string]Kind{}} }

var defaultRegistry = NewRegistry()

// Default is the registry filled by the step packages' init functions.
func Default() *Registry { return defaultRegistry }

var kindNameRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// Register adds a kind, failing on an empty, malformed or duplicate name.
func (r *Registry) Register(k Kind) error {
	if !kindNameRE.MatchString(k.Name) {
		return fmt.Errorf("step kind %q: name must be lowercase words joined by dashes", k.Name)
	}
	if k.New == nil {
		return fmt.Errorf("step kind %q: no constructor", k.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.kinds[k.Name]; dup {
		return fmt.Errorf("step kind %q registered twice", k.Name)
	}
	r.kinds[k.Name] = k
	return nil
}

// MustRegister registers k in the default registry; it panics on misuse (init only).
func MustRegister(k Kind) {
	if err := defaultRegistry.Register(k); err != nil {
		panic(err)
	}
}

// Lookup returns the kind named name.
func (r *Registry) Lookup(name string) (Kind, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.kinds[name]
	return k, ok
}

// Names lists registered kinds, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Input returns the input field named name.
func (k Kind) Input(name string) (Field, bool) {
	for _, f := range k.Inputs {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// InputNames lists the names of the kind's inputs.
func (k Kind) InputNames() []string {
	out := make([]string, len(k.Inputs))
	for i, f := range k.Inputs {
		out[i] = f.Name
	}
	return out
}

// Accepts reports whether the kind takes the optional top-level step key.
func (k Kind) Accepts(key string) bool {
	for _, x := range k.Keys {
		if x == key {
			return true
		}
	}
	return false
}

// GenerateParams are the model parameters of chat generation that aiflow knows how to
// send: the union of what its providers accept (each provider refuses or drops, at run
// time, the ones its API lacks). stream is absent on purpose: aiflow decides streaming.
var GenerateParams = []Field{
	{Name: "max_tokens", Type: Int, Doc: "Most tokens the model may generate."},
	{Name: "max_completion_tokens", Type: Int, Doc: "OpenAI's name for max_tokens on newer models."},
	{Name: "temperature", Type: Number, Doc: "Sampling temperature; 0 is greedy (and cacheable by default)."},
	{Name: "top_p", Type: Number, Doc: "Nucleus sampling probability mass."},
	{Name: "top_k", Type: Int, Doc: "Sample from the k most likely tokens (workers-ai, anthropic)."},
	{Name: "seed", Type: Int, Doc: "Sampling seed (workers-ai, openai)."},
	{Name: "stop", Type: Any, Doc: "A stop sequence or a list of them (openai, anthropic)."},
	{Name: "repetition_penalty", Type: Number, Doc: "Penalty for repeated tokens (workers-ai)."},
	{Name: "frequency_penalty", Type: Number, Doc: "Penalty by token frequency (workers-ai, openai)."},
	{Name: "presence_penalty", Type: Number, Doc: "Penalty for tokens already present (workers-ai, openai)."},
}

// BlobEnv is implemented by an Env that keeps binary values (the engine's does): steps
// that produce or read images, audio and documents reach the bytes through it.
type BlobEnv interface {
	Blobs() *blob.Store
}

// Blobs is env's blob store, or one that only measures when env keeps none (a test's
// Env): values made with it have a hash but no bytes to read back.
func Blobs(env Env) *blob.Store {
	if be, ok := env.(BlobEnv); ok {
		return be.Blobs()
	}
	return blob.NewStore("")
}

// PartCache is implemented by an Env that keeps the answers to the parts of a call (the
// engine's does). A step that pays for several requests in one call — transcribe's
// pieces of a long recording — keeps each answer as it arrives, so a retry, a resume or a
// re-run of the call pays only for the parts not answered yet. The step derives key from
// everything the part's answer depends on; the Env scopes it to the step kind.
type PartCache interface {
	// PartGet returns the answer kept under key.
	PartGet(ctx context.Context, key string) ([]byte, bool)
	// PartPut keeps answer under key; failing to keep it loses only the saving.
	PartPut(ctx context.Context, key string, answer []byte)
}

// BucketEnv is implemented by an Env that can open bucket resources (the engine's does).
type BucketEnv interface {
	Bucket(ctx context.Context, name string) (providers.Bucket, error)
}
