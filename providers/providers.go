// Package providers defines what a model provider or vector-index backend can do, as small
// capability interfaces, and the registry that maps a flow file's `kind:` to an implementation.
//
// A provider package registers itself in init with MustRegister. The engine and the steps only
// see these interfaces; they never import a concrete provider.
package providers

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"sync"
	"time"
)

// Task names one kind of model work. Steps declare the task they need; providers declare
// the tasks they serve; validation matches the two.
type Task string

// The model tasks aiflow knows.
const (
	TaskGenerate  Task = "generate"
	TaskEmbed     Task = "embed"
	TaskSummarize Task = "summarize"
	TaskTranslate Task = "translate"
	TaskClassify  Task = "classify"
)

// Provider is a configured connection (one entry under `providers:`). It is safe for
// concurrent use. Capabilities are discovered with type assertions (Generator, Embedder, …).
type Provider interface {
	// Kind is the registered kind name, e.g. "workers-ai".
	Kind() string
	// Close releases connections and background work.
	Close() error
}

// Message is one chat turn.
type Message struct {
	Role       string     `json:"role"` // system, user, assistant, tool
	Content    string     `json:"content"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`   // assistant turns that call tools
	ToolCallID string     `json:"tool_call_id,omitempty"` // tool turns answering a call
	Name       string     `json:"name,omitempty"`         // tool name on tool turns
	IsError    bool       `json:"is_error,omitempty"`     // tool turn reports a failure
	// Images go with a user turn to a model that reads images (vision). They are never
	// serialised with the message: bytes stay out of records and batch files.
	Images []Image `json:"-"`
}

// Image is a picture sent to a vision model: its bytes and media type (image/png, …).
type Image struct {
	MediaType string
	Data      []byte
}

// DataURL is the image as a data: URL, the form OpenAI-style image_url parts take.
func (i Image) DataURL() string {
	return "data:" + i.MediaType + ";base64," + base64.StdEncoding.EncodeToString(i.Data)
}

// ToolCall is a model's request to run a tool. Arguments is a JSON object.
type ToolCall struct {
	ID        string `json:"id,omitempty"`
	Name      string `json:"name"`
	Arguments []byte `json:"arguments"`
}

// ToolSpec describes a tool offered to the model. Parameters is a JSON Schema object.
type ToolSpec struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Parameters  map[string]any `json:"parameters"`
}

// GenerateRequest asks for a chat completion.
type GenerateRequest struct {
	Model    string    // provider model id, e.g. "@cf/meta/llama-3.1-8b-instruct"
	Messages []Message // system turns allowed anywhere a provider allows them
	// Params are the step's `params:` (max_tokens, temperature, top_p, top_k, seed, stop, …).
	Params map[string]any
	// JSONSchema, when set, asks for JSON output matching it (provider-native JSON mode).
	JSONSchema map[string]any
	Tools      []ToolSpec
	// Stream, when set, receives text deltas as they arrive. Usage still comes in the response.
	Stream func(delta string)
	// Gateway carries per-request AI Gateway options (cache TTL, skip cache, metadata…).
	Gateway *GatewayOptions
}

// GenerateResponse is a completed generation.
type GenerateResponse struct {
	Text         string
	JSON         any // parsed JSON when JSONSchema was set and the model returned JSON
	ToolCalls    []ToolCall
	FinishReason string
	Usage        Usage
	Meta         Meta
}

// EmbedRequest turns texts into vectors. Providers split into batches they can send.
type EmbedRequest struct {
	Model   string
	Texts   []string
	Options map[string]any // e.g. pooling, dimensions
	Gateway *GatewayOptions
}

// EmbedResponse holds one vector per input text, in input order.
type EmbedResponse struct {
	Vectors    [][]float32
	Dimensions int
	Usage      Usage
	Meta       Meta
}

// SummarizeRequest asks for a summary of Text.
type SummarizeRequest struct {
	Model     string
	Text      string
	MaxLength int    // in tokens (model) or sentences (extractive), provider-defined
	Focus     string // optional query to focus an extractive summary on
	Gateway   *GatewayOptions
}

// SummarizeResponse is a summary.
type SummarizeResponse struct {
	Text  string
	Usage Usage
	Meta  Meta
}

// TranslateRequest asks for a translation. From and To are ISO 639-1 codes.
type TranslateRequest struct {
	Model   string
	Text    string
	From    string
	To      string
	Gateway *GatewayOptions
}

// TranslateResponse is a translation.
type TranslateResponse struct {
	Text  string
	Usage Usage
	Meta  Meta
}

// ClassifyRequest asks for labels. With no Labels, the provider's own label set is used
// (sentiment for most models).
type ClassifyRequest struct {
	Model   string
	Text    string
	Labels  []string
	Gateway *GatewayOptions
}

// LabelScore is one label's score.
type LabelScore struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// ClassifyResponse holds every label's score, best first.
type ClassifyResponse struct {
	Scores []LabelScore
	Usage  Usage
	Meta   Meta
}

// Generator serves TaskGenerate.
type Generator interface {
	Generate(ctx context.Context, req GenerateRequest) (GenerateResponse, error)
}

// Embedder serves TaskEmbed.
type Embedder interface {
	Embed(ctx context.Context, req EmbedRequest) (EmbedResponse, error)
}

// Summarizer serves TaskSummarize.
type Summarizer interface {
	Summarize(ctx context.Context, req SummarizeRequest) (SummarizeResponse, error)
}

// Translator serves TaskTranslate.
type Translator interface {
	Translate(ctx context.Context, req TranslateRequest) (TranslateResponse, error)
}

// Classifier serves TaskClassify.
type Classifier interface {
	Classify(ctx context.Context, req ClassifyRequest) (ClassifyResponse, error)
}

// Serves reports whether p implements the capability interface for task.
func Serves(p any, task Task) bool {
	switch task {
	case TaskGenerate:
		_, ok := p.(Generator)
		return ok
	case TaskEmbed:
		_, ok := p.(Embedder)
		return ok
	case TaskSummarize:
		_, ok := p.(Summarizer)
		return ok
	case TaskTranslate:
		_, ok := p.(Translator)
		return ok
	case TaskClassify:
		_, ok := p.(Classifier)
		return ok
	case TaskImage:
		_, ok := p.(ImageGenerator)
		return ok
	case TaskClassifyImage:
		_, ok := p.(ImageClassifier)
		return ok
	case TaskToMarkdown:
		_, ok := p.(MarkdownConverter)
		return ok
	case TaskTranscribe:
		_, ok := p.(Transcriber)
		return ok
	}
	return false
}

// Usage is what one call consumed. Zero fields are unknown, not free.
type Usage struct {
	InputTokens  int     `json:"input_tokens,omitempty"`
	OutputTokens int     `json:"output_tokens,omitempty"`
	CachedTokens int     `json:"cached_tokens,omitempty"`
	Neurons      float64 `json:"neurons,omitempty"`
	USD          float64 `json:"usd,omitempty"`
	Requests     int     `json:"requests,omitempty"`
}

// Add returns the sum of two usages.
func (u Usage) Add(o Usage) Usage {
	return Usage{
		InputTokens:  u.InputTokens + o.InputTokens,
		OutputTokens: u.OutputTokens + o.OutputTokens,
		CachedTokens: u.CachedTokens + o.CachedTokens,
		Neurons:      u.Neurons + o.Neurons,
		USD:          u.USD + o.USD,
		Requests:     u.Requests + o.Requests,
	}
}

// Meta is provider-specific facts about a response worth recording on the step
// (e.g. "cf-aig-cache-status": "HIT", "cf-aig-log-id": "…", "model": "…").
type Meta map[string]string

// GatewayOptions are per-request AI Gateway settings, mapped to cf-aig-* headers.
type GatewayOptions struct {
	CacheTTL       time.Duration  // cf-aig-cache-ttl (seconds)
	SkipCache      bool           // cf-aig-skip-cache
	CacheKey       string         // cf-aig-cache-key
	RequestTimeout time.Duration  // cf-aig-request-timeout (ms)
	Metadata       map[string]any // cf-aig-metadata: string, number or bool values, ≤ 5 entries
	MaxAttempts    int            // cf-aig-max-attempts
}

// Limits are what a provider declares about how hard it may be driven.
type Limits struct {
	// Concurrency bounds in-flight calls to this provider (0: engine default).
	Concurrency int
}

// Limiter is implemented by providers that declare limits to the engine.
type Limiter interface {
	Limits() Limits
}

// Config is one `providers.<name>` entry with expressions resolved (secrets included:
// never log or store it).
type Config struct {
	Name     string         // the flow's name for it, e.g. "cf"
	Kind     string         // e.g. "workers-ai"
	Settings map[string]any // every key except kind, resolved
	// HTTPClient, when set, replaces the provider's default transport (tests, tracing).
	HTTPClient *http.Client
	// Retry configures the shared retry policy of the provider's HTTP client.
	Retry RetryPolicy
	// StateDir is the flow's .aiflow directory (local backends keep data there).
	StateDir string
	// Debug, when set, receives a redacted trace line per HTTP attempt (--debug).
	Debug io.Writer
}

// RetryPolicy bounds retries done inside a provider's HTTP client.
type RetryPolicy struct {
	Attempts   int           // total attempts including the first; 0 means the default (4)
	Backoff    time.Duration // first backoff; 0 means 500ms
	MaxBackoff time.Duration // cap per wait, including Retry-After; 0 means 30s
}

// SettingField documents one provider setting, for validation and schema.json.
type SettingField struct {
	Name     string
	Type     string // "string", "int", "bool", "object", "duration"
	Required bool
	Secret   bool // value must come from env(); redacted everywhere
	Doc      string
}

// Info describes a provider kind to the registry.
type Info struct {
	Name     string         // kind name, lowercase with dashes: "workers-ai"
	Summary  string         // one line for docs and `aiflow models`
	Tasks    []Task         // tasks it can serve
	Settings []SettingField // accepted keys besides kind
	New      func(Config) (Provider, error)
	// Models, where it has an entry for a task, is the closed list of model ids the
	// provider serves for that task (an embedded engine knows its models exactly; a
	// service may publish models whose request form aiflow does not build), so validate
	// refuses any other id instead of failing or sending the wrong shape at run time.
	// No entry for services whose models change without aiflow.
	Models map[Task][]string
	// AsyncBatch lists the tasks the provider's asynchronous batch API serves (it then
	// implements AsyncBatcher), so validate refuses `batch: {async: true}` elsewhere.
	AsyncBatch []Task
	// BatchDiscount is the published price of a batched request as a fraction of the
	// synchronous one (0.5 for half price); 0 means none is published (full price).
	// Plan and the budget use it; AsyncBatcher.BatchDiscount prices the answers.
	BatchDiscount float64
	// BatchModels, when set for a task, is the closed list of models the batch API
	// takes for it (Workers AI publishes one), so validate refuses others.
	BatchModels map[Task][]string
}

// Registry maps kind names to provider infos. The zero value is not usable; use NewRegistry.
type Registry struct {
	mu    sync.RWMutex
	infos map[string]Info
}

// NewRegistry returns an empty registry (tests register only what they need).
func NewRegistry() *Registry { return &Registry{infos: map[string]Info{}} }

var defaultRegistry = NewRegistry()

// Default is the registry filled by provider packages' init functions.
func Default() *Registry { return defaultRegistry }

var kindName = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// Register adds info, failing on a malformed or duplicate name.
func (r *Registry) Register(info Info) error {
	if !kindName.MatchString(info.Name) {
		return fmt.Errorf("provider kind %q: name must be lowercase words joined by dashes", info.Name)
	}
	if info.New == nil {
		return fmt.Errorf("provider kind %q: no constructor", info.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.infos[info.Name]; dup {
		return fmt.Errorf("provider kind %q registered twice", info.Name)
	}
	r.infos[info.Name] = info
	return nil
}

// MustRegister registers info in the default registry and panics on misuse (init only).
func MustRegister(info Info) {
	if err := defaultRegistry.Register(info); err != nil {
		panic(err)
	}
}

// Lookup returns the info for kind.
func (r *Registry) Lookup(kind string) (Info, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	info, ok := r.infos[kind]
	return info, ok
}

// Names lists registered kinds, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.infos))
	for n := range r.infos {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Serves reports whether the kind declares task.
func (i Info) Serves(task Task) bool {
	for _, t := range i.Tasks {
		if t == task {
			return true
		}
	}
	return false
}
