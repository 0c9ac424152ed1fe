#!/usr/bin/env python3
"""hnswlib peer for `go run ./bench vector`.

Builds an hnswlib index over the vectors the Go bench wrote, then prints, as one JSON
object per line, the build time and, for each ef, recall@k against the bench's exact
top-k and queries per second on 1 and on N threads. Queries go in one knn_query batch,
so Python's per-call overhead is spread over the batch: this is hnswlib at its best.

Usage: hnswlib_peer.py '{"base": "...f32", "queries": "...f32", "truth": "...i32",
  "dim": 384, "m": 16, "efc": 200, "threads": 2, "k": 10, "efs": [16, 32], "seconds": 3}'
"""
import json
import sys
import time

import hnswlib
import numpy as np


def rate(index, queries, k, threads, seconds):
    """Queries per wall second and per CPU second of knn_query batches on threads."""
    index.knn_query(queries, k=k, num_threads=threads)  # warm up
    done = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        index.knn_query(queries, k=k, num_threads=threads)
        done += len(queries)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return done / wall, done / max(cpu, 0.01)


def main():
    a = json.loads(sys.argv[1])
    dim, k, threads = a["dim"], a["k"], a["threads"]
    base = np.fromfile(a["base"], dtype="<f4").reshape(-1, dim)
    queries = np.fromfile(a["queries"], dtype="<f4").reshape(-1, dim)
    truth = np.fromfile(a["truth"], dtype="<i4").reshape(len(queries), -1)

    index = hnswlib.Index(space="cosine", dim=dim)
    index.init_index(max_elements=len(base), M=a["m"], ef_construction=a["efc"], random_seed=1)
    t0, c0 = time.perf_counter(), time.process_time()
    index.add_items(base, np.arange(len(base)), num_threads=threads)
    print(json.dumps({"build_seconds": time.perf_counter() - t0, "build_cpu": time.process_time() - c0}), flush=True)

    for ef in a["efs"]:
        index.set_ef(ef)
        labels, _ = index.knn_query(queries, k=k, num_threads=1)
        hits = sum(len(set(labels[i]) & set(truth[i][truth[i] >= 0])) for i in range(len(queries)))
        want = int((truth >= 0).sum())
        row = {"ef": ef, "recall": hits / max(want, 1)}
        for t in sorted({1, threads}):
            row[f"qps{t}"], row[f"cpu_qps{t}"] = rate(index, queries, k, t, a["seconds"])
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
