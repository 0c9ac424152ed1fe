package wiretest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
)

// vzMetaBody is the metadata_index create and delete request.
type vzMetaBody struct {
	PropertyName string `json:"propertyName"`
	IndexType    string `json:"indexType"`
}

// vzMetaCreate answers POST …/metadata_index/create. The index is queued like a write:
// only vectors processed after it are filterable on the property.
func (cf *Cloudflare) vzMetaCreate(w http.ResponseWriter, c *cfCall) {
	cf.vzLocked(w, c, func(v *Vectorize, ix *vzIndex) {
		var b vzMetaBody
		if err := json.Unmarshal(c.body, &b); err != nil {
			vzInvalid(w, vzCodeBadJSON, "Failed to parse the request body as JSON: %v", err)
			return
		}
		if msg := vzCheckFilterKey(b.PropertyName); msg != "" {
			vzInvalid(w, vzCodeInvalid, "propertyName: %s", msg)
			return
		}
		switch b.IndexType {
		case "string", "number", "boolean":
		default:
			vzInvalid(w, vzCodeInvalid, "indexType %q must be string, number or boolean", b.IndexType)
			return
		}
		props := ix.metaProps()
		if _, dup := props[b.PropertyName]; dup {
			vzInvalid(w, vzCodeDuplicate, "a metadata index for property %q already exists", b.PropertyName)
			return
		}
		if len(props) >= vzMaxMetaIndexes {
			vzInvalid(w, vzCodeInvalid, "an index has at most %d metadata indexes", vzMaxMetaIndexes)
			return
		}
		id := v.queue(ix, &vzMutation{kind: vzMetaCreateKind, prop: b.PropertyName, typ: b.IndexType})
		cfOK(w, map[string]any{"mutationId": id})
	})
}

// metaProps returns the metadata indexes once every queued change to them is processed.
func (ix *vzIndex) metaProps() map[string]string {
	props := map[string]string{}
	for k, t := range ix.metaIdx {
		props[k] = t
	}
	for _, m := range ix.pending {
		switch m.kind {
		case vzMetaCreateKind:
			props[m.prop] = m.typ
		case vzMetaDeleteKind:
			delete(props, m.prop)
		}
	}
	return props
}

// vzMetaList answers GET …/metadata_index/list with the processed metadata indexes.
func (cf *Cloudflare) vzMetaList(w http.ResponseWriter, c *cfCall) {
	cf.vzLocked(w, c, func(_ *Vectorize, ix *vzIndex) {
		list := make([]vzMetaBody, 0, len(ix.metaIdx))
		for k, t := range ix.metaIdx {
			list = append(list, vzMetaBody{PropertyName: k, IndexType: t})
		}
		sort.Slice(list, func(i, j int) bool { return list[i].PropertyName < list[j].PropertyName })
		cfOK(w, map[string]any{"metadataIndexes": list})
	})
}

// vzMetaDelete answers POST …/metadata_index/delete.
func (cf *Cloudflare) vzMetaDelete(w http.ResponseWriter, c *cfCall) {
	cf.vzLocked(w, c, func(v *Vectorize, ix *vzIndex) {
		var b vzMetaBody
		if err := json.Unmarshal(c.body, &b); err != nil {
			vzInvalid(w, vzCodeBadJSON, "Failed to parse the request body as JSON: %v", err)
			return
		}
		if _, ok := ix.metaProps()[b.PropertyName]; !ok {
			cfError(w, http.StatusNotFound, cfErr{vzCodeNotFound, fmt.Sprintf("no metadata index for property %q", b.PropertyName)})
			return
		}
		id := v.queue(ix, &vzMutation{kind: vzMetaDeleteKind, prop: b.PropertyName})
		cfOK(w, map[string]any{"mutationId": id})
	})
}
