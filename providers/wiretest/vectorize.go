package wiretest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"time"
	"weak"
)

// Vectorize is the Vectorize v2 part of a Cloudflare emulator (wire doc §6), reached with
// Cloudflare.Vectorize. It keeps indexes in memory, per emulator, and follows the §10
// checklist: NDJSON bodies (raw or a multipart "vectors" part), the documented limits,
// insert-keeps-first and upsert-keeps-last, metadata filters that only see vectors
// written after their metadata index was processed, namespaces, and eventual
// consistency: every write is queued under a mutation id and becomes visible, in queue
// order, only once the configured VectorizeLag has passed; /info reports the last
// processed mutation. The default lag is zero (writes are processed at once).
//
// Faults queued on the Cloudflare emulator apply to Vectorize requests after routing and
// authentication, like model runs. Safe for concurrent use.
type Vectorize struct {
	mu      sync.Mutex
	lag     VectorizeLag
	seq     uint64
	indexes map[string]*vzIndex
}

// VectorizeLag delays the processing of queued mutations. A mutation is processed once
// both conditions hold, and never before the mutations queued ahead of it.
type VectorizeLag struct {
	// Delay is the minimum time between queueing and processing.
	Delay time.Duration
	// InfoPolls is the minimum number of /info requests for the index after queueing;
	// tests use it to make eventual consistency deterministic.
	InfoPolls int
}

// VectorizeStats is what a test can see of one emulated index.
type VectorizeStats struct {
	Dimensions      int
	Metric          string
	Vectors         int               // processed (visible) vectors
	Pending         int               // queued, unprocessed mutations
	MetadataIndexes map[string]string // processed metadata indexes
}

// vzStates maps an emulator to its Vectorize state without a field on Cloudflare. Weak
// keys let a finished test's state be collected with its emulator.
var vzStates = struct {
	sync.Mutex
	m map[weak.Pointer[Cloudflare]]*Vectorize
}{m: map[weak.Pointer[Cloudflare]]*Vectorize{}}

// Vectorize returns the emulator's Vectorize state, creating it on first use.
func (cf *Cloudflare) Vectorize() *Vectorize {
	key := weak.Make(cf)
	vzStates.Lock()
	defer vzStates.Unlock()
	if v, ok := vzStates.m[key]; ok {
		return v
	}
	v := &Vectorize{indexes: map[string]*vzIndex{}}
	vzStates.m[key] = v
	runtime.AddCleanup(cf, func(k weak.Pointer[Cloudflare]) {
		vzStates.Lock()
		delete(vzStates.m, k)
		vzStates.Unlock()
	}, key)
	return v
}

// SetLag sets how long queued mutations wait before they are processed.
func (v *Vectorize) SetLag(l VectorizeLag) {
	v.mu.Lock()
	v.lag = l
	v.mu.Unlock()
}

// Flush processes every queued mutation of every index now.
func (v *Vectorize) Flush() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, ix := range v.indexes {
		for len(ix.pending) > 0 {
			ix.apply(ix.pending[0])
			ix.pending = ix.pending[1:]
		}
	}
}

// Stats describes the named index, or reports false when it does not exist.
func (v *Vectorize) Stats(index string) (VectorizeStats, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ix, ok := v.indexes[index]
	if !ok {
		return VectorizeStats{}, false
	}
	meta := map[string]string{}
	for k, t := range ix.metaIdx {
		meta[k] = t
	}
	return VectorizeStats{Dimensions: ix.dims, Metric: ix.metric, Vectors: len(ix.vectors),
		Pending: len(ix.pending), MetadataIndexes: meta}, true
}

// mutationID returns the next mutation id, a UUID-shaped hash of a counter, so clients
// cannot rely on ids being ordered.
func (v *Vectorize) mutationID() string {
	v.seq++
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v.seq)
	sum := sha256.Sum256(b[:])
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// vzPrefix is the Vectorize v2 path under an account.
const vzPrefix = "client/v4/accounts/{acct}/vectorize/v2/indexes"

func init() {
	for _, rt := range []cfRoute{
		{http.MethodPost, vzPrefix, cfConform("vectorize-create-vectorize-index", []int{vzCodeInvalid, vzCodeBadJSON}, (*Cloudflare).vzCreate)},
		{http.MethodGet, vzPrefix, cfConform("vectorize-list-vectorize-indexes", []int{vzCodeInvalid, vzCodeBadJSON}, (*Cloudflare).vzList)},
		{http.MethodGet, vzPrefix + "/{index}", cfConform("vectorize-get-vectorize-index", []int{vzCodeInvalid, vzCodeBadJSON}, (*Cloudflare).vzGet)},
		{http.MethodDelete, vzPrefix + "/{index}", cfConform("vectorize-delete-vectorize-index", []int{vzCodeInvalid, vzCodeBadJSON}, (*Cloudflare).vzDelete)},
		{http.MethodGet, vzPrefix + "/{index}/info", cfConform("vectorize-index-info", []int{vzCodeInvalid, vzCodeBadJSON}, (*Cloudflare).vzInfo)},
		{http.MethodPost, vzPrefix + "/{index}/insert", cfConform("vectorize-insert-vector", []int{vzCodeInvalid, vzCodeBadJSON}, (*Cloudflare).vzInsert)},
		{http.MethodPost, vzPrefix + "/{index}/upsert", cfConform("vectorize-upsert-vector", []int{vzCodeInvalid, vzCodeBadJSON}, (*Cloudflare).vzUpsert)},
		{http.MethodPost, vzPrefix + "/{index}/query", cfConform("vectorize-query-vector", []int{vzCodeInvalid, vzCodeBadJSON}, (*Cloudflare).vzQuery)},
		{http.MethodPost, vzPrefix + "/{index}/get_by_ids", cfConform("vectorize-get-vectors-by-id", []int{vzCodeInvalid, vzCodeBadJSON}, (*Cloudflare).vzGetByIDs)},
		{http.MethodPost, vzPrefix + "/{index}/delete_by_ids", cfConform("vectorize-delete-vectors-by-id", []int{vzCodeInvalid, vzCodeBadJSON}, (*Cloudflare).vzDeleteByIDs)},
		{http.MethodGet, vzPrefix + "/{index}/list", (*Cloudflare).vzListVectors},
		{http.MethodPost, vzPrefix + "/{index}/metadata_index/create", cfConform("vectorize-create-metadata-index", []int{vzCodeInvalid, vzCodeBadJSON}, (*Cloudflare).vzMetaCreate)},
		{http.MethodGet, vzPrefix + "/{index}/metadata_index/list", cfConform("vectorize-list-metadata-indexes", []int{vzCodeInvalid, vzCodeBadJSON}, (*Cloudflare).vzMetaList)},
		{http.MethodPost, vzPrefix + "/{index}/metadata_index/delete", cfConform("vectorize-delete-metadata-index", []int{vzCodeInvalid, vzCodeBadJSON}, (*Cloudflare).vzMetaDelete)},
	} {
		registerCFRoute(rt)
	}
}

// Vectorize error codes. The wire doc lists them as undocumented (§11); the ones marked
// observed appear in real error messages, the rest are the emulator's choice.
const (
	vzCodeNotFound   = 3000  // observed: "vectorize.index.not_found - Index name ..."
	vzCodeDuplicate  = 3002  // chosen
	vzCodeInvalid    = 40000 // chosen: any other invalid input
	vzCodeQueryDims  = 40006 // observed: invalid query vector, expected N dimensions
	vzCodeInsertDims = 40012 // observed: invalid vector for id=..., expected N dimensions
	vzCodeTopK       = 40025 // observed: max top K is 50, but got 100
	vzCodeBadJSON    = 40026 // observed: Failed to parse the request body as JSON
)

// vzInvalid writes a 400 with a Vectorize error code.
func vzInvalid(w http.ResponseWriter, code int, format string, args ...any) {
	cfError(w, http.StatusBadRequest, cfErr{code, fmt.Sprintf(format, args...)})
}

// vzEnter authenticates a Vectorize call and applies a queued fault; it reports whether
// the handler should go on.
func (cf *Cloudflare) vzEnter(w http.ResponseWriter, c *cfCall) bool {
	if !cf.authorized(w, c) {
		return false
	}
	f := cf.Faults.next(c.r.URL.EscapedPath())
	if f == nil {
		return true
	}
	if cfWait(c.r, f.Delay) {
		cfFault(w, f)
	}
	return false
}

// vzLocked runs fn on the call's index under the state lock, after processing whatever
// mutations are due; a missing index answers 404/3000.
func (cf *Cloudflare) vzLocked(w http.ResponseWriter, c *cfCall, fn func(v *Vectorize, ix *vzIndex)) {
	if !cf.vzEnter(w, c) {
		return
	}
	v := cf.Vectorize()
	v.mu.Lock()
	defer v.mu.Unlock()
	name := c.params["index"]
	ix, ok := v.indexes[name]
	if !ok {
		cfError(w, http.StatusNotFound, cfErr{vzCodeNotFound, fmt.Sprintf("vectorize.index.not_found - Index name %q", name)})
		return
	}
	ix.advance(v.lag, time.Now())
	fn(v, ix)
}

// vzIndexJSON is the index object of create, get and list.
type vzIndexJSON struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Config      vzConfigJSON `json:"config"`
	CreatedOn   time.Time    `json:"created_on"`
	ModifiedOn  time.Time    `json:"modified_on"`
}

type vzConfigJSON struct {
	Dimensions int    `json:"dimensions"`
	Metric     string `json:"metric"`
}

func (ix *vzIndex) json() vzIndexJSON {
	return vzIndexJSON{Name: ix.name, Description: ix.description, Config: vzConfigJSON{ix.dims, ix.metric},
		CreatedOn: ix.created, ModifiedOn: ix.modified}
}

// vzList answers GET /indexes.
func (cf *Cloudflare) vzList(w http.ResponseWriter, c *cfCall) {
	if !cf.vzEnter(w, c) {
		return
	}
	v := cf.Vectorize()
	v.mu.Lock()
	out := make([]vzIndexJSON, 0, len(v.indexes))
	for _, ix := range v.indexes {
		out = append(out, ix.json())
	}
	v.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	cfOK(w, out)
}

// vzGet answers GET /indexes/{index}.
func (cf *Cloudflare) vzGet(w http.ResponseWriter, c *cfCall) {
	cf.vzLocked(w, c, func(_ *Vectorize, ix *vzIndex) { cfOK(w, ix.json()) })
}

// vzDelete answers DELETE /indexes/{index}.
func (cf *Cloudflare) vzDelete(w http.ResponseWriter, c *cfCall) {
	cf.vzLocked(w, c, func(v *Vectorize, ix *vzIndex) {
		delete(v.indexes, ix.name)
		cfOK(w, nil)
	})
}

// vzInfoJSON is the /info result.
type vzInfoJSON struct {
	Dimensions            int        `json:"dimensions"`
	VectorCount           int        `json:"vectorCount"`
	ProcessedUpToDatetime *time.Time `json:"processedUpToDatetime"`
	ProcessedUpToMutation *string    `json:"processedUpToMutation"`
}

// vzInfo answers GET /indexes/{index}/info. Each call counts as a poll for the lag's
// InfoPolls before the due mutations are processed.
func (cf *Cloudflare) vzInfo(w http.ResponseWriter, c *cfCall) {
	cf.vzLocked(w, c, func(v *Vectorize, ix *vzIndex) {
		for _, m := range ix.pending {
			m.polls++
		}
		ix.advance(v.lag, time.Now())
		info := vzInfoJSON{Dimensions: ix.dims, VectorCount: len(ix.vectors)}
		if ix.processedID != "" {
			at, id := ix.processedAt, ix.processedID
			info.ProcessedUpToDatetime, info.ProcessedUpToMutation = &at, &id
		}
		cfOK(w, info)
	})
}
