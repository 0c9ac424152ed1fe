// Package vectorize implements the "vectorize" vector-index backend: Cloudflare Vectorize
// v2 over its REST API (`{base_url}/accounts/{account_id}/vectorize/v2/indexes/…`), through
// the generated github.com/cloudflare/cloudflare-go/v6/vectorize client with aiflow's
// retrying, rate-limited, redacting HTTP client (providers/transport) underneath.
//
// # Settings
//
//	providers:
//	  cf: { kind: workers-ai, account_id: …, api_token: … }
//	resources:
//	  kb:
//	    kind: vector-index
//	    backend: vectorize
//	    provider: cf                 # the workers-ai provider whose account holds the index
//	    dimensions: 768
//	    metric: cosine               # cosine | euclidean | dot-product (same names in Vectorize)
//	    metadata_indexes: { source: string, year: number }
//	    wait_for_mutation: 30s       # true (= 60s), a duration, seconds, or false (default)
//	    batch_size: 1000             # vectors per upsert request, at most 5000
//	    rate_limit: 240              # requests per minute, or "off"
//
// The account id, API token and API root come from the workers-ai provider when it
// implements Credentials; otherwise, or to override them, from the settings account_id,
// api_token (secret) and base_url. The token is redacted from every error and trace.
//
// # Eventual consistency
//
// Vectorize queues every write (upsert, delete, metadata-index change) and answers with a
// mutation id before the write is searchable; reads lag by seconds. Without
// wait_for_mutation, Upsert and DeleteByIDs return as soon as Vectorize has accepted the
// writes (they are durable), and a query or GetByIDs issued right after may not see them.
// With wait_for_mutation, they then poll GET …/info until processedUpToMutation names the
// last mutation they queued, so the next query sees the writes; when the timeout passes
// first they return a *PendingError. Vectorize documents only equality of mutation ids, not
// their order. "Processed up to" implies that mutations are processed in queue order, so a
// later mutation queued by this process also counts; a mutation of another process cannot
// be placed in that order and does not.
//
// Metadata indexes only cover vectors written after they are processed: Open always waits
// for the metadata indexes it creates (up to wait_for_mutation, or 60s when that is off),
// so the next upsert is filterable. Vectors written before a metadata index existed stay
// unfilterable on that property until they are written again.
//
// # Limits, checked before anything is sent
//
// Ids 1–64 bytes; namespaces at most 64 bytes; metadata at most 10 KiB of JSON per vector,
// with no '.' in keys; values finite and of the index's dimensions; topK 1–100, at most 50
// when values or metadata are returned (returnMetadata "all"); filters under 2048 bytes of
// compact JSON, on properties that have a metadata index, with the operators $eq $ne $in
// $nin $lt $lte $gt $gte. Upserts go out as NDJSON in batches of batch_size vectors (default
// 1000, Vectorize's limit is 5000) and at most 64 MiB. Keyword and hybrid search are not
// offered by Vectorize: such queries fail and name the local backend, which has them.
// Vector.Text is not stored. IndexSpec.ANN does not apply: Vectorize picks its own index
// and scores approximately unless values are returned (returnValues switches it to exact
// scoring).
//
// DeleteByIDs reports the number of distinct ids it sent: Vectorize does not say how many
// of them existed. GetByIDs and DeleteByIDs send at most 100 and 1000 ids per request
// (Vectorize documents no limit).
package vectorize
