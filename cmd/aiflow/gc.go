package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/engine"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers/localindex"
)

func init() {
	register(command{name: "gc", summary: "Remove expired cache entries and unused outputs; compact local index logs", run: gcCmd})
}

// blobGrace is how old an unreferenced blob must be before gc removes it.
const blobGrace = time.Hour

const gcUsage = "usage: aiflow gc [flow.yaml] [--dry-run] [--release RESULTS] [--state-dir D]"

// gcCmd is `aiflow gc`: the state keeps what runs and the cache reference; this removes
// the rest (expired cache entries, outputs no step record uses), folds the local index
// logs into snapshots and gives the space back, printing what it freed.
func gcCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("gc", stderr)
	o := outputFlag(fs)
	dir := fs.String("state-dir", "", "state directory (default .aiflow beside the flow, or ./.aiflow)")
	stateURL := stateURLFlag(fs)
	dryRun := fs.Bool("dry-run", false, "report what would be removed and change nothing")
	var release varFlags
	fs.Var(&release, "release", "a dataset results file (`run --inputs --results`) no longer wanted: the images, audio and documents it names stop being kept for it (repeatable)")
	pos, v, err := parseCommand(fs, o, args, stdout, stderr)
	if err != nil {
		return v.failArgs(err)
	}
	if len(pos) > 1 {
		return v.fail(errUsage, errors.New(gcUsage), nil)
	}
	st, err := openExistingState(*dir, *stateURL, pos)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	defer st.Close()
	released := map[string]bool{}
	for _, f := range release {
		if err := resultsBlobs(f, released); err != nil {
			return v.fail(errUsage, err, nil)
		}
	}
	unpinned := 0
	if !*dryRun && len(released) > 0 {
		if unpinned, err = st.UnpinBlobs(context.Background(), slices.Sorted(maps.Keys(released))); err != nil {
			return v.fail(errState, err, nil)
		}
	}
	res, err := st.GC(context.Background(), store.GCOpts{DryRun: *dryRun})
	if err != nil {
		return v.fail(errState, err, nil)
	}
	refs, err := st.BlobRefsBut(context.Background(), released)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	// A blob younger than blobGrace may belong to a run still going whose step is not
	// recorded yet; the next gc takes it if nothing references it by then.
	blobs, blobBytes, err := blob.NewStore(engine.BlobDir(st.Dir())).Sweep(func(sum string) bool { return refs[sum] }, time.Now().Add(-blobGrace), *dryRun)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	idx, err := localindex.CompactAll(st.Dir(), *dryRun)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	if v.json {
		indexes := make([]map[string]any, len(idx))
		for i, c := range idx {
			indexes[i] = map[string]any{"name": c.Name, "compacted": c.Compacted, "bytes_before": c.Before, "bytes_after": c.After}
			if c.Err != nil {
				indexes[i]["error"] = c.Err.Error()
			}
		}
		v.writeJSON(map[string]any{"format_version": jsonFormatVersion, "state_dir": st.Dir(), "dry_run": *dryRun, "diagnostics": diagList(nil),
			"expired_cache_entries": res.ExpiredCache, "expired_cache_bytes": res.ExpiredBytes,
			"outputs": res.Outputs, "output_bytes": res.OutputBytes, "disk_before": res.DiskBefore, "disk_after": res.DiskAfter,
			"indexes": indexes, "blobs": blobs, "blob_bytes": blobBytes, "released_pins": unpinned})
		return exitOK
	}
	w := v.stdout
	verb := "Removed"
	if *dryRun {
		verb = "Would remove"
	}
	if len(release) > 0 && !*dryRun {
		fmt.Fprintf(w, "Released %d of the %d blobs named by %s.\n", unpinned, len(released), strings.Join(release, ", "))
	}
	fmt.Fprintf(w, "%s from %s:\n", verb, st.Dir())
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  expired cache entries\t%d\t%s\n", res.ExpiredCache, byteSize(res.ExpiredBytes))
	fmt.Fprintf(tw, "  outputs no run uses\t%d\t%s\n", res.Outputs, byteSize(res.OutputBytes))
	fmt.Fprintf(tw, "  blobs no run uses\t%d\t%s\n", blobs, byteSize(blobBytes))
	tw.Flush()
	if !*dryRun {
		fmt.Fprintf(w, "State on disk: %s → %s.\n", byteSize(res.DiskBefore), byteSize(res.DiskAfter))
	}
	for _, c := range idx {
		switch {
		case c.Err != nil:
			fmt.Fprintf(w, "Index %s: skipped: %v\n", c.Name, c.Err)
		case !c.Compacted:
			fmt.Fprintf(w, "Index %s: log already compact (%s).\n", c.Name, byteSize(c.Before))
		case *dryRun:
			fmt.Fprintf(w, "Index %s: would compact its log (%s now).\n", c.Name, byteSize(c.Before))
		default:
			fmt.Fprintf(w, "Index %s: compacted, %s → %s.\n", c.Name, byteSize(c.Before), byteSize(c.After))
		}
	}
	if *dryRun {
		fmt.Fprintln(w, "Dry run: nothing was changed.")
	}
	return exitOK
}

// resultsBlobs adds to sums the blob values (images, audio, documents) named in results, a
// dataset results file: JSON lines, or any JSON.
func resultsBlobs(results string, sums map[string]bool) error {
	f, err := os.Open(results)
	if err != nil {
		return fmt.Errorf("--release: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReader(f))
	for line := 1; ; line++ {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("--release %s: value %d: %v (want the JSON lines `run --inputs --results` writes)", results, line, err)
		}
		blob.Walk(v, func(b blob.Blob) { sums[b.SHA256] = true })
	}
}
