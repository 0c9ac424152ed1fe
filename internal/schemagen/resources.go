package schemagen

import "sort"

// resourceSetting documents one setting of a resource kind.
type resourceSetting struct {
	Name   string
	Schema obj
	Doc    string
}

// resourceKinds mirrors the resource kinds and settings the engine accepts
// (engine/check_step.go, resourceSettings); TestResourceKindsMatchEngine keeps them equal.
var resourceKinds = map[string][]resourceSetting{
	"vector-index": {
		{"backend", orExpr(obj{"enum": []string{"local", "vectorize", "ai-search"}}), "local (embedded, persistent; the default), vectorize (Cloudflare Vectorize, through a workers-ai provider) or ai-search (an existing Cloudflare AI Search instance named like the resource: search and ai-search steps query it; aiflow neither writes, creates nor deletes it)."},
		{"dimensions", orExpr(obj{"type": "integer", "minimum": 1, "maximum": 4096}), "Vector size, 1–4096: 768 for bge-base, 384 for bge-small, the local embedder's dimensions."},
		{"metric", orExpr(obj{"enum": []string{"cosine", "euclidean", "dot-product"}}), "Distance metric; default cosine."},
		{"metadata_indexes", obj{}, "Metadata fields to index for filtering: {field: string | number | boolean}."},
		{"model", described(ref("literal"), ""), "The embedding model (alias or provider:model-id) that fills and queries the index; default the local embedder."},
		{"ann", orExpr(obj{"enum": []string{"hnsw", "none"}}), "Approximate nearest-neighbour index for the local backend: hnsw, or none for exact search."},
		{"provider", obj{}, "The providers: entry (a workers-ai provider) that the vectorize backend calls through."},
		{"wait_for_mutation", obj{}, "vectorize: after a write, wait until Vectorize has applied it (true = up to 60s, or a duration) so a query right after sees it."},
		{"batch_size", orExpr(obj{"type": "integer", "minimum": 1, "maximum": 5000}), "vectorize: vectors per upsert request (default 1000)."},
		{"rate_limit", obj{}, "vectorize: requests per minute to the Vectorize API (default 240)."},
		{"description", ref("text"), "What the index holds."},
	},
	"database": {
		{"backend", obj{}, "Where the database lives."},
		{"migrations", obj{}, "Schema migrations to apply."},
		{"provider", obj{}, "The providers: entry the backend calls through."},
		{"description", ref("text"), "What the database holds."},
	},
	"ai-gateway": {
		{"provider", obj{}, "The providers: entry whose account owns the gateway."},
		{"cache_ttl", obj{}, "How long the gateway caches responses."},
		{"rate_limit", obj{}, "Requests the gateway lets through."},
		{"logging", obj{}, "Whether the gateway logs requests."},
		{"description", ref("text"), "What the gateway is for."},
	},
	"bucket": {
		{"backend", orExpr(obj{"enum": []string{"local", "r2"}}), "local (a folder under the state directory; the default) or r2 (Cloudflare R2: the bucket through the Cloudflare API, objects through its S3-compatible API)."},
		{"bucket_name", ref("text"), "The bucket's own name; default the resource's. R2: 3–63 lowercase letters, digits and -."},
		{"provider", obj{}, "r2: the workers-ai providers: entry whose account holds the bucket (its account_id gives the S3 endpoint)."},
		{"endpoint", ref("text"), "r2: the S3 endpoint; default https://<account_id>.r2.cloudflarestorage.com."},
		{"access_key_id", ref("text"), "r2: the S3 access key id of an R2 API token, from env()."},
		{"secret_access_key", ref("text"), "r2: the S3 secret access key of an R2 API token, from env()."},
		{"force_destroy", orExpr(obj{"type": "boolean"}), "Let destroy delete the bucket's objects; without it destroy refuses a non-empty bucket."},
		{"description", ref("text"), "What the bucket holds."},
	},
	"prompt": {
		{"database", obj{}, "The database resource the prompt is stored in."},
		{"name", obj{}, "The prompt's name in that database."},
		{"system", ref("text"), "The system prompt; changing it makes apply store a new active version."},
		{"model", described(ref("literal"), ""), "The model (alias or provider:model-id) the prompt is meant for."},
		{"params", obj{"type": "object"}, "Model parameters stored with the prompt (max_tokens, temperature, …)."},
		{"description", ref("text"), "What the prompt is for."},
	},
}

// resourceDocs describes each resource kind.
var resourceDocs = map[string]string{
	"vector-index": "A vector index that upsert writes and search reads.",
	"database":     "A database.",
	"ai-gateway":   "A Cloudflare AI Gateway.",
	"prompt":       "A stored prompt.",
	"bucket":       "An object store bucket (local folder or Cloudflare R2) that bucket-put, bucket-get and bucket-list use.",
}

// resourceRequired are settings a kind cannot do without.
var resourceRequired = map[string][]string{}

// resourceConditions are extra schema keywords of a kind: a vector-index needs
// dimensions, except one with backend ai-search, which needs a provider instead and
// takes none of the settings that shape an index (engine/check_step.go, aiSearchIndex).
var resourceConditions = map[string]obj{
	"vector-index": {
		"if":   obj{"properties": obj{"backend": obj{"const": "ai-search"}}, "required": []string{"backend"}},
		"then": obj{"required": []string{"provider"}, "propertyNames": obj{"enum": []string{"kind", "backend", "provider", "description"}}},
		"else": obj{"required": []string{"dimensions"}},
	},
}

func (g *gen) resources() error {
	var names []string
	for name := range resourceKinds {
		names = append(names, name)
	}
	sort.Strings(names)
	var kinds []any
	for _, name := range names {
		props := obj{"kind": obj{"const": name, "description": resourceDocs[name]}}
		for _, s := range resourceKinds[name] {
			props[s.Name] = described(s.Schema, s.Doc)
		}
		def := obj{"type": "object", "additionalProperties": false, "properties": props, "description": resourceDocs[name]}
		if req := resourceRequired[name]; len(req) > 0 {
			def["required"] = req
		}
		for k, v := range resourceConditions[name] {
			def[k] = v
		}
		g.defs["resource."+name] = def
		kinds = append(kinds, kindCase(name, "resource."+name))
	}
	g.defs["resource"] = obj{"type": "object", "required": []string{"kind"},
		"properties":  obj{"kind": obj{"enum": names, "description": "The resource kind."}},
		"allOf":       kinds,
		"description": "Infrastructure a flow uses, created by aiflow apply (the local vector index is created on first use)."}
	g.defs["resources"] = named(ref("resource"))
	return nil
}
