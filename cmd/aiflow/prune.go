package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/spec"
)

const pruneUsage = "usage: aiflow runs prune [flow.yaml] (--keep N | --older-than 30d) [--dry-run] [--state-dir D]"

// runsPruneCmd is `aiflow runs prune`: it deletes old runs with their step records and
// turns, and the outputs no kept run uses. Cache entries stay (see `aiflow gc`).
func runsPruneCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("runs prune", stderr)
	o := outputFlag(fs)
	dir := fs.String("state-dir", "", "state directory (default .aiflow beside the flow, or ./.aiflow)")
	stateURL := stateURLFlag(fs)
	keep := fs.Int("keep", 0, "keep the newest N runs of each flow")
	olderThan := fs.String("older-than", "", "remove only runs started longer ago than this (e.g. 36h, 30d)")
	dryRun := fs.Bool("dry-run", false, "report what would be removed and change nothing")
	pos, v, err := parseCommand(fs, o, args, stdout, stderr)
	if err != nil {
		return v.failArgs(err)
	}
	opts := store.PruneOpts{Keep: *keep, DryRun: *dryRun, Protect: func(r store.Run) bool { return displayStatus(r) == store.RunRunning }}
	switch {
	case len(pos) > 1:
		return v.fail(errUsage, errors.New(pruneUsage), nil)
	case *keep < 0:
		return v.fail(errUsage, fmt.Errorf("--keep: want a count of runs to keep, at least 1; got %d", *keep), nil)
	case *keep == 0 && *olderThan == "":
		return v.fail(errUsage, fmt.Errorf("say which runs to keep with --keep N, --older-than D or both; %s", pruneUsage), nil)
	}
	if *olderThan != "" {
		d, err := spec.ParseDuration(*olderThan)
		if err != nil || d <= 0 {
			return v.fail(errUsage, fmt.Errorf("--older-than: invalid duration %q (use e.g. 36h or 30d)", *olderThan), nil)
		}
		opts.OlderThan = d
	}
	if len(pos) == 1 {
		if opts.Flow, err = filepath.Abs(pos[0]); err != nil {
			return v.fail(errUsage, err, nil)
		}
	}
	st, err := openExistingState(*dir, *stateURL, pos)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	defer st.Close()
	res, err := st.PruneRuns(context.Background(), opts)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	if v.json {
		removed := make([]map[string]any, len(res.Runs))
		for i, r := range res.Runs {
			removed[i] = map[string]any{"id": r.ID, "flow": r.Flow, "name": r.FlowName, "status": displayStatus(r), "started_at": r.StartedAt}
		}
		v.writeJSON(map[string]any{"format_version": jsonFormatVersion, "state_dir": st.Dir(), "dry_run": opts.DryRun, "diagnostics": diagList(nil),
			"removed": removed, "kept": res.Kept, "steps": res.Steps, "turns": res.Turns, "outputs": res.Outputs, "output_bytes": res.OutputBytes,
			"disk_before": res.DiskBefore, "disk_after": res.DiskAfter})
		return exitOK
	}
	w := v.stdout
	if len(res.Runs) == 0 {
		fmt.Fprintf(w, "No runs to remove in %s (%d kept).\n", st.Dir(), res.Kept)
		return exitOK
	}
	verb := "Removed"
	if opts.DryRun {
		verb = "Would remove"
	}
	fmt.Fprintf(w, "%s %d run%s from %s (%d kept):\n", verb, len(res.Runs), plural(len(res.Runs)), st.Dir(), res.Kept)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, r := range res.Runs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.ID, r.FlowName, displayStatus(r), localTime(r.StartedAt))
	}
	tw.Flush()
	fmt.Fprintf(w, "With them: %d step record%s, %d agent turn%s and %d stored output%s (%s) that no kept run uses.\n", res.Steps, plural(res.Steps),
		res.Turns, plural(res.Turns), res.Outputs, plural(res.Outputs), byteSize(res.OutputBytes))
	if opts.DryRun {
		fmt.Fprintln(w, "Dry run: nothing was changed.")
		return exitOK
	}
	fmt.Fprintf(w, "State on disk: %s → %s.\n", byteSize(res.DiskBefore), byteSize(res.DiskAfter))
	return exitOK
}
