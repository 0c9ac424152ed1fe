package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/spec"
)

func init() {
	register(command{name: "cache", summary: "Inspect or clear the step cache: cache stats|ls|clear", run: cacheCmd})
}

const cacheUsage = "usage: aiflow cache stats|ls|clear [flow.yaml] [--state-dir D] [--step ID] [--older-than 7d] [--expired]"

type cacheArgs struct {
	output    string
	stateDir  string
	stateURL  string // --state-url
	step      string
	olderThan string
	expired   bool
}

func cacheCmd(args []string, stdout, stderr io.Writer) int {
	var a cacheArgs
	fs := cacheFlags(&a, stderr)
	pos, v, err := parseCommand(fs, &a.output, args, stdout, stderr)
	if err != nil {
		return v.failArgs(err)
	}
	if len(pos) == 0 || len(pos) > 2 {
		return v.fail(errUsage, errors.New(cacheUsage), nil)
	}
	verb := pos[0]
	filter, err := a.filter(verb)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	st, err := openExistingState(a.stateDir, a.stateURL, pos[1:])
	if err != nil {
		return v.fail(errState, err, nil)
	}
	defer st.Close()
	ctx := context.Background()
	switch verb {
	case "stats":
		return cacheStats(ctx, v, st)
	case "ls":
		return cacheList(ctx, v, st, filter)
	}
	return cacheClear(ctx, v, st, filter)
}

func cacheFlags(a *cacheArgs, stderr io.Writer) *flag.FlagSet {
	fs := newFlags("cache", stderr)
	fs.StringVar(&a.output, "o", "human", "output format: human or json")
	fs.StringVar(&a.stateDir, "state-dir", "", "state directory (default .aiflow beside the flow, or ./.aiflow)")
	fs.StringVar(&a.stateURL, "state-url", "", stateURLUsage)
	fs.StringVar(&a.step, "step", "", "ls, clear: only entries of this step ID")
	fs.StringVar(&a.olderThan, "older-than", "", "ls, clear: only entries created longer ago than this (e.g. 36h, 7d)")
	fs.BoolVar(&a.expired, "expired", false, "ls, clear: only entries past their expiry")
	return fs
}

// filter checks the verb and builds the entry filter its flags describe.
func (a cacheArgs) filter(verb string) (store.CacheFilter, error) {
	verbs := []string{"stats", "ls", "clear"}
	switch verb {
	case "ls", "clear":
	case "stats":
		if a.step != "" || a.olderThan != "" || a.expired {
			return store.CacheFilter{}, errors.New("cache stats takes no filter; --step, --older-than and --expired apply to ls and clear")
		}
	default:
		return store.CacheFilter{}, fmt.Errorf("unknown cache command %q%s; %s", verb, spec.DidYouMean(verb, verbs), cacheUsage)
	}
	f := store.CacheFilter{StepID: a.step, Expired: a.expired}
	if a.olderThan != "" {
		d, err := spec.ParseDuration(a.olderThan)
		if err != nil || d == 0 {
			return f, fmt.Errorf("--older-than: invalid duration %q (use e.g. 90m, 36h or 7d)", a.olderThan)
		}
		f.OlderThan = d
	}
	return f, nil
}

// openExistingStore opens a state directory that already holds a database: reading or
// clearing the cache of a mistyped path must not create an empty state there. A shared
// database (stateURL) is there whatever the directory holds.
func openExistingStore(dir, stateURL string) (*store.Store, error) {
	if stateURL != "" {
		return openStore(dir, stateURL)
	}
	if _, err := os.Stat(filepath.Join(dir, store.DBFile)); err != nil {
		return nil, fmt.Errorf("no aiflow state in %s (run a flow first, or pass --state-dir)", dir)
	}
	return openStore(dir, "")
}

// openExistingState opens the existing state that cache, gc and runs prune work on:
// the --state-dir flag's, else .aiflow beside the flow file when pos holds one, else
// ./.aiflow.
func openExistingState(dirFlag, urlFlag string, pos []string) (*store.Store, error) {
	flow := ""
	if len(pos) > 0 {
		flow = pos[0]
	}
	stateURL, err := stateURLOf(urlFlag, flow)
	if err != nil {
		return nil, err
	}
	if len(pos) == 0 && dirFlag == "" {
		return openExistingStore(".aiflow", stateURL)
	}
	return openExistingStore(stateDir(dirFlag, flow), stateURL)
}

func cacheStats(ctx context.Context, v view, st *store.Store) int {
	s, err := st.CacheStats(ctx)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	if v.json {
		v.writeJSON(map[string]any{"format_version": jsonFormatVersion, "state_dir": st.Dir(), "diagnostics": diagList(nil),
			"stats": map[string]any{"entries": s.Entries, "bytes": s.Bytes, "expired": s.Expired, "hits": s.Hits,
				"corrupt_dropped": s.CorruptDropped, "by_step": s.ByStep}})
		return exitOK
	}
	tw := tabwriter.NewWriter(v.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "State dir:\t%s\n", st.Dir())
	fmt.Fprintf(tw, "Entries:\t%d\n", s.Entries)
	fmt.Fprintf(tw, "Size:\t%s\n", byteSize(s.Bytes))
	fmt.Fprintf(tw, "Expired:\t%d\n", s.Expired)
	fmt.Fprintf(tw, "Hits:\t%d\n", s.Hits)
	fmt.Fprintf(tw, "Corrupt dropped:\t%d\n", s.CorruptDropped)
	tw.Flush()
	if len(s.ByStep) > 0 {
		fmt.Fprintln(v.stdout, "By step:")
		tw = tabwriter.NewWriter(v.stdout, 2, 4, 2, ' ', 0)
		for _, id := range sortedKeys(s.ByStep) {
			fmt.Fprintf(tw, "  %s\t%d\n", id, s.ByStep[id])
		}
		tw.Flush()
	}
	return exitOK
}

func cacheList(ctx context.Context, v view, st *store.Store, f store.CacheFilter) int {
	es, err := st.CacheList(ctx, f)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	if v.json {
		rows := make([]map[string]any, 0, len(es))
		for _, e := range es {
			rows = append(rows, map[string]any{"key": e.Key, "step_id": e.StepID, "kind": e.Kind, "model": e.Model, "size": e.Size,
				"created_at": e.CreatedAt, "expires_at": e.ExpiresAt, "hits": e.Hits})
		}
		v.writeJSON(map[string]any{"format_version": jsonFormatVersion, "state_dir": st.Dir(), "entries": rows, "diagnostics": diagList(nil)})
		return exitOK
	}
	tw := tabwriter.NewWriter(v.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSTEP\tKIND\tMODEL\tSIZE\tCREATED\tEXPIRES\tHITS")
	for _, e := range es {
		expires := "never"
		if e.ExpiresAt != nil {
			expires = localTime(*e.ExpiresAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", prefix(e.Key, 12), e.StepID, e.Kind, dash(e.Model), byteSize(int64(e.Size)),
			localTime(e.CreatedAt), expires, e.Hits)
	}
	tw.Flush()
	fmt.Fprintf(v.stdout, "\n%d entr%s.\n", len(es), pluralY(len(es)))
	return exitOK
}

func cacheClear(ctx context.Context, v view, st *store.Store, f store.CacheFilter) int {
	n, err := st.CacheClear(ctx, f)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	if v.json {
		v.writeJSON(map[string]any{"format_version": jsonFormatVersion, "state_dir": st.Dir(), "removed": n, "diagnostics": diagList(nil)})
		return exitOK
	}
	fmt.Fprintf(v.stdout, "Removed %d cache entr%s from %s.\n", n, pluralY(n), st.Dir())
	return exitOK
}

// byteSize renders n bytes as B, KiB or MiB.
func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func localTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }

func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func pluralY(n int) string {
	if n == 1 {
		return "y"
	}
	return "ies"
}

// sortedKeys returns a map's keys in order, for output that does not change run to run.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
