package wiretest

import (
	"encoding/json"
	"math"
	"net/http"
	"sort"
	"strconv"
)

// vzQueryBody is the query request. returnMetadata stays raw so that a boolean (Vectorize
// v1's form) can be refused the way v2 refuses it.
type vzQueryBody struct {
	Vector         *[]float64      `json:"vector"`
	VectorID       string          `json:"vectorId"`
	TopK           *float64        `json:"topK"`
	ReturnValues   bool            `json:"returnValues"`
	ReturnMetadata json.RawMessage `json:"returnMetadata"`
	Filter         json.RawMessage `json:"filter"`
	Namespace      string          `json:"namespace"`
}

// vzMatch is one query match.
type vzMatch struct {
	ID        string         `json:"id"`
	Score     float64        `json:"score"`
	Values    []float64      `json:"values,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	Namespace string         `json:"namespace,omitempty"`
}

// vzQueryPlan is a validated query.
type vzQueryPlan struct {
	vector    []float64
	topK      int
	values    bool
	metadata  string // none | indexed | all
	filter    vzFilter
	namespace string
	hasFilter bool
}

// vzQuery answers POST /indexes/{index}/query.
func (cf *Cloudflare) vzQuery(w http.ResponseWriter, c *cfCall) {
	cf.vzLocked(w, c, func(_ *Vectorize, ix *vzIndex) {
		p, code, msg := ix.planQuery(c.body)
		if msg != "" {
			vzInvalid(w, code, "%s", msg)
			return
		}
		matches := ix.search(p)
		cfOK(w, map[string]any{"count": len(matches), "matches": matches})
	})
}

// planQuery validates a query body against the index and the documented limits.
func (ix *vzIndex) planQuery(body []byte) (vzQueryPlan, int, string) {
	var b vzQueryBody
	if err := json.Unmarshal(body, &b); err != nil {
		return vzQueryPlan{}, vzCodeBadJSON, "Failed to parse the request body as JSON: " + err.Error()
	}
	p := vzQueryPlan{topK: vzDefaultTopK, values: b.ReturnValues, metadata: "none", namespace: b.Namespace}
	if len(b.ReturnMetadata) > 0 && string(b.ReturnMetadata) != "null" {
		if json.Unmarshal(b.ReturnMetadata, &p.metadata) != nil || (p.metadata != "none" && p.metadata != "indexed" && p.metadata != "all") {
			return p, vzCodeBadJSON, "Failed to parse the request body as JSON: returnMetadata: expected value (none, indexed or all)"
		}
	}
	if code, msg := ix.queryVector(&p, b); msg != "" {
		return p, code, msg
	}
	if code, msg := p.checkTopK(b.TopK); msg != "" {
		return p, code, msg
	}
	f, msg := vzCompileFilter(b.Filter)
	if msg != "" {
		return p, vzCodeInvalid, msg
	}
	p.filter, p.hasFilter = f, len(f) > 0
	return p, 0, ""
}

// queryVector resolves the query vector, given inline or as a stored vector's id.
func (ix *vzIndex) queryVector(p *vzQueryPlan, b vzQueryBody) (int, string) {
	switch {
	case b.Vector != nil:
		p.vector = *b.Vector
		vzFloat32(p.vector)
	case b.VectorID != "":
		vec, ok := ix.vectors[b.VectorID]
		if !ok {
			return vzCodeInvalid, "vectorId " + strconv.Quote(b.VectorID) + " is not in the index"
		}
		p.vector = vec.Values
	}
	if len(p.vector) != ix.dims {
		return vzCodeQueryDims, "invalid query vector, expected " + strconv.Itoa(ix.dims) +
			" dimensions, and got " + strconv.Itoa(len(p.vector)) + " dimensions"
	}
	return 0, ""
}

// checkTopK applies the default and the 100/50 limits.
func (p *vzQueryPlan) checkTopK(topK *float64) (int, string) {
	if topK != nil {
		if *topK != math.Trunc(*topK) || *topK < 1 {
			return vzCodeInvalid, "topK must be a positive integer"
		}
		p.topK = int(*topK)
	}
	if (p.values || p.metadata == "all") && p.topK > vzMaxTopKRich {
		return vzCodeTopK, "with returnValues=true or returnMetadata=all, max top K is 50, but got " + strconv.Itoa(p.topK)
	}
	if p.topK > vzMaxTopK {
		return vzCodeTopK, "max top K is 100, but got " + strconv.Itoa(p.topK)
	}
	return 0, ""
}

// search scores every visible vector in the namespace that passes the filter, best first.
func (ix *vzIndex) search(p vzQueryPlan) []vzMatch {
	type hit struct {
		vec   *vzVector
		score float64
	}
	var hits []hit
	for _, vec := range ix.vectors {
		if p.namespace != "" && vec.Namespace != p.namespace {
			continue
		}
		if p.hasFilter && !p.filter.match(vec, ix.metaIdx) {
			continue
		}
		hits = append(hits, hit{vec, vzScore(ix.metric, p.vector, vec.Values)})
	}
	lowerBetter := ix.metric == "euclidean"
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].score != hits[j].score {
			return (hits[i].score < hits[j].score) == lowerBetter
		}
		return hits[i].vec.ID < hits[j].vec.ID
	})
	out := make([]vzMatch, 0, min(len(hits), p.topK))
	for _, h := range hits[:min(len(hits), p.topK)] {
		out = append(out, ix.match(h.vec, h.score, p))
	}
	return out
}

// match renders one result with what the query asked to return.
func (ix *vzIndex) match(vec *vzVector, score float64, p vzQueryPlan) vzMatch {
	m := vzMatch{ID: vec.ID, Score: score, Namespace: vec.Namespace}
	if p.values {
		m.Values = vec.Values
	}
	switch p.metadata {
	case "all":
		m.Metadata = vec.Metadata
	case "indexed":
		m.Metadata = vzIndexedMetadata(vec)
	}
	return m
}

// vzIndexedMetadata returns the indexed properties, strings cut to the indexed prefix.
func vzIndexedMetadata(vec *vzVector) map[string]any {
	if len(vec.indexed) == 0 {
		return nil
	}
	out := map[string]any{}
	for prop := range vec.indexed {
		val, _ := vzLookup(vec.Metadata, prop)
		if s, ok := val.(string); ok {
			val = vzPrefixOf(s)
		}
		out[prop] = val
	}
	return out
}

// vzScore is the metric's score: cosine similarity, euclidean distance or dot product.
func vzScore(metric string, a, b []float64) float64 {
	var dot, na, nb, sq float64
	for i := range a {
		dot += a[i] * b[i]
		na += a[i] * a[i]
		nb += b[i] * b[i]
		d := a[i] - b[i]
		sq += d * d
	}
	switch metric {
	case "euclidean":
		return math.Sqrt(sq)
	case "dot-product":
		return dot
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// vzGetByIDs answers POST /indexes/{index}/get_by_ids with the visible vectors among the
// ids, in request order.
func (cf *Cloudflare) vzGetByIDs(w http.ResponseWriter, c *cfCall) {
	cf.vzLocked(w, c, func(_ *Vectorize, ix *vzIndex) {
		ids, ok := vzDecodeIDs(w, c.body)
		if !ok {
			return
		}
		out := []*vzVector{}
		seen := map[string]bool{}
		for _, id := range ids {
			if vec, ok := ix.vectors[id]; ok && !seen[id] {
				seen[id] = true
				out = append(out, vec)
			}
		}
		cfOK(w, out)
	})
}

// vzListVectors answers GET /indexes/{index}/list?count=&cursor= with ids in order.
func (cf *Cloudflare) vzListVectors(w http.ResponseWriter, c *cfCall) {
	cf.vzLocked(w, c, func(_ *Vectorize, ix *vzIndex) {
		count, start, ok := vzPage(c.r)
		if !ok {
			vzInvalid(w, vzCodeInvalid, "count must be 1 to 1000 and cursor one returned by a previous page")
			return
		}
		ids := make([]string, 0, len(ix.vectors))
		for id := range ix.vectors {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		start = min(start, len(ids))
		end := min(start+count, len(ids))
		page := make([]map[string]string, 0, end-start)
		for _, id := range ids[start:end] {
			page = append(page, map[string]string{"id": id})
		}
		res := map[string]any{"count": len(page), "totalCount": len(ids), "isTruncated": end < len(ids),
			"nextCursor": nil, "cursorExpirationTimestamp": nil, "vectors": page}
		if end < len(ids) {
			res["nextCursor"] = strconv.Itoa(end)
		}
		cfOK(w, res)
	})
}

// vzPage reads the list parameters: count (default 100, at most 1000) and an offset cursor.
func vzPage(r *http.Request) (count, start int, ok bool) {
	count = 100
	if s := r.URL.Query().Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return 0, 0, false
		}
		count = n
	}
	if s := r.URL.Query().Get("cursor"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		start = n
	}
	return count, start, true
}
