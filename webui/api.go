package webui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/rundiff"
)

// Limits that keep every answer small whatever the run's size.
const (
	maxPage          = 500     // runs per page
	defaultPage      = 100     // runs per page when the page asks for no limit
	timelineItems    = 200     // item bars drawn per step; the rest are counted
	timelineEvents   = 2000    // retry and rate-wait bars drawn per run
	densityBins      = 120     // spans of a many-item step's throughput histogram
	maxOutputBytes   = 1 << 20 // an output larger than this is sent as truncated text
	maxNeedBytes     = 64 << 10
	itemPickerLimit  = 10000 // items listed in the step's item picker
	wholeOutputItems = 100   // a for_each step opens on its item 0 above this many items
)

// runJSON is a run as the list and the run view show it.
type runJSON struct {
	ID         string            `json:"id"`
	Flow       string            `json:"flow"`
	FlowName   string            `json:"flow_name"`
	Status     string            `json:"status"`
	StartedAt  int64             `json:"started_at"`  // Unix ms
	FinishedAt int64             `json:"finished_at"` // Unix ms, 0 while running
	DurationMS int64             `json:"duration_ms"` // so far, while running
	USD        float64           `json:"usd"`
	InTokens   int               `json:"in_tokens"`
	OutTokens  int               `json:"out_tokens"`
	TraceID    string            `json:"trace_id"`
	Error      string            `json:"error,omitempty"`
	Vars       map[string]any    `json:"vars,omitempty"`
	Outputs    map[string]any    `json:"outputs,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func span(a, b time.Time) int64 {
	if a.IsZero() {
		return 0
	}
	if b.IsZero() {
		b = time.Now()
	}
	return b.Sub(a).Milliseconds()
}

func toRunJSON(r store.Run, full bool) runJSON {
	j := runJSON{ID: r.ID, Flow: r.Flow, FlowName: r.FlowName, Status: r.Status, StartedAt: ms(r.StartedAt),
		FinishedAt: ms(r.FinishedAt), USD: r.Usage.USD, InTokens: r.Usage.InputTokens, OutTokens: r.Usage.OutputTokens,
		TraceID: r.TraceID, Error: r.Error}
	end := r.FinishedAt
	if end.IsZero() && r.Status != store.RunRunning {
		end = r.StartedAt // interrupted: unknown
	}
	j.DurationMS = span(r.StartedAt, end)
	if full {
		j.Vars, j.Outputs, j.Labels = r.Vars, r.Outputs, r.Labels
	}
	return j
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errors.New(name + "=" + strconv.Quote(v) + ": want a whole number from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi))
	}
	return n, nil
}

func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit", defaultPage, 1, maxPage)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	offset, err := intParam(r, "offset", 0, 0, 1<<31-1)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	q := r.URL.Query()
	runs, total, err := s.o.Store.RunPage(r.Context(), store.ListRunsOpts{Flow: q.Get("flow"), Status: q.Get("status"), Limit: limit}, offset)
	if err != nil {
		storeError(w, err)
		return
	}
	out := make([]runJSON, len(runs))
	for i, run := range runs {
		out[i] = toRunJSON(run, false)
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out, "total": total, "limit": limit, "offset": offset})
}

// stepJSON is one step's summary: its items folded together.
type stepJSON struct {
	ID         string         `json:"id"`
	Kind       string         `json:"kind"`
	Status     string         `json:"status"`
	Reason     string         `json:"reason,omitempty"`
	Error      string         `json:"error,omitempty"`
	Items      int            `json:"items"`
	ByStatus   map[string]int `json:"by_status"`
	Model      string         `json:"model"`
	Models     []string       `json:"models"`
	Attempts   int            `json:"attempts"`
	USD        float64        `json:"usd"`
	InTokens   int            `json:"in_tokens"`
	OutTokens  int            `json:"out_tokens"`
	Requests   int            `json:"requests"`
	StartedAt  int64          `json:"started_at"`
	FinishedAt int64          `json:"finished_at"`
	DurationMS int64          `json:"duration_ms"`
}

// stepState is the state the DAG shows for a step: its own record's status, else what
// its items say so far.
func stepState(st store.StepStat) string {
	if st.Whole.Status != "" && (st.Whole.Status != store.StepRunning || st.Items == 0) {
		return st.Whole.Status
	}
	switch {
	case st.ByStatus[store.StepRunning] > 0 || st.ByStatus[store.StepPending] > 0 || st.Whole.Status == store.StepRunning:
		return store.StepRunning
	case st.ByStatus[store.StepFailed] > 0:
		return store.StepFailed
	case st.Items > 0:
		return store.StepSucceeded
	}
	return store.StepPending
}

// startedUnrecorded marks as running the pending steps of a running run whose
// dependencies have all succeeded: the engine starts a step as soon as its last
// dependency ends but records it only when its first item or the whole step ends, so
// without this a step in flight shows as pending.
func startedUnrecorded(nodes []dagNode) {
	state := make(map[string]string, len(nodes))
	for _, n := range nodes {
		state[n.ID] = n.State
	}
	for i, n := range nodes {
		if n.State != store.StepPending {
			continue
		}
		ready := true
		for _, d := range n.Needs {
			if st := state[d]; st != store.StepSucceeded && st != store.StepCached {
				ready = false
				break
			}
		}
		if ready {
			nodes[i].State = store.StepRunning
		}
	}
}

// runStats reads run id and its steps' summaries, which the run and timeline views both
// start from.
func (s *Server) runStats(ctx context.Context, id string) (store.Run, []store.StepStat, error) {
	run, err := s.o.Store.GetRun(ctx, id)
	if err != nil {
		return store.Run{}, nil, err
	}
	stats, err := s.o.Store.StepStats(ctx, run.ID)
	return run, stats, err
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	run, stats, err := s.runStats(ctx, r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	costs, err := s.o.Store.ModelCosts(ctx, run.ID)
	if err != nil {
		storeError(w, err)
		return
	}
	g, note := s.graphOf(run)
	steps := make([]stepJSON, 0, len(stats))
	byID := map[string]int{}
	for _, st := range stats {
		j := stepJSON{ID: st.StepID, Status: stepState(st), Reason: st.Whole.Reason, Error: st.Whole.Error, Items: st.Items,
			ByStatus: st.ByStatus, Model: st.Whole.Model, Models: st.Models, Attempts: max(st.Whole.Attempts, st.Attempts),
			USD: st.Usage.USD, InTokens: st.Usage.InputTokens, OutTokens: st.Usage.OutputTokens, Requests: st.Usage.Requests,
			StartedAt: ms(st.Start), FinishedAt: ms(st.End)}
		if j.Models == nil {
			j.Models = []string{}
		}
		if j.Model == "" && len(st.Models) > 0 {
			j.Model = strings.Join(st.Models, ", ")
		}
		if !st.Start.IsZero() && !st.End.IsZero() && !st.End.Before(st.Start) {
			j.DurationMS = st.End.Sub(st.Start).Milliseconds()
		}
		if g != nil {
			j.Kind = g.kinds[st.StepID]
		}
		byID[st.StepID] = len(steps)
		steps = append(steps, j)
	}
	var nodes []dagNode
	seen := map[string]bool{}
	if g != nil {
		for _, id := range g.order {
			n := dagNode{ID: id, Kind: g.kinds[id], Needs: g.needs[id], State: store.StepPending}
			if i, ok := byID[id]; ok {
				n.State, n.Items = steps[i].Status, steps[i].Items
			}
			nodes, seen[id] = append(nodes, n), true
		}
	}
	for _, st := range steps { // recorded steps the flow (as it is now) lacks
		if !seen[st.ID] {
			nodes = append(nodes, dagNode{ID: st.ID, Kind: st.Kind, Needs: []string{}, State: st.Status, Items: st.Items})
		}
	}
	for i := range nodes {
		if nodes[i].Needs == nil {
			nodes[i].Needs = []string{}
		}
	}
	if run.Status == store.RunRunning {
		startedUnrecorded(nodes)
	}
	layers(nodes)
	models := make([]map[string]any, len(costs))
	for i, c := range costs {
		models[i] = map[string]any{"model": c.Model, "calls": c.Calls, "usd": c.Usage.USD, "in_tokens": c.Usage.InputTokens,
			"out_tokens": c.Usage.OutputTokens, "requests": c.Usage.Requests}
	}
	if nodes == nil {
		nodes = []dagNode{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": toRunJSON(run, true), "steps": steps, "models": models,
		"dag": map[string]any{"nodes": nodes, "note": note}})
}

// bar is one rectangle of the timeline, times in ms from the run's start.
type bar struct {
	Kind    string `json:"kind"` // step, item, attempt, retry or rate-wait
	StepID  string `json:"step_id"`
	Item    *int   `json:"item,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	Start   int64  `json:"start"`
	End     int64  `json:"end"`
	Status  string `json:"status,omitempty"`
	Items   int    `json:"items,omitempty"` // on a step bar: the step's for_each items
	Class   string `json:"class,omitempty"` // a retry's error class
	Error   string `json:"error,omitempty"`
}

func (s *Server) apiTimeline(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	run, stats, err := s.runStats(ctx, r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	events, evTotal, err := s.o.Store.RunEvents(ctx, run.ID, timelineEvents)
	if err != nil {
		storeError(w, err)
		return
	}
	t0 := run.StartedAt
	now := time.Now()
	rel := func(t time.Time) int64 {
		if t.IsZero() {
			t = now
		}
		return max(t.Sub(t0).Milliseconds(), 0)
	}
	bars := []bar{}
	type key struct {
		step string
		item int
	}
	retries := map[key][]store.RunEvent{}
	for _, e := range events {
		item := e.Item
		b := bar{Kind: e.Kind, StepID: e.StepID, Item: &item, Attempt: e.Attempt, Start: rel(e.At), End: rel(e.At.Add(e.Wait)),
			Class: e.Class, Error: e.Error}
		bars = append(bars, b)
		if e.Kind == store.EventRetry {
			retries[key{e.StepID, e.Item}] = append(retries[key{e.StepID, e.Item}], e)
		}
	}
	// attempts splits an item (or whole step) into its attempts when it was retried.
	attempts := func(step string, item int, start, end time.Time) {
		rs := retries[key{step, item}]
		if len(rs) == 0 || start.IsZero() {
			return
		}
		from := start
		for i, e := range rs {
			it := item
			bars = append(bars, bar{Kind: "attempt", StepID: step, Item: &it, Attempt: i + 1, Start: rel(from), End: rel(e.At), Status: store.StepFailed})
			from = e.At.Add(e.Wait)
		}
		it := item
		bars = append(bars, bar{Kind: "attempt", StepID: step, Item: &it, Attempt: len(rs) + 1, Start: rel(from), End: rel(end)})
	}
	drawn := map[string]int{}
	density := map[string]any{}
	for _, st := range stats {
		if st.Start.IsZero() {
			continue
		}
		end := st.End
		if end.Before(st.Start) || (stepState(st) == store.StepRunning && run.Status == store.RunRunning) {
			end = time.Time{}
		}
		bars = append(bars, bar{Kind: "step", StepID: st.StepID, Start: rel(st.Start), End: rel(end), Status: stepState(st), Items: st.Items})
		if st.Items == 0 {
			attempts(st.StepID, store.WholeStep, st.Whole.StartedAt, st.Whole.FinishedAt)
			continue
		}
		items, err := s.o.Store.StepItems(ctx, run.ID, st.StepID, 0, timelineItems)
		if err != nil {
			storeError(w, err)
			return
		}
		for _, it := range items {
			if it.StartedAt.IsZero() {
				continue
			}
			n := it.Item
			iend := it.FinishedAt
			if it.Status == store.StepRunning {
				iend = time.Time{}
			}
			bars = append(bars, bar{Kind: "item", StepID: st.StepID, Item: &n, Start: rel(it.StartedAt), End: rel(iend), Status: it.Status})
			attempts(st.StepID, it.Item, it.StartedAt, iend)
		}
		drawn[st.StepID] = len(items)
		if st.Items > timelineItems { // the rest are not drawn: show the step's throughput instead
			to := end
			if to.IsZero() {
				to = now
			}
			if to.After(st.Start) {
				counts, err := s.o.Store.ItemHistogram(ctx, run.ID, st.StepID, st.Start, to, densityBins)
				if err != nil {
					storeError(w, err)
					return
				}
				density[st.StepID] = map[string]any{"start": rel(st.Start), "end": rel(to), "finished": counts}
			}
		}
	}
	end := run.FinishedAt
	if end.IsZero() {
		end = now
	}
	for _, b := range bars {
		end = maxTime(end, t0.Add(time.Duration(b.End)*time.Millisecond))
	}
	writeJSON(w, http.StatusOK, map[string]any{"start": ms(t0), "duration_ms": rel(end), "bars": bars,
		"items_drawn": drawn, "items_cap": timelineItems, "density": density, "events_total": evTotal, "events_drawn": len(events)})
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// blobView rewrites the blob values in v for the page: each gets the URL its bytes are
// served at.
func blobView(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if n, ok := x["size"].(json.Number); ok && x["type"] == blob.TypeTag {
			// valueView decodes with UseNumber; blob.FromValue wants the size as a number.
			if i, err := n.Int64(); err == nil {
				x = maps.Clone(x)
				x["size"] = i
			}
		}
		if b, ok := blob.FromValue(x); ok {
			return map[string]any{"type": blob.TypeTag, "sha256": b.SHA256, "media_type": b.MediaType, "size": b.Size,
				"url": "/api/blobs/" + b.SHA256}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = blobView(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = blobView(e)
		}
		return out
	}
	return v
}

// valueView decodes a recorded JSON value for the page, blobs with their URLs; one
// larger than limit comes back as its first limit bytes of text instead.
func valueView(raw json.RawMessage, limit int) (value any, text string, truncated bool) {
	if len(raw) == 0 {
		return nil, "", false
	}
	if len(raw) > limit {
		return nil, string(raw[:limit]), true
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, string(raw), false
	}
	return blobView(v), "", false
}

func (s *Server) apiStep(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	run, err := s.o.Store.GetRun(ctx, r.PathValue("id"))
	if err != nil {
		storeError(w, err)
		return
	}
	stepID := r.PathValue("step")
	nItems, hasWhole, err := s.o.Store.StepShape(ctx, run.ID, stepID)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "run %s has no record of step %q", run.ID, stepID)
		return
	}
	if err != nil {
		storeError(w, err)
		return
	}
	def := store.WholeStep
	if nItems > wholeOutputItems || (nItems > 0 && !hasWhole) {
		def = 0
	}
	item, err := intParam(r, "item", def, store.WholeStep, 1<<31-1)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	rec, err := s.o.Store.GetStep(ctx, run.ID, stepID, item)
	if err != nil {
		storeError(w, err)
		return
	}
	out, outText, truncated := valueView(rec.Output, maxOutputBytes)
	inputs := map[string]any{}
	if rec.InputsHash != "" {
		inputs["inputs_hash"] = rec.InputsHash
	}
	if rec.CacheKey != "" {
		inputs["cache_key"] = rec.CacheKey
	}
	kind := ""
	if g, _ := s.graphOf(run); g != nil {
		kind = g.kinds[stepID]
		needs := map[string]any{}
		for _, d := range g.needs[stepID] {
			if n, _, err := s.o.Store.StepShape(ctx, run.ID, d); err == nil && n > wholeOutputItems {
				needs[d] = fmt.Sprintf("(a list of %d item outputs: open step %s to see them)", n, d)
				continue
			}
			dep, err := s.o.Store.GetStep(ctx, run.ID, d, store.WholeStep)
			if err != nil {
				continue
			}
			v, text, cut := valueView(dep.Output, maxNeedBytes)
			if cut {
				v = text + "… (" + strconv.Itoa(len(dep.Output)) + " bytes in all)"
			} else if v == nil && text != "" {
				v = text
			}
			needs[d] = v
		}
		if len(needs) > 0 {
			inputs["steps"] = needs
		}
	}
	turns, err := s.o.Store.Turns(ctx, run.ID, stepID)
	if err != nil {
		storeError(w, err)
		return
	}
	tj := []map[string]any{}
	for _, t := range turns {
		if t.Item != item && nItems > 0 {
			continue
		}
		m := map[string]any{"index": t.Index, "item": t.Item, "role": t.Role, "content": t.Content, "usd": t.Usage.USD,
			"in_tokens": t.Usage.InputTokens, "out_tokens": t.Usage.OutputTokens, "at": ms(t.At)}
		if t.ToolName != "" {
			m["tool_name"], m["tool_call_id"] = t.ToolName, t.ToolCallID
		}
		if len(t.Arguments) > 0 {
			m["arguments"], _, _ = valueView(t.Arguments, maxNeedBytes)
		}
		tj = append(tj, m)
	}
	evs, _, err := s.o.Store.RunEvents(ctx, run.ID, timelineEvents)
	if err != nil {
		storeError(w, err)
		return
	}
	ej := []map[string]any{}
	for _, e := range evs {
		if e.StepID == stepID && e.Item == item {
			ej = append(ej, map[string]any{"kind": e.Kind, "attempt": e.Attempt, "at": ms(e.At), "wait_ms": e.Wait.Milliseconds(),
				"class": e.Class, "error": e.Error})
		}
	}
	itemIDs := []int{}
	if nItems > 0 {
		if itemIDs, err = s.o.Store.StepItemIDs(ctx, run.ID, stepID, itemPickerLimit); err != nil {
			storeError(w, err)
			return
		}
	}
	res := map[string]any{"run_id": run.ID, "step": stepID, "kind": kind, "item": item, "items": nItems, "item_ids": itemIDs,
		"has_whole": hasWhole, "status": rec.Status, "reason": rec.Reason, "error": rec.Error, "model": rec.Model,
		"provider": rec.Provider, "attempts": rec.Attempts, "started_at": ms(rec.StartedAt), "finished_at": ms(rec.FinishedAt),
		"usd": rec.Usage.USD, "in_tokens": rec.Usage.InputTokens, "out_tokens": rec.Usage.OutputTokens, "meta": rec.Meta,
		"inputs": inputs, "output": out, "turns": tj, "events": ej}
	if truncated {
		res["output_text"], res["output_truncated"], res["output_bytes"] = outText, true, len(rec.Output)
	} else if outText != "" {
		res["output_text"] = outText
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) apiBlob(w http.ResponseWriter, r *http.Request) {
	sum := r.PathValue("sha")
	if !validSum(sum) {
		writeError(w, http.StatusBadRequest, "blob %q: want 64 lowercase hex digits (a SHA-256)", sum)
		return
	}
	bs := blob.NewStore(engine.BlobDir(s.o.StateDir))
	p := bs.Path(blob.Blob{SHA256: sum})
	f, err := os.Open(p)
	if err != nil {
		writeError(w, http.StatusNotFound, "blob %s is not in the state directory", sum)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		writeError(w, http.StatusNotFound, "blob %s is not in the state directory", sum)
		return
	}
	head := make([]byte, 512)
	n, _ := f.Read(head)
	if _, err := f.Seek(0, 0); err != nil {
		writeError(w, http.StatusInternalServerError, "reading blob %s: %v", sum, err)
		return
	}
	mt := blob.Detect(head[:n], "")
	if want := r.URL.Query().Get("type"); want != "" && blob.Base(want) != "" && mediaFamily(want) == mediaFamily(mt) {
		mt = blob.Base(want) // the recorded type refines the sniffed one (audio/mpeg vs audio/mp3)
	}
	h := w.Header()
	h.Set("Content-Type", mt)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")  // named by content
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox") // an SVG or HTML blob runs nothing
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

func mediaFamily(mt string) string {
	f, _, _ := strings.Cut(mt, "/")
	return f
}

func validSum(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (s *Server) apiDiff(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ids := [2]string{r.URL.Query().Get("a"), r.URL.Query().Get("b")}
	if ids[0] == "" || ids[1] == "" {
		writeError(w, http.StatusBadRequest, "diff needs two runs: /api/diff?a=RUN_ID&b=RUN_ID")
		return
	}
	var runs [2]store.Run
	var sums [2][]rundiff.StepSummary
	for i, id := range ids {
		run, err := s.o.Store.GetRun(ctx, id)
		if err != nil {
			storeError(w, err)
			return
		}
		recs, err := s.o.Store.Steps(ctx, run.ID)
		if err != nil {
			storeError(w, err)
			return
		}
		runs[i], sums[i] = run, rundiff.Summarize(recs)
	}
	changes := rundiff.Runs(runs[0], runs[1], sums[0], sums[1])
	type side struct {
		Status    string   `json:"status"`
		Items     int      `json:"items"`
		USD       float64  `json:"usd"`
		Tokens    int      `json:"tokens"`
		LatencyMS int64    `json:"latency_ms"`
		Models    []string `json:"models"`
	}
	sideOf := func(x rundiff.StepSummary) *side {
		return &side{Status: x.Status, Items: x.Items, USD: x.USD, Tokens: x.Tokens, LatencyMS: x.Latency.Milliseconds(), Models: x.Models}
	}
	var order []string
	as, bs := map[string]*side{}, map[string]*side{}
	for _, x := range sums[0] {
		order, as[x.ID] = append(order, x.ID), sideOf(x)
	}
	for _, y := range sums[1] {
		if as[y.ID] == nil {
			order = append(order, y.ID)
		}
		bs[y.ID] = sideOf(y)
	}
	steps := []map[string]any{}
	for _, id := range order {
		var mine []rundiff.Change
		for _, c := range changes {
			if c.Scope == "steps."+id {
				mine = append(mine, c)
			}
		}
		if mine == nil {
			mine = []rundiff.Change{}
		}
		steps = append(steps, map[string]any{"id": id, "change": rundiff.StepChange(id, changes), "a": as[id], "b": bs[id], "changes": mine})
	}
	if changes == nil {
		changes = []rundiff.Change{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"a": toRunJSON(runs[0], false), "b": toRunJSON(runs[1], false), "steps": steps, "changes": changes})
}
