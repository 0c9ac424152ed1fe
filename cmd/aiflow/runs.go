package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"strings"
	"text/tabwriter"
	"time"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/rundiff"
)

func init() {
	register(command{name: "runs", summary: "List past runs, show one, diff two or prune old ones: runs [flow.yaml | show ID [flow.yaml] | diff A B [flow.yaml] | prune]", run: runsCmd})
}

func runsCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "prune" {
		return runsPruneCmd(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "diff" {
		return runsDiffCmd(args[1:], stdout, stderr)
	}
	fs := newFlags("runs", stderr)
	o := outputFlag(fs)
	dir := fs.String("state-dir", "", "state directory (default .aiflow beside the flow, or ./.aiflow)")
	urlFlag := stateURLFlag(fs)
	limit := fs.Int("limit", 20, "how many runs to list")
	turns := fs.Bool("turns", false, "with show: include agent turns")
	pos, v, err := parseCommand(fs, o, args, stdout, stderr)
	if err != nil {
		return v.failArgs(err)
	}
	ctx := context.Background()
	var flow, showID string
	switch {
	case len(pos) > 0 && pos[0] == "show":
		// runs show ID [flow.yaml]
		if len(pos) < 2 || len(pos) > 3 {
			return v.fail(errUsage, errors.New(runsShowUsage), nil)
		}
		showID = pos[1]
		if len(pos) == 3 {
			flow = pos[2]
		}
	case len(pos) > 0:
		// runs [flow.yaml] and the older runs flow.yaml show ID
		flow, pos = pos[0], pos[1:]
		switch {
		case len(pos) == 2 && pos[0] == "show":
			showID = pos[1]
		case len(pos) > 0:
			return v.fail(errUsage, fmt.Errorf("unexpected arguments after %s: %s (%s)", flow, strings.Join(pos, " "), runsShowUsage), nil)
		}
	}
	stateURL, err := stateURLOf(*urlFlag, flow)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	sd, err := runsStateDir(*dir, flow, stateURL)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	if sd == "" { // a flow that has never run: no state beside it yet, so no runs
		if showID != "" {
			return v.fail(errState, fmt.Errorf("run %s not found: %s has no state yet in %s", showID, flow, displayDir(stateDir("", flow))), nil)
		}
		return listRuns(v, nil, displayDir(stateDir("", flow)))
	}
	st, err := openStore(sd, stateURL)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	defer st.Close()
	if showID != "" {
		hint := ""
		if flow == "" {
			hint = fmt.Sprintf(" (pass its flow file, aiflow runs show %s flow.yaml, or --state-dir)", showID)
		}
		return showRun(ctx, v, st, showID, *turns, displayDir(sd)+hint)
	}
	opts := store.ListRunsOpts{Limit: *limit}
	if flow != "" {
		opts.Flow, _ = filepath.Abs(flow)
	}
	runs, err := st.ListRuns(ctx, opts)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	return listRuns(v, runs, displayDir(sd))
}

// runsShowUsage is the usage line of runs show.
const runsShowUsage = "usage: aiflow runs [flow.yaml] | aiflow runs show RUN_ID [flow.yaml], with --state-dir D for another state"

// runsStateDir finds the state runs reads, without creating it: --state-dir if given (it
// must exist), else .aiflow beside the flow ("" when that flow has not run yet), else
// ./.aiflow, the current folder's state. With a shared database (stateURL) the state
// is there whatever the directory holds: the directory is only where blobs go.
func runsStateDir(flag, flow, stateURL string) (string, error) {
	if stateURL != "" {
		if flag == "" && flow == "" {
			flag = ".aiflow"
		}
		return stateDir(flag, flow), nil
	}
	switch {
	case flag != "":
		if !isDir(flag) {
			return "", fmt.Errorf("no state in %s (check --state-dir)", displayDir(flag))
		}
		return stateDir(flag, flow), nil
	case flow != "":
		if _, err := os.Stat(flow); errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("flow file %s does not exist", flow)
		} else if err != nil {
			return "", fmt.Errorf("flow file: %w", err)
		}
		if sd := stateDir("", flow); isDir(sd) {
			return sd, nil
		}
		return "", nil
	case isDir(".aiflow"):
		return stateDir(".aiflow", ""), nil
	}
	return "", errors.New("no state in ./.aiflow (pass a flow file or --state-dir)")
}

// openRunsState opens the existing state a command that reads runs looks at (see
// runsStateDir); a flow that has never run is an error naming it.
func openRunsState(flag, urlFlag, flow string) (*store.Store, string, error) {
	stateURL, err := stateURLOf(urlFlag, flow)
	if err != nil {
		return nil, "", err
	}
	sd, err := runsStateDir(flag, flow, stateURL)
	if err == nil && sd == "" {
		err = fmt.Errorf("%s has no state yet: run it first", flow)
	}
	if err != nil {
		return nil, "", err
	}
	st, err := openStore(sd, stateURL)
	if err != nil {
		return nil, "", err
	}
	return st, sd, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// displayDir shows a directory relative to the current one when it is inside it, so
// messages read "./.aiflow" rather than a long absolute path.
func displayDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	wd, err := os.Getwd()
	if err != nil {
		return abs
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return abs
	}
	return "." + string(filepath.Separator) + rel
}

// listRuns prints runs as a table, or says where it looked when there are none.
func listRuns(v view, runs []store.Run, where string) int {
	if v.json {
		views := make([]runJSON, len(runs))
		for i, r := range runs {
			views[i] = toRunJSON(r)
		}
		v.writeJSON(map[string]any{"format_version": jsonFormatVersion, "runs": views, "diagnostics": diagList(nil)})
		return exitOK
	}
	if len(runs) == 0 {
		fmt.Fprintf(v.stdout, "No runs in %s.\n", where)
		return exitOK
	}
	tw := tabwriter.NewWriter(v.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tFLOW\tSTATUS\tSTARTED\tDURATION\tTOKENS\tUSD")
	for _, r := range runs {
		dur := "-"
		if !r.FinishedAt.IsZero() {
			dur = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%.6f\n", runLabel(r), r.FlowName, displayStatus(r), r.StartedAt.Local().Format("2006-01-02 15:04:05"), dur,
			r.Usage.InputTokens+r.Usage.OutputTokens, r.Usage.USD)
	}
	tw.Flush()
	return exitOK
}

// showRun prints one run and its steps; where says which state was searched, for the
// error when the run is not there.
func showRun(ctx context.Context, v view, st *store.Store, id string, withTurns bool, where string) int {
	r, err := st.GetRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return v.fail(errState, fmt.Errorf("run %s not found in %s", id, where), nil)
	}
	if err != nil {
		return v.fail(errState, err, nil)
	}
	recs, err := st.Steps(ctx, id)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	recs = rundiff.OrderSteps(recs)
	turns := map[string][]store.Turn{}
	if withTurns {
		for _, s := range recs {
			if _, done := turns[s.StepID]; done || s.Item != -1 {
				continue
			}
			ts, err := st.Turns(ctx, id, s.StepID)
			if err != nil {
				return v.fail(errState, err, nil)
			}
			if len(ts) > 0 {
				turns[s.StepID] = ts
			}
		}
	}
	if v.json {
		steps := make([]stepJSON, len(recs))
		for i, s := range recs {
			steps[i] = toStepJSON(s)
		}
		out := map[string]any{"format_version": jsonFormatVersion, "run": toRunJSON(r), "steps": steps, "diagnostics": diagList(nil)}
		if withTurns {
			out["turns"] = turns
		}
		v.writeJSON(out)
		return exitOK
	}
	w := v.stdout
	fmt.Fprintf(w, "Run %s (%s): %s\n  flow:    %s\n  started: %s\n", r.ID, r.FlowName, displayStatus(r), r.Flow, r.StartedAt.Local().Format(time.RFC3339))
	if !r.FinishedAt.IsZero() {
		fmt.Fprintf(w, "  took:    %s\n", r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond))
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error:   %s\n", r.Error)
	}
	if r.TraceID != "" {
		fmt.Fprintf(w, "  trace:   %s\n", r.TraceID)
	}
	if len(r.Vars) > 0 {
		b, _ := json.Marshal(r.Vars)
		fmt.Fprintf(w, "  vars:    %s\n", b)
	}
	fmt.Fprintln(w, "\nSteps:")
	scores := make([]string, len(recs))
	scored := false
	for i, s := range recs {
		if scores[i] = stepScore(s.Output); scores[i] != "" {
			scored = true
		}
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	head := "  STEP\tITEM\tSTATUS\tMODEL\tATTEMPTS\tTOKENS\tTOOK\t"
	if scored {
		head += "SCORE\t"
	}
	fmt.Fprintln(tw, head+"NOTE")
	for i, s := range recs {
		item := "-"
		if s.Item >= 0 {
			item = fmt.Sprint(s.Item)
		}
		took := "-"
		if !s.FinishedAt.IsZero() && !s.StartedAt.IsZero() {
			took = s.FinishedAt.Sub(s.StartedAt).Round(time.Microsecond).String()
		}
		note := s.Reason
		if s.Error != "" {
			note = s.Error
		}
		row := fmt.Sprintf("  %s\t%s\t%s\t%s\t%d\t%d\t%s\t", s.StepID, item, s.Status, dash(s.Model), s.Attempts, s.Usage.InputTokens+s.Usage.OutputTokens, took)
		if scored {
			row += dash(scores[i]) + "\t"
		}
		fmt.Fprintln(tw, row+note)
	}
	tw.Flush()
	for _, step := range sortedKeys(turns) {
		ts := turns[step]
		fmt.Fprintf(w, "\nTurns of %s:\n", step)
		for _, t := range ts {
			fmt.Fprintf(w, "  %d %-9s %s %s\n", t.Index, t.Role, t.ToolName, abbreviate(t.Content, 200))
		}
	}
	if len(r.Outputs) > 0 {
		fmt.Fprintf(w, "\nOutputs:\n")
		printValues(w, r.Outputs, sortedKeys(r.Outputs), "  ", st.Dir())
	}
	return exitOK
}

// stepScore is the score a step's output carries at its top level (a classify step's
// best label and its score), "" when it has none.
func stepScore(output json.RawMessage) string {
	if len(output) == 0 || output[0] != '{' {
		return ""
	}
	var o struct {
		Label *string  `json:"label"`
		Score *float64 `json:"score"`
	}
	if json.Unmarshal(output, &o) != nil || o.Score == nil {
		return ""
	}
	if o.Label != nil && *o.Label != "" {
		return fmt.Sprintf("%s %.3f", *o.Label, *o.Score)
	}
	return fmt.Sprintf("%.3f", *o.Score)
}

// runJSON is a run as -o json prints it.
type runJSON struct {
	ID         string         `json:"id"`
	Flow       string         `json:"flow"`
	Name       string         `json:"name,omitempty"`
	FlowHash   string         `json:"flow_sha256,omitempty"`
	Status     string         `json:"status"`
	Vars       map[string]any `json:"vars,omitempty"`
	Outputs    map[string]any `json:"outputs,omitempty"`
	Error      string         `json:"error,omitempty"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
	Usage      usageJSON      `json:"usage"`
	Engine     string         `json:"engine,omitempty"`
	Seed       int64          `json:"seed,omitempty"`
	TraceID    string         `json:"trace_id,omitempty"` // OpenTelemetry trace of the run's last process
	// WorkflowID is the Temporal workflow of a run on --engine temporal.
	WorkflowID string `json:"temporal_workflow_id,omitempty"`
}

type usageJSON struct {
	InputTokens  int     `json:"input_tokens"`
	OutputTokens int     `json:"output_tokens"`
	CachedTokens int     `json:"cached_tokens,omitempty"`
	Neurons      float64 `json:"neurons,omitempty"`
	USD          float64 `json:"usd"`
	Requests     int     `json:"requests,omitempty"`
}

// stepJSON is a step record as -o json prints it.
type stepJSON struct {
	StepID     string            `json:"step"`
	Item       *int              `json:"item,omitempty"`
	Status     string            `json:"status"`
	Reason     string            `json:"reason,omitempty"`
	Model      string            `json:"model,omitempty"`
	Attempts   int               `json:"attempts,omitempty"`
	Error      string            `json:"error,omitempty"`
	Output     json.RawMessage   `json:"output,omitempty"`
	Usage      usageJSON         `json:"usage"`
	Meta       map[string]string `json:"meta,omitempty"`
	StartedAt  time.Time         `json:"started_at"`
	FinishedAt time.Time         `json:"finished_at"`
}

func toUsageJSON(u store.Usage) usageJSON {
	return usageJSON{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, CachedTokens: u.CachedTokens, Neurons: u.Neurons, USD: u.USD, Requests: u.Requests}
}

func toRunJSON(r store.Run) runJSON {
	out := runJSON{ID: r.ID, Flow: r.Flow, Name: r.FlowName, FlowHash: r.FlowHash, Status: displayStatus(r), Vars: r.Vars, Outputs: r.Outputs,
		Error: r.Error, StartedAt: r.StartedAt, Usage: toUsageJSON(r.Usage), Engine: r.Engine, Seed: r.Seed, TraceID: r.TraceID,
		WorkflowID: r.Labels["temporal_workflow_id"]}
	if !r.FinishedAt.IsZero() {
		t := r.FinishedAt
		out.FinishedAt = &t
	}
	return out
}

func toStepJSON(s store.StepRecord) stepJSON {
	out := stepJSON{StepID: s.StepID, Status: s.Status, Reason: s.Reason, Model: s.Model, Attempts: s.Attempts, Error: s.Error,
		Output: s.Output, Usage: toUsageJSON(s.Usage), Meta: s.Meta, StartedAt: s.StartedAt, FinishedAt: s.FinishedAt}
	if s.Item >= 0 {
		item := s.Item
		out.Item = &item
	}
	return out
}

// runLabel is the RUN column: the run id, and for a run on Temporal its workflow id.
func runLabel(r store.Run) string {
	if wf := r.Labels["temporal_workflow_id"]; wf != "" {
		return r.ID + " (temporal " + wf + ")"
	}
	return r.ID
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func abbreviate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
