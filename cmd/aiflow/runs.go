package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/aiflow/aiflow/engine/store"
)

func init() {
	register(command{name: "runs", summary: "List past runs, show one or prune old ones: runs [show ID | prune]", run: runsCmd})
}

func runsCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "prune" {
		return runsPruneCmd(args[1:], stdout, stderr)
	}
	fs := newFlags("runs", stderr)
	o := outputFlag(fs)
	dir := fs.String("state-dir", "", "state directory (default .aiflow beside the flow, or ./.aiflow)")
	limit := fs.Int("limit", 20, "how many runs to list")
	turns := fs.Bool("turns", false, "with show: include agent turns")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return exitError
	}
	v, err := parseView(*o, stdout, stderr)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	ctx := context.Background()
	var flow string
	if len(pos) > 0 && pos[0] != "show" {
		flow, pos = pos[0], pos[1:]
	}
	sd := *dir
	if sd == "" {
		sd = ".aiflow"
		if flow != "" {
			sd = stateDir("", flow)
		}
	}
	st, err := openStore(sd)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	defer st.Close()
	if len(pos) >= 1 && pos[0] == "show" {
		if len(pos) != 2 {
			return v.fail(errUsage, errors.New("usage: aiflow runs show RUN_ID"), nil)
		}
		return showRun(ctx, v, st, pos[1], *turns)
	}
	opts := store.ListRunsOpts{Limit: *limit}
	if flow != "" {
		opts.Flow, _ = filepath.Abs(flow)
	}
	runs, err := st.ListRuns(ctx, opts)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	if v.json {
		views := make([]runJSON, len(runs))
		for i, r := range runs {
			views[i] = toRunJSON(r)
		}
		v.writeJSON(map[string]any{"format_version": jsonFormatVersion, "runs": views, "diagnostics": diagList(nil)})
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tFLOW\tSTATUS\tSTARTED\tDURATION\tTOKENS\tUSD")
	for _, r := range runs {
		dur := "-"
		if !r.FinishedAt.IsZero() {
			dur = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%.6f\n", r.ID, r.FlowName, displayStatus(r), r.StartedAt.Local().Format("2006-01-02 15:04:05"), dur,
			r.Usage.InputTokens+r.Usage.OutputTokens, r.Usage.USD)
	}
	tw.Flush()
	return exitOK
}

func showRun(ctx context.Context, v view, st *store.Store, id string, withTurns bool) int {
	r, err := st.GetRun(ctx, id)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	recs, err := st.Steps(ctx, id)
	if err != nil {
		return v.fail(errState, err, nil)
	}
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
	if len(r.Vars) > 0 {
		b, _ := json.Marshal(r.Vars)
		fmt.Fprintf(w, "  vars:    %s\n", b)
	}
	fmt.Fprintln(w, "\nSteps:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  STEP\tITEM\tSTATUS\tMODEL\tATTEMPTS\tTOKENS\tTOOK\tNOTE")
	for _, s := range recs {
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
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", s.StepID, item, s.Status, dash(s.Model), s.Attempts, s.Usage.InputTokens+s.Usage.OutputTokens, took, note)
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
		b, _ := json.MarshalIndent(r.Outputs, "  ", "  ")
		fmt.Fprintf(w, "\nOutputs:\n  %s\n", b)
	}
	return exitOK
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
		Error: r.Error, StartedAt: r.StartedAt, Usage: toUsageJSON(r.Usage), Engine: r.Engine, Seed: r.Seed}
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
