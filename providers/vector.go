package providers

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Vector is one record in a vector index.
type Vector struct {
	ID        string         `json:"id"`
	Values    []float32      `json:"values"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	Namespace string         `json:"namespace,omitempty"`
	// Text is the source text, kept by backends that offer keyword search (BM25).
	Text string `json:"text,omitempty"`
}

// Search modes for VectorQuery.Mode.
const (
	ModeVector  = "vector"  // nearest neighbours of Vector (default)
	ModeKeyword = "keyword" // BM25 over stored Text
	ModeHybrid  = "hybrid"  // vector and keyword results fused (the local index: a convex combination of normalised scores)
)

// VectorQuery is a nearest-neighbour (or keyword, or hybrid) query.
type VectorQuery struct {
	Vector    []float32
	Text      string // for keyword and hybrid modes
	Mode      string // ModeVector when empty
	TopK      int
	Namespace string
	// Filter uses Vectorize's operators: {"source": "a"} is $eq; {"year": {"$gte": 2020}};
	// operators $eq $ne $in $nin $lt $lte $gt $gte; top-level keys are ANDed.
	Filter         map[string]any
	ReturnMetadata bool
	ReturnValues   bool
}

// Match is one query result, best first. Score follows the metric: higher is closer for
// cosine and dot-product; for euclidean it is the distance (lower is closer).
type Match struct {
	ID        string         `json:"id"`
	Score     float64        `json:"score"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	Values    []float32      `json:"values,omitempty"`
	Namespace string         `json:"namespace,omitempty"`
	Text      string         `json:"text,omitempty"`
}

// IndexInfo describes an index's current state.
type IndexInfo struct {
	Dimensions int
	Metric     string
	Count      int
	// MetadataIndexes maps property name to type ("string", "number", "boolean").
	MetadataIndexes map[string]string
}

// VectorIndex is an open vector index. Implementations are safe for concurrent use.
type VectorIndex interface {
	// Upsert inserts or replaces vectors by id and returns how many were written. When it
	// returns nil, the vectors are durable.
	Upsert(ctx context.Context, vectors []Vector) (int, error)
	Query(ctx context.Context, q VectorQuery) ([]Match, error)
	GetByIDs(ctx context.Context, ids []string) ([]Vector, error)
	DeleteByIDs(ctx context.Context, ids []string) (int, error)
	Info(ctx context.Context) (IndexInfo, error)
	Close() error
}

// IndexSpec is a `resources.<name>` entry of kind vector-index, resolved.
type IndexSpec struct {
	Name            string
	Backend         string            // "local" or "vectorize"
	Dimensions      int               // required
	Metric          string            // cosine | euclidean | dot-product
	MetadataIndexes map[string]string // property → string|number|boolean
	ANN             string            // "" (exact) or "hnsw" (local backend)
	Settings        map[string]any    // backend-specific (e.g. provider for vectorize)
}

// IndexBackend creates, opens and deletes indexes of one backend.
type IndexBackend interface {
	// Open opens an existing index, creating it when create is true and it is missing.
	Open(ctx context.Context, spec IndexSpec, create bool) (VectorIndex, error)
	// Describe returns the real state, or ok=false when the index does not exist.
	Describe(ctx context.Context, spec IndexSpec) (info IndexInfo, ok bool, err error)
	// Delete removes the index and its data.
	Delete(ctx context.Context, spec IndexSpec) error
}

// IndexBackendConfig is what a backend needs to start.
type IndexBackendConfig struct {
	StateDir string         // the flow's .aiflow directory
	Provider Provider       // the connection named by the resource's provider, if any
	Settings map[string]any // resource settings beyond IndexSpec
	Retry    RetryPolicy
}

// IndexBackendInfo registers a vector-index backend.
type IndexBackendInfo struct {
	Name string
	New  func(IndexBackendConfig) (IndexBackend, error)
	// External marks a backend that reads an index managed outside aiflow (AI Search):
	// it has no dimensions or metric to declare, apply only checks that it exists, and
	// destroy leaves it in place.
	External bool
}

var (
	backendsMu sync.RWMutex
	backends   = map[string]IndexBackendInfo{}
)

// MustRegisterIndexBackend registers a backend at init; it panics on duplicates.
func MustRegisterIndexBackend(info IndexBackendInfo) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	if _, dup := backends[info.Name]; dup || info.Name == "" || info.New == nil {
		panic(fmt.Sprintf("vector-index backend %q: bad or duplicate registration", info.Name))
	}
	backends[info.Name] = info
}

// LookupIndexBackend returns a registered backend.
func LookupIndexBackend(name string) (IndexBackendInfo, bool) {
	backendsMu.RLock()
	defer backendsMu.RUnlock()
	b, ok := backends[name]
	return b, ok
}

// IndexBackendNames lists registered backends, sorted.
func IndexBackendNames() []string {
	backendsMu.RLock()
	defer backendsMu.RUnlock()
	var names []string
	for n := range backends {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
