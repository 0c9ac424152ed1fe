package wiretest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// vzInsert answers POST /indexes/{index}/insert: existing ids keep their first vector.
func (cf *Cloudflare) vzInsert(w http.ResponseWriter, c *cfCall) { cf.vzWrite(w, c, vzInsertKind) }

// vzUpsert answers POST /indexes/{index}/upsert: the last vector for an id wins.
func (cf *Cloudflare) vzUpsert(w http.ResponseWriter, c *cfCall) { cf.vzWrite(w, c, vzUpsertKind) }

// vzWrite validates an NDJSON upload and queues it.
func (cf *Cloudflare) vzWrite(w http.ResponseWriter, c *cfCall, kind vzKind) {
	cf.vzLocked(w, c, func(v *Vectorize, ix *vzIndex) {
		discard, ok := vzUnparsable(c.r.URL.Query().Get("unparsable-behavior"))
		if !ok {
			vzInvalid(w, vzCodeInvalid, "unparsable-behavior must be error or discard")
			return
		}
		body, msg := vzNDJSON(c)
		if msg != "" {
			vzInvalid(w, vzCodeInvalid, "%s", msg)
			return
		}
		vecs, code, msg := ix.parseVectors(body, discard)
		if msg != "" {
			vzInvalid(w, code, "%s", msg)
			return
		}
		id := v.queue(ix, &vzMutation{kind: kind, vectors: vecs})
		cfOK(w, map[string]any{"mutationId": id})
	})
}

// vzUnparsable reads the unparsable-behavior query parameter (default error).
func vzUnparsable(s string) (discard, ok bool) {
	switch s {
	case "", "error":
		return false, true
	case "discard":
		return true, true
	}
	return false, false
}

// vzNDJSON returns the upload: the raw body, or the "vectors" (or "body") file part of a
// multipart form.
func vzNDJSON(c *cfCall) ([]byte, string) {
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return c.body, ""
	}
	mr := multipart.NewReader(bytes.NewReader(c.body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, `multipart body has no "vectors" file part`
		}
		if err != nil {
			return nil, "malformed multipart body: " + err.Error()
		}
		if name := part.FormName(); name == "vectors" || name == "body" {
			b, err := io.ReadAll(part)
			if err != nil {
				return nil, "malformed multipart body: " + err.Error()
			}
			return b, ""
		}
	}
}

// vzLine is one NDJSON line as sent.
type vzLine struct {
	ID        *string         `json:"id"`
	Values    json.RawMessage `json:"values"`
	Metadata  json.RawMessage `json:"metadata"`
	Namespace string          `json:"namespace"`
}

// parseVectors checks every line of an NDJSON upload against the index. With discard,
// lines that are not JSON are skipped; every other problem fails the whole request.
func (ix *vzIndex) parseVectors(body []byte, discard bool) ([]*vzVector, int, string) {
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
		return nil, vzCodeInvalid, "vectors must be NDJSON (one JSON object per line), not a JSON array"
	}
	var out []*vzVector
	lines := bytes.Split(body, []byte("\n"))
	n := 0
	for i, line := range lines {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if n++; n > vzMaxLines {
			return nil, vzCodeInvalid, fmt.Sprintf("too many vectors: at most %d per request", vzMaxLines)
		}
		var l vzLine
		if err := json.Unmarshal(line, &l); err != nil {
			if discard {
				continue
			}
			return nil, vzCodeBadJSON, fmt.Sprintf("line %d: unparsable vector: %v", i+1, err)
		}
		vec, code, msg := ix.checkLine(l)
		if msg != "" {
			return nil, code, fmt.Sprintf("line %d: %s", i+1, msg)
		}
		out = append(out, vec)
	}
	if len(out) == 0 {
		return nil, vzCodeInvalid, "no vectors in the request body"
	}
	return out, 0, ""
}

// checkLine validates one vector: id, dimensions, metadata size and keys, namespace.
func (ix *vzIndex) checkLine(l vzLine) (*vzVector, int, string) {
	switch {
	case l.ID == nil || *l.ID == "":
		return nil, vzCodeInvalid, "vector id is required"
	case len(*l.ID) > vzMaxIDBytes:
		return nil, vzCodeInvalid, fmt.Sprintf("vector id %q is %d bytes, the limit is %d", *l.ID, len(*l.ID), vzMaxIDBytes)
	case len(l.Namespace) > vzMaxNameBytes:
		return nil, vzCodeInvalid, fmt.Sprintf("namespace of id=%q is %d bytes, the limit is %d", *l.ID, len(l.Namespace), vzMaxNameBytes)
	}
	vec := &vzVector{ID: *l.ID, Namespace: l.Namespace}
	if err := json.Unmarshal(l.Values, &vec.Values); err != nil || len(vec.Values) != ix.dims {
		return nil, vzCodeInsertDims, fmt.Sprintf("invalid vector for id=%q, expected %d dimensions, and got %d dimensions", vec.ID, ix.dims, len(vec.Values))
	}
	vzFloat32(vec.Values)
	if len(l.Metadata) == 0 || string(l.Metadata) == "null" {
		return vec, 0, ""
	}
	var compact bytes.Buffer
	if json.Compact(&compact, l.Metadata) == nil && compact.Len() > vzMaxMetadataBytes {
		return nil, vzCodeInvalid, fmt.Sprintf("metadata for id=%q is %d bytes, the limit is %d", vec.ID, compact.Len(), vzMaxMetadataBytes)
	}
	if err := json.Unmarshal(l.Metadata, &vec.Metadata); err != nil {
		return nil, vzCodeInvalid, fmt.Sprintf("metadata for id=%q must be an object", vec.ID)
	}
	if key := vzBadKey(vec.Metadata); key != "" {
		return nil, vzCodeInvalid, fmt.Sprintf("metadata key %q of id=%q: keys may not contain '.'", key, vec.ID)
	}
	return vec, 0, ""
}

// vzFloat32 rounds values to float32, the precision Vectorize stores.
func vzFloat32(values []float64) {
	for i, x := range values {
		values[i] = float64(float32(x))
	}
}

// vzBadKey returns the first metadata key, at any depth, that contains '.' (reserved for
// nested filter paths).
func vzBadKey(m map[string]any) string {
	for k, v := range m {
		if strings.Contains(k, ".") {
			return k
		}
		if sub, ok := v.(map[string]any); ok {
			if bad := vzBadKey(sub); bad != "" {
				return k + "." + bad
			}
		}
	}
	return ""
}

// vzIDsBody is the get_by_ids and delete_by_ids request.
type vzIDsBody struct {
	IDs []string `json:"ids"`
}

// decodeIDs reads an ids body, answering 400 when it is not one.
func vzDecodeIDs(w http.ResponseWriter, body []byte) ([]string, bool) {
	var b vzIDsBody
	if err := json.Unmarshal(body, &b); err != nil {
		vzInvalid(w, vzCodeBadJSON, "Failed to parse the request body as JSON: %v", err)
		return nil, false
	}
	if len(b.IDs) == 0 {
		vzInvalid(w, vzCodeInvalid, "ids must be a non-empty array of vector ids")
		return nil, false
	}
	return b.IDs, true
}

// vzDeleteByIDs answers POST /indexes/{index}/delete_by_ids.
func (cf *Cloudflare) vzDeleteByIDs(w http.ResponseWriter, c *cfCall) {
	cf.vzLocked(w, c, func(v *Vectorize, ix *vzIndex) {
		ids, ok := vzDecodeIDs(w, c.body)
		if !ok {
			return
		}
		id := v.queue(ix, &vzMutation{kind: vzDeleteKind, ids: ids})
		cfOK(w, map[string]any{"mutationId": id})
	})
}
