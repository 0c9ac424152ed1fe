// Package store keeps aiflow's state on disk: runs, step results, agent turns,
// the content-addressed step cache, resource state and the database migrations
// applied to resources. Everything lives in one directory (by default .aiflow/
// beside the flow): a SQLite database, state.db, plus a lock file used by Lock.
//
// # PostgreSQL
//
// With Options.URL set to a postgres:// URL, the run records and the cache live in
// that database instead, which many machines (Temporal workers, CI runners) may share;
// blobs stay in each machine's state directory. The queries are the same: the
// connections rebind SQLite's placeholders (dialect.go), the schema is created from
// one baseline script and later migrations carry both dialects' texts (schema.go), and
// Store.LockRun and Store.LockState become advisory locks of the database. What this
// doc says below of WAL, checkpoints and synchronous= is SQLite's; on Postgres a
// method that returns nil has committed on the server, with the server's durability.
//
// # Concurrency
//
// A *Store is safe for concurrent use by many goroutines, and several processes
// may open the same directory at once. Inside a process all writes go through
// one connection, so they queue in Go rather than spin on SQLite's lock; reads
// use a separate pool and never wait for writers (WAL mode). Across processes,
// write transactions start with BEGIN IMMEDIATE and wait up to
// Options.BusyTimeout for the other writer.
//
// # Durability
//
// A method that returns nil has committed its transaction: the change is in the
// write-ahead log, handed to the operating system. The database runs with
// synchronous=NORMAL, which means a process crash (kill -9, panic, OOM kill) at
// any moment never loses an acknowledged write and never corrupts the file;
// the next Open replays the log. An operating-system crash or power cut can
// roll back the most recent commits (never past a checkpoint), again without
// corruption. synchronous=FULL would close that gap at the price of an fsync
// per commit (milliseconds each, which would make a 1,000-step cached re-run
// take seconds); Options.Durable turns it on for callers that need it.
//
// Checkpoints (copying the WAL back into state.db, which needs fsyncs) run on
// a background goroutine with their own connection every few hundred commits,
// never inside a caller's commit. Only when the log passes about 64 MB under
// a steady stream of writes does a checkpoint make writers wait, once, so the
// log can start over. Cache hit counts are batched in memory (see CacheGet)
// and are the one thing a killed process may lose: they are statistics.
//
// # Values
//
// Step outputs are stored once by content (the blobs table, keyed by SHA-256)
// and referenced from step records, so runs that produce the same outputs
// share them. PruneRuns and GC delete the outputs nothing references.
//
// Maps (Vars, Outputs, Attributes) are stored as JSON, so numbers come back as
// float64 and nested structs as map[string]any. Times are stored as Unix
// nanoseconds and come back in UTC; a zero time stays zero.
package store
