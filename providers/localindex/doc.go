// Package localindex implements the embedded "local" vector-index backend: a persistent,
// crash-safe index kept under <state dir>/indexes/<name>/ with exact search, optional HNSW
// approximate search, Vectorize-style metadata filters, BM25 keyword search and hybrid
// (a convex combination of normalised vector and keyword scores) search.
//
// # Storage
//
// Vectors live in memory in fixed-size pages of contiguous float32 slots (1024 slots a
// page), addressed by slot number; an id→slot map, per-slot metadata, namespace and source
// text sit beside them. Deleted slots go on a free list and are reused. Cosine indexes store
// unit vectors plus each vector's original norm, so values read back equal the written ones
// to within float32 rounding; euclidean and dot-product indexes store values unchanged.
//
// On disk a directory holds meta.json (dimensions, metric, metadata indexes), snapshot.bin
// (every slot, written by compaction) and wal.log (an append-only log of upsert and delete
// batches). Every record is framed as a little-endian uint32 length, a CRC-32C of the
// payload, and the payload. A LOCK file held with flock keeps a second process out.
//
// # Durability contract
//
// Upsert and DeleteByIDs append one record for the whole batch and fsync it before they
// return nil, so an acknowledged batch survives a crash or kill -9 at any later moment, and
// an unacknowledged batch is either wholly present or wholly absent. Opening replays the log
// over the snapshot; a short or checksum-failing record at the tail (a write torn by a
// crash) is truncated away. A bad record followed by good ones can only be media
// corruption and makes Open fail instead of discarding acknowledged writes. Compaction
// writes a new snapshot to a temporary file, fsyncs it, renames it into place and then
// swaps in an empty log the same way; a crash between the two steps is detected by the
// generation numbers both files carry. Compaction runs when the log outgrows the snapshot
// (and at least 64 MiB), or on request via Index.Compact.
//
// # Search and complexity
//
// Exact search scores every live slot that passes the namespace and metadata filter with a
// SIMD dot product (github.com/viterin/vek), O(n·d) per query, sharded over GOMAXPROCS
// goroutines for large indexes and keeping the top k in a heap (O(n log k)). With
// IndexSpec.ANN "hnsw" queries go through the package's own HNSW graph (subpackage hnsw),
// roughly O(ef·M·log n·d); filtered ANN queries filter during the graph walk under a visit
// budget and fall back to exact search when fewer than k results survive. The graph is
// persisted to hnsw.graph on Close and on compaction, together with the log position it
// covers; Open loads it and inserts only what the log added since, or rebuilds it in
// parallel when it is missing or stale. Keyword search is BM25 (k1=1.2, b=0.75, subpackage
// bm25) over the stored text; its inverted index is kept in memory, updated on every write
// and rebuilt on open. Keyword scores are BM25 divided by the query's self-score (about 1 when
// a document holds the whole query); hybrid scores are 0.5·vector similarity (clamped to
// [0, 1]) + 0.5·keyword score over the union of both candidate lists, so a hybrid score is
// in [0, 1] and one threshold means the same for every query.
//
// # Differences from Vectorize
//
// Filters use Vectorize's operators and rules, but every metadata property is filterable:
// IndexSpec.MetadataIndexes are recorded in meta.json and reported by Describe and Info,
// not required. Writes are visible to the next query (no eventual consistency). Ids may be
// up to 512 bytes. Matches always carry the namespace and the stored text.
//
// # Settings
//
// IndexSpec.Settings (or the backend's settings) may tune HNSW: "hnsw_m" (default 16),
// "hnsw_ef_construction" (default 200) and "hnsw_ef_search" (default 128, raised to topK
// when smaller).
package localindex
