// Command openapigen cuts the operations aiflow calls out of Cloudflare's published
// OpenAPI schema (github.com/cloudflare/api-schemas, openapi.json) into the compact
// fragment the wiretest emulators validate requests against
// (providers/wiretest/testdata/cloudflare_openapi.json).
//
// The full schema is several megabytes and changes daily, so only the fragment is
// committed, with the source commit and date recorded in it. Refresh it with:
//
//	git -C api-schemas show <commit>:openapi.json > /tmp/openapi.json
//	go run ./providers/wiretest/internal/openapigen -in /tmp/openapi.json \
//	    -commit <commit> -date <commit date, RFC 3339> \
//	    -out providers/wiretest/testdata/cloudflare_openapi.json
//
// Every $ref is inlined, and documentation-only keywords (description, example, title,
// x-*) are dropped from schemas; published response examples are kept separately so the
// emulators' tests can replay them.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

// wanted lists the operations aiflow's clients call (providers/vectorize, providers/d1,
// providers/aigateway, engine/infra) plus R2 buckets, by operationId.
var wanted = []string{
	// Vectorize v2
	"vectorize-create-vectorize-index",
	"vectorize-list-vectorize-indexes",
	"vectorize-get-vectorize-index",
	"vectorize-delete-vectorize-index",
	"vectorize-index-info",
	"vectorize-insert-vector",
	"vectorize-upsert-vector",
	"vectorize-query-vector",
	"vectorize-get-vectors-by-id",
	"vectorize-delete-vectors-by-id",
	"vectorize-create-metadata-index",
	"vectorize-list-metadata-indexes",
	"vectorize-delete-metadata-index",
	// D1
	"cloudflare-d1-create-database",
	"cloudflare-d1-list-databases",
	"cloudflare-d1-get-database",
	"cloudflare-d1-delete-database",
	"cloudflare-d1-query-database",
	"cloudflare-d1-raw-database-query",
	// AI Gateway
	"aig-config-create-gateway",
	"aig-config-list-gateway",
	"aig-config-fetch-gateway",
	"aig-config-update-gateway",
	"aig-config-delete-gateway",
	// R2 buckets
	"r2-create-bucket",
	"r2-list-buckets",
	"r2-get-bucket",
	"r2-delete-bucket",
}

// override corrects a known defect of the source snapshot, citing the newer published
// source that shows the real shape.
type override struct {
	op, note string
	apply    func(o *operation, spec map[string]any, r *resolver)
}

var overrides = []override{
	{
		op: "vectorize-query-vector",
		note: "the snapshot points the v2 query body at the v1 schema (returnMetadata boolean); its own " +
			"vectorize_index-query-v2-request and cloudflare-go v6.10.0 vectorize.IndexQueryParams " +
			"(returnMetadata \"none\"|\"indexed\"|\"all\") are used instead",
		apply: func(o *operation, spec map[string]any, r *resolver) {
			o.Body.Schema = r.schema(map[string]any{"$ref": "#/components/schemas/vectorize_index-query-v2-request"})
		},
	},
	{
		op: "vectorize-list-metadata-indexes",
		note: "the snapshot lists it as POST; cloudflare-go v6.10.0 vectorize/indexmetadataindex.go " +
			"(IndexMetadataIndexService.List) and the Vectorize docs use GET",
		apply: func(o *operation, _ map[string]any, _ *resolver) { o.Method = "GET" },
	},
	{
		op: "vectorize-insert-vector",
		note: "the snapshot publishes a raw application/x-ndjson body; the current schema behind " +
			"cloudflare-go v6.10.0 (IndexInsertParams.MarshalMultipart) and wrangler send a multipart " +
			"form with the NDJSON as a file part, so both are accepted",
		apply: func(o *operation, _ map[string]any, _ *resolver) {
			o.Body.Alternatives = []string{"multipart/form-data"}
		},
	},
	{
		op: "cloudflare-d1-query-database",
		note: "the snapshot takes one {sql, params}; the current schema behind cloudflare-go v6.10.0 " +
			"(d1.DatabaseQueryParamsBodyUnion) takes either that or {batch: [{sql, params}, ...]}",
		apply: d1Batch,
	},
	{
		op:    "cloudflare-d1-raw-database-query",
		note:  "as cloudflare-d1-query-database: a {batch: [...]} body is accepted too",
		apply: d1Batch,
	},
	{
		op: "aig-config-list-gateway",
		note: "the snapshot filters by id; cloudflare-go v6.10.0 ai_gateway.AIGatewayListParams filters " +
			"with search, so search is accepted too",
		apply: func(o *operation, _ map[string]any, _ *resolver) {
			o.Params = append(o.Params, param{Name: "search", In: "query", Schema: map[string]any{"type": "string"}})
		},
	},
	{
		op:   "vectorize-upsert-vector",
		note: "as vectorize-insert-vector: multipart/form-data is accepted besides application/x-ndjson",
		apply: func(o *operation, _ map[string]any, _ *resolver) {
			o.Body.Alternatives = []string{"multipart/form-data"}
		},
	},
}

// d1Batch makes a D1 query body one query or a batch of them.
func d1Batch(o *operation, _ map[string]any, _ *resolver) {
	single := o.Body.Schema
	o.Body.Schema = map[string]any{"oneOf": []any{single, map[string]any{
		"type": "object", "required": []any{"batch"},
		"properties": map[string]any{"batch": map[string]any{"type": "array", "items": single}},
	}}}
}

// fragment is the file written.
type fragment struct {
	Source     source                `json:"source"`
	Overrides  []string              `json:"overrides"`
	Operations map[string]*operation `json:"operations"`
}

type source struct {
	Repo   string `json:"repo"`
	Path   string `json:"path"`
	Commit string `json:"commit"`
	Date   string `json:"date"`
}

type operation struct {
	Method   string         `json:"method"`
	Path     string         `json:"path"`
	Params   []param        `json:"params,omitempty"`
	Body     *body          `json:"body,omitempty"`
	Response map[string]any `json:"response,omitempty"` // the 200 envelope schema
	Examples []any          `json:"examples,omitempty"` // published 200 response examples
}

type param struct {
	Name     string         `json:"name"`
	In       string         `json:"in"`
	Required bool           `json:"required,omitempty"`
	Schema   map[string]any `json:"schema,omitempty"`
}

type body struct {
	ContentType  string         `json:"content_type"`
	Alternatives []string       `json:"alternatives,omitempty"` // other accepted content types (overrides)
	Required     bool           `json:"required,omitempty"`
	Schema       map[string]any `json:"schema,omitempty"`
}

func main() {
	in := flag.String("in", "", "Cloudflare openapi.json")
	out := flag.String("out", "", "fragment to write")
	commit := flag.String("commit", "", "api-schemas commit the file was taken from")
	date := flag.String("date", "", "that commit's date")
	flag.Parse()
	if *in == "" || *out == "" || *commit == "" || *date == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*in, *out, source{Repo: "github.com/cloudflare/api-schemas", Path: "openapi.json", Commit: *commit, Date: *date}); err != nil {
		fmt.Fprintln(os.Stderr, "openapigen:", err)
		os.Exit(1)
	}
}

func run(in, out string, src source) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("reading %s: %w", in, err)
	}
	r := &resolver{spec: spec}
	frag := fragment{Source: src, Operations: map[string]*operation{}}
	paths, _ := spec["paths"].(map[string]any)
	want := map[string]bool{}
	for _, id := range wanted {
		want[id] = true
	}
	for path, item := range paths {
		methods, _ := item.(map[string]any)
		for method, v := range methods {
			op, _ := v.(map[string]any)
			id, _ := op["operationId"].(string)
			if !want[id] {
				continue
			}
			frag.Operations[id] = r.operation(strings.ToUpper(method), path, op)
		}
	}
	var missing []string
	for _, id := range wanted {
		if frag.Operations[id] == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("operations not in the source: %s", strings.Join(missing, ", "))
	}
	for _, o := range overrides {
		o.apply(frag.Operations[o.op], spec, r)
		frag.Overrides = append(frag.Overrides, o.op+": "+o.note)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(frag); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// resolver inlines $refs of one spec.
type resolver struct {
	spec map[string]any
}

func (r *resolver) operation(method, path string, op map[string]any) *operation {
	o := &operation{Method: method, Path: path}
	list, _ := op["parameters"].([]any)
	for _, p := range list {
		pm := r.deref(p)
		req, _ := pm["required"].(bool)
		name, _ := pm["name"].(string)
		in, _ := pm["in"].(string)
		sch, _ := pm["schema"].(map[string]any)
		o.Params = append(o.Params, param{Name: name, In: in, Required: req, Schema: r.schema(sch)})
	}
	sort.SliceStable(o.Params, func(i, j int) bool { return o.Params[i].In+o.Params[i].Name < o.Params[j].In+o.Params[j].Name })
	if rb, ok := op["requestBody"].(map[string]any); ok {
		rb = r.deref(rb)
		req, _ := rb["required"].(bool)
		content, _ := rb["content"].(map[string]any)
		for _, ct := range sortedKeys(content) {
			media, _ := content[ct].(map[string]any)
			sch, _ := media["schema"].(map[string]any)
			o.Body = &body{ContentType: ct, Required: req, Schema: r.schema(sch)}
			break
		}
	}
	responses, _ := op["responses"].(map[string]any)
	if ok, _ := responses["200"].(map[string]any); ok != nil {
		content, _ := r.deref(ok)["content"].(map[string]any)
		if media, _ := content["application/json"].(map[string]any); media != nil {
			sch, _ := media["schema"].(map[string]any)
			o.Examples = r.examples(sch, 0)
			if ex, ok := media["example"]; ok {
				o.Examples = append(o.Examples, ex)
			}
			o.Response = r.schema(sch)
		}
	}
	return o
}

// deref follows a $ref.
func (r *resolver) deref(v any) map[string]any {
	m, _ := v.(map[string]any)
	for i := 0; i < 32; i++ {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = r.spec
		for _, seg := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cm, _ := cur.(map[string]any)
			cur = cm[seg]
		}
		m, _ = cur.(map[string]any)
	}
	return m
}

// examples collects top-level "example" values of a response schema and its allOf parts
// that look like whole envelopes (they have "success").
func (r *resolver) examples(s map[string]any, depth int) []any {
	s = r.deref(s)
	if s == nil || depth > 8 {
		return nil
	}
	var out []any
	if ex, ok := s["example"].(map[string]any); ok {
		if _, env := ex["success"]; env {
			out = append(out, ex)
		}
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := s[k].([]any)
		for _, item := range list {
			m, _ := item.(map[string]any)
			out = append(out, r.examples(m, depth+1)...)
		}
	}
	return out
}

// dropped are documentation-only keywords.
var dropped = map[string]bool{"description": true, "example": true, "examples": true, "title": true,
	"readOnly": true, "externalDocs": true, "x-auditable": true}

// schema returns s with refs inlined and documentation dropped.
func (r *resolver) schema(s map[string]any) map[string]any {
	return r.walk(s, 0)
}

func (r *resolver) walk(s map[string]any, depth int) map[string]any {
	s = r.deref(s)
	if s == nil {
		return nil
	}
	if depth > 40 {
		return map[string]any{}
	}
	out := map[string]any{}
	for k, v := range s {
		if dropped[k] || strings.HasPrefix(k, "x-") {
			continue
		}
		switch k {
		case "properties":
			props := map[string]any{}
			pm, _ := v.(map[string]any)
			for name, ps := range pm {
				m, _ := ps.(map[string]any)
				props[name] = r.walk(m, depth+1)
			}
			out[k] = props
		case "items", "additionalProperties", "not":
			if m, ok := v.(map[string]any); ok {
				out[k] = r.walk(m, depth+1)
			} else {
				out[k] = v
			}
		case "allOf", "anyOf", "oneOf":
			list, _ := v.([]any)
			var parts []any
			for _, item := range list {
				m, _ := item.(map[string]any)
				parts = append(parts, r.walk(m, depth+1))
			}
			out[k] = parts
		default:
			out[k] = v
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
