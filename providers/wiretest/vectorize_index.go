package wiretest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Vectorize limits (wire doc §6, limits page of 2026-08-05).
const (
	vzMaxDimensions    = 1536
	vzMaxNameBytes     = 64
	vzMaxIDBytes       = 64
	vzMaxMetadataBytes = 10 << 10
	vzMaxLines         = 5000
	vzMaxMetaIndexes   = 10
	vzIndexedPrefix    = 64 // bytes of a string that a metadata index covers
	vzMaxTopK          = 100
	vzMaxTopKRich      = 50 // with returnValues or returnMetadata "all"
	vzMaxFilterBytes   = 2048
	vzDefaultTopK      = 5
)

// vzPresets are the embedding-model presets create accepts, with their dimensions (all cosine).
var vzPresets = map[string]int{
	"@cf/baai/bge-small-en-v1.5":     384,
	"@cf/baai/bge-base-en-v1.5":      768,
	"@cf/baai/bge-large-en-v1.5":     1024,
	"openai/text-embedding-ada-002":  1536,
	"cohere/embed-multilingual-v2.0": 768,
}

// vzIndex is one emulated index. Only processed mutations show in vectors and metaIdx.
type vzIndex struct {
	name, description string
	dims              int
	metric            string
	created, modified time.Time

	vectors     map[string]*vzVector
	metaIdx     map[string]string // property → string | number | boolean
	pending     []*vzMutation
	processedID string
	processedAt time.Time
}

// vzVector is a stored vector. indexed lists the properties a metadata index covered
// when the write was processed: only those are filterable.
type vzVector struct {
	ID        string         `json:"id"`
	Values    []float64      `json:"values"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	Namespace string         `json:"namespace,omitempty"`
	indexed   map[string]bool
}

type vzKind int

const (
	vzInsertKind vzKind = iota
	vzUpsertKind
	vzDeleteKind
	vzMetaCreateKind
	vzMetaDeleteKind
)

// vzMutation is one queued change.
type vzMutation struct {
	id      string
	kind    vzKind
	vectors []*vzVector
	ids     []string
	prop    string
	typ     string
	queued  time.Time
	polls   int
}

// queue adds a mutation and returns its id.
func (v *Vectorize) queue(ix *vzIndex, m *vzMutation) string {
	m.id, m.queued = v.mutationID(), time.Now()
	ix.pending = append(ix.pending, m)
	ix.advance(v.lag, m.queued)
	return m.id
}

// advance processes, in order, the queued mutations whose lag has passed.
func (ix *vzIndex) advance(lag VectorizeLag, now time.Time) {
	for len(ix.pending) > 0 {
		m := ix.pending[0]
		if now.Sub(m.queued) < lag.Delay || m.polls < lag.InfoPolls {
			return
		}
		ix.apply(m)
		ix.pending = ix.pending[1:]
	}
}

// apply makes one mutation visible.
func (ix *vzIndex) apply(m *vzMutation) {
	switch m.kind {
	case vzInsertKind, vzUpsertKind:
		for _, vec := range m.vectors {
			if _, exists := ix.vectors[vec.ID]; exists && m.kind == vzInsertKind {
				continue
			}
			vec.indexed = ix.coverage(vec.Metadata)
			ix.vectors[vec.ID] = vec
		}
	case vzDeleteKind:
		for _, id := range m.ids {
			delete(ix.vectors, id)
		}
	case vzMetaCreateKind:
		ix.metaIdx[m.prop] = m.typ // vectors already stored stay unindexed
	case vzMetaDeleteKind:
		delete(ix.metaIdx, m.prop)
		for _, vec := range ix.vectors {
			delete(vec.indexed, m.prop)
		}
	}
	ix.processedID, ix.processedAt = m.id, time.Now().UTC()
	ix.modified = ix.processedAt
}

// coverage lists the metadata indexes that cover a vector's metadata: the property is
// present with the index's type.
func (ix *vzIndex) coverage(meta map[string]any) map[string]bool {
	out := map[string]bool{}
	for prop, typ := range ix.metaIdx {
		val, ok := vzLookup(meta, prop)
		if ok && vzTypeOf(val) == typ {
			out[prop] = true
		}
	}
	return out
}

// vzLookup follows a dotted path into nested metadata.
func vzLookup(meta map[string]any, path string) (any, bool) {
	var cur any = meta
	for _, seg := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// vzTypeOf names a metadata value's index type, or "" for other values.
func vzTypeOf(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return ""
}

// vzCreateBody is the create request.
type vzCreateBody struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Config      *struct {
		Dimensions *int   `json:"dimensions"`
		Metric     string `json:"metric"`
		Preset     string `json:"preset"`
	} `json:"config"`
}

// vzCreate answers POST /indexes.
func (cf *Cloudflare) vzCreate(w http.ResponseWriter, c *cfCall) {
	if !cf.vzEnter(w, c) {
		return
	}
	var b vzCreateBody
	if err := json.Unmarshal(c.body, &b); err != nil {
		vzInvalid(w, vzCodeBadJSON, "Failed to parse the request body as JSON: %v", err)
		return
	}
	dims, metric, msg := vzCheckCreate(b)
	if msg != "" {
		vzInvalid(w, vzCodeInvalid, "%s", msg)
		return
	}
	v := cf.Vectorize()
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, dup := v.indexes[b.Name]; dup {
		vzInvalid(w, vzCodeDuplicate, "vectorize.index.duplicate_name - Index name %q already exists", b.Name)
		return
	}
	now := time.Now().UTC()
	ix := &vzIndex{name: b.Name, description: b.Description, dims: dims, metric: metric, created: now, modified: now,
		vectors: map[string]*vzVector{}, metaIdx: map[string]string{}}
	v.indexes[b.Name] = ix
	cfOK(w, ix.json())
}

// vzCheckCreate validates a create body and returns the index's dimensions and metric,
// or a message.
func vzCheckCreate(b vzCreateBody) (int, string, string) {
	if msg := vzCheckName(b.Name); msg != "" {
		return 0, "", msg
	}
	if b.Config == nil {
		return 0, "", "config is required: {dimensions, metric} or {preset}"
	}
	if p := b.Config.Preset; p != "" {
		if b.Config.Dimensions != nil || b.Config.Metric != "" {
			return 0, "", "config takes either a preset or dimensions and metric, not both"
		}
		dims, ok := vzPresets[p]
		if !ok {
			return 0, "", fmt.Sprintf("unknown preset %q", p)
		}
		return dims, "cosine", ""
	}
	if b.Config.Dimensions == nil || *b.Config.Dimensions < 1 || *b.Config.Dimensions > vzMaxDimensions {
		return 0, "", fmt.Sprintf("config.dimensions must be from 1 to %d", vzMaxDimensions)
	}
	switch b.Config.Metric {
	case "cosine", "euclidean", "dot-product":
		return *b.Config.Dimensions, b.Config.Metric, ""
	}
	return 0, "", fmt.Sprintf("config.metric %q must be cosine, euclidean or dot-product", b.Config.Metric)
}

// vzCheckName validates an index name: 1 to 64 bytes of letters, digits, '-' and '_'.
func vzCheckName(name string) string {
	if name == "" || len(name) > vzMaxNameBytes {
		return fmt.Sprintf("index name must be 1 to %d bytes", vzMaxNameBytes)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Sprintf("index name %q may contain only letters, digits, '-' and '_'", name)
		}
	}
	return ""
}
